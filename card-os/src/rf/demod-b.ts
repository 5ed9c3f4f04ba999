// Type B receivers (rf.md §7.5, §7.6): NRZ-L reader→card by a threshold from the SOF levels, BPSK card→reader
// by I/Q against the subcarrier phase of TR1; both then read characters UART-style, each start bit's edge
// re-aligning the etu grid.
import { prefixSums, subcarrierIQ } from './baseband';
import { assembleFrame, type DecodedFrame, type Dir } from './decoded-frame';
import {
  bitErrorsOf,
  SILENT_VARIANCE,
  timeOf,
  variance,
  type DemodOpts,
  type Received,
} from './demod-common';
import { bestEdge, ClockTracker, sumOf, type WindowSum } from './edges';

/** Subcarrier start: 4-etu windows with at least 12 times (10.8 dB) the mean noise power before them. */
const B_START_FACTOR = 12;

interface Sof {
  /** Start of the SOF's low part, its rise, and the first start bit (sample positions). */
  readonly fall: number;
  readonly rise: number;
  readonly firstChar: number;
  /** Baseband amplitude per sample: half the difference of the SOF's high and low levels. */
  readonly amp: number;
}

/**
 * Finds the SOF whose low part starts near `fallGuess` on baseband `bb` (positive = logic 1): the fall, the
 * rise 10 or 11 etu later and the first start bit 2 or 3 etu after the rise all lie on one etu grid, so the
 * three edges are scored together over every offset within an etu (rf.md §7.5).
 */
function findSof(
  bb: WindowSum,
  fallGuess: number,
  etu: number,
  n: number,
  silentZero = false,
): Sof | undefined {
  const w = Math.round(etu);
  const w2 = 2 * w;
  const down = (e: number, a: number, b: number): number => bb(e - a, e) - bb(e, e + b);
  let best: { fall: number; rise: number; start: number; score: number } | undefined;
  for (let f = Math.round(fallGuess - etu); f <= Math.round(fallGuess + etu); f++) {
    for (const low of [10, 11]) {
      const rise = f + low * etu;
      for (const high of [2, 3]) {
        const start = rise + high * etu;
        if (f - w2 < 0 || start + w > n) continue;
        const score = down(f, w2, w2) - down(rise, w2, w2) + down(start, w, w);
        if (!best || score > best.score) best = { fall: f, rise, start, score };
      }
    }
  }
  if (!best || !(best.score > 0)) return undefined;
  const { fall, rise, start } = best;
  if (!(bb(fall + etu, rise - etu) < 0) || !(bb(rise + 0.25 * etu, start - 0.25 * etu) > 0)) return undefined;
  if (!(down(rise, w2, w2) < 0) || !(down(start, w, w) > 0)) return undefined;
  const lowMean = bb(fall + etu, rise - etu) / Math.max(1, Math.round(rise - fall - 2 * etu));
  const highMean =
    bb(rise + 0.25 * etu, start - 0.25 * etu) / Math.max(1, Math.round(start - rise - 0.5 * etu));
  const amp = (highMean - lowMean) / 2;
  // With BPSK a baseband of 0 means no subcarrier; both parts must carry the signal, since a "low part"
  // of mere noise (a false start) averages near zero.
  if (silentZero && !(lowMean < -0.5 * amp && highMean > 0.5 * amp)) return undefined;
  if (!(amp > 0)) return undefined;
  return { fall, rise, firstChar: start, amp };
}

interface Chars {
  readonly levels: number[];
  /** Window sum of every level, for the decision-directed threshold refinement. */
  readonly sums: number[];
  readonly endAt: number;
  readonly eof: boolean;
}

/** The longest extra guard time between characters the receiver waits for, in etu. */
const MAX_EGT = 6;

/**
 * Reads characters from the first start bit until an EOF (or `measureChars` characters, or the end).
 * The etu grid steps 10 etu per character; every level change inside a character feeds the clock
 * tracker (its window straddling the boundary sums to 2A·(true − assumed) position), and a start bit that
 * is not where expected (EGT) is searched and re-anchors the grid. `ideal` keeps the grid as given.
 */
