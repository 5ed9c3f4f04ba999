// Frame-start acquisition for the Type A card→reader receiver (rf.md §7.4): SoF detection against the
// silence before it, confirmation by the bits after it, grid phase, and the exact SoF position by least
// squares over the half-bit grid (a single half bit of subcarrier is easily lost in noise).
import { median, subcarrierIQ } from './baseband';
import type { Received } from './demod-common';

/**
 * SoF detection: a half bit at least 9.5 dB (3×) above the median of the silence before it. rf.md §7.4
 * says 6 dB, which noise alone reaches in one window out of sixteen; mica also asks the next four bits to
 * carry subcarrier and then places the SoF by least squares.
 */
export const OOK_SOF_FACTOR = 3;

export interface OokSignal {
  readonly n: number;
  readonly hb: number;
  readonly bitS: number;
  /** Σ (x − local mean) · (cos, sin) of the subcarrier phase over samples [a, b). */
  iq(a: number, b: number): [number, number];
  /** Subcarrier magnitude of the half bit starting at a. */
  mag(a: number): number;
}

export function ookSignal(rx: Received): OokSignal {
  const n = rx.samples.length;
  const { i: pi, q: pq } = subcarrierIQ(rx.samples, rx.t0Fc, rx.tsFc);
  const hb = rx.spb / 2;
  const iq = (a: number, b: number): [number, number] => {
    const lo = Math.max(0, Math.min(n, Math.round(a)));
    const hi = Math.max(0, Math.min(n, Math.round(b)));
    return [pi[hi]! - pi[lo]!, pq[hi]! - pq[lo]!];
  };
  return { n, hb, bitS: rx.spb, iq, mag: (a) => Math.hypot(...iq(a, a + hb)) };
}

/** A frame start: the SoF's first sample, the subcarrier phase (unit vector) and the on-level of a half bit. */
export interface SofHypothesis {
  readonly sof: number;
  readonly ci: number;
  readonly cq: number;
  readonly level: number;
}

/** Phase and on-level from the stronger half of each of the `count` bits after `a`. */
export function referenceAfter(
  sig: OokSignal,
  a: number,
  count: number,
): { ci: number; cq: number; level: number } {
  let ri = 0;
  let rq = 0;
  for (let k = 1; k <= count; k++) {
    const b = a + k * sig.bitS;
    const [i, q] =
      sig.mag(b) >= sig.mag(b + sig.hb) ? sig.iq(b, b + sig.hb) : sig.iq(b + sig.hb, b + sig.bitS);
    ri += i;
    rq += q;
  }
  const m = Math.hypot(ri, rq) || 1;
  return { ci: ri / m, cq: rq / m, level: m / count };
}

/** Up to eight frame starts, most likely first; empty when no frame is found. */
export function acquireOok(sig: OokSignal): SofHypothesis[] {
  const { n, hb, bitS, mag } = sig;
  const step = Math.max(1, Math.floor(hb / 4));
  // The silence median uses windows that ended at least one window earlier, so the rising subcarrier
  // does not raise its own threshold.
  const silence: number[] = [];
  const pending: number[] = [];
  const lag = Math.ceil(hb / step);
  let noise = 0;
  for (let s = 0; s + 12 * bitS <= n; s += step) {
    const m = mag(s);
    // Only windows below the detection threshold count as silence, so a frame that fails confirmation
    // does not raise the noise estimate.
    pending.push(m);
    if (pending.length > lag) {
      const old = pending.shift()!;
      if (silence.length < 32 || old < OOK_SOF_FACTOR * noise) {
        silence.push(old);
        if (silence.length > 64) silence.shift();
        noise = median(silence);
      }
    }
    if (silence.length < 32 || !(m > 1e-9 * hb)) continue;
    if (m < OOK_SOF_FACTOR * noise) continue;
    const found = confirm(sig, s, noise);
    if (found.length > 0) return found;
  }
  return [];
}

function confirm(sig: OokSignal, s: number, noise: number): SofHypothesis[] {
  const { n, hb, bitS, mag } = sig;
  let a = s;
  let peak = -Infinity;
  for (let t = Math.max(0, Math.round(s - hb / 4)); t <= Math.min(n - hb, Math.round(s + hb)); t++) {
    const v = mag(t);
    if (v > peak) {
      peak = v;
      a = t;
    }
  }
  // Subcarrier in at least three of the next four bits (one may be lost in noise); the least-squares step
  // below places the SoF itself.
  const thr = Math.max(OOK_SOF_FACTOR * noise, 0.25 * peak);
  let carried = 0;
  for (let k = 1; k <= 4; k++) if (Math.max(mag(a + k * bitS), mag(a + k * bitS + hb)) >= thr) carried++;
  if (carried < 3) return [];
  // Grid phase: the offset with the strongest Manchester contrast over eight bits.
  let ref = referenceAfter(sig, a, 4);
  const proj = (c: number): number => {
    const [i, q] = sig.iq(c, c + hb);
    return i * ref.ci + q * ref.cq;
  };
  let bestD = 0;
  let bestC = -Infinity;
  for (let d = -Math.floor(hb / 2); d <= Math.floor(hb / 2); d++) {
    let c = 0;
    for (let k = 1; k <= 8; k++) c += Math.abs(proj(a + d + k * bitS) - proj(a + d + k * bitS + hb));
    if (c > bestC) {
      bestC = c;
      bestD = d;
    }
  }
  a += bestD;
  ref = referenceAfter(sig, a, 8);
  // The coherent on-level of eight bits: a frame's halves add up in phase, noise does not.
  if (ref.level < 2.5 * noise) return [];
  // The SoF by least squares: each hypothesis explains the same span of half bits as silence before it,
  // then D, then Manchester pairs.
  const first = a - 16 * hb;
  const halves: number[] = [];
  for (let c = first; c < a + 26 * hb; c += hb) halves.push(proj(c));
  const off = (h: number): number => h * h;
  const on = (h: number): number => (h - ref.level) * (h - ref.level);
  const half = (h: number): number => (h - ref.level / 2) * (h - ref.level / 2);
  const costs: { j: number; cost: number }[] = [];
  for (let j = 0; j < 26; j++) {
    const c0 = first + j * hb;
    if (c0 < 0) continue;
    let cost = 0;
    for (let m = 0; m < halves.length; m++) {
      const h = halves[m]!;
      if (m < j || m === j + 1) cost += off(h);
      else if (m === j) cost += on(h);
      else if ((m - j) % 2 === 0) {
        const h2 = halves[m + 1];
        // A pair is D, E, or a collision of two equally strong cards (half the level in each half).
        cost +=
          h2 === undefined
            ? Math.min(off(h), on(h))
            : Math.min(on(h) + off(h2), off(h) + on(h2), half(h) + half(h2));
      }
    }
    costs.push({ j, cost });
  }
  costs.sort((x, y) => x.cost - y.cost);
  return costs
    .slice(0, 8)
    .map(({ j }) => ({ sof: first + j * hb, ci: ref.ci, cq: ref.cq, level: ref.level }));
}
