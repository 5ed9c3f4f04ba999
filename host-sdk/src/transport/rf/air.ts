// The field of the `rf:` transport (rf.md §2, §6, §8): one reader and the cards in it. A reader frame is
// coded, rendered (with k, noise, clock offset, distance) and demodulated by every card's receiver; each card
// endpoint answers or stays silent; the answers are timed, superposed at the reader, demodulated, placed on the
// timeline and traced. Holds the timeline and the noise generators; the reader logic lives elsewhere.
import { bytesToBitsMsb } from '@mica/apdu-specs/rf/bits';
import type { AirAnswer, AirTech, RfCardEndpoint } from '@mica/apdu-specs/rf/endpoint';
import { FELICA_SYNC } from '@mica/apdu-specs/rf/type-f';
import { crcBOk } from '@mica/apdu-specs/rf/type-b';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { codeFor, decodeFrameChips, frameBits, type Dir } from '@mica/card-os/rf/air-frame';
import { CHIPS_PER_BIT, type ChipStream } from '@mica/card-os/rf/chips';
import {
  addNoise,
  bitPeriods,
  durationFc,
  energyPerBit,
  GUARD_BITS,
  renderCards,
  sampleGrid,
  sigmaFor,
  SPB_LIMITS,
  type CardTransmission,
} from '@mica/card-os/rf/channel';
import { typeACrc, type DecodedFrame } from '@mica/card-os/rf/decoded-frame';
import { demodulate } from '@mica/card-os/rf/demod';
import { cardPowered, coupling } from '@mica/card-os/rf/distance';
import { encodeChips } from '@mica/card-os/rf/line-code';
import { defaultK, transmitStream } from '@mica/card-os/rf/link';
import { RfRandom, RF_STREAM } from '@mica/card-os/rf/prng';
import { Timeline } from '@mica/card-os/rf/timeline';
import {
  answerStartFc,
  ETU_FC,
  TYPE_A,
  TYPE_B,
  TYPE_F,
  typeAAnswerDelayFc,
  usToFc,
} from '@mica/card-os/rf/timing';
import type { WireEvent, WireTracer } from '../wire-trace';
import type { Fault, RfTransportOptions } from './rf-options';

export interface ReaderFrame {
  /** As on air, CRC included (Type F: LEN..data ‖ CRC). */
  readonly bytes: Uint8Array;
  /** Type A: 7 for short frames, the valid bits of a split last byte. */
  readonly bitsInLastByte?: number;
  readonly activation?: boolean;
}

export interface ListenSpec {
  /** An answer is heard only if it starts within this many carrier cycles after the end of the command. */
  readonly windowFc: number;
  /** Keep listening to the end of the window after a frame (FeliCa Polling time slots). */
  readonly allSlots?: boolean;
  /** Type A: low bits of the first byte the reader already sent (split anticollision frames). */
  readonly firstBit?: number;
}

/** A card frame as the reader's receiver decoded it (several cards in one cluster = a collision). */
export interface Heard {
  readonly frame: DecodedFrame;
  readonly startFc: number;
  readonly airtimeFc: number;
  /** Which cards transmitted (simulator knowledge, for reports only). */
  readonly cards: readonly number[];
  readonly slot?: number;
}

export interface TransmitResult {
  readonly cmdStartFc: number;
  readonly cmdAirtimeFc: number;
  readonly cmdEndFc: number;
  /** How the first card's receiver decoded the command (`no-power` when it has none). */
  readonly cardDecoded: string;
  /** Cards whose endpoint answered (they executed the command). */
  readonly answered: readonly number[];
  readonly heard: readonly Heard[];
}

interface CardTx {
  readonly card: number;
  readonly answer: AirAnswer;
  readonly stream: ChipStream;
  readonly startFc: number;
  readonly airtimeFc: number;
}

/** Airtime of a frame as rf.md §8.1 counts it, from its chip stream. */
function airtimeOf(tech: AirTech, dir: Dir, stream: ChipStream): number {
  const bitFc = stream.chipFc * CHIPS_PER_BIT[stream.code];
  // Type A: the Miller stream ends with the idle Y, which is not airtime; the OOK stream ends with EoF F,
  // which is. Types F and B: every coded bit counts.
  const bits = stream.length / CHIPS_PER_BIT[stream.code];
  return (tech === 'a' && dir === 'r2c' ? bits - 1 : bits) * bitFc;
}

