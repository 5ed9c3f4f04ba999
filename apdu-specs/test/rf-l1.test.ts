// L1 frame codecs of the radio simulator (rf.md §4): CRC and frame vectors, Type A/B/F bit strings with an
// independent bit builder, split anticollision frames, activation data, and decoders that never throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../src/hex';
import { bitsFromString, bitsToString } from '../src/rf/bits';
import { isFrameError } from '../src/rf/frame-error';
import { crcABytes, crcBBytes, crcFelicaBytes, felicaFrame, parseFelicaAfterSync } from '../src/rf/l1';
import {
  anticollisionAnswer,
  anticollisionFrame,
  bcc,
  nvb,
  oddParity,
  selectFrame,
  typeABitCount,
  typeABits,
  typeAFromBits,
  uidCascadeLevels,
} from '../src/rf/type-a';
import { typeBChars, typeBFrameLevels, typeBFromLevels } from '../src/rf/type-b';
import {
  attribAnswer,
  attribFrame,
  atqbFrame,
  hltbFrame,
  parseAtqb,
  parseAts,
  ratsFrame,
  reqbFrame,
} from '../src/rf/activation';

const h = hexToBytes;

// Independent expectations: odd parity by counting bits, characters by string building.
function parityByCount(b: number): number {
  let ones = 0;
  for (let k = 0; k < 8; k++) ones += (b >> k) & 1;
  return ones % 2 === 0 ? 1 : 0;
}
function lsbString(b: number, from = 0, to = 8): string {
  let s = '';
  for (let k = from; k < to; k++) s += String((b >> k) & 1);
  return s;
}

describe('CRC vectors of rf.md §4', () => {
  it.each([
    ['e050', 'bca5'],
    ['5000', '57cd'],
    ['0000', 'a01e'],
    ['1234', '26cf'],
  ])('CRC_A(%s) = %s', (data, crc) => expect(bytesToHex(crcABytes(h(data)))).toBe(crc));

  it.each([
    ['050000', '71ff'],
    ['000000', 'ccc6'],
    ['0faaff', 'fcd1'],
    ['0a123456', '2cf6'],
  ])('CRC_B(%s) = %s', (data, crc) => expect(bytesToHex(crcBBytes(h(data)))).toBe(crc));

  it.each([
    ['03abcd', '9035'],
    ['0600ffff0100', '3a10'],
  ])('FeliCa CRC(%s) = %s, high byte first', (data, crc) =>
    expect(bytesToHex(crcFelicaBytes(h(data)))).toBe(crc),
  );
});

describe('Type F (rf.md §4.1)', () => {
  it('frames the Polling vector', () => {
    expect(bytesToHex(felicaFrame(h('0600ffff0100')))).toBe('000000000000b24d0600ffff01003a10');
  });

  it('refuses LEN below 2 or a LEN byte that is not the length', () => {
    expect(() => felicaFrame(h('01'))).toThrow(RangeError);
    expect(() => felicaFrame(h('0500ffff0100'))).toThrow(RangeError);
  });

  it('parses the bytes after sync: ok, bad CRC, bad length, truncated', () => {
    expect(parseFelicaAfterSync(h('0600ffff01003a10'))).toEqual({ payload: h('0600ffff0100'), crcOk: true });
    expect(parseFelicaAfterSync(h('0600ffff01003a11'))).toEqual({ payload: h('0600ffff0100'), crcOk: false });
    expect(parseFelicaAfterSync(h('01aabb'))).toEqual({ error: 'bad-length', at: 0 });
    expect(parseFelicaAfterSync(h('0600ffff'))).toEqual({ error: 'truncated', at: 4 });
  });
});

