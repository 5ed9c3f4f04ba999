// The `rf:` transport (rf.md §10): the host SDK reaches a card through the radio simulator. It owns the
// field and its timeline, activates the card when a client first needs it (Type F Polling for FeliCa frames;
// Type A, or B, for APDUs), runs ISO-DEP or the FeliCa budget rules, retries by an injected policy, and
// reports every exchange (rf.md §8.7). Deterministic: the same inputs and seed give the same report and trace.
import { atrFromAtqb, atrFromAts } from '@mica/apdu-specs/apdu/atr';
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { AirTech, RfCardEndpoint } from '@mica/apdu-specs/rf/endpoint';
import { readerLink } from '@mica/apdu-specs/rf/iso-dep-rules';
import { codeFor } from '@mica/card-os/rf/air-frame';
import { SPB_LIMITS } from '@mica/card-os/rf/channel';
import { defaultK } from '@mica/card-os/rf/link';
import { buildReport, type ExchangeRecord } from '@mica/card-os/rf/timeline';
import { usToFc } from '@mica/card-os/rf/timing';
import { TransportError, type Transport } from '../transport';
import type { WireTracer } from '../wire-trace';
import { Air } from './air';
import { deselect, isoDepExchange, type IsoDepSession } from './iso-dep-reader';
import { activateTypeA, inventoryTypeA } from './reader-a';
import { activateTypeB } from './reader-b';
import { ReaderCore } from './reader-core';
import { felicaExchange, pollSlots, type FelicaLink } from './reader-f';
import { defaultRfRetryPolicy, type RfRetryPolicy } from './retry-policy';
import { rfOptions, type RfTransportOptions } from './rf-options';

/** Unmodulated field before the first frame (rf.md §10.2, mica default 5 ms). */
export const FIELD_SETTLE_FC = usToFc(5000);

export interface RfTransportInit extends Partial<RfTransportOptions> {
  /** The reader's retry policy; default `defaultRfRetryPolicy(retries)`. */
  readonly retryPolicy?: RfRetryPolicy;
  /** Receives every JSONL trace record (rf.md §11.1). */
  readonly onWire?: WireTracer;
  readonly description?: string;
}

export type RfReport = ReturnType<typeof buildReport>;

type Active =
  | { readonly tech: 'none' }
  | { readonly tech: 'f' }
  | { readonly tech: 'a' | 'b'; readonly session: IsoDepSession; readonly atr: Uint8Array };

/** FSD in bytes → the largest FSDI whose frame size fits. */
function fsdiOf(fsd: number): number {
  const sizes = [16, 24, 32, 40, 48, 64, 96, 128, 256];
  let fsdi = 0;
  sizes.forEach((s, i) => {
    if (s <= fsd) fsdi = i;
  });
  return fsdi;
}

export class RfTransport implements Transport {
  readonly description: string;
  readonly options: RfTransportOptions;
  private readonly core: ReaderCore;
  private readonly air: Air;
  private readonly onWire: WireTracer | undefined;
  private active: Active = { tech: 'none' };
  private readonly felicaLink: FelicaLink = { pmm: null };
  private firstTech: AirTech | undefined;
  private closed = false;
  private settled = false;

  constructor(endpoint: RfCardEndpoint | readonly RfCardEndpoint[], init: RfTransportInit = {}) {
    const { retryPolicy, onWire, description, ...given } = init;
    this.options = rfOptions(given);
    const cards = Array.isArray(endpoint) ? endpoint : [endpoint as RfCardEndpoint];
    if (cards.length === 0) throw new RangeError('an rf: field needs at least one card endpoint');
    this.onWire = onWire;
    this.air = new Air(cards, this.options, onWire);
    this.core = new ReaderCore(
      this.air,
      this.options,
      retryPolicy ?? defaultRfRetryPolicy(this.options.retries),
    );
    this.description = description ?? 'rf:in-process';
    this.air.fieldOn();
  }

  private check(): void {
    if (this.closed) throw new TransportError('closed', 'the transport is closed');
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.air.wait(FIELD_SETTLE_FC);
  }