function readChars(
  bb: WindowSum,
  first: number,
  etu: number,
  n: number,
  amp: number,
  opts: { measureChars?: number; ideal?: number },
): Chars {
  const levels: number[] = [];
  const sums: number[] = [];
  const w = Math.round(etu);
  const h = Math.max(1, Math.round(etu / 2));
  const clock = new ClockTracker(etu);
  /** How late the grid is at a boundary b where the level changes from `before` (+ = late), in samples. */
  const lateness = (b: number, before: number): number => {
    const sum = bb(b - h, b + h); // 2A·(τ − b) for a falling edge at τ
    return Math.max(-h, Math.min(h, (before === 1 ? -sum : sum) / (2 * amp)));
  };
  let g = first;
  if (opts.ideal === undefined && amp > 0) {
    // Acquisition: the mean lateness over the transitions of the first three characters corrects the
    // start found on the SOF before any character is decided.
    let sum = 0;
    let count = 0;
    for (let j = 1; j < 30 && g + (j + 1) * etu <= n; j++) {
      const before = bb(g + (j - 1) * etu, g + j * etu) > 0 ? 1 : 0;
      const after = bb(g + j * etu, g + (j + 1) * etu) > 0 ? 1 : 0;
      if (before === after) continue;
      sum += lateness(g + j * etu, before);
      count++;
    }
    // A grid off by more than a quarter etu would give a meaningless estimate; keep the SOF's start then.
    if (count > 0 && Math.abs(sum / count) <= etu / 4) g -= Math.round(sum / count);
  }
  let chars = 0;
  for (;;) {
    if (opts.ideal !== undefined) g = first + chars * 10 * opts.ideal;
    else if (chars > 0 && bb(g, g + etu) > 0 && opts.measureChars === undefined) {
      // No start bit where expected: extra guard time; find the next falling edge.
      const edge = bestEdge(bb, g + etu / 2, Math.min(n - w, g + MAX_EGT * etu), w, true);
      if (edge.score > 0 && bb(edge.at, edge.at + etu) < 0) g = edge.at;
    }
    if (g + 10 * etu > n) return { levels, sums, endAt: g, eof: false };
    const c: number[] = [];
    for (let j = 0; j < 10; j++) {
      const v = bb(g + j * etu, g + (j + 1) * etu);
      sums.push(v);
      c.push(v > 0 ? 1 : 0);
    }
    if (opts.ideal === undefined && amp > 0) {
      for (let j = chars > 0 ? 0 : 1; j < 10; j++) {
        const before = j === 0 ? 1 : c[j - 1]!;
        if (before !== c[j]) g += clock.update(lateness(g + j * etu, before));
      }
    }
    levels.push(...c);
    chars++;
    const allZero = c.every((v) => v === 0);
    if (opts.measureChars !== undefined) {
      if (chars >= opts.measureChars) return { levels, sums, endAt: g + 10 * etu, eof: true };
    } else if (c[9] === 0 || c[0] === 1) {
      return { levels, sums, endAt: g + 10 * etu, eof: allZero };
    }
    g += 10 * etu;
  }
}

export function demodulateB(rx: Received, dir: Dir, opts: DemodOpts = {}): DecodedFrame {
  const x = rx.samples;
  const n = x.length;
  const etu = rx.spb;
  const empty = (
    outcome: 'no-signal' | 'no-sync',
    polarity: 'normal' | 'inverted' = 'normal',
  ): DecodedFrame => ({
    ...assembleFrame({
      tech: 'b',
      dir,
      bits: new Uint8Array(0),
      polarity,
      startFc: rx.t0Fc,
      endFc: timeOf(rx, n),
    }),
    outcome,
  });
  if (n < 24 * etu || variance(x) < SILENT_VARIANCE) return empty(n < 24 * etu ? 'no-sync' : 'no-signal');
  const found = dir === 'r2c' ? acquireNrz(rx, opts) : acquireBpsk(rx, opts);
  if (found === undefined) return empty('no-sync');
  const { bb, sof, polarity } = found;
  const measureChars = opts.measureBits === undefined ? undefined : Math.ceil(opts.measureBits / 10);
  const ideal = opts.idealSync ? rx.spb / (1 + (opts.idealSync.ppm ?? 0) * 1e-6) : undefined;
  const first = ideal !== undefined ? sof.fall + 12 * ideal : sof.firstChar;
  const chars = readChars(bb, first, etu, n, sof.amp, {
    ...(measureChars !== undefined ? { measureChars } : {}),
    ...(ideal !== undefined ? { ideal } : {}),
  });
  refineDecisions(chars);
  const sofLevels = [...new Array<number>(10).fill(0), 1, 1];
  const eof = chars.eof && measureChars === undefined ? [] : new Array<number>(10).fill(0);
  const all = Uint8Array.from([...sofLevels, ...chars.levels, ...eof]);
  const frame = assembleFrame({
    tech: 'b',
    dir,
    bits: chars.eof || measureChars !== undefined ? all : Uint8Array.from([...sofLevels, ...chars.levels]),
    polarity,
    startFc: timeOf(rx, sof.fall),
    endFc: timeOf(rx, chars.endAt),
  });
  const coded = Uint8Array.from(
    chars.levels.slice(0, measureChars === undefined ? undefined : measureChars * 10),
  );
  return { ...frame, codedBits: coded, ...bitErrorsOf(coded, opts.sentBits) };
}