describe('Type A (rf.md §4.2)', () => {
  it('sends REQA and WUPA as 7-bit short frames', () => {
    expect(bitsToString(typeABits({ bytes: h('26'), validBitsInLastByte: 7 }))).toBe('0110010');
    expect(bitsToString(typeABits({ bytes: h('52'), validBitsInLastByte: 7 }))).toBe('0100101');
    expect(typeAFromBits(bitsFromString('0110010'))).toMatchObject({
      bytes: h('26'),
      validBitsInLastByte: 7,
    });
  });

  it('adds odd parity to ATQA as in rf.md §5.4', () => {
    expect(bitsToString(typeABits({ bytes: h('0400') }))).toBe('001000000000000001');
  });

  it('parity agrees with counting ones', () => {
    for (let b = 0; b < 256; b++) expect(oddParity(b)).toBe(parityByCount(b));
  });

  it('standard frames round-trip and match an independent bit builder (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (bytes) => {
        const bits = typeABits({ bytes });
        const expected = Array.from(bytes, (b) => lsbString(b) + String(parityByCount(b))).join('');
        expect(bitsToString(bits)).toBe(expected);
        const back = typeAFromBits(bits);
        expect(back.bytes).toEqual(bytes);
        expect(back.parityOk.every((ok) => ok)).toBe(true);
      }),
    );
  });

  it('reports the byte whose parity bit is wrong', () => {
    const bits = typeABits({ bytes: h('e050bca5') });
    bits[17]! ^= 1; // parity bit of byte 1
    expect(typeAFromBits(bits).parityOk).toEqual([true, false, true, true]);
  });

  it('splits an anticollision frame and its answer at the NVB bit (reader then card)', () => {
    const uidCl = h('08123456'); // level 1 of a single UID
    const level = Uint8Array.of(...uidCl, bcc(uidCl));
    expect(bytesToHex(level)).toBe('0812345678');
    // 2 whole UID bytes and 3 bits: NVB 0x43 (rf.md §4.2); 19 bits of UID known.
    const reader = anticollisionFrame(0x93, level, 19);
    expect(bytesToHex(reader.bytes)).toBe('93430812' + (0x34 & 7).toString(16).padStart(2, '0'));
    expect(nvb(19)).toBe(0x43);
    const rBits = typeABits(reader);
    // SEL, NVB, 2 UID bytes with parity, then 3 bits without parity.
    expect(rBits.length).toBe(9 * 4 + 3);
    expect(bitsToString(rBits.subarray(36))).toBe(lsbString(0x34, 0, 3));
    expect(typeABitCount(reader)).toBe(39);
    const card = anticollisionAnswer(level, 19);
    const cBits = typeABits(card);
    // 5 remaining bits of 0x34, the parity of the whole byte, then 56 and 78 with parity.
    expect(bitsToString(cBits)).toBe(
      lsbString(0x34, 3) +
        String(parityByCount(0x34)) +
        lsbString(0x56) +
        String(parityByCount(0x56)) +
        lsbString(0x78) +
        String(parityByCount(0x78)),
    );
    const back = typeAFromBits(cBits, { firstBit: 3 });
    expect(bytesToHex(back.bytes)).toBe(((0x34 >> 3) << 3).toString(16) + '5678');
    // The reader ignores the parity of the split byte.
    const flipped = cBits.slice();
    flipped[5]! ^= 1;
    expect(typeAFromBits(flipped, { firstBit: 3 }).parityOk[0]).toBe(true);
  });

  it('builds cascade levels with the cascade tag and BCC, and SELECT with CRC_A', () => {
    // Double UID 04 11 22 33 44 55 66: CL1 = 88 04 11 22, BCC 88^04^11^22 = bf; CL2 = 33 44 55 66, BCC 44.
    expect(uidCascadeLevels(h('04112233445566')).map(bytesToHex)).toEqual(['88041122bf', '3344556644']);
    const sel = selectFrame(0x93, h('0812345678'));
    expect(bytesToHex(sel.subarray(0, 7))).toBe('93700812345678');
    expect(bytesToHex(sel.subarray(7))).toBe(bytesToHex(crcABytes(sel.subarray(0, 7))));
  });
});

