// Type A reader→card receiver, card side (rf.md §7.3): pause detection by a threshold between the idle
// level and the lowest level, X/Y/Z per bit period on a grid that every pause re-aligns, parity via L1.
import { prefixSums } from './baseband';
import { assembleFrame, type DecodedFrame } from './decoded-frame';
import {
  bitErrorsOf,
  SILENT_VARIANCE,
  timeOf,
  variance,
  type DemodOpts,
  type Received,
} from './demod-common';
import { bestEdge, sumOf } from './edges';
import { decodeMillerLetters, millerLetter } from './miller';

export function demodulateAR2c(rx: Received, opts: DemodOpts = {}): DecodedFrame {
  const x = rx.samples;
  const n = x.length;
  const bitS = rx.spb;
  const cw = bitS / 4; // one chip, the length of a pause
  const p = prefixSums(x);
  const sum = sumOf(p);
  const avg = (a: number, b: number): number => sum(a, b) / Math.max(1, Math.round(b) - Math.round(a));
  const empty = (outcome: 'no-signal' | 'no-sync'): DecodedFrame => ({
    ...assembleFrame({
      tech: 'a',
      dir: 'r2c',
      bits: new Uint8Array(0),
      polarity: 'normal',
      startFc: rx.t0Fc,
      endFc: timeOf(rx, n),
    }),
    outcome,
  });
  if (n < 4 * bitS || variance(x) < SILENT_VARIANCE) return empty(n < 4 * bitS ? 'no-sync' : 'no-signal');

  // Levels: idle over the first two bit periods; the pause level is the mean of the samples below the
  // midpoint between idle and the lowest chip-long average (the lowest average alone is biased by noise).
  const w = Math.max(1, Math.round(cw));
  const high = avg(0, 2 * bitS);
  let lowest = Infinity;
  for (let s = 0; s + w <= n; s++) lowest = Math.min(lowest, (p[s + w]! - p[s]!) / w);
  if (!(high - lowest > 1e-9)) return empty('no-signal');
  const theta0 = (high + lowest) / 2;
  let lowSum = 0;
  let lowCount = 0;
  for (let i = 0; i < n; i++) {
    if (x[i]! < theta0) {
      lowSum += x[i]!;
      lowCount++;
    }
  }
  const low = lowSum / Math.max(1, lowCount);
  // Pauses must stand out of the idle noise (averaged over a chip); noise alone gives no frame.
  let idleVar = 0;
  for (let i = 0; i < 2 * bitS; i++) idleVar += (x[i]! - high) ** 2;
  if (high - low < (5 * Math.sqrt(idleVar / (2 * bitS))) / Math.sqrt(w)) return empty('no-sync');
  const theta = (high + low) / 2;

  // SoF: the first pause after at least two idle bit periods.
  let sof = -1;
  if (opts.idealSync) sof = (opts.idealSync.startFc - rx.t0Fc) / rx.tsFc;
  else {
    let idleSince = 0;
    for (let s = 0; s + w <= n; s++) {
      if ((p[s + w]! - p[s]!) / w >= theta) continue;
      if (s - idleSince >= 2 * bitS) {
        // The SoF pause's centroid (not its first sample) fixes the grid, with sub-sample resolution.
        const edge = bestEdge(sum, s - w, s + w, w, true).at;
        let total = 0;
        let count = 0;
        for (let i = Math.max(0, edge - w); i < Math.min(n, edge + 2 * w); i++) {
          if (x[i]! < theta) {
            total += i + 0.5;
            count++;
          }
        }
        sof = count > 0 ? total / count - cw / 2 : edge;
        break;
      }
      idleSince = s + w;
    }
    if (sof < 0) return empty('no-sync');
  }

  let grid = sof; // start of the current bit period
  let letters = 'Z';
  let lastPauseEnd = sof + cw;
  const want = opts.measureBits;
  let prevBit = 0;
  let ended = false;
  for (;;) {
    grid += bitS;
    const b = grid;
    if (b + bitS > n) break;
    // Each quarter's level. With two samples per chip (minimum spb) a pause may sit half a sample off the
    // grid, so the windows are half a sample wider and the lowest quarter holds the pause.
    const pad = w <= 2 ? 0.5 : 0;
    const levels = [0, 1, 2, 3].map((qq) => avg(b + qq * cw - pad, b + (qq + 1) * cw + pad));
    const lowest = levels.indexOf(Math.min(...levels));
    const pauses = levels.map((v, qq) => (v < theta && (pad === 0 || qq === lowest) ? 1 : 0));
    const l = millerLetter(pauses[0]!, pauses[1]!, pauses[2]!, pauses[3]!);
    letters += l;
    const pauseQ = l === 'Z' ? 0 : l === 'X' ? 2 : -1;
    if (pauseQ >= 0) {
      // The pause's centroid (samples below the threshold around where it is expected) re-aligns the
      // grid with sub-sample resolution; its end is the centroid plus half a pause.
      const expect = b + pauseQ * cw;
      let sum = 0;
      let count = 0;
      for (
        let i = Math.max(0, Math.round(expect - w / 2));
        i < Math.min(n, Math.round(expect + 1.5 * w));
        i++
      ) {
        if (x[i]! < theta) {
          sum += i + 0.5;
          count++;
        }
      }
      const centre = count > 0 ? sum / count : expect + cw / 2;
      if (!opts.idealSync) grid += (centre - (expect + cw / 2)) / 2;
      if (!ended) lastPauseEnd = opts.idealSync ? expect + cw : centre + cw / 2;
    }
    const bit = l === 'X' ? 1 : 0;
    if (l === 'Y' && prevBit === 0 && !ended) ended = true;
    prevBit = bit;
    if (ended && (want === undefined || letters.length - 1 >= want)) break;
  }
  const decoded = decodeMillerLetters(letters);
  const measured = new Uint8Array(Math.min(want ?? 0, letters.length - 1));
  for (let i = 0; i < measured.length; i++) measured[i] = letters[i + 1] === 'X' ? 1 : 0;
  const bits = decoded.bits;
  const endSample = sof + (bits.length + 2) * bitS;
  const frame = assembleFrame({
    tech: 'a',
    dir: 'r2c',
    bits,
    polarity: 'normal',
    startFc: timeOf(rx, sof),
    endFc: timeOf(rx, endSample),
    violations: decoded.violations,
    ended: decoded.ended,
    lastPauseEndFc: timeOf(rx, lastPauseEnd),
  });
  return {
    ...frame,
    ...(want !== undefined ? { codedBits: measured } : {}),
    ...bitErrorsOf(want !== undefined ? measured : bits, opts.sentBits),
  };
}
