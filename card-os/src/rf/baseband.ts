// Sample-domain helpers shared by the demodulators: prefix sums for O(1) window sums, level removal,
// and I/Q prefix sums against the fc/16 subcarrier (rf.md §7.1).

/** P[0] = 0, P[i + 1] = P[i] + x[i], in double precision. */
export function prefixSums(x: ArrayLike<number>, out = new Float64Array(x.length + 1)): Float64Array {
  let s = 0;
  out[0] = 0;
  for (let i = 0; i < x.length; i++) out[i + 1] = s += x[i]!;
  return out;
}

/** Σ x[a..b) from prefix sums, with a and b clamped to the signal. */
export function windowSum(p: Float64Array, a: number, b: number): number {
  const n = p.length - 1;
  const lo = a < 0 ? 0 : a > n ? n : a;
  const hi = b < 0 ? 0 : b > n ? n : b;
  return hi > lo ? p[hi]! - p[lo]! : 0;
}

/** x minus its centred running mean over `window` samples (shorter at the edges). */
export function removeRunningMean(
  x: Float32Array,
  window: number,
  out = new Float32Array(x.length),
): Float32Array {
  const p = prefixSums(x);
  const w = Math.max(1, Math.round(window));
  const before = w >> 1;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const a = i - before < 0 ? 0 : i - before;
    const b = a + w > n ? n : a + w;
    out[i] = x[i]! - (p[b]! - p[a]!) / (b - a);
  }
  return out;
}

/**
 * Prefix sums of (x − local mean) · cos and · sin of the fc/16 subcarrier phase at each sample's time
 * t0Fc + i · tsFc, the local mean taken over one subcarrier period (16/fc).
 */
export function subcarrierIQ(
  x: Float32Array,
  t0Fc: number,
  tsFc: number,
): { i: Float64Array; q: Float64Array } {
  const n = x.length;
  const period = Math.max(1, Math.round(16 / tsFc));
  const centred = removeRunningMean(x, period);
  const pi = new Float64Array(n + 1);
  const pq = new Float64Array(n + 1);
  const w = (2 * Math.PI) / 16;
  let si = 0;
  let sq = 0;
  // Exact phases: the subcarrier square wave is 1 on [0, 8) of each 16/fc period; its fundamental is
  // cos(w · (t − 4)) up to scale, so the reference is centred on the middle of the high half.
  for (let k = 0; k < n; k++) {
    const t = t0Fc + k * tsFc;
    const ph = w * (Math.floor(t) - 3.5);
    const v = centred[k]!;
    pi[k + 1] = si += v * Math.cos(ph);
    pq[k + 1] = sq += v * Math.sin(ph);
  }
  return { i: pi, q: pq };
}

/** Median of a list of numbers (0 for an empty list). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Eb/N0 in dB of antipodal decisions from their matched-filter outputs c (mean² / (2 · variance) of |c|). */
export function snrFromDecisions(c: ArrayLike<number>): number | undefined {
  const n = c.length;
  if (n < 8) return undefined;
  let m = 0;
  for (let i = 0; i < n; i++) m += Math.abs(c[i]!);
  m /= n;
  let v2 = 0;
  for (let i = 0; i < n; i++) v2 += (Math.abs(c[i]!) - m) ** 2;
  v2 /= n - 1;
  if (v2 <= 0) return undefined;
  return 10 * Math.log10((m * m) / (2 * v2));
}