function flipBit(bytes: Uint8Array, bitIndex: number): Uint8Array {
  const out = bytes.slice();
  const i = bitIndex >>> 3;
  if (i < out.length) out[i]! ^= 1 << (bitIndex & 7);
  return out;
}

function flipChip(stream: ChipStream, n: number): ChipStream {
  const value = stream.value.slice();
  if (n < stream.length) value[n >>> 3]! ^= 0x80 >>> (n & 7);
  return { ...stream, value };
}

function invertChips(stream: ChipStream): ChipStream {
  const value = stream.value.map((v) => v ^ 0xff);
  const tail = stream.length & 7;
  if (tail) value[value.length - 1]! &= (0xff << (8 - tail)) & 0xff;
  return { ...stream, value };
}

export class Air {
  readonly timeline = new Timeline();
  private readonly rngR2c: RfRandom;
  private readonly rngC2r: RfRandom;
  private lastCardEndFc = -Infinity;
  private lastCmdStartFc = -Infinity;
  private exchangeIndex = 0;

  constructor(
    readonly cards: readonly RfCardEndpoint[],
    private readonly o: RfTransportOptions,
    private readonly tracer: WireTracer | undefined,
  ) {
    this.rngR2c = new RfRandom(o.seed, RF_STREAM.noiseR2c);
    this.rngC2r = new RfRandom(o.seed, RF_STREAM.noiseC2r);
  }

  private emit(e: WireEvent): void {
    this.tracer?.(e);
  }

  private distanceOf(card: number): number | undefined {
    const d = this.o.distance;
    return d.length === 0 ? undefined : (d[card] ?? d[d.length - 1]);
  }

  /** Whether card i has power from the field (always, unless the distance model says otherwise). */
  fieldPowers(card: number): boolean {
    const d = this.distanceOf(card);
    return d === undefined || cardPowered(d);
  }

  fieldOn(): void {
    this.emit({ t: 0, dir: 'tx', layer: 'event', hex: '', event: 'field-on' });
    this.cards.forEach((c, i) => c.field(this.fieldPowers(i)));
  }

  fieldOff(): void {
    this.timeline.fieldOff();
    this.emit({ t: this.us(this.timeline.nowFc), dir: 'tx', layer: 'event', hex: '', event: 'field-off' });
    for (const c of this.cards) c.field(false);
  }

  /** The index the next exchange will have in the report (faults are addressed by it). */
  set exchange(i: number) {
    this.exchangeIndex = i;
  }

  us(fc: number): number {
    return Math.round((fc / 13.56e6) * 1e8) / 100;
  }

  /** Lets the field run unmodulated. */
  wait(fc: number): void {
    this.timeline.wait(fc);
  }

  private faults(attempt: number): readonly Fault[] {
    return attempt === 1 ? this.o.inject.filter((f) => f.exchange === this.exchangeIndex) : [];
  }

  /** The reader's guard before its next frame (rf.md §8.3). */
  private earliestStart(tech: AirTech): number {
    const now = this.timeline.nowFc;
    if (tech === 'f')
      return Math.max(
        now,
        this.lastCardEndFc + TYPE_F.readerGuardFc,
        this.lastCmdStartFc + TYPE_F.commandSpacingFc,
      );
    if (tech === 'a') return Math.max(now, this.lastCardEndFc + TYPE_A.readerGuardFc);
    return Math.max(now, this.lastCardEndFc + TYPE_B.readerGuardEtu * ETU_FC);
  }

  private chips(tech: AirTech, dir: Dir, bytes: Uint8Array, opts: { bits?: number; firstBit?: number }) {
    if (tech === 'f') {
      const frame = Uint8Array.of(0, 0, 0, 0, 0, 0, FELICA_SYNC >>> 8, FELICA_SYNC & 0xff, ...bytes);
      return encodeChips('manchester-f', bytesToBitsMsb(frame), { rate: this.o.rate, diff: this.o.diff });
    }
    const bits = frameBits(tech, dir, bytes, {
      ...(opts.bits !== undefined && opts.bits !== 8 ? { validBitsInLastByte: opts.bits } : {}),
      ...(opts.firstBit ? { firstBit: opts.firstBit } : {}),
    });
    return encodeChips(codeFor(tech, dir), bits);
  }

