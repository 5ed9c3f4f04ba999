// Noise behaviour (rf.md §6.3, §9.5): bit errors only where the noise level predicts them, CRCs that catch
// them, the BER of the ideal receiver against Q(√(2Eb/N0)), the bounds of the full receivers, the k / S/N
// trade-off at fixed σ, and determinism.
import { describe, expect, it } from 'vitest';
import { crcBytes } from '@mica/apdu-specs/crc';
import { concatBytes } from '@mica/apdu-specs/hex';
import { bytesToBitsMsb } from '@mica/apdu-specs/rf/bits';
import { typeABits, withCrcA } from '@mica/apdu-specs/rf/type-a';
import { typeBChars, withCrcB } from '@mica/apdu-specs/rf/type-b';
import type { Dir, Tech } from '../src/rf/air-frame';
import { receiveFrame, transmitFrame, type ChannelOpts } from '../src/rf/link';
import { RfRandom } from '../src/rf/prng';
import { antipodalBer } from '../src/rf/theory';

interface Tally {
  frames: number;
  bits: number;
  errors: number;
  lost: number;
  failed: number;
  /** Frames that had bit errors and still passed their CRC. */
  undetected: number;
}

/** Sends `frames` random frames of `payload` data bytes and counts coded-bit errors (rf.md §9.5). */
function run(
  tech: Tech,
  dir: Dir,
  snrDb: number | undefined,
  frames: number,
  opts: { payload?: number; ideal?: boolean; seed?: number; channel?: ChannelOpts } = {},
): Tally {
  const choices = new RfRandom(opts.seed ?? 1, 3);
  const noise = new RfRandom(opts.seed ?? 1, dir === 'r2c' ? 0 : 1);
  const data = new Uint8Array(opts.payload ?? 32);
  const t: Tally = { frames: 0, bits: 0, errors: 0, lost: 0, failed: 0, undetected: 0 };
  for (let f = 0; f < frames; f++) {
    choices.fillBytes(data);
    let bytes: Uint8Array;
    let coded: Uint8Array;
    if (tech === 'f') {
      bytes = Uint8Array.of(data.length + 1, ...data);
      coded = bytesToBitsMsb(concatBytes(bytes, crcBytes('felica', bytes)));
    } else if (tech === 'a') {
      bytes = withCrcA(data);
      coded = typeABits({ bytes });
    } else {
      bytes = withCrcB(data);
      coded = typeBChars(bytes);
    }
    const tx = transmitFrame(tech, dir, bytes, {
      ...opts.channel,
      ...(snrDb !== undefined ? { snrDb } : {}),
      rng: noise,
    });
    const lead = tech === 'f' ? 48 * 64 : 0;
    const d = receiveFrame(tx, tech, dir, {
      measureBits: coded.length,
      sentBits: coded,
      ...(opts.ideal ? { idealSync: { startFc: tx.startFc + lead } } : {}),
    });
    t.frames++;
    if (d.outcome === 'no-sync' || d.outcome === 'no-signal') {
      t.lost++;
      continue;
    }
    t.bits += coded.length;
    t.errors += d.bitErrors ?? 0;
    // Type A frames are checked by parity and CRC.
    const good = d.outcome === 'ok' && d.crc === 'ok' && d.parityErrors.length === 0;
    if (!good) t.failed++;
    if (good && (d.bitErrors ?? 0) > 0) t.undetected++;
  }
  return t;
}

const ber = (t: Tally): number => t.errors / t.bits;

describe('bit errors where the noise predicts them', () => {
  it('none without noise and none at 14 dB (Type F, theory 4e−13)', () => {
    expect(run('f', 'c2r', undefined, 50).errors).toBe(0);
    const t = run('f', 'c2r', 14, 200);
    expect(t.errors).toBe(0);
    expect(t.failed).toBe(0);
  });

  it('many at 2 dB, and the CRC catches every frame that has them', () => {
    for (const [tech, dir, snr] of [
      ['f', 'r2c', 2],
      ['f', 'c2r', 2],
      ['b', 'c2r', 4],
      ['a', 'c2r', 11],
      ['a', 'r2c', 11],
    ] as const) {
      const t = run(tech, dir, snr, 150);
      expect(t.errors, `${tech} ${dir}`).toBeGreaterThan(50);
      expect(t.undetected, `${tech} ${dir}`).toBe(0);
      expect(t.failed, `${tech} ${dir}`).toBeGreaterThan(10);
    }
  });
});

