// An emulated PN532 with mica cards in its field (interop.md 6.3): what each host command does and answers.
// Works on the command bytes after the TFI; the framing is Pn532Line's (line.ts). FeliCa targets are found
// by running the host's Polling against each card and talked to through InCommunicateThru / InDataExchange;
// Type A targets are described by the card's ISO/IEC 14443 identity (ATQA, UID, SAK, ATS) and take APDUs
// through InDataExchange (ISO-DEP is run inside the emulator: the APDU goes to the card as is).
import { bytesToHex } from '@mica/apdu-specs/hex';
import { PN532 } from '@mica/apdu-specs/pn532';

const C = PN532.command;

/** What the emulator needs of a card: card-os's Card has this shape. */
export interface Pn532Card {
  felica(frame: Uint8Array): Uint8Array | null;
  apdu(command: Uint8Array): Uint8Array | null;
  identity(): {
    readonly uid: Uint8Array;
    readonly atqa: Uint8Array;
    readonly sak: number;
    readonly ats: Uint8Array;
  };
  powerOn(): unknown;
  powerOff(): void;
  readonly isPowered: boolean;
}

export interface Pn532Hooks {
  /** Each card exchange: tx = reader→card; `bytes` null = the card stayed silent. */
  readonly exchange?: (
    card: number,
    layer: 'felica' | 'apdu',
    dir: 'tx' | 'rx',
    bytes: Uint8Array | null,
  ) => void;
  /** The RF field changed (off = every card lost power; the caller saves images). */
  readonly field?: (on: boolean) => void;
  /** A command the emulator does not know, or one it refused; answered with the error frame. */
  readonly refused?: (command: Uint8Array, reason: string) => void;
}

/** GetFirmwareVersion answer: IC 0x32 (PN532), version 1.6, supports 14443A, 14443B and 18092 (0x07). */
const FIRMWARE = Uint8Array.of(0x32, 0x01, 0x06, 0x07);
/** PN532 error code 0x27: the command is not acceptable in the current context (UM0701-02 §7.1). */
const ERR_CONTEXT = 0x27;

type Target =
  | { readonly tech: 'a'; readonly card: number; readonly isoDep: boolean }
  | { readonly tech: 'f'; readonly card: number; readonly brty: number };

export class Pn532Emulator {
  private readonly registers = new Uint8Array(0x10000);
  private fieldOn = false;
  private targets: Target[] = [];
  private parameters = 0;

  constructor(
    private readonly cards: readonly Pn532Card[],
    private readonly hooks: Pn532Hooks = {},
  ) {
    if (cards.length === 0) throw new RangeError('a PN532 needs at least one card in its field');
  }

  get field(): boolean {
    return this.fieldOn;
  }

  /** SetParameters flags last set by the host (bit 4: automatic RATS). */
  get flags(): number {
    return this.parameters;
  }

  /**
   * Answers one host command (the bytes after TFI D4) with the response bytes after TFI D5, or null when the
   * answer is the error frame.
   */
  command(cmd: Uint8Array): Uint8Array | null {
    if (!(cmd instanceof Uint8Array)) throw new TypeError('cmd must be a Uint8Array');
    if (cmd.length === 0) return this.refuse(cmd, 'empty command');
    const code = cmd[0]!;
    const p = cmd.subarray(1);
    const answer = (...bytes: number[]): Uint8Array => Uint8Array.of(code + 1, ...bytes);
    switch (code) {
      case C.diagnose:
        if (p[0] !== 0x00) return this.refuse(cmd, `Diagnose test ${hex1(p[0])} is not emulated`);
        return Uint8Array.of(code + 1, ...p); // communication line test: echo NumTst ‖ InParam
      case C.getFirmwareVersion:
        return answer(...FIRMWARE);
      case C.getGeneralStatus:
        return this.generalStatus();
      case C.readRegister: {
        if (p.length % 2 !== 0) return this.refuse(cmd, 'ReadRegister takes 2-byte addresses');
        const out: number[] = [];
        for (let i = 0; i < p.length; i += 2) out.push(this.registers[(p[i]! << 8) | p[i + 1]!]!);
        return answer(...out);
      }
      case C.writeRegister:
        if (p.length % 3 !== 0) return this.refuse(cmd, 'WriteRegister takes (address, value) triples');
        for (let i = 0; i < p.length; i += 3) this.registers[(p[i]! << 8) | p[i + 1]!] = p[i + 2]!;
        return answer();
      case C.setParameters:
        if (p.length !== 1) return this.refuse(cmd, 'SetParameters takes one flags byte');
        this.parameters = p[0]!;
        return answer();
      case C.samConfiguration:
        if (p.length < 1) return this.refuse(cmd, 'SAMConfiguration needs a mode');
        return answer();
      case C.powerDown:
        return answer(0x00);
      case C.rfConfiguration:
        if (p.length < 1) return this.refuse(cmd, 'RFConfiguration needs an item');
        if (p[0] === PN532.rfItem.field) {
          if (p.length < 2) return this.refuse(cmd, 'RFConfiguration item 01 needs its flags byte');
          this.setField((p[1]! & 0x01) !== 0);
        }
        return answer();
      case C.inListPassiveTarget:
        return this.listPassiveTargets(cmd, p);
      case C.inCommunicateThru:
        return answer(...this.communicateThru(p));
      case C.inDataExchange:
        if (p.length < 1) return this.refuse(cmd, 'InDataExchange needs a target number');
        return answer(...this.dataExchange(p[0]!, p.subarray(1)));
      case C.inDeselect:
      case C.inRelease:
        if (p.length !== 1) return this.refuse(cmd, 'InDeselect / InRelease take one target number');
        this.targets = p[0] === 0 ? [] : this.targets.filter((_, i) => i + 1 !== p[0]);
        return answer(0x00);
      case C.inSelect:
        if (p.length !== 1) return this.refuse(cmd, 'InSelect takes one target number');
        return answer(this.targets[p[0]! - 1] ? 0x00 : ERR_CONTEXT);
      default:
        return this.refuse(cmd, `command ${hex1(code)} is not emulated`);
    }
  }

