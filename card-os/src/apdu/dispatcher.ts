// The ISO 7816 side of the card: one error boundary (anything unexpected becomes 6F00 and a trace
// event), SELECT by AID (full or partial, first or next occurrence), MANAGE CHANNEL, command chaining,
// GET RESPONSE with 61xx and 6Cxx, the PC/SC GET DATA pseudo-APDU and the FeliCa bridge (interop.md 2).
import { channelOf, isChained, parseCommandApdu, type CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { FELICA_BRIDGE, INS, MAX_CHANNELS } from '@mica/apdu-specs/apdu/iso-commands';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { MemoryError, PowerLostError } from '../hal/errors';
import type { CardContext } from '../dispatch/context';
import type { Applet, ApduResponse, AppletContext } from './applet';
import { IsoError } from './iso-error';

export interface ApduHost {
  readonly context: CardContext;
  /** The installed applets, in registry order. */
  applets(): readonly Applet[];
  /** Answers a FeliCa frame (null = silence). */
  felica(frame: Uint8Array): Uint8Array | null;
  /** The identifier PC/SC GET DATA returns (UID, PUPI or IDm) and the historical bytes. */
  uid(): Uint8Array;
  historicalBytes(): Uint8Array;
  trace(message: string): void;
}

interface Channel {
  applet: Applet | undefined;
  /** Data still waiting for GET RESPONSE. */
  pending: Uint8Array | undefined;
  /** Chained command data so far, with the header of its first part. */
  chain: { header: readonly number[]; data: Uint8Array[] } | undefined;
}

const EMPTY = new Uint8Array(0);

function respond(data: Uint8Array, sw: number): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data);
  out[data.length] = sw >> 8;
  out[data.length + 1] = sw & 0xff;
  return out;
}

function startsWith(aid: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > aid.length) return false;
  for (let i = 0; i < prefix.length; i++) if (aid[i] !== prefix[i]) return false;
  return true;
}

export class ApduDispatcher {
  private readonly channels = new Map<number, Channel>();

  constructor(private readonly host: ApduHost) {
    this.reset();
  }

  /** Power loss or reset: every applet deselected, channels closed, pending data dropped. */
  reset(): void {
    for (const [n, ch] of this.channels) if (ch.applet) this.safeDeselect(ch.applet, n);
    this.channels.clear();
    this.channels.set(0, { applet: undefined, pending: undefined, chain: undefined });
  }

  private safeDeselect(applet: Applet, channel: number): void {
    try {
      applet.deselect({ card: this.host.context, channel });
    } catch (e) {
      this.host.trace(`deselect failed: ${(e as Error).message}`);
    }
  }

