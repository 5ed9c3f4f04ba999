// L3 channel (rf.md §6): the seed's analog example, the generator of §6.5, envelopes of every code,
// several cards, the noise level for a given Eb/N0, clock offset and the distance model.
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { encodeFrame } from '../src/rf/air-frame';
import {
  addNoise,
  energyPerBit,
  rectify,
  rectifySamples,
  renderCards,
  renderReader,
  sampleGrid,
  sigmaFor,
} from '../src/rf/channel';
import { cardPowered, coupling, effectiveSnrDb } from '../src/rf/distance';
import { transmitFrame } from '../src/rf/link';
import { boxMuller, RfRandom, splitMix64 } from '../src/rf/prng';

describe("the seed's analog example (rf.md §6.2)", () => {
  it('rectify: V10 = 3 V, k = 0.05, Vf = 0.7 V gives VHR 2.45 V, VLR 2.15 V, p-p 0.30 V', () => {
    const r = rectify({ v10: 3, k: 0.05, vf: 0.7 });
    expect(Math.abs(r.vhr - 2.45)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(r.vlr - 2.15)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(r.pp - 0.3)).toBeLessThanOrEqual(1e-9);
  });

  it('a rendered Type F reader→card frame, rectified, spans 2.15 V to 2.45 V', () => {
    const tx = transmitFrame('f', 'r2c', hexToBytes('0600ffff0100'), { k: 0.05, v10: 3 });
    const r = rectifySamples(tx.samples, 0.7);
    const min = Math.min(...r);
    const max = Math.max(...r);
    expect(Math.abs(min - 2.15)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(max - 2.45)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(max - min - 0.3)).toBeLessThanOrEqual(1e-6);
  });
});