  /** The exchange as the client sees it, stamped with its first reader frame and the last card frame. */
  private wire(layer: 'felica' | 'apdu', command: Uint8Array, answer: Uint8Array | null, from: number): void {
    if (!this.onWire) return;
    const recs = this.core.records.slice(from);
    const first = recs[0];
    const last = recs[recs.length - 1];
    const t0 = first ? first.cmd.startFc : this.air.timeline.nowFc;
    this.onWire({ t: this.air.us(t0), dir: 'tx', layer, hex: bytesToHex(command) });
    if (answer !== null)
      this.onWire({ t: this.air.us(last?.rsp?.startFc ?? t0), dir: 'rx', layer, hex: bytesToHex(answer) });
  }

  /** Leaves ISO-DEP (S(DESELECT)) before another technology takes over. */
  private leaveIsoDep(): void {
    if (this.active.tech === 'a' || this.active.tech === 'b') deselect(this.core, this.active.session);
    this.active = { tech: 'none' };
  }

  private techForFelica(): 'f' {
    if (this.options.tech !== 'auto' && this.options.tech !== 'f')
      throw new TransportError(
        'protocol',
        `rf: tech=${this.options.tech} carries APDUs only, not FeliCa frames`,
      );
    return 'f';
  }

  private techForApdu(): 'a' | 'b' {
    const t = this.options.tech;
    if (t === 'f') throw new TransportError('protocol', 'rf: tech=f carries FeliCa frames only, not APDUs');
    if (t === 'a' || t === 'b') return t;
    return this.air.cards[0]!.techs.includes('a') ? 'a' : 'b';
  }

  private activateF(): void {
    this.techForFelica();
    if (this.active.tech === 'f') return;
    this.leaveIsoDep();
    this.settle();
    this.firstTech ??= 'f';
    // Polling: any system, request code 01 (system code), TSN 00. A missing answer leaves the PMm unknown.
    felicaExchange(this.core, this.felicaLink, Uint8Array.of(6, 0x00, 0xff, 0xff, 0x01, 0x00), {
      activation: true,
    });
    this.active = { tech: 'f' };
  }

  private activateIsoDep(): Active & { tech: 'a' | 'b' } {
    const tech = this.techForApdu();
    if (this.active.tech === tech) return this.active;
    this.active = { tech: 'none' };
    this.settle();
    this.firstTech ??= tech;
    const fsdi = fsdiOf(this.options.fsd);
    if (tech === 'a') {
      const a = activateTypeA(this.core, fsdi, this.options.cid);
      const session: IsoDepSession = { tech, link: readerLink(a.ats.fsc, a.cid), fwi: a.ats.fwi };
      this.active = { tech, session, atr: atrFromAts(a.atsBytes) };
    } else {
      const b = activateTypeB(this.core, fsdi, this.options.cid);
      const session: IsoDepSession = { tech, link: readerLink(b.atqb.fsc, b.cid), fwi: b.atqb.fwi };
      this.active = { tech, session, atr: atrFromAtqb(b.atqb.appData, b.atqb.protInfo, b.mbli) };
    }
    return this.active;
  }

  /**
   * The FeliCa exchange, synchronously (the simulation runs on its own timeline, not the clock): the answer,
   * or null for silence. Throws TransportError like `felica()` rejects.
   */
  exchangeFelica(frame: Uint8Array): Uint8Array | null {
    this.check();
    if (!(frame instanceof Uint8Array)) throw new TypeError('frame must be a Uint8Array');
    // Sent as given, a wrong LEN included: the card's receiver rejects such a frame and stays silent.
    if (frame.length < 1 || frame.length > 255)
      throw new TransportError('protocol', 'a FeliCa frame must be 1 to 255 bytes (LEN ‖ code ‖ …)');
    this.activateF();
    const from = this.core.records.length;
    const answer = felicaExchange(this.core, this.felicaLink, frame);
    this.wire('felica', frame, answer, from);
    return answer;
  }