describe('Type B (rf.md §4.3)', () => {
  it('codes REQB as the logic levels of rf.md §5.5', () => {
    expect(bitsToString(typeBFrameLevels(h('05000071ff')))).toBe(
      '000000000011' +
        '0101000001' +
        '0000000001' +
        '0000000001' +
        '0100011101' +
        '0111111111' +
        '0000000000',
    );
    expect(bitsToString(typeBChars(h('05')))).toBe('0101000001');
  });

  it('round-trips any bytes with every SOF, EOF and EGT the decoder accepts (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 30 }),
        fc.constantFrom(10, 11),
        fc.constantFrom(2, 3),
        fc.constantFrom(10, 11),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 12 }),
        (bytes, sofLow, sofHigh, eof, egt, tr1) => {
          const levels = typeBFrameLevels(bytes, { sofLow, sofHigh, eof, egt, tr1 });
          const d = typeBFromLevels(levels);
          expect(isFrameError(d)).toBe(false);
          if (!isFrameError(d)) {
            expect(d.bytes).toEqual(bytes);
            expect(d.sofAt).toBe(tr1);
          }
        },
      ),
    );
  });

  it('rejects a bad SOF, a bad stop bit and a missing EOF', () => {
    expect(typeBFromLevels(bitsFromString('11 000000000 11 0101000001 0000000000'))).toEqual({
      error: 'bad-length',
      at: 2,
    });
    expect(typeBFromLevels(bitsFromString('0000000000 11 0101000000 0000000000'))).toEqual({
      error: 'bad-parity',
      at: 0,
    });
    expect(typeBFromLevels(bitsFromString('0000000000 11 0101000001'))).toEqual({
      error: 'truncated',
      at: 1,
    });
  });
});

describe('activation data (rf.md §4.3, §4.4)', () => {
  it('reads the ATS example 05 78 80 70 02 as libnfc does', () => {
    expect(parseAts(h('0578807002'))).toEqual({
      fsci: 8,
      fsc: 256,
      ta1: 0x80,
      fwi: 7,
      sfgi: 0,
      cidSupported: true,
      nadSupported: false,
      historical: new Uint8Array(0),
    });
    expect(parseAts(h('0678807002'))).toEqual({ error: 'bad-length', at: 0 });
  });

  it('builds RATS, REQB/WUPB, ATQB, ATTRIB, its answer and HLTB with their CRCs', () => {
    expect(bytesToHex(ratsFrame(5, 0))).toBe('e050bca5');
    expect(bytesToHex(reqbFrame())).toBe('05000071ff');
    expect(bytesToHex(reqbFrame({ wakeUp: true }).subarray(0, 3))).toBe('050008');
    const atqb = atqbFrame(h('01020304'), h('00000000'), h('008171'));
    expect(bytesToHex(atqb)).toBe('5001020304000000000081717a18');
    expect(parseAtqb(atqb.subarray(0, 12))).toMatchObject({
      fsci: 8,
      fsc: 256,
      isoDep: true,
      fwi: 7,
      cidSupported: true,
      nadSupported: false,
    });
    expect(bytesToHex(attribFrame(h('01020304'), { fsdi: 8 }).subarray(0, 9))).toBe('1d0102030400080100');
    expect(bytesToHex(attribAnswer(0))).toBe('0078f0');
    expect(bytesToHex(hltbFrame(h('01020304')).subarray(0, 5))).toBe('5001020304');
  });
});

describe('decoders never throw on wire data (property)', () => {
  it('parseFelicaAfterSync, typeAFromBits, typeBFromLevels, parseAts, parseAtqb', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 7 }), (bytes, firstBit) => {
        parseFelicaAfterSync(bytes);
        parseAts(bytes);
        parseAtqb(bytes);
        const bits = bytes.map((b) => b & 1);
        typeAFromBits(bits, { firstBit });
        typeBFromLevels(bits);
      }),
    );
  });
});
