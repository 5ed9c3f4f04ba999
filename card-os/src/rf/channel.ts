// The sample-level channel (rf.md §6): envelope samples of reader and card transmissions with modulation
// degree k, load-modulation depth, clock offset, several cards, AWGN at a given Eb/N0, and the rectifier.
import { bitFcOf, CHIPS_PER_BIT, type ChipCode, type ChipStream } from './chips';
import type { RfRandom } from './prng';

/** Samples per bit (Type F) or per etu (Type A/B): minimum and mica default per code (rf.md §6.1). */
export const SPB_LIMITS: Readonly<Record<ChipCode, { readonly min: number; readonly default: number }>> =
  Object.freeze({
    'manchester-f': { min: 4, default: 8 },
    'miller-a': { min: 8, default: 16 },
    'ook-sc-a': { min: 16, default: 32 },
    'nrz-b': { min: 4, default: 8 },
    'bpsk-sc-b': { min: 16, default: 32 },
  });

/** Guard of noise before and after a frame, in bit periods (rf.md §6.3). */
export const GUARD_BITS = 16;

export function checkSpb(code: ChipCode, spb: number): number {
  const lim = SPB_LIMITS[code];
  if (!Number.isInteger(spb) || spb < lim.min)
    throw new RangeError(`spb must be an integer of at least ${lim.min} for ${code}, got ${spb}`);
  return spb;
}

/** Where samples are taken: sample i at t0Fc + i · tsFc carrier cycles. */
export interface SampleGrid {
  readonly t0Fc: number;
  readonly tsFc: number;
  readonly count: number;
}

export function sampleGrid(bitFc: number, spb: number, t0Fc: number, count: number): SampleGrid {
  return { t0Fc, tsFc: bitFc / spb, count };
}

/** One transmitter's frame: its chips, when its first chip starts, and its clock offset. */
export interface Transmission {
  readonly stream: ChipStream;
  readonly startFc: number;
  /** Transmitter chip clock = (1 + ppm · 1e−6) × nominal (rf.md §6.6). */
  readonly ppm?: number;
}

/** Duration of a transmission in carrier cycles, clock offset included. */
export function durationFc(tx: Transmission): number {
  return (tx.stream.length * tx.stream.chipFc) / (1 + (tx.ppm ?? 0) * 1e-6);
}

/**
 * Writes `lo` over the samples covered by chips of value 1 (the rest of [first, last) holds `hi`): one pass
 * per chip rather than per sample, the hot path of the Type F and Type B channels.
 */
function fillChips(tx: Transmission, grid: SampleGrid, hi: number, lo: number, out: Float32Array): void {
  out.fill(hi);
  const { value, length, chipFc } = tx.stream;
  const chipDur = chipFc / (1 + (tx.ppm ?? 0) * 1e-6);
  // Sample i reads chip floor((t_i − start) / chipDur); chip j covers samples [ceil(a_j), ceil(a_(j+1))).
  const a0 = (tx.startFc - grid.t0Fc) / grid.tsFc;
  const per = chipDur / grid.tsFc;
  for (let j = 0; j < length; j++) {
    if (!((value[j >>> 3]! >>> (7 - (j & 7))) & 1)) continue;
    let i = Math.ceil(a0 + j * per);
    let end = Math.ceil(a0 + (j + 1) * per);
    if (i < 0) i = 0;
    if (end > grid.count) end = grid.count;
    for (; i < end; i++) out[i] = lo;
  }
}

/** Reader→card envelope e = V10 · (1 + k · s), s = +1 for chip 0 and idle, −1 for chip 1 (rf.md §6.1). */
export function renderReader(
  tx: Transmission,
  grid: SampleGrid,
  opts: { k: number; v10?: number },
  out = new Float32Array(grid.count),
): Float32Array {
  const v10 = opts.v10 ?? 1;
  fillChips(tx, grid, v10 * (1 + opts.k), v10 * (1 - opts.k), out);
  return out;
}

/** A card's transmission with its load-modulation depth h (`lm`, already scaled by distance if used). */
export interface CardTransmission extends Transmission {
  readonly lm: number;
}

function subcarrier(t: number): number {
  return ((Math.floor(t) % 16) + 16) % 16 < 8 ? 1 : 0;
}