  private readerCrc(tech: AirTech, bytes: Uint8Array, bits: number): 'ok' | 'bad' | 'none' {
    if (tech === 'a') return typeACrc('r2c', bytes, bits, 0);
    if (tech === 'b') return crcBOk(bytes) ? 'ok' : 'bad';
    return 'ok';
  }

  /** One reader frame and whatever the cards answer within the listening window. */
  transmit(tech: AirTech, frame: ReaderFrame, listen: ListenSpec, attempt = 1): TransmitResult {
    const faults = this.faults(attempt);
    this.timeline.wait(this.earliestStart(tech) - this.timeline.nowFc);
    const bits = frame.bitsInLastByte ?? 8;
    let bytes = frame.bytes;
    let crcFault = false;
    for (const f of faults)
      if (f.kind === 'crc') {
        // The last byte on air holds the end of the CRC (its low bit for Type F is the last bit sent).
        bytes = flipBit(bytes, (bytes.length - 1) * 8);
        crcFault = true;
      }
    let stream = this.chips(tech, 'r2c', bytes, { bits });
    for (const f of faults) {
      if (f.kind === 'bit') {
        const fb =
          tech === 'f'
            ? null
            : frameBits(tech, 'r2c', bytes, bits !== 8 ? { validBitsInLastByte: bits } : {});
        if (fb === null) stream = flipChip(flipChip(stream, 2 * (f.value ?? 0)), 2 * (f.value ?? 0) + 1);
        else {
          const n = f.value ?? 0;
          if (n < fb.length) fb[n]! ^= 1;
          stream = encodeChips(codeFor(tech, 'r2c'), fb);
        }
      } else if (f.kind === 'chip') stream = flipChip(stream, f.value ?? 0);
    }
    const cmdAirtimeFc = airtimeOf(tech, 'r2c', stream);
    const placed = this.timeline.frame({
      dir: 'r2c',
      tech,
      bytes,
      airtimeFc: cmdAirtimeFc,
      activation: frame.activation ?? false,
    });
    const cmdStartFc = placed.startFc;
    const cmdEndFc = cmdStartFc + cmdAirtimeFc;
    this.lastCmdStartFc = cmdStartFc;
    const crc = crcFault ? 'bad' : this.readerCrc(tech, bytes, bits);
    this.emit({
      t: this.us(cmdStartFc),
      dir: 'tx',
      layer: 'air',
      tech,
      hex: bytesToHex(bytes),
      crc,
      ...(bits !== 8 ? { bits } : {}),
    });

    // Every card's receiver, then its framing layer.
    const txs: CardTx[] = [];
    const answered: number[] = [];
    let cardDecoded = 'no-power';
    this.cards.forEach((card, i) => {
      const d = this.distanceOf(i);
      const powered = (d === undefined || cardPowered(d)) && card.powered !== false;
      if (!powered) return;
      const decoded = this.receiveAtCard(tech, stream, d);
      if (i === 0) cardDecoded = decoded.outcome;
      if (decoded.outcome === 'no-signal' || decoded.outcome === 'no-sync') return;
      const answer = card.receive(tech, {
        bytes: decoded.bytes,
        bitsInLastByte: decoded.bitsInLastByte,
        crc: decoded.crc,
        parityOk: decoded.parityErrors.length === 0,
        codingError: decoded.outcome !== 'ok',
        atFc: cmdStartFc,
      });
      if (answer === null) return;
      answered.push(i);
      txs.push(this.cardTx(tech, i, answer, cmdStartFc, cmdEndFc, bytes, bits, faults));
    });
    if (txs.length === 0 && this.cards.every((c) => c.powered === false)) cardDecoded = 'no-power';

    const heard = this.listen(tech, txs, cmdEndFc, listen, faults);
    return { cmdStartFc, cmdAirtimeFc, cmdEndFc, cardDecoded, answered, heard };
  }

