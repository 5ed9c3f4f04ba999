// L4 demodulators (rf.md §7): noiseless round trips for every code, rate and spb with random payloads,
// ±1000 ppm on the longest frames, sync after random leading noise, Type A collisions, Type B inverted SOF.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, hexToBytes } from '@mica/apdu-specs/hex';
import { withCrcA } from '@mica/apdu-specs/rf/type-a';
import { withCrcB } from '@mica/apdu-specs/rf/type-b';
import { encodeFrame, type Dir, type Tech } from '../src/rf/air-frame';
import { renderCards, sampleGrid, SPB_LIMITS } from '../src/rf/channel';
import { demodulate } from '../src/rf/demod';
import { codeFor, receiveFrame, transmitFrame, transmitStream } from '../src/rf/link';
import { RfRandom } from '../src/rf/prng';

/** The frame as sent for a technology: Type F LEN ‖ data; Types A and B data with their CRC. */
function frameOf(tech: Tech, data: Uint8Array): Uint8Array {
  if (tech === 'f') return Uint8Array.of(data.length + 1, ...data);
  return tech === 'a' ? withCrcA(data) : withCrcB(data);
}

/** What the receiver returns: Type F LEN..CRC, Types A and B the bytes as sent. */
function expectDecoded(tech: Tech, dir: Dir, bytes: Uint8Array, d: ReturnType<typeof demodulate>): void {
  expect(d.outcome).toBe('ok');
  expect(d.crc).toBe('ok');
  expect(d.polarity).toBe('normal');
  const want = tech === 'f' ? bytes : bytes;
  expect(Array.from(d.bytes.subarray(0, tech === 'f' ? bytes.length : undefined))).toEqual(Array.from(want));
  void dir;
}

const LINKS: readonly { tech: Tech; dir: Dir; rate?: 212 | 424 }[] = [
  { tech: 'f', dir: 'r2c', rate: 212 },
  { tech: 'f', dir: 'c2r', rate: 212 },
  { tech: 'f', dir: 'r2c', rate: 424 },
  { tech: 'f', dir: 'c2r', rate: 424 },
  { tech: 'a', dir: 'r2c' },
  { tech: 'a', dir: 'c2r' },
  { tech: 'b', dir: 'r2c' },
  { tech: 'b', dir: 'c2r' },
];

describe('noiseless round trip: bytes → frame → chips → samples → demodulated → bytes', () => {
  for (const link of LINKS) {
    const lim = SPB_LIMITS[codeFor(link.tech, link.dir)];
    for (const spb of [lim.min, lim.default]) {
      it(`Type ${link.tech.toUpperCase()} ${link.dir}${link.rate ? ` ${link.rate} kbps` : ''}, spb ${spb} (property)`, () => {
        fc.assert(
          fc.property(fc.uint8Array({ minLength: 1, maxLength: 48 }), (data) => {
            const bytes = frameOf(link.tech, data);
            const tx = transmitFrame(link.tech, link.dir, bytes, {
              spb,
              ...(link.rate ? { rate: link.rate } : {}),
            });
            const d = receiveFrame(tx, link.tech, link.dir);
            expectDecoded(link.tech, link.dir, bytes, d);
            // The frame is found where it was sent (within a bit).
            const bitFc = link.tech === 'f' ? (link.rate === 424 ? 32 : 64) : 128;
            const lead =
              link.tech === 'f' ? 48 * bitFc : link.tech === 'b' && link.dir === 'c2r' ? 10 * bitFc : 0;
            expect(Math.abs(d.startFc - (tx.startFc + lead))).toBeLessThanOrEqual(bitFc / 2);
          }),
          { numRuns: 12 },
        );
      });
    }
  }

  it('Type A short frames and split anticollision frames', () => {
    const reqa = transmitFrame('a', 'r2c', hexToBytes('26'), { validBitsInLastByte: 7 });
    expect(receiveFrame(reqa, 'a', 'r2c')).toMatchObject({ outcome: 'ok', bitsInLastByte: 7, crc: 'none' });
    const split = transmitFrame('a', 'r2c', hexToBytes('933508' + '12'), { validBitsInLastByte: 5 });
    const d = receiveFrame(split, 'a', 'r2c');
    expect(d).toMatchObject({ outcome: 'ok', bitsInLastByte: 5, crc: 'none' });
    expect(Array.from(d.bytes)).toEqual([0x93, 0x35, 0x08, 0x12]);
    const answer = transmitFrame('a', 'c2r', hexToBytes('125678'), { firstBit: 5 });
    const a = receiveFrame(answer, 'a', 'c2r', { firstBit: 5 });
    expect(a.outcome).toBe('ok');
    expect(Array.from(a.bytes)).toEqual([0x12 & 0xe0, 0x56, 0x78]);
  });
});