  private refuse(cmd: Uint8Array, reason: string): null {
    this.hooks.refused?.(cmd, reason);
    return null;
  }

  private setField(on: boolean): void {
    if (on === this.fieldOn) return;
    this.fieldOn = on;
    this.targets = [];
    for (const c of this.cards) {
      c.powerOff();
      if (on) c.powerOn();
    }
    this.hooks.field?.(on);
  }

  private generalStatus(): Uint8Array {
    const out = [C.getGeneralStatus + 1, 0x00, this.fieldOn ? 0x01 : 0x00, this.targets.length];
    this.targets.forEach((t, i) => {
      const br = t.tech === 'a' ? 0x00 : t.brty;
      out.push(i + 1, br, br, t.tech === 'a' ? 0x00 : 0x10);
    });
    out.push(0x80); // SAM status: none (as libnfc's own PN532 reports in normal mode)
    return Uint8Array.from(out);
  }

  private listPassiveTargets(cmd: Uint8Array, p: Uint8Array): Uint8Array | null {
    if (p.length < 2) return this.refuse(cmd, 'InListPassiveTarget needs MaxTg and BrTy');
    const maxTg = p[0]!;
    const brty = p[1]!;
    if (maxTg < 1 || maxTg > 2)
      return this.refuse(cmd, `InListPassiveTarget MaxTg must be 1 or 2, got ${maxTg}`);
    const initiator = p.subarray(2);
    this.setField(true); // the PN532 switches the field on by itself
    this.targets = [];
    const data: number[] = [];
    if (brty === PN532.baudRate.typeA106) {
      for (let i = 0; i < this.cards.length && this.targets.length < maxTg; i++) {
        const card = this.cards[i]!;
        if (!card.isPowered) continue;
        const id = card.identity();
        const isoDep = (id.sak & 0x20) !== 0;
        this.targets.push({ tech: 'a', card: i, isoDep });
        // SENS_RES high byte first: the two ATQA bytes as transmitted, reversed (interop.md 6.3).
        data.push(this.targets.length, id.atqa[1]!, id.atqa[0]!, id.sak, id.uid.length, ...id.uid);
        if (isoDep) data.push(...id.ats);
      }
    } else if (brty === PN532.baudRate.felica212 || brty === PN532.baudRate.felica424) {
      if (initiator.length !== 5 || initiator[0] !== 0x00)
        return this.refuse(cmd, 'InListPassiveTarget FeliCa needs the Polling payload 00 SC SC RC TSN');
      const polling = Uint8Array.of(6, ...initiator);
      for (let i = 0; i < this.cards.length && this.targets.length < maxTg; i++) {
        const res = this.felica(i, polling);
        if (!res) continue;
        this.targets.push({ tech: 'f', card: i, brty });
        data.push(this.targets.length, ...res);
      }
    }
    // Type B, Jewel and other modulations: no target in v1.
    return Uint8Array.of(C.inListPassiveTarget + 1, this.targets.length, ...data);
  }

  private felica(card: number, frame: Uint8Array): Uint8Array | null {
    this.hooks.exchange?.(card, 'felica', 'tx', frame);
    const res = this.cards[card]!.felica(frame);
    this.hooks.exchange?.(card, 'felica', 'rx', res);
    return res;
  }

  /** InCommunicateThru: a FeliCa frame `LEN cmd …` to the FeliCa targets; anything else times out. */
  private communicateThru(out: Uint8Array): number[] {
    if (out.length < 2 || out[0] !== out.length) return [PN532.status.timeout];
    for (const t of this.targets) {
      if (t.tech !== 'f') continue;
      const res = this.felica(t.card, out);
      if (res) return [PN532.status.ok, ...res];
    }
    return [PN532.status.timeout];
  }

  private dataExchange(tg: number, out: Uint8Array): number[] {
    const t = this.targets[tg - 1];
    if (!t) return [ERR_CONTEXT];
    if (t.tech === 'f') {
      if (out.length < 2 || out[0] !== out.length) return [PN532.status.timeout];
      const res = this.felica(t.card, out);
      return res ? [PN532.status.ok, ...res] : [PN532.status.timeout];
    }
    if (!t.isoDep) return [PN532.status.timeout];
    this.hooks.exchange?.(t.card, 'apdu', 'tx', out);
    const res = this.cards[t.card]!.apdu(out);
    this.hooks.exchange?.(t.card, 'apdu', 'rx', res);
    return res ? [PN532.status.ok, ...res] : [PN532.status.timeout];
  }
}

function hex1(b: number | undefined): string {
  return b === undefined ? '(none)' : bytesToHex(Uint8Array.of(b));
}