  private receiveAtCard(tech: AirTech, stream: ChipStream, distance: number | undefined): DecodedFrame {
    if (this.o.level === 'chips') return decodeFrameChips(tech, 'r2c', stream, { diff: this.o.diff });
    const g = distance === undefined ? 1 : coupling(distance);
    const code = stream.code;
    const spb = this.o.spbR2c ?? SPB_LIMITS[code].default;
    const tx = transmitStream(stream, tech, 'r2c', {
      spb,
      k: this.o.k ?? defaultK(tech),
      v10: g,
      ppm: this.o.ppm,
    });
    const sigma =
      this.o.sigma ?? (this.o.snrR2c === undefined ? 0 : sigmaFor(tx.eb / (g * g), this.o.snrR2c));
    addNoise(tx.samples, sigma, this.rngR2c);
    return demodulate(tx, tech, 'r2c', { diff: this.o.diff });
  }

  private cardTx(
    tech: AirTech,
    card: number,
    answer: AirAnswer,
    cmdStartFc: number,
    cmdEndFc: number,
    cmdBytes: Uint8Array,
    cmdBits: number,
    faults: readonly Fault[],
  ): CardTx {
    let stream = this.chips(tech, 'c2r', answer.bytes, {
      ...(answer.bitsInLastByte !== undefined ? { bits: answer.bitsInLastByte } : {}),
      ...(answer.firstBit !== undefined ? { firstBit: answer.firstBit } : {}),
    });
    let startFc: number;
    if (tech === 'f') startFc = cmdEndFc + answerStartFc(TYPE_F.turnaroundFc, answer.processingFc);
    else if (tech === 'b') startFc = cmdEndFc + Math.max(TYPE_B.tr0Etu * ETU_FC, answer.processingFc ?? 0);
    else {
      // Type A: the FDT counts from the end of the reader's last pause and keeps the card on the bit grid.
      const coded = frameBits('a', 'r2c', cmdBytes, cmdBits !== 8 ? { validBitsInLastByte: cmdBits } : {});
      const b = coded.length;
      const lastBit = (coded[b - 1] ?? 0) as 0 | 1;
      const lastPauseEnd = cmdStartFc + b * ETU_FC + (lastBit ? 96 : 160);
      startFc = lastPauseEnd + typeAAnswerDelayFc(lastBit, answer.processingFc ?? 0);
    }
    for (const f of faults) {
      if (f.kind === 'late') startFc += usToFc(f.value ?? 0);
      if (f.kind === 'invert') stream = invertChips(stream);
    }
    return { card, answer, stream, startFc, airtimeFc: airtimeOf(tech, 'c2r', stream) };
  }

  private listen(
    tech: AirTech,
    txs: CardTx[],
    cmdEndFc: number,
    listen: ListenSpec,
    faults: readonly Fault[],
  ): Heard[] {
    const dropped = faults.some((f) => f.kind === 'drop');
    const windowEnd = cmdEndFc + listen.windowFc;
    const inWindow = (dropped ? [] : txs)
      .filter((t) => t.startFc <= windowEnd)
      .sort((a, b) => a.startFc - b.startFc);
    // Overlapping transmissions form one cluster: the reader hears their sum.
    const clusters: CardTx[][] = [];
    for (const t of inWindow) {
      const last = clusters[clusters.length - 1];
      const end = last ? Math.max(...last.map((x) => x.startFc + x.airtimeFc)) : -Infinity;
      if (last && t.startFc < end) last.push(t);
      else clusters.push([t]);
    }
    const heard: Heard[] = [];
    for (const cluster of clusters) {
      const h = this.hear(tech, cluster, listen.firstBit ?? 0);
      heard.push(h);
      this.timeline.wait(Math.max(0, h.startFc - this.timeline.nowFc));
      this.timeline.frame({
        dir: 'c2r',
        tech,
        bytes: h.frame.bytes,
        airtimeFc: h.airtimeFc,
        activation: false,
      });
      this.lastCardEndFc = h.startFc + h.airtimeFc;
      const lost = h.frame.outcome === 'no-signal' || h.frame.outcome === 'no-sync';
      this.emit({
        t: this.us(h.startFc),
        dir: 'rx',
        layer: 'air',
        tech,
        hex: bytesToHex(h.frame.bytes),
        crc: h.frame.crc,
        ...(lost ? { lost: true } : {}),
        ...(h.frame.bitsInLastByte !== 8 ? { bits: h.frame.bitsInLastByte } : {}),
      });
      if (!listen.allSlots) break;
    }
    if (heard.length === 0 || listen.allSlots)
      this.timeline.wait(Math.max(0, windowEnd - this.timeline.nowFc));
    return heard;
  }

