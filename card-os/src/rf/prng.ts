// The channel's seeded generator (rf.md §6.5): xoshiro128** seeded from SplitMix64, Box–Muller deviates,
// independent streams per purpose.

/** Stream indexes of rf.md §6.5. */
export const RF_STREAM = Object.freeze({ noiseR2c: 0, noiseC2r: 1, reserved: 2, choices: 3 } as const);

const MASK64 = (1n << 64n) - 1n;

/** SplitMix64 outputs for a 64-bit state, as BigInts (used only for seeding). */
export function splitMix64(state: bigint, count: number): bigint[] {
  let s = state & MASK64;
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    s = (s + 0x9e3779b97f4a7c15n) & MASK64;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    out.push(z ^ (z >> 31n));
  }
  return out;
}

/**
 * The SplitMix64 state of stream `stream` (0..255) under `seed`: seed · 256 + stream (mod 2^64), so
 * different seeds and streams never share a state. (mica's reading of "derived from seed + stream index".)
 */
export function streamState(seed: number | bigint, stream: number): bigint {
  if (typeof seed === 'number' && !Number.isSafeInteger(seed))
    throw new RangeError(`seed must be an integer, got ${seed}`);
  if (!Number.isInteger(stream) || stream < 0 || stream > 255)
    throw new RangeError(`stream must be 0..255, got ${stream}`);
  return ((BigInt(seed) << 8n) | BigInt(stream)) & MASK64;
}

const INV_2_32 = 1 / 4294967296;

// Interpolated tables for Box–Muller: ln over the mantissa [1, 2) and cos over a whole turn. Their errors
// (below 1e-8 and 2e-8) are far under Float32 resolution, they cost a fraction of Math.log/cos/sin, and
// unlike those they give the same bits on every platform, so traces stay byte-identical.
const LN_BITS = 12;
const LN = (() => {
  const t = new Float64Array((1 << LN_BITS) + 1);
  for (let k = 0; k <= 1 << LN_BITS; k++) t[k] = Math.log1p(k / (1 << LN_BITS));
  return t;
})();
const TRIG_BITS = 14;
const TRIG_MASK = (1 << TRIG_BITS) - 1;
const TRIG_QUARTER = 1 << (TRIG_BITS - 2);
const TRIG_FRAC_MASK = (1 << (32 - TRIG_BITS)) - 1;
const TRIG_FRAC_SCALE = 1 / (1 << (32 - TRIG_BITS));
const COS = (() => {
  const t = new Float64Array((1 << TRIG_BITS) + 1);
  for (let k = 0; k <= 1 << TRIG_BITS; k++) t[k] = Math.cos((2 * Math.PI * k) / (1 << TRIG_BITS));
  return t;
})();
const LN2 = Math.LN2;

const POW2_INV = Float64Array.from({ length: 32 }, (_, e) => 2 ** -e);

/** ln((x + 0.5) / 2^32) for a 32-bit x, through the mantissa table. */
function lnUniform(x: number): number {
  if (x === 0) return Math.log(0.5) - 32 * LN2;
  const e = 31 - Math.clz32(x); // x in [2^e, 2^(e+1))
  const pos = ((x + 0.5) * POW2_INV[e]! - 1) * (1 << LN_BITS);
  const k = pos | 0;
  const lo = LN[k]!;
  return lo + (LN[k + 1]! - lo) * (pos - k) + (e - 32) * LN2;
}

/** Box–Muller from two 32-bit outputs: r = sqrt(−2 ln u1), θ = 2π u2; returns (r cos θ, r sin θ). */
export function boxMuller(a: number, b: number): [number, number] {
  const r = Math.sqrt(-2 * lnUniform(a));
  const k = b >>> (32 - TRIG_BITS);
  const f = (b & TRIG_FRAC_MASK) * TRIG_FRAC_SCALE;
  const c0 = COS[k]!;
  const si = (k + TRIG_QUARTER) & TRIG_MASK;
  const s0 = COS[si]!;
  return [r * (c0 + (COS[k + 1]! - c0) * f), -r * (s0 + (COS[si + 1]! - s0) * f)];
}

/** xoshiro128** with Box–Muller Gaussian deviates (both outputs of each pair used, cosine first). */
export class RfRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number | bigint, stream = 0) {
    const [a, b, c, d] = splitMix64(streamState(seed, stream), 4) as [bigint, bigint, bigint, bigint];
    this.s0 = Number(a & 0xffffffffn) | 0;
    this.s1 = Number(b & 0xffffffffn) | 0;
    this.s2 = Number(c & 0xffffffffn) | 0;
    this.s3 = Number(d & 0xffffffffn) | 0;
  }

  /** A generator with the given xoshiro128** state words (for reference-vector tests). */
  static fromState(s0: number, s1: number, s2: number, s3: number): RfRandom {
    const r = new RfRandom(0, 0);
    r.s0 = s0 | 0;
    r.s1 = s1 | 0;
    r.s2 = s2 | 0;
    r.s3 = s3 | 0;
    return r;
  }

  /** Next 32-bit output, unsigned. */
  nextU32(): number {
    const s1 = this.s1;
    const r5 = Math.imul(s1, 5);
    const result = Math.imul((r5 << 7) | (r5 >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform in (0, 1): (u + 0.5) / 2^32, never 0 or 1. */
  uniform(): number {
    return (this.nextU32() + 0.5) * INV_2_32;
  }

  /** Integer uniform in [0, n) (n ≤ 2^32), by rejection so every value is equally likely. */
  below(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new RangeError(`n must be 1..2^32, got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const u = this.nextU32();
      if (u < limit) return u % n;
    }
  }

  /** Standard normal deviate. */
  gaussian(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const [z0, z1] = boxMuller(this.nextU32(), this.nextU32());
    this.spare = z1;
    this.hasSpare = true;
    return z0;
  }

  /**
   * Adds sigma · N(0, 1) to samples [from, to), a Box–Muller pair at a time, with the generator state held
   * in locals and ln, cos and sin taken from interpolated tables (see `boxMuller`), the hot path of the channel.
   */
  addGaussian(samples: Float32Array, sigma: number, from = 0, to = samples.length): void {
    let i = from;
    if (this.hasSpare && i < to) {
      samples[i]! += sigma * this.spare;
      this.hasSpare = false;
      i++;
    }
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    for (; i + 1 < to; i += 2) {
      let r5 = Math.imul(s1, 5);
      const a = Math.imul((r5 << 7) | (r5 >>> 25), 9) >>> 0;
      let t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      r5 = Math.imul(s1, 5);
      const b = Math.imul((r5 << 7) | (r5 >>> 25), 9) >>> 0;
      t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const r = sigma * Math.sqrt(-2 * lnUniform(a));
      const k = b >>> (32 - TRIG_BITS);
      const f = (b & TRIG_FRAC_MASK) * TRIG_FRAC_SCALE;
      const c0 = COS[k]!;
      const si = (k + TRIG_QUARTER) & TRIG_MASK;
      const s0v = COS[si]!;
      samples[i]! += r * (c0 + (COS[k + 1]! - c0) * f);
      // sin θ = cos(θ − π/2): the table read a quarter turn later, with the sign of −sin.
      samples[i + 1]! -= r * (s0v + (COS[si + 1]! - s0v) * f);
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    if (i < to) samples[i]! += sigma * this.gaussian();
  }

  /** Fills `out` with random bytes. */
  fillBytes(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 4) {
      const v = this.nextU32();
      for (let k = 0; k < 4 && i + k < out.length; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
    }
  }
}