  /** The APDU exchange, synchronously: response data ‖ SW1 SW2. Throws TransportError like `apdu()` rejects. */
  exchangeApdu(command: Uint8Array): Uint8Array {
    this.check();
    if (!(command instanceof Uint8Array)) throw new TypeError('command must be a Uint8Array');
    const active = this.activateIsoDep();
    const from = this.core.records.length;
    const answer = isoDepExchange(this.core, active.session, command);
    if (answer.length < 2) throw new TransportError('protocol', 'answer shorter than a status word');
    this.wire('apdu', command, answer, from);
    return answer;
  }

  felica(frame: Uint8Array): Promise<Uint8Array | null> {
    try {
      return Promise.resolve(this.exchangeFelica(frame));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  apdu(command: Uint8Array): Promise<Uint8Array> {
    try {
      return Promise.resolve(this.exchangeApdu(command));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** The ATR a PC/SC reader builds from the ATS (Type A) or ATQB (Type B); activates ISO-DEP if needed. */
  atr(): Promise<Uint8Array> {
    try {
      this.check();
      const active = this.activateIsoDep();
      this.onWire?.({
        t: this.air.us(this.air.timeline.nowFc),
        dir: 'rx',
        layer: 'event',
        hex: bytesToHex(active.atr),
        event: 'atr',
      });
      return Promise.resolve(active.atr.slice());
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** Activation alone (rf.md §10.2): Type F Polling, or Type A/B up to ISO-DEP; `auto` means Type F. */
  activate(tech: 'a' | 'b' | 'f' | 'auto' = this.options.tech): void {
    this.check();
    if (tech === 'f' || tech === 'auto') this.activateF();
    else if (this.options.tech === 'auto' || this.options.tech === tech) {
      if (this.options.tech === 'auto' && tech !== this.techForApdu()) {
        throw new TransportError(
          'protocol',
          `rf: the card's APDU interface is Type ${this.techForApdu().toUpperCase()}`,
        );
      }
      this.activateIsoDep();
    } else
      throw new TransportError(
        'protocol',
        `rf: tech=${this.options.tech} cannot activate Type ${tech.toUpperCase()}`,
      );
  }

  /** FeliCa Polling over every slot of `tsn` (rf.md §8.6): per slot `ok` with the IDm, or `collision`. */
  pollSlots(systemCode = 0xffff, tsn = 0x0f): NonNullable<ExchangeRecord['slots']> {
    this.check();
    this.techForFelica();
    this.leaveIsoDep();
    this.settle();
    this.firstTech ??= 'f';
    const slots = pollSlots(this.core, this.felicaLink, systemCode, tsn);
    this.active = { tech: 'f' };
    return slots;
  }

  /** The UIDs of every Type A card in the field, by anticollision, HLTA and REQA (rf.md §9.3). */
  inventoryTypeA(): Uint8Array[] {
    this.check();
    this.leaveIsoDep();
    this.settle();
    this.firstTech ??= 'a';
    return inventoryTypeA(this.core);
  }

  /** S(DESELECT) for ISO-DEP, then field off (rf.md §10.2). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    try {
      this.leaveIsoDep();
    } finally {
      this.air.fieldOff();
      this.closed = true;
    }
    return Promise.resolve();
  }

  /** The JSON report of rf.md §8.7 (complete after close). */
  report(): RfReport {
    const o = this.options;
    const tech = this.firstTech ?? (o.tech === 'auto' ? 'f' : o.tech);
    const code = codeFor(tech, 'c2r');
    return buildReport(
      {
        tech,
        rateKbps: tech === 'f' ? o.rate : 106,
        spb: o.spbC2r ?? SPB_LIMITS[code].default,
        snrDb: o.snrC2r ?? null,
        k: o.k ?? defaultK(tech),
        lm: o.lm,
        seed: o.seed,
      },
      this.air.timeline,
      this.core.records,
    );
  }

  /** The exchange records behind the report. */
  get exchanges(): readonly ExchangeRecord[] {
    return this.core.records;
  }
}