describe('clock offset (rf.md §6.6)', () => {
  const longest: Record<Tech, Uint8Array> = {
    f: Uint8Array.from({ length: 255 }, (_, i) => (i === 0 ? 255 : (i * 37) & 0xff)),
    a: withCrcA(Uint8Array.from({ length: 254 }, (_, i) => (i * 91) & 0xff)),
    b: withCrcB(Uint8Array.from({ length: 254 }, (_, i) => (i * 53) & 0xff)),
  };
  for (const link of LINKS.filter((l) => l.rate !== 424)) {
    for (const ppm of [-1000, 1000]) {
      it(`Type ${link.tech.toUpperCase()} ${link.dir} at ${ppm} ppm, longest frame, default spb`, () => {
        const spb = SPB_LIMITS[codeFor(link.tech, link.dir)].default;
        const tx = transmitFrame(link.tech, link.dir, longest[link.tech], { ppm, spb });
        expectDecoded(link.tech, link.dir, longest[link.tech], receiveFrame(tx, link.tech, link.dir));
      });
    }
  }
});

describe('acquisition', () => {
  it('finds the sync after random leading noise, for every link', () => {
    const rng = new RfRandom(5, 3);
    for (const link of LINKS) {
      const bytes = frameOf(link.tech, hexToBytes('00a4040007d2760000850101'));
      const lead = 128 * (20 + rng.below(40));
      const tx = transmitFrame(link.tech, link.dir, bytes, {
        leadFc: lead,
        snrDb: 20,
        rng: new RfRandom(9, 1),
        ...(link.rate ? { rate: link.rate } : {}),
      });
      expectDecoded(link.tech, link.dir, bytes, receiveFrame(tx, link.tech, link.dir));
    }
  });

  it('reports no-signal for a flat envelope and no-sync for noise alone', () => {
    const flat = { samples: new Float32Array(4096).fill(1), t0Fc: 0, tsFc: 8, spb: 8 };
    expect(demodulate(flat, 'f', 'c2r').outcome).toBe('no-signal');
    const noise = new Float32Array(8192).fill(1);
    new RfRandom(3, 1).addGaussian(noise, 0.05);
    for (const [tech, dir, spb] of [
      ['f', 'c2r', 8],
      ['a', 'c2r', 32],
      ['b', 'c2r', 32],
      ['b', 'r2c', 8],
      ['a', 'r2c', 16],
    ] as const)
      expect(
        demodulate({ samples: noise, t0Fc: 0, tsFc: (tech === 'f' ? 64 : 128) / spb, spb }, tech, dir)
          .outcome,
      ).toBe('no-sync');
  });

  it('decodes an inverted Type F card response and says so', () => {
    const stream = encodeFrame('f', 'c2r', hexToBytes('0600ffff0100'));
    const inv = { ...stream, value: stream.value.map((v) => v ^ 0xff) };
    // The complement also switches the load on outside the frame's chips: render just the frame.
    const d = receiveFrame(transmitStream(inv, 'f', 'c2r'), 'f', 'c2r');
    expect(d).toMatchObject({ outcome: 'ok', crc: 'ok', polarity: 'inverted' });
  });

  it('Type B: a reference locked onto the SOF (no TR1) is inverted and reported (rf.md §7.6)', () => {
    const bytes = withCrcB(hexToBytes('0102030405'));
    const tx = transmitFrame('b', 'c2r', bytes, { framing: { tr1: 0 } });
    const d = receiveFrame(tx, 'b', 'c2r');
    expect(d).toMatchObject({ outcome: 'ok', crc: 'ok', polarity: 'inverted' });
    expect(Array.from(d.bytes)).toEqual(Array.from(bytes));
  });
});

describe('Type A collisions at sample level (rf.md §9.3)', () => {
  it('two cards answering UIDs 08123456 and 08123457 collide at UID bit 24', () => {
    const grid = sampleGrid(128, 32, 0, 32 * 70);
    const card = (uid: string) => ({
      stream: encodeFrame(
        'a',
        'c2r',
        concatBytes(hexToBytes(uid), Uint8Array.of(hexToBytes(uid).reduce((a, b) => a ^ b, 0))),
      ),
      startFc: 16 * 128,
      lm: 0.1,
    });
    const samples = renderCards([card('08123456'), card('08123457')], grid);
    const d = demodulate({ samples, t0Fc: 0, tsFc: 4, spb: 32 }, 'a', 'c2r');
    expect(d.collisions[0]).toBe(24);
    expect(d.collisions).toContain(32); // the BCC differs in its lowest bit too
    expect(d.parityCollisions).toContain(3);
  });
});

describe('Type A reader→card end of the last pause (rf.md §7.3, §8.3)', () => {
  it('is the end of the EoF Z after a final 0, and of the last X after a final 1', () => {
    const reqa = transmitFrame('a', 'r2c', hexToBytes('26'), { validBitsInLastByte: 7 });
    // REQA ends 0 → EoF Z in bit period 8 after the SoF: pause over [8·128, 8·128 + 32).
    expect(receiveFrame(reqa, 'a', 'r2c').lastPauseEndFc).toBe(reqa.startFc + 8 * 128 + 32);
    const wupa = transmitFrame('a', 'r2c', hexToBytes('52'), { validBitsInLastByte: 7 });
    // WUPA ends 1 → X in bit period 7 (pause in its third quarter), EoF Y.
    expect(receiveFrame(wupa, 'a', 'r2c').lastPauseEndFc).toBe(wupa.startFc + 7 * 128 + 96);
  });
});
