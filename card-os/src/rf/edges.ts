// Edge and window helpers over prefix sums for the pulse-shaped receivers (Type A pauses, Type B NRZ/BPSK).

/** A baseband signal given by its window sums: positive = logic 1 (or "high"). */
export type WindowSum = (a: number, b: number) => number;

/** Rounds and clamps a window to the signal. */
export function sumOf(p: Float64Array): WindowSum {
  const n = p.length - 1;
  return (a, b) => {
    let lo = Math.round(a);
    let hi = Math.round(b);
    if (lo < 0) lo = 0;
    if (hi > n) hi = n;
    return hi > lo ? p[hi]! - p[lo]! : 0;
  };
}

/**
 * Position in [from, to] (integer steps) where the signal falls (`down`) or rises most sharply: the
 * maximum of Σ[e − w, e) − Σ[e, e + w) (or its negative).
 */
export function bestEdge(
  sum: WindowSum,
  from: number,
  to: number,
  w: number,
  down: boolean,
): { at: number; score: number } {
  let at = Math.round(from);
  let score = -Infinity;
  for (let e = Math.round(from); e <= Math.round(to); e++) {
    const s = sum(e - w, e) - sum(e, e + w);
    const v = down ? s : -s;
    if (v > score) {
      score = v;
      at = e;
    }
  }
  return { at, score };
}

/**
 * Integer clock tracking for sampled rectangular pulses: timing errors δ (samples, + = late) are summed in a
 * leaky integrator, and the grid moves by one whole sample when the sum passes `threshold`. Without
 * interpolation the samples carry no sub-sample timing, so a fractional loop would only wander; this
 * one stays put under noise and follows a clock offset within a few bits.
 */
export class ClockTracker {
  private acc = 0;
  private readonly threshold: number;
  /** `spb`: samples per bit; the step threshold is 1.5 bit periods of accumulated lateness. */
  constructor(
    spb: number,
    private readonly leak = 1 / 32,
  ) {
    this.threshold = 1.5 * spb;
  }

  /** Feeds one timing error; returns the grid correction in samples (−1, 0 or +1). */
  update(delta: number): number {
    this.acc = this.acc * (1 - this.leak) + delta;
    if (this.acc > this.threshold) {
      this.acc = 0;
      return -1;
    }
    if (this.acc < -this.threshold) {
      this.acc = 0;
      return 1;
    }
    return 0;
  }
}