/**
 * Decision-directed threshold: the midpoint of the mean window sums of the levels decided 1 and 0 over
 * the whole frame, which averages far more samples than the SOF alone; levels are decided again against it.
 */
function refineDecisions(chars: Chars): void {
  let s1 = 0;
  let n1 = 0;
  let s0 = 0;
  let n0 = 0;
  chars.sums.forEach((v, i) => {
    if (chars.levels[i]) {
      s1 += v;
      n1++;
    } else {
      s0 += v;
      n0++;
    }
  });
  if (n1 < 4 || n0 < 4) return;
  const mid = (s1 / n1 + s0 / n0) / 2;
  chars.sums.forEach((v, i) => {
    chars.levels[i] = v > mid ? 1 : 0;
  });
}

interface Acquired {
  readonly bb: WindowSum;
  readonly sof: Sof;
  readonly polarity: 'normal' | 'inverted';
}

/** Reader→card: idle level from the guard, threshold from the SOF's low and high parts. */
function acquireNrz(rx: Received, opts: DemodOpts): Acquired | undefined {
  const x = rx.samples;
  const n = x.length;
  const etu = rx.spb;
  const w = Math.round(etu);
  const p = prefixSums(x);
  const raw = sumOf(p);
  const high = raw(0, 4 * etu) / Math.round(4 * etu);
  let low = Infinity;
  for (let s = 0; s + w <= n; s++) low = Math.min(low, (p[s + w]! - p[s]!) / w);
  if (!(high - low > 1e-9)) return undefined;
  const centred =
    (theta: number): WindowSum =>
    (a, b) =>
      raw(a, b) - theta * (Math.round(b) - Math.round(a));
  const bb0 = centred((high + low) / 2);
  let fall: number;
  if (opts.idealSync) fall = (opts.idealSync.startFc - rx.t0Fc) / rx.tsFc;
  else {
    let s = 0;
    while (s + w <= n && bb0(s, s + w) >= 0) s++;
    if (s + w > n) return undefined;
    fall = bestEdge(bb0, s - etu, s + etu, w, true).at;
  }
  const sof0 = findSof(bb0, fall, etu, n);
  if (!sof0) return undefined;
  const lowLevel =
    raw(sof0.fall + etu, sof0.rise - etu) / Math.max(1, Math.round(sof0.rise - sof0.fall - 2 * etu));
  const highLevel =
    raw(sof0.rise + 0.25 * etu, sof0.firstChar - 0.25 * etu) /
    Math.max(1, Math.round(sof0.firstChar - sof0.rise - 0.5 * etu));
  const bb = centred((lowLevel + highLevel) / 2);
  return { bb, sof: sof0, polarity: 'normal' };
}

