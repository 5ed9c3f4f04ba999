// L2 line codes (rf.md §5): the chip and sequence vectors, Manchester = NRZ XOR clock, polarity inversion,
// differential conversion, Miller coding violations, the packed fast path, collisions, round trips.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitsFromString, bitsToString } from '@mica/apdu-specs/rf/bits';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { felicaFrameBits } from '@mica/apdu-specs/rf/type-f';
import { typeABits } from '@mica/apdu-specs/rf/type-a';
import { typeBFrameLevels } from '@mica/apdu-specs/rf/type-b';
import {
  chipString,
  CHIP_CODES,
  invertStream,
  makeStream,
  streamFromString,
  unpackChips,
} from '../src/rf/chips';
import { decodeChips, encodeChips, sequencesOf, streamFromSequences } from '../src/rf/line-code';
import { manchesterPack, manchesterUnpack } from '../src/rf/manchester';
import { decodeFrameChips, encodeFrame } from '../src/rf/air-frame';

const bits = (s: string): Uint8Array => bitsFromString(s);

describe('vectors of rf.md §5', () => {
  it('Type F Manchester: 00, B2, 4D', () => {
    expect(chipString(encodeChips('manchester-f', bits('00000000')))).toBe('0101010101010101');
    expect(chipString(encodeChips('manchester-f', bits('10110010')))).toBe('1001101001011001');
    expect(chipString(encodeChips('manchester-f', bits('01001101')))).toBe('0110010110100110');
  });

  it('Type A modified Miller: REQA and WUPA letters, REQA chips', () => {
    const reqa = encodeChips('miller-a', typeABits({ bytes: hexToBytes('26'), validBitsInLastByte: 7 }));
    expect(sequencesOf(reqa)).toBe('ZZXXYZXYZY');
    expect(chipString(reqa)).toBe('1000100000100010000010000010000010000000');
    expect(sequencesOf(encodeChips('miller-a', bits('0100101')))).toBe('ZZXYZXYXYY');
  });

  it('Type A card→reader: ATQA letters', () => {
    expect(sequencesOf(encodeChips('ook-sc-a', bits('001000000000000001')))).toBe('DEEDEEEEEEEEEEEEEEDF');
  });

  it('Type B NRZ-L: REQB chips are the complement of its levels', () => {
    const levels = typeBFrameLevels(hexToBytes('05000071ff'));
    const chips = chipString(encodeChips('nrz-b', levels));
    expect(chips).toBe(bitsToString(levels.map((b) => b ^ 1)));
    expect(chips.length).toBe(72);
  });
});

describe('Manchester (property)', () => {
  it('equals the NRZ bit stream XOR a clock with one period per bit', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 200 }), (b) => {
        const stream = encodeChips('manchester-f', Uint8Array.from(b));
        const chips = unpackChips(stream.value, stream.length);
        b.forEach((bit, i) => {
          // NRZ repeated per half bit, XOR clock 0 then 1.
          expect(chips[2 * i]).toBe(bit ^ 0);
          expect(chips[2 * i + 1]).toBe(bit ^ 1);
        });
      }),
    );
  });

  it('the packed table path equals the bit path at any chip offset', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 15 }),
        (bytes, shift) => {
          const packed = manchesterPack(bytes);
          const viaBits = encodeChips(
            'manchester-f',
            bitsFromString(Array.from(bytes, (x) => x.toString(2).padStart(8, '0')).join('')),
          );
          expect(packed).toEqual(viaBits.value);
          // Shift the chips by `shift` (prepend zeros) and read back from that offset.
          const chips = unpackChips(packed, packed.length * 8);
          const shifted = makeStream(
            'manchester-f',
            32,
            Uint8Array.of(...new Array<number>(shift).fill(0), ...chips),
          );
          const out = manchesterUnpack(shifted.value, bytes.length, shift);
          expect(out.bad).toBe(0);
          expect(out.bytes).toEqual(bytes);
        },
      ),
    );
  });

  it('the decode table flags non-Manchester words', () => {
    expect(manchesterUnpack(Uint8Array.of(0xff, 0xff), 1).bad).toBe(1);
    expect(manchesterUnpack(Uint8Array.of(0x95, 0x55), 1)).toEqual({ bytes: Uint8Array.of(0x80), bad: 0 });
  });
});

