// Type F receiver (rf.md §7.2), both directions: level removal, per-bit matched filter, acquisition and
// sync search over sample offsets (resolving half-bit and polarity ambiguity), early–late clock tracking.
import { ClockTracker } from './edges';
import { assembleFrame, type DecodedFrame, type Dir } from './decoded-frame';
import { bitErrorsOf, sampleOf, timeOf, type DemodOpts, type Received } from './demod-common';

export interface DemodFOpts extends DemodOpts {
  readonly diff?: boolean;
  /** Search 4DB2 too and decode inverted streams (default true). */
  readonly polarityDetection?: boolean;
  /** Hamming distance accepted on the 16 sync bits (default 0). */
  readonly syncTolerance?: number;
}

const SYNC = 0xb24d;

/** The prefix-sum buffer, reused between calls (its contents never leave a call). */
let prefixBuffer = new Float64Array(0);
function scratch(size: number): Float64Array {
  if (prefixBuffer.length < size) prefixBuffer = new Float64Array(Math.max(size, 2 * prefixBuffer.length));
  return prefixBuffer;
}

function snrOf(sumAbs: number, sumSq: number, n: number): number | undefined {
  if (n < 8) return undefined;
  const m = sumAbs / n;
  const v = (sumSq - n * m * m) / (n - 1);
  return v > 0 ? 10 * Math.log10((m * m) / (2 * v)) : undefined;
}
const SYNC_INV = 0x4db2;