  private hear(tech: AirTech, cluster: readonly CardTx[], firstBit: number): Heard {
    const startFc = Math.min(...cluster.map((t) => t.startFc));
    const endFc = Math.max(...cluster.map((t) => t.startFc + t.airtimeFc));
    const cards = cluster.map((t) => t.card);
    const slot = cluster[0]!.answer.slot;
    const base = { startFc, airtimeFc: endFc - startFc, cards, ...(slot !== undefined ? { slot } : {}) };
    const decodeOpts = { diff: this.o.diff, ...(firstBit ? { firstBit } : {}) };
    if (this.o.level === 'chips') {
      const stream = cluster.length === 1 ? cluster[0]!.stream : this.orStreams(cluster, startFc);
      const frame = decodeFrameChips(tech, 'c2r', stream, { ...decodeOpts, startFc });
      return { ...base, frame };
    }
    const first = cluster[0]!.stream;
    const code = first.code;
    const spb = this.o.spbC2r ?? SPB_LIMITS[code].default;
    const bitFc = first.chipFc * CHIPS_PER_BIT[code];
    const guard = GUARD_BITS * bitFc;
    const t0 = startFc - guard;
    const grid = sampleGrid(bitFc, spb, t0, Math.ceil((endFc + guard - t0) / (bitFc / spb)));
    const gain = (card: number): number => {
      const d = this.distanceOf(card);
      return d === undefined ? 1 : coupling(d) ** 2;
    };
    const transmissions: CardTransmission[] = cluster.map((t) => ({
      stream: t.stream,
      startFc: t.startFc,
      ppm: this.o.ppm,
      lm: this.o.lm * gain(t.card),
    }));
    const samples = renderCards(transmissions, grid);
    let sigma = this.o.sigma ?? 0;
    if (this.o.sigma === undefined && this.o.snrC2r !== undefined) {
      // Eb of the frame as one card sends it at distance 0 (rf.md §6.3, §6.7: snr is the value at d = 0).
      const ref = cluster[0]!;
      const alone =
        cluster.length === 1 && gain(ref.card) === 1
          ? samples
          : renderCards([{ stream: ref.stream, startFc: ref.startFc, ppm: this.o.ppm, lm: this.o.lm }], grid);
      const from = Math.max(0, Math.ceil((ref.startFc - t0) / grid.tsFc));
      const to = Math.min(
        grid.count,
        Math.ceil(
          (ref.startFc + durationFc({ stream: ref.stream, startFc: ref.startFc, ppm: this.o.ppm }) - t0) /
            grid.tsFc,
        ),
      );
      sigma = sigmaFor(energyPerBit(alone, from, to, bitPeriods(ref.stream)), this.o.snrC2r);
    }
    addNoise(samples, sigma, this.rngC2r);
    const frame = demodulate({ samples, t0Fc: t0, tsFc: grid.tsFc, spb }, tech, 'c2r', decodeOpts);
    return { ...base, frame };
  }

  /** Chip level: several cards' chips OR-ed on one grid (a collision). */
  private orStreams(cluster: readonly CardTx[], startFc: number): ChipStream {
    const first = cluster[0]!.stream;
    const offsets = cluster.map((t) => Math.round((t.startFc - startFc) / first.chipFc));
    const length = Math.max(...cluster.map((t, i) => t.stream.length + offsets[i]!));
    const value = new Uint8Array((length + 7) >>> 3);
    const active = first.active ? new Uint8Array(value.length) : undefined;
    cluster.forEach((t, i) => {
      for (let j = 0; j < t.stream.length; j++) {
        const k = j + offsets[i]!;
        if ((t.stream.value[j >>> 3]! >>> (7 - (j & 7))) & 1) value[k >>> 3]! |= 0x80 >>> (k & 7);
        if (active && (t.stream.active === undefined || (t.stream.active[j >>> 3]! >>> (7 - (j & 7))) & 1))
          active[k >>> 3]! |= 0x80 >>> (k & 7);
      }
    });
    return active ? { ...first, length, value, active } : { ...first, length, value };
  }
}