/**
 * Card→reader envelope at the reader, r = max(0, R0 − Σ h_j · m_j(t)) (rf.md §6.1, §6.4). m = chip (Type F);
 * chip AND q(t) (Type A); q(t) XOR chip while active (Type B); q = fc/16 square wave locked to the carrier.
 */
export function renderCards(
  txs: readonly CardTransmission[],
  grid: SampleGrid,
  opts: { r0?: number } = {},
  out = new Float32Array(grid.count),
): Float32Array {
  const r0 = opts.r0 ?? 1;
  const only = txs.length === 1 ? txs[0]! : undefined;
  if (only !== undefined && only.stream.code === 'manchester-f') {
    // One card, no subcarrier: the chip fill is exact and fast.
    fillChips(only, grid, r0, Math.max(0, r0 - only.lm), out);
    return out;
  }
  out.fill(0);
  for (const tx of txs) {
    const { value, length, chipFc, code, active } = tx.stream;
    const scale = (1 + (tx.ppm ?? 0) * 1e-6) / chipFc;
    const h = tx.lm;
    const first = Math.max(0, Math.floor((tx.startFc - grid.t0Fc) / grid.tsFc));
    const last = Math.min(grid.count, Math.ceil((tx.startFc + durationFc(tx) - grid.t0Fc) / grid.tsFc) + 1);
    for (let i = first; i < last; i++) {
      const t = grid.t0Fc + i * grid.tsFc;
      const j = Math.floor((t - tx.startFc) * scale);
      if (j < 0 || j >= length) continue;
      const chip = (value[j >>> 3]! >>> (7 - (j & 7))) & 1;
      let m: number;
      if (code === 'ook-sc-a') m = chip & subcarrier(t);
      else if (code === 'bpsk-sc-b') {
        const on = active === undefined ? 1 : (active[j >>> 3]! >>> (7 - (j & 7))) & 1;
        m = on ? chip ^ subcarrier(t) : 0;
      } else m = chip;
      if (m) out[i]! += h;
    }
  }
  for (let i = 0; i < grid.count; i++) {
    const v = r0 - out[i]!;
    out[i] = v > 0 ? v : 0;
  }
  return out;
}

/** Eb = (1/Nbits) · Σ (x_i − x̄)² over samples [from, to) (rf.md §6.3). */
export function energyPerBit(samples: Float32Array, from: number, to: number, nbits: number): number {
  // One pass: Σ(x − x̄)² = Σx² − (Σx)² / N, with the samples shifted by the first one for accuracy.
  const n = Math.max(1, to - from);
  const ref = samples[from] ?? 0;
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const d = samples[i]! - ref;
    s1 += d;
    s2 += d * d;
  }
  return Math.max(0, s2 - (s1 * s1) / n) / nbits;
}

/** σ = sqrt(Eb / (2 · 10^(snr/10))) (rf.md §6.3). */
export function sigmaFor(eb: number, snrDb: number): number {
  return Math.sqrt(eb / (2 * 10 ** (snrDb / 10)));
}

/** Adds white Gaussian noise of standard deviation sigma to samples [from, to). */
export function addNoise(
  samples: Float32Array,
  sigma: number,
  rng: RfRandom,
  from = 0,
  to = samples.length,
): void {
  if (sigma > 0) rng.addGaussian(samples, sigma, from, to);
}

/** Levels after an ideal rectifier with diode drop vf (rf.md §6.2). */
export function rectify(opts: { v10: number; k: number; vf: number }): {
  vhr: number;
  vlr: number;
  pp: number;
} {
  const { v10, k, vf } = opts;
  return { vhr: v10 * (1 + k) - vf, vlr: v10 * (1 - k) - vf, pp: 2 * k * v10 };
}

/** |e(t)| − vf per sample. */
export function rectifySamples(samples: Float32Array, vf: number): Float32Array {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.abs(samples[i]!) - vf;
  return out;
}

/** Bit periods covered by a stream (its chips / chips per bit). */
export function bitPeriods(stream: ChipStream): number {
  return stream.length / CHIPS_PER_BIT[stream.code];
}

export { bitFcOf };