/** Set bits of a 32-bit value, branch-free (the sync search calls this at every sample offset of every bit). */
function popcount(v: number): number {
  let x = v - ((v >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

interface SyncHit {
  /** Sample index of the first sync bit. */
  readonly at: number;
  readonly inverted: boolean;
  readonly strength: number;
}

export function demodulateF(rx: Received, dir: Dir, opts: DemodFOpts = {}): DecodedFrame {
  const { spb } = rx;
  const x = rx.samples;
  const n = x.length;
  // Level removal: c is a difference of two equal-length halves of a bit, so any level that is constant
  // over the bit (the running mean of rf.md §7.2) cancels in it exactly; the timing detector subtracts
  // the bit's own mean. Prefix sums of the raw samples therefore serve both.
  const p = scratch(n + 1);
  let lo = Infinity;
  let hi = -Infinity;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    p[i + 1] = acc += v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const h = spb >> 1;
  const c = (s: number): number => p[s + spb]! - p[s + spb - h]! - (p[s + h]! - p[s]!);
  const none = (outcome: 'no-signal' | 'no-sync'): DecodedFrame => ({
    ...assembleFrame({
      tech: 'f',
      dir,
      bits: new Uint8Array(0),
      polarity: 'normal',
      startFc: rx.t0Fc,
      endFc: timeOf(rx, n),
    }),
    outcome,
  });
  if (n < 32 * spb) return none('no-sync');
  if (!(hi - lo > 1e-6)) return none('no-signal');

  let hit: SyncHit | undefined;
  if (opts.idealSync) {
    hit = {
      at: Math.round(sampleOf(rx, opts.idealSync.startFc)),
      inverted: opts.idealSync.polarity === 'inverted',
      strength: 0,
    };
  } else {
    hit = searchSync(c, n, spb, opts);
    if (!hit) return none('no-sync');
  }

  // Data: LEN..CRC after the sync, with early–late tracking of the bit start τ (in samples).
  const ppmScale = 1 + (opts.idealSync?.ppm ?? 0) * 1e-6;
  const step = spb / ppmScale;
  const tracking = !opts.idealSync;
  let amp = 0;
  if (tracking) {
    for (let k = 0; k < 16; k++) amp += Math.abs(c(hit.at + Math.round(k * step)));
    amp /= 16 * 2 * h;
  }
  const d = Math.max(1, spb >> 2);
  const clock = new ClockTracker(spb);
  let tau = hit.at + 16 * step;
  const maxBits = Math.max(257 * 8, opts.measureBits ?? 0);
  const bits = new Uint8Array(maxBits);
  // Running sums of |c| and c² for the SNR estimate (Eb/N0 = mean² / (2 · variance) of |c|).
  let sumAbs = 0;
  let sumSq = 0;
  let nb = 0;
  const invert = hit.inverted ? 1 : 0;
  let prevRaw = opts.diff ? (c(hit.at + Math.round(15 * step)) > 0 ? 1 : 0) : 0;
  let want = 8;
  let lastEnd = tau;
  // The end of the signal: a byte's worth of bits without the mid-bit transition (|c| under a quarter of
  // the sync's) means the transmitter stopped, so a LEN larger than the frame reads as truncated rather
  // than as idle zeros (which a CRC-16/XMODEM may even accept). Off when reading past the frame (BER).
  const weakLimit = tracking && opts.measureBits === undefined ? 0.25 * amp * 2 * h : -1;
  let weakRun = 0;
  while (nb < want) {
    const s = Math.round(tau);
    if (s < 0 || s + spb > n) break;
    const v = c(s);
    const raw = v > 0 ? 1 : 0;
    let bit = raw ^ invert;
    if (opts.diff) {
      bit = raw ^ prevRaw;
      prevRaw = raw;
    }
    if (Math.abs(v) < weakLimit) {
      if (++weakRun >= 8) {
        nb -= weakRun - 1;
        break;
      }
    } else weakRun = 0;
    bits[nb] = bit;
    nb++;
    sumAbs += Math.abs(v);
    sumSq += v * v;
    lastEnd = s + spb;
    if (nb === 8) {
      let len = 0;
      for (let k = 0; k < 8; k++) len = (len << 1) | bits[k]!;
      want = Math.max(len >= 2 ? (len + 2) * 8 : 8, opts.measureBits ?? 0);
    }
    if (tracking && amp > 0) {
      const mid = s + h;
      const level = ((p[s + spb]! - p[s]!) / spb) * 2 * d;
      const e = (v > 0 ? 1 : -1) * (p[mid + d]! - p[mid - d]! - level);
      let delta = e / (2 * amp);
      if (delta > d) delta = d;
      else if (delta < -d) delta = -d;
      tau += clock.update(delta);
      amp += (Math.abs(v) / (2 * h) - amp) / 64;
    }
    tau += step;
  }
  const coded = bits.slice(0, nb);
  const snr = snrOf(sumAbs, sumSq, nb);
  const frame = assembleFrame({
    tech: 'f',
    dir,
    bits: coded,
    polarity: hit.inverted ? 'inverted' : 'normal',
    startFc: timeOf(rx, hit.at),
    endFc: timeOf(rx, lastEnd),
    ...(snr !== undefined ? { snrEstimateDb: snr } : {}),
  });
  const measured =
    opts.measureBits !== undefined ? coded.subarray(0, opts.measureBits) : (frame.codedBits ?? coded);
  return {
    ...frame,
    ...(frame.outcome === 'ok'
      ? { endFc: timeOf(rx, hit.at) + (16 + frame.bytes.length * 8) * step * rx.tsFc }
      : {}),
    codedBits: measured,
    ...bitErrorsOf(coded, opts.sentBits),
  };
}

/**
 * Finds the sync word: bits are decided at every sample offset o ∈ [0, spb); a hit is 16 bits equal to
 * B24D (or 4DB2, inverted) within `syncTolerance`, after 8 preamble bits with at most one error. Hits
 * within 8 bits of the earliest are grouped into clusters one bit wide and scored by Σ|c| over their 24
 * bits; the strongest hit of the earliest cluster reaching 60 % of the best score wins. The true
 * alignment has full-strength bits; half a bit off, half the sync bits are near zero (the half-bit
 * ambiguity of the preamble, rf.md §7.2); a quarter bit off the preamble itself is near zero and noise
 * can turn it into any pattern.
 */
function searchSync(c: (s: number) => number, n: number, spb: number, opts: DemodFOpts): SyncHit | undefined {
  const tol = opts.syncTolerance ?? 0;
  const detectInverted = opts.polarityDetection !== false && !opts.diff;
  const hits: SyncHit[] = [];
  const reg = new Int32Array(spb);
  const prevRaw = new Uint8Array(spb);
  let lastK = Math.floor((n - spb) / spb) - 1;
  // All offsets advance together, bit by bit, so the search stops 8 bits after the first hit.
  for (let k = 0; k <= lastK; k++) {
    for (let o = 0; o < spb; o++) {
      const s = o + k * spb;
      let bit = c(s) > 0 ? 1 : 0;
      if (opts.diff) {
        const raw = bit;
        bit = raw ^ prevRaw[o]!;
        prevRaw[o] = raw;
      }
      const r = ((reg[o]! << 1) | bit) & 0xffffff;
      reg[o] = r;
      if (k < 23) continue;
      const word = r & 0xffff;
      // The preamble's bits are counted only when the sync word matches (most offsets stop here).
      let inverted: boolean | undefined;
      if (popcount(word ^ SYNC) <= tol && popcount(r >>> 16) <= 1) inverted = false;
      else if (detectInverted && popcount(word ^ SYNC_INV) <= tol && popcount(r >>> 16) >= 7) inverted = true;
      if (inverted === undefined) continue;
      const at = s - 15 * spb;
      let strength = 0;
      for (let j = 0; j < 24; j++) strength += Math.abs(c(at + (j - 8) * spb));
      hits.push({ at, inverted, strength });
      if (hits.length === 1) lastK = Math.min(lastK, k + 8);
    }
  }
  if (hits.length === 0) return undefined;
  const first = Math.min(...hits.map((hh) => hh.at));
  const near = hits.filter((hh) => hh.at <= first + 8 * spb).sort((a, b) => a.at - b.at);
  const best = Math.max(...near.map((hh) => hh.strength));
  // Clusters of hits within one bit of each other; the strongest of the earliest good cluster wins.
  let pick: SyncHit | undefined;
  for (let i = 0; i < near.length;) {
    let top = near[i]!;
    let j = i + 1;
    while (j < near.length && near[j]!.at <= near[i]!.at + spb) {
      if (near[j]!.strength > top.strength) top = near[j]!;
      j++;
    }
    if (top.strength >= 0.6 * best) {
      pick = top;
      break;
    }
    i = j;
  }
  return pick;
}