describe('BER of the ideal receiver (rf.md §9.5 bound 1)', () => {
  it.each([0, 2, 4, 6])(
    'Type F card→reader, 212 kbps, spb 8, ideal sync at %i dB: |BER/theory − 1| ≤ 0.15',
    (snr) => {
      const theory = antipodalBer(snr);
      const frames = Math.ceil(420 / (theory * 280));
      const t = run('f', 'c2r', snr, frames, { ideal: true, seed: 11 });
      expect(t.errors).toBeGreaterThanOrEqual(400);
      expect(Math.abs(ber(t) / theory - 1)).toBeLessThanOrEqual(0.15);
    },
  );
});

describe('BER of the full receivers (rf.md §9.5 bounds 2–4)', () => {
  for (const [tech, dir] of [
    ['f', 'r2c'],
    ['f', 'c2r'],
    ['b', 'c2r'],
  ] as const) {
    it(`Type ${tech.toUpperCase()} ${dir}: BER(x) ≤ theory(x − 1.5 dB) at 6 and 8 dB`, () => {
      for (const snr of [6, 8]) {
        const t = run(tech, dir, snr, snr === 6 ? 150 : 250, { seed: 5 });
        expect(ber(t), `${snr} dB`).toBeLessThanOrEqual(antipodalBer(snr - 1.5));
      }
    });

    it(`Type ${tech.toUpperCase()} ${dir}: FER ≤ 1 % at 11 dB over 1000 frames of 32 bytes`, () => {
      const t = run(tech, dir, 11, 1000, { seed: 6 });
      expect((t.lost + t.failed) / t.frames).toBeLessThanOrEqual(0.01);
    });
  }

  for (const dir of ['r2c', 'c2r'] as const) {
    it(`Type A ${dir}: BER ≤ 1e−3 at 14 dB`, () => {
      const t = run('a', dir, 14, 150, { seed: 7 });
      expect(t.bits).toBeGreaterThan(40000);
      expect(ber(t)).toBeLessThanOrEqual(1e-3);
    });
  }

  it('BER does not increase with Eb/N0 beyond 3 binomial standard deviations', () => {
    let last: Tally | undefined;
    for (const snr of [0, 2, 4, 6]) {
      const t = run('f', 'c2r', snr, 100, { seed: 8 });
      if (last) {
        const p = ber(last);
        const sd = Math.sqrt((p * (1 - p)) / t.bits);
        expect(ber(t)).toBeLessThanOrEqual(p + 3 * sd);
      }
      last = t;
    }
  });
});

describe('k and S/N at a fixed σ (rf.md §6.3)', () => {
  it('with absolute noise, BER(k = 0.1) < BER(k = 0.05)', () => {
    const strong = run('f', 'r2c', undefined, 100, { channel: { sigma: 0.12, k: 0.1 }, ideal: true });
    const weak = run('f', 'r2c', undefined, 100, { channel: { sigma: 0.12, k: 0.05 }, ideal: true });
    expect(ber(strong)).toBeLessThan(ber(weak));
  });
});

describe('determinism (rf.md §2 rule 4)', () => {
  it('the same seed gives the same samples and the same decisions', () => {
    const make = () =>
      transmitFrame('b', 'c2r', withCrcB(Uint8Array.of(1, 2, 3)), { snrDb: 5, rng: new RfRandom(42, 1) });
    const a = make();
    const b = make();
    expect(Array.from(a.samples)).toEqual(Array.from(b.samples));
    expect(receiveFrame(a, 'b', 'c2r')).toEqual(receiveFrame(b, 'b', 'c2r'));
  });
});
