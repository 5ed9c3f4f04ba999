// Types shared by the demodulators (rf.md §7): the received signal and the options every receiver takes.
import { bitDifferences } from '@mica/apdu-specs/rf/bits';

/** Envelope samples as delivered by the channel: sample i at t0Fc + i · tsFc carrier cycles. */
export interface Received {
  readonly samples: Float32Array;
  readonly t0Fc: number;
  readonly tsFc: number;
  /** Samples per bit (Type F) or per etu (Type A/B). */
  readonly spb: number;
}

/** The true timing and polarity, for BER measurements only (rf.md §9.5 `idealSync`). */
export interface IdealSync {
  /** Type F: start of the sync word; Type A: start of the SoF; Type B: start of the SOF. */
  readonly startFc: number;
  readonly polarity?: 'normal' | 'inverted';
  /** The transmitter's clock offset. */
  readonly ppm?: number;
}

export interface DemodOpts {
  readonly idealSync?: IdealSync;
  /** Read at least this many coded bits after the start, whatever LEN or the end of frame say (BER). */
  readonly measureBits?: number;
  /** The coded bits that were sent (Type F LEN..CRC, Type A data + parity, Type B characters): gives bitErrors. */
  readonly sentBits?: Uint8Array;
}

export function bitErrorsOf(decided: Uint8Array, sent: Uint8Array | undefined): { bitErrors?: number } {
  if (sent === undefined) return {};
  return { bitErrors: bitDifferences(decided.subarray(0, sent.length), sent) };
}

export function timeOf(rx: Received, sample: number): number {
  return rx.t0Fc + sample * rx.tsFc;
}

export function sampleOf(rx: Received, fc: number): number {
  return (fc - rx.t0Fc) / rx.tsFc;
}

/** Population variance of a signal (to tell `no-signal` from `no-sync`). */
export function variance(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  const m = s / Math.max(1, x.length);
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i]! - m) ** 2;
  return v / Math.max(1, x.length);
}

export const SILENT_VARIANCE = 1e-12;
