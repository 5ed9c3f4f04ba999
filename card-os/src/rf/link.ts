// One frame through the whole stack (rf.md §2): bytes → L1 → L2 chips → L3 samples (with guard, noise,
// clock offset) and back through L4, for tests, the CLI and the benchmarks.
import { codeFor, encodeFrame, type AirFrameOpts, type Dir, type Tech } from './air-frame';
import { bitFcOf, type ChipStream } from './chips';
import {
  addNoise,
  bitPeriods,
  checkSpb,
  durationFc,
  energyPerBit,
  GUARD_BITS,
  renderCards,
  renderReader,
  sampleGrid,
  sigmaFor,
  SPB_LIMITS,
  type SampleGrid,
} from './channel';
import type { DecodedFrame } from './decoded-frame';
import { demodulate, type DemodulateOpts } from './demod';
import type { Received } from './demod-common';
import { RfRandom, RF_STREAM } from './prng';

/** mica defaults (rf.md §6.1): k 0.1 (Type F and B) or 1.0 (Type A), load modulation 0.1, V10 1. */
export function defaultK(tech: Tech): number {
  return tech === 'a' ? 1.0 : 0.1;
}
export const DEFAULT_LM = 0.1;

export interface ChannelOpts {
  readonly spb?: number;
  readonly k?: number;
  readonly lm?: number;
  readonly v10?: number;
  readonly ppm?: number;
  /** Eb/N0 in dB at the demodulator input (rf.md §6.3); absent = no noise. */
  readonly snrDb?: number;
  /** Absolute noise σ (units of V10), instead of snrDb. */
  readonly sigma?: number;
  /** Generator for the noise; default a fresh stream of seed 1 for the direction. */
  readonly rng?: RfRandom;
  /** Extra silence (noise only) before the guard, in carrier cycles. */
  readonly leadFc?: number;
}

export interface Transmitted extends Received {
  readonly stream: ChipStream;
  /** When the frame's first chip starts and its last ends. */
  readonly startFc: number;
  readonly endFc: number;
  readonly grid: SampleGrid;
  readonly sigma: number;
  readonly eb: number;
}

/** Renders a chip stream as one direction's envelope with the guard of rf.md §6.3 and optional noise. */
export function transmitStream(
  stream: ChipStream,
  tech: Tech,
  dir: Dir,
  opts: ChannelOpts = {},
): Transmitted {
  const code = stream.code;
  const spb = checkSpb(code, opts.spb ?? SPB_LIMITS[code].default);
  const bitFc = bitFcOf(stream);
  const guard = GUARD_BITS * bitFc;
  const startFc = guard + (opts.leadFc ?? 0);
  const tx = { stream, startFc, ...(opts.ppm !== undefined ? { ppm: opts.ppm } : {}) };
  const endFc = startFc + durationFc(tx);
  const grid = sampleGrid(bitFc, spb, 0, Math.ceil((endFc + guard) / (bitFc / spb)));
  const samples =
    dir === 'r2c'
      ? renderReader(tx, grid, {
          k: opts.k ?? defaultK(tech),
          ...(opts.v10 !== undefined ? { v10: opts.v10 } : {}),
        })
      : renderCards([{ ...tx, lm: opts.lm ?? DEFAULT_LM }], grid);
  const from = Math.ceil(startFc / grid.tsFc);
  const to = Math.min(grid.count, Math.ceil(endFc / grid.tsFc));
  const eb = energyPerBit(samples, from, to, bitPeriods(stream));
  const sigma = opts.sigma ?? (opts.snrDb === undefined ? 0 : sigmaFor(eb, opts.snrDb));
  if (sigma > 0) {
    const rng = opts.rng ?? new RfRandom(1, dir === 'r2c' ? RF_STREAM.noiseR2c : RF_STREAM.noiseC2r);
    addNoise(samples, sigma, rng);
  }
  return { samples, t0Fc: grid.t0Fc, tsFc: grid.tsFc, spb, stream, startFc, endFc, grid, sigma, eb };
}

/** L1 + L2 + L3: a frame's bytes as received samples. */
export function transmitFrame(
  tech: Tech,
  dir: Dir,
  bytes: Uint8Array,
  opts: ChannelOpts & AirFrameOpts = {},
): Transmitted {
  return transmitStream(encodeFrame(tech, dir, bytes, opts), tech, dir, opts);
}

/** L4 + L1: received samples → DecodedFrame. */
export function receiveFrame(rx: Received, tech: Tech, dir: Dir, opts: DemodulateOpts = {}): DecodedFrame {
  return demodulate(rx, tech, dir, opts);
}

export { codeFor };