  /** Answers one command APDU with response data ‖ SW1 SW2; never throws. */
  transceive(bytes: Uint8Array): Uint8Array {
    try {
      const parsed = parseCommandApdu(bytes);
      if (!parsed.ok) return respond(EMPTY, SW.WRONG_LENGTH);
      return this.command(parsed.apdu);
    } catch (e) {
      if (e instanceof PowerLostError) throw e;
      if (e instanceof IsoError) return respond(EMPTY, e.sw);
      if (e instanceof MemoryError) return respond(EMPTY, SW.MEMORY_FAILURE);
      this.host.trace(`unexpected: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      return respond(EMPTY, SW.UNKNOWN);
    }
  }

  private command(apdu: CommandApdu): Uint8Array {
    if (apdu.cla === 0xff) return this.pcscPseudo(apdu);
    if (apdu.cla === FELICA_BRIDGE.cla && apdu.ins === FELICA_BRIDGE.ins) return this.bridge(apdu);
    const n = channelOf(apdu.cla);
    if (n >= MAX_CHANNELS) return respond(EMPTY, SW.CHANNEL_NOT_SUPPORTED);
    const ch = this.channels.get(n);
    if (!ch) return respond(EMPTY, SW.CHANNEL_NOT_SUPPORTED);
    if (apdu.ins === INS.GET_RESPONSE && (apdu.cla & 0x80) === 0) return this.getResponse(ch, apdu);
    ch.pending = undefined;
    // Command chaining: collect the parts, run the whole command on the last one.
    if (isChained(apdu.cla)) {
      const header = [apdu.cla & ~0x10, apdu.ins, apdu.p1, apdu.p2];
      if (ch.chain && ch.chain.header.some((x, i) => x !== header[i])) {
        ch.chain = undefined;
        return respond(EMPTY, SW.LAST_COMMAND_EXPECTED);
      }
      ch.chain = ch.chain ?? { header, data: [] };
      ch.chain.data.push(apdu.data);
      return respond(EMPTY, SW.OK);
    }
    let whole = apdu;
    if (ch.chain) {
      const { header, data } = ch.chain;
      ch.chain = undefined;
      if (header[1] !== apdu.ins || header[2] !== apdu.p1 || header[3] !== apdu.p2)
        return respond(EMPTY, SW.LAST_COMMAND_EXPECTED);
      const all = new Uint8Array(data.reduce((t, d) => t + d.length, 0) + apdu.data.length);
      let o = 0;
      for (const d of [...data, apdu.data]) {
        all.set(d, o);
        o += d.length;
      }
      whole = { ...apdu, data: all, case: apdu.ne > 0 ? 4 : 3 };
    }
    if (whole.ins === INS.MANAGE_CHANNEL && (whole.cla & 0x80) === 0) return this.manageChannel(n, whole);
    if (whole.ins === INS.SELECT && whole.p1 === 0x04 && (whole.cla & 0x80) === 0)
      return this.select(n, ch, whole);
    if (!ch.applet)
      return respond(EMPTY, whole.ins === INS.SELECT ? SW.FUNCTION_NOT_SUPPORTED : SW.COMMAND_NOT_ALLOWED);
    const ctx: AppletContext = { card: this.host.context, channel: n };
    return this.deliver(ch, whole, ch.applet.process(whole, ctx));
  }

  /** Sends up to Ne bytes; the rest waits for GET RESPONSE (61xx). Ne shorter than a short answer: 6Cxx. */
  private deliver(ch: Channel, apdu: CommandApdu, r: ApduResponse): Uint8Array {
    if (r.sw !== SW.OK || r.data.length === 0) return respond(r.data, r.sw);
    const ne = apdu.ne === 0 ? 0 : apdu.ne;
    if (ne === 0) return respond(EMPTY, r.sw);
    if (r.data.length <= ne) return respond(r.data, r.sw);
    if (!apdu.extended && ne < 256 && r.data.length <= 256)
      return respond(EMPTY, SW.WRONG_LE | (r.data.length & 0xff));
    ch.pending = r.data.slice(ne);
    return respond(r.data.subarray(0, ne), SW.MORE_DATA | (Math.min(ch.pending.length, 256) % 256));
  }

  private getResponse(ch: Channel, apdu: CommandApdu): Uint8Array {
    const p = ch.pending;
    if (!p) return respond(EMPTY, SW.CONDITIONS_OF_USE);
    if (apdu.p1 !== 0 || apdu.p2 !== 0) return respond(EMPTY, SW.WRONG_P1P2);
    const ne = apdu.ne === 0 ? 256 : apdu.ne;
    const part = p.subarray(0, ne);
    const rest = p.subarray(part.length);
    ch.pending = rest.length > 0 ? rest.slice() : undefined;
    return respond(part, rest.length > 0 ? SW.MORE_DATA | (Math.min(rest.length, 256) % 256) : SW.OK);
  }

  private select(n: number, ch: Channel, apdu: CommandApdu): Uint8Array {
    const next = (apdu.p2 & 0x03) === 0x02;
    if ((apdu.p2 & 0x03) !== 0x00 && !next) return respond(EMPTY, SW.WRONG_P1P2);
    const aid = apdu.data;
    if (aid.length > 16) return respond(EMPTY, SW.WRONG_DATA);
    const matches = this.host.applets().filter((a) => startsWith(a.aid, aid));
    let target: Applet | undefined;
    if (!next) target = matches[0];
    else {
      const i = ch.applet ? matches.indexOf(ch.applet) : -1;
      target = matches[i + 1];
    }
    if (!target) return respond(EMPTY, SW.NOT_FOUND);
    if (ch.applet) this.safeDeselect(ch.applet, n);
    ch.applet = undefined;
    const fci = target.select({ card: this.host.context, channel: n });
    ch.applet = target;
    if ((apdu.p2 & 0x0c) === 0x0c) return respond(EMPTY, SW.OK);
    return this.deliver(ch, { ...apdu, ne: apdu.ne === 0 ? 0 : apdu.ne }, { data: fci, sw: SW.OK });
  }

  private manageChannel(n: number, apdu: CommandApdu): Uint8Array {
    if (apdu.p1 === 0x00) {
      // Open: P2 = 00 lets the card choose.
      let target = apdu.p2;
      if (target === 0) {
        target = 1;
        while (this.channels.has(target) && target < MAX_CHANNELS) target += 1;
      }
      if (target >= MAX_CHANNELS || this.channels.has(target))
        return respond(EMPTY, SW.CHANNEL_NOT_SUPPORTED);
      const from = this.channels.get(n)!;
      this.channels.set(target, { applet: undefined, pending: undefined, chain: undefined });
      // The new channel selects the applet of the channel it was opened from (ISO 7816-4 7.1.2).
      if (n !== 0 && from.applet) {
        from.applet.select({ card: this.host.context, channel: target });
        this.channels.get(target)!.applet = from.applet;
      }
      return apdu.p2 === 0 ? respond(Uint8Array.of(target), SW.OK) : respond(EMPTY, SW.OK);
    }
    if (apdu.p1 === 0x80) {
      const target = apdu.p2 === 0 ? n : apdu.p2;
      if (target === 0) return respond(EMPTY, SW.WRONG_P1P2);
      const ch = this.channels.get(target);
      if (!ch) return respond(EMPTY, SW.CHANNEL_NOT_SUPPORTED);
      if (ch.applet) this.safeDeselect(ch.applet, target);
      this.channels.delete(target);
      return respond(EMPTY, SW.OK);
    }
    return respond(EMPTY, SW.WRONG_P1P2);
  }

  /** PC/SC Part 3 GET DATA: FF CA 00 00 → the identifier, FF CA 01 00 → historical bytes. */
  private pcscPseudo(apdu: CommandApdu): Uint8Array {
    if (apdu.ins !== 0xca) return respond(EMPTY, SW.INS_NOT_SUPPORTED);
    if (apdu.p2 !== 0) return respond(EMPTY, SW.WRONG_P1P2);
    if (apdu.p1 === 0x00) return respond(this.host.uid(), SW.OK);
    if (apdu.p1 === 0x01) {
      const h = this.host.historicalBytes();
      return h.length > 0 ? respond(h, SW.OK) : respond(EMPTY, SW.FUNCTION_NOT_SUPPORTED);
    }
    return respond(EMPTY, SW.WRONG_P1P2);
  }

  /** The FeliCa bridge: data = LEN ‖ code ‖ …; answer = LEN ‖ response ‖ 9000, or 6400 for silence. */
  private bridge(apdu: CommandApdu): Uint8Array {
    if (apdu.p1 !== FELICA_BRIDGE.p1 || apdu.p2 !== FELICA_BRIDGE.p2) return respond(EMPTY, SW.WRONG_P1P2);
    if (apdu.data.length === 0) return respond(EMPTY, SW.WRONG_LENGTH);
    const r = this.host.felica(apdu.data);
    return r === null ? respond(EMPTY, SW.NO_ANSWER) : respond(r, SW.OK);
  }
}