describe('polarity and differential conversion', () => {
  const frame = encodeFrame('f', 'r2c', hexToBytes('0600ffff0100'));

  it('an inverted Type F stream decodes to the same bytes with polarity inverted', () => {
    const d = decodeFrameChips('f', 'r2c', invertStream(frame));
    expect(d.outcome).toBe('ok');
    expect(d.crc).toBe('ok');
    expect(d.polarity).toBe('inverted');
    expect(Array.from(d.bytes)).toEqual(Array.from(hexToBytes('0600ffff01003a10')));
    expect(decodeFrameChips('f', 'r2c', invertStream(frame), { polarityDetection: false }).outcome).toBe(
      'no-sync',
    );
  });

  it('with diff an inverted stream decodes without polarity detection (rf.md §5.2)', () => {
    const diff = encodeFrame('f', 'r2c', hexToBytes('0600ffff0100'), { diff: true });
    const d = decodeFrameChips('f', 'r2c', invertStream(diff), { diff: true, polarityDetection: false });
    expect(d.crc).toBe('ok');
    expect(d.polarity).toBe('normal');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 100 }), (b) => {
        const input = Uint8Array.from(b);
        const inv = decodeChips(invertStream(encodeChips('manchester-f', input, { diff: true })), {
          diff: true,
        }).bits;
        expect(Array.from(inv.subarray(1))).toEqual(b.slice(1));
      }),
    );
  });
});

describe('Miller coding violations', () => {
  it('flags a Z directly after an X and a pattern that is no sequence', () => {
    // SoF Z, bit 1 (X), then Z: violation; end with 0 and Y.
    expect(decodeChips(streamFromSequences('miller-a', 'ZXZZY')).violations).toEqual([1]);
    const bad = streamFromString('miller-a', 32, '1000 0100 1000 0000');
    expect(decodeChips(bad).violations).toEqual([0]);
    const f = decodeFrameChips('a', 'r2c', streamFromSequences('miller-a', 'ZXZZY'));
    expect(f.outcome).toBe('coding-violation');
  });
});

describe('collisions at chip level', () => {
  it('OR-ed answers of two cards show C where their UID bits differ', () => {
    const a = encodeFrame('a', 'c2r', hexToBytes('0812345678'));
    const b = encodeFrame('a', 'c2r', hexToBytes('0812345779'));
    const or = { ...a, value: a.value.map((v, i) => v | b.value[i]!) };
    const letters = sequencesOf(or);
    expect(letters.indexOf('C')).toBe(1 + 27); // SoF, then 3 bytes × 9 coded bits
    const d = decodeFrameChips('a', 'c2r', or);
    expect(d.collisions[0]).toBe(24);
    expect(d.parityCollisions).toContain(3);
  });
});

describe('round trips for every code (property)', () => {
  it('decodeChips(encodeChips(bits)) = bits', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CHIP_CODES),
        fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 120 }),
        (code, b) => {
          const input = Uint8Array.from(b);
          // Miller ends a frame at Y after a 0; OOK at F: both code any bits. Manchester decodes as is.
          expect(Array.from(decodeChips(encodeChips(code, input), { polarity: 'normal' }).bits)).toEqual(b);
        },
      ),
    );
  });

  it('frames of every technology and direction survive chips both ways', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.constantFrom('r2c' as const, 'c2r' as const),
        (data, dir) => {
          const f = decodeFrameChips(
            'f',
            dir,
            encodeFrame('f', dir, Uint8Array.of(data.length + 1, ...data)),
          );
          expect(f.crc).toBe('ok');
          for (const tech of ['a', 'b'] as const) {
            const d = decodeFrameChips(tech, dir, encodeFrame(tech, dir, data));
            expect(d.outcome).toBe('ok');
            expect(Array.from(d.bytes)).toEqual(Array.from(data));
          }
        },
      ),
    );
  });

  it('Type F frame bits are the on-air bytes MSB first', () => {
    expect(bitsToString(felicaFrameBits(hexToBytes('0600ffff0100'))).slice(48, 64)).toBe('1011001001001101');
  });
});