describe('the generator (rf.md §6.5)', () => {
  it('SplitMix64 gives its reference outputs for state 0', () => {
    expect(splitMix64(0n, 3).map((v) => v.toString(16))).toEqual([
      'e220a8397b1dcdaf',
      '6e789e6aa1b965f4',
      '6c45d188009454f',
    ]);
  });

  it('xoshiro128** gives its reference outputs from state 1, 2, 3, 4', () => {
    // Reference: https://prng.di.unimi.it/xoshiro128starstar.c; 11520, 0, 5927040, 70819200, …
    const r = RfRandom.fromState(1, 2, 3, 4);
    expect([r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([11520, 0, 5927040, 70819200]);
  });

  it('is deterministic per seed and stream, and streams differ', () => {
    const a = new RfRandom(7, 0);
    const b = new RfRandom(7, 0);
    const c = new RfRandom(7, 1);
    const d = new RfRandom(8, 0);
    const xa = [a.nextU32(), a.nextU32()];
    expect([b.nextU32(), b.nextU32()]).toEqual(xa);
    expect([c.nextU32(), c.nextU32()]).not.toEqual(xa);
    expect([d.nextU32(), d.nextU32()]).not.toEqual(xa);
  });

  it('Box–Muller uses both outputs of a pair and matches the closed form', () => {
    const [z0, z1] = boxMuller(0x40000000, 0x20000000); // u1 ≈ 0.25, u2 ≈ 0.125
    const u1 = (0x40000000 + 0.5) / 2 ** 32;
    const r = Math.sqrt(-2 * Math.log(u1));
    const t = 2 * Math.PI * (0x20000000 / 2 ** 32);
    expect(z0).toBeCloseTo(r * Math.cos(t), 7);
    expect(z1).toBeCloseTo(r * Math.sin(t), 7);
  });

  it('σ formula: measured noise variance within 2 % of σ² over 10⁶ samples, mean near 0', () => {
    const sigma = sigmaFor(0.08, 10); // Eb 0.08 at 10 dB
    expect(sigma).toBeCloseTo(Math.sqrt(0.08 / 20), 12);
    const x = new Float32Array(1_000_000);
    addNoise(x, sigma, new RfRandom(1, 0));
    let s = 0;
    let s2 = 0;
    for (const v of x) {
      s += v;
      s2 += v * v;
    }
    const mean = s / x.length;
    expect(Math.abs(mean)).toBeLessThan(5 * (sigma / 1000));
    expect(Math.abs(s2 / x.length / (sigma * sigma) - 1)).toBeLessThan(0.02);
  });
});

describe('envelopes (rf.md §6.1)', () => {
  it('reader→card: 1 + k for chip 0 and idle, 1 − k for chip 1; Eb from the frame samples', () => {
    const stream = encodeFrame('f', 'r2c', hexToBytes('0600ffff0100'));
    const grid = sampleGrid(64, 8, 0, 2048);
    const e = renderReader({ stream, startFc: 0 }, grid, { k: 0.1 });
    expect(new Set(Array.from(e, (v) => v.toFixed(6)))).toEqual(new Set(['1.100000', '0.900000']));
    // Manchester is balanced per bit: Eb = spb · k².
    expect(energyPerBit(e, 0, 1024, 128)).toBeCloseTo(8 * 0.01, 6);
  });

  it('Type A card→reader: load modulation at fc/16 only during D/E chips, locked to the carrier', () => {
    const stream = encodeFrame('a', 'c2r', hexToBytes('0400'));
    const grid = sampleGrid(128, 32, 0, 32 * 22);
    const r = renderCards([{ stream, startFc: 0, lm: 0.1 }], grid);
    // SoF D: first half bit (16 samples of 4/fc) alternates 0.9, 0.9, 1, 1 (q high for t mod 16 < 8).
    expect(Array.from(r.subarray(0, 8), (v) => +v.toFixed(3))).toEqual([0.9, 0.9, 1, 1, 0.9, 0.9, 1, 1]);
    expect(Array.from(r.subarray(16, 24), (v) => +v.toFixed(3))).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('Type B card→reader: the subcarrier phase flips for logic 0', () => {
    const stream = encodeFrame('b', 'c2r', hexToBytes('00'));
    const grid = sampleGrid(128, 32, 0, 32 * 12);
    const r = renderCards([{ stream, startFc: 0, lm: 0.1 }], grid);
    // TR1 (logic 1): m = q; SOF (logic 0, from etu 10): m = not q.
    expect(+r[0]!.toFixed(3)).toBe(0.9);
    expect(+r[32 * 10]!.toFixed(3)).toBe(1);
    expect(+r[32 * 10 + 2]!.toFixed(3)).toBe(0.9);
  });

  it('several cards add their load modulation, never below zero (rf.md §6.4)', () => {
    const stream = encodeFrame('f', 'c2r', hexToBytes('0600ffff0100'));
    const grid = sampleGrid(64, 8, 0, 1024);
    const one = renderCards([{ stream, startFc: 0, lm: 0.3 }], grid);
    const two = renderCards(
      [
        { stream, startFc: 0, lm: 0.3 },
        { stream, startFc: 0, lm: 0.3 },
      ],
      grid,
    );
    const four = renderCards(new Array(4).fill({ stream, startFc: 0, lm: 0.3 }), grid);
    expect(Math.min(...one)).toBeCloseTo(0.7, 6);
    expect(Math.min(...two)).toBeCloseTo(0.4, 6);
    expect(Math.min(...four)).toBe(0);
  });

  it('a clock offset moves the transmitter’s chip boundaries, not the sample grid', () => {
    const stream = encodeFrame('f', 'c2r', hexToBytes('0600ffff0100'));
    const grid = sampleGrid(64, 8, 0, 1024);
    const a = renderCards([{ stream, startFc: 0, lm: 0.1 }], grid);
    const b = renderCards([{ stream, startFc: 0, lm: 0.1, ppm: 1000 }], grid);
    expect(Array.from(a.subarray(0, 64))).toEqual(Array.from(b.subarray(0, 64)));
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });

  it('refuses spb below the minimum of the code, naming it', () => {
    expect(() => transmitFrame('a', 'c2r', hexToBytes('0400'), { spb: 8 })).toThrow(/at least 16/);
    expect(() => transmitFrame('f', 'r2c', hexToBytes('0600ffff0100'), { spb: 3 })).toThrow(RangeError);
  });
});

describe('distance model (rf.md §6.7)', () => {
  it('g(0) = 1 and the on-axis loop formula', () => {
    expect(coupling(0)).toBe(1);
    expect(coupling(0.035)).toBeCloseTo(2 ** -1.5, 12);
  });

  it('a card at 3 cm is powered, at 5 cm not; the limit is near 4.1 cm (g ≥ 0.27)', () => {
    expect(cardPowered(0.03)).toBe(true);
    expect(cardPowered(0.05)).toBe(false);
    expect(cardPowered(0.04)).toBe(true);
    expect(cardPowered(0.042)).toBe(false);
    expect(coupling(0.041)).toBeGreaterThan(0.26);
  });

  it('effective Eb/N0 drops by 20·log g reader→card and 40·log g card→reader', () => {
    const g = coupling(0.03);
    expect(effectiveSnrDb(20, 0.03, 'r2c')).toBeCloseTo(20 + 20 * Math.log10(g), 9);
    expect(effectiveSnrDb(20, 0.03, 'c2r')).toBeCloseTo(20 + 40 * Math.log10(g), 9);
  });
});