/** Card→reader: subcarrier start, first phase change, φ0 over the 8 etu before it, SOF check (or inverted). */
function acquireBpsk(rx: Received, opts: DemodOpts): Acquired | undefined {
  const x = rx.samples;
  const n = x.length;
  const etu = rx.spb;
  const w = Math.round(etu);
  const { i: pi, q: pq } = subcarrierIQ(x, rx.t0Fc, rx.tsFc);
  const iq = (a: number, b: number): [number, number] => {
    const lo = Math.max(0, Math.min(n, Math.round(a)));
    const hi = Math.max(0, Math.min(n, Math.round(b)));
    return [pi[hi]! - pi[lo]!, pq[hi]! - pq[lo]!];
  };
  const along = (ref: [number, number]): WindowSum => {
    const m = Math.hypot(ref[0], ref[1]) || 1;
    const c = ref[0] / m;
    const s = ref[1] / m;
    return (a, b) => {
      const [wi, wq] = iq(a, b);
      return wi * c + wq * s;
    };
  };
  if (opts.idealSync) {
    const fall = (opts.idealSync.startFc - rx.t0Fc) / rx.tsFc;
    const ref = along(iq(fall - 8 * etu, fall));
    const bb: WindowSum = opts.idealSync.polarity === 'inverted' ? (a, b) => -ref(a, b) : ref;
    const low = bb(fall + etu, fall + 9 * etu) / (8 * etu);
    const high = bb(fall + 10 * etu, fall + 12 * etu) / (2 * etu);
    const sof = { fall, rise: fall + 10 * etu, firstChar: fall + 12 * etu, amp: (high - low) / 2 };
    return { bb, sof, polarity: opts.idealSync.polarity ?? 'normal' };
  }
  // Subcarrier start: a 4-etu window whose magnitude stands out of the silence before it. A candidate
  // that does not lead to a SOF (noise) is dropped and the search goes on after it.
  const step = Math.max(1, Math.floor(etu / 4));
  const win = 4 * w;
  const power = (a: number): number => {
    const [i, q] = iq(a, a + win);
    return i * i + q * q;
  };
  // Noise power: mean over up to 64 windows that ended at least one window before the current one, so
  // the rising edge of the subcarrier does not raise its own threshold.
  const silence: number[] = [];
  const pending: number[] = [];
  let noise = 0;
  for (let s = 0; s + 2 * win <= n; s += step) {
    const m = power(s);
    pending.push(m);
    if (pending.length > Math.ceil(win / step)) {
      // Only windows below the detection threshold count as noise (a frame that fails acquisition must not
      // raise the estimate).
      const old = pending.shift()!;
      if (silence.length < 16 || old < B_START_FACTOR * noise) {
        silence.push(old);
        if (silence.length > 64) silence.shift();
        noise = silence.reduce((a, b) => a + b, 0) / silence.length;
      }
    }
    // A window and the next, independent one (TR1 lasts 10 etu) must both exceed the noise by
    // B_START_FACTOR, which noise alone does with probability e^(−2·12).
    const floor = B_START_FACTOR * noise;
    if (silence.length < 16 || !(m > 1e-18 * etu) || m < floor || power(s + win) < floor) continue;
    const found = acquireFrom(s);
    if (found) return found;
  }
  return undefined;

  function acquireFrom(detected: number): Acquired | undefined {
    // Where the subcarrier starts: the sharpest rise of 2-etu magnitudes around the detection.
    const mag2 = (a: number): number => Math.hypot(...iq(a, a + 2 * w));
    let on = detected;
    let best = -Infinity;
    for (let s = Math.max(2 * w, detected - etu); s <= Math.min(n - 2 * w, detected + win); s++) {
      const v = mag2(s) - mag2(s - 2 * w);
      if (v > best) {
        best = v;
        on = s;
      }
    }
    // First phase change against the phase just after the start (TR1 lasts 10 etu): a 2-etu window
    // turning negative.
    const first = along(iq(on + etu, on + 5 * etu));
    let change = -1;
    for (let s = on + etu; s + 2 * w <= n && s < on + 40 * etu; s += step) {
      if (first(s, s + 2 * w) < 0) {
        change = bestEdge(first, s - etu, s + 2 * etu, 2 * w, true).at;
        break;
      }
    }
    if (change < 0) return undefined;
    const bb = along(iq(Math.max(on, change - 8 * etu), change));
    // With TR1 the subcarrier is already there before the SOF.
    const withTr1 =
      Math.hypot(...iq(change - 3 * w, change - w)) >= 0.5 * Math.hypot(...iq(change + w, change + 3 * w));
    const normal = withTr1 ? findSof(bb, change, etu, n, true) : undefined;
    if (normal) return { bb, sof: normal, polarity: 'normal' };
    // The reference locked onto the SOF's low part (no or a very short TR1): then the subcarrier began
    // with the SOF, the "first phase change" is its rise 10–11 etu later, and the SOF appears inverted.
    const low = (change - on) / etu;
    if (low < 9.5 || low > 11.5) return undefined;
    const inv: WindowSum = (a, b) => -bb(a, b);
    const sof = findSof(inv, on, etu, n, true);
    return sof && { bb: inv, sof, polarity: 'inverted' };
  }
}
