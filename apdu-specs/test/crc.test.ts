// CRC_A, CRC_B and the FeliCa CRC against catalogue check values, the shared vectors and a bitwise reference.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crcA, crcB, crcBytes, crcFelica, type CrcAlgorithm } from '../src/crc';
import { bytesToHex, concatBytes, hexToBytes } from '../src/hex';

interface CrcVector {
  id: string;
  alg: CrcAlgorithm;
  data: string;
  crc: string;
}

function load(name: string): CrcVector[] {
  const text = readFileSync(new URL(`../../test-vectors/${name}`, import.meta.url), 'utf8');
  return (JSON.parse(text) as { vectors: CrcVector[] }).vectors;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

// Bit-at-a-time definitions, written independently of the table-driven code under test.
function reflectedBitwise(data: Uint8Array, init: number, xorOut: number): number {
  let c = init;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
  }
  return c ^ xorOut;
}
function xmodemBitwise(data: Uint8Array): number {
  let c = 0;
  for (const b of data) {
    for (let k = 7; k >= 0; k--) {
      const top = ((c >>> 15) ^ (b >>> k)) & 1;
      c = (c << 1) & 0xffff;
      if (top) c ^= 0x1021;
    }
  }
  return c;
}

describe('catalogue check values over "123456789"', () => {
  it('CRC-16/ISO-IEC-14443-3-A = 0xBF05', () => expect(crcA(ascii('123456789'))).toBe(0xbf05));
  it('CRC-16/X-25 = 0x906E', () => expect(crcB(ascii('123456789'))).toBe(0x906e));
  it('CRC-16/XMODEM = 0x31C3', () => expect(crcFelica(ascii('123456789'))).toBe(0x31c3));
  it('empty input gives the initial value (after the final XOR)', () => {
    expect(crcA(new Uint8Array(0))).toBe(0x6363);
    expect(crcB(new Uint8Array(0))).toBe(0x0000);
    expect(crcFelica(new Uint8Array(0))).toBe(0x0000);
  });
});

describe('crcBytes gives transmission order', () => {
  it.each([
    ['crc-a', 'e050', 'bca5'], // rf.md §4.2
    ['crc-a', '5000', '57cd'],
    ['crc-a', '0000', 'a01e'],
    ['crc-a', '1234', '26cf'],
    ['felica', '03abcd', '9035'], // rf.md §4.1
    ['felica', '0600ffff0100', '3a10'],
    ['crc-b', '313233343536373839', '6e90'],
  ] as const)('%s(%s) = %s', (alg, data, crc) => {
    expect(bytesToHex(crcBytes(alg, hexToBytes(data)))).toBe(crc);
  });
});

describe.each(['crc-iso14443.json', 'crc-felica.json'])('shared vectors %s', (file) => {
  const vectors = load(file);
  it('has vectors', () => expect(vectors.length).toBeGreaterThan(0));
  it.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    expect(bytesToHex(crcBytes(v.alg, hexToBytes(v.data)))).toBe(bytesToHex(hexToBytes(v.crc)));
  });
});

describe('agrees with a bitwise reference', () => {
  const bytes = fc.uint8Array({ maxLength: 300 });
  it('CRC_A', () => fc.assert(fc.property(bytes, (d) => crcA(d) === reflectedBitwise(d, 0x6363, 0))));
  it('CRC_B', () => fc.assert(fc.property(bytes, (d) => crcB(d) === reflectedBitwise(d, 0xffff, 0xffff))));
  it('FeliCa', () => fc.assert(fc.property(bytes, (d) => crcFelica(d) === xmodemBitwise(d))));
});

describe('running CRC over pieces', () => {
  it('crcX(b, crcX(a)) === crcX(a ‖ b) for all three', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (a, b) => {
        const ab = concatBytes(a, b);
        return (
          crcA(b, crcA(a)) === crcA(ab) &&
          crcB(b, crcB(a)) === crcB(ab) &&
          crcFelica(b, crcFelica(a)) === crcFelica(ab)
        );
      }),
    );
  });
  it('reads a subarray, not its whole buffer', () => {
    const whole = ascii('xx123456789yy');
    expect(crcFelica(whole.subarray(2, 11))).toBe(0x31c3);
  });
});

describe('argument checks', () => {
  it('rejects a non-Uint8Array', () => {
    expect(() => crcA([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => crcFelica('12' as unknown as Uint8Array)).toThrow(/data/);
  });
  it('rejects a bad previous value', () => {
    expect(() => crcB(new Uint8Array(1), 0x10000)).toThrow(RangeError);
    expect(() => crcFelica(new Uint8Array(1), 1.5)).toThrow(/previous/);
    expect(() => crcA(new Uint8Array(1), '1' as unknown as number)).toThrow(TypeError);
  });
  it('rejects an unknown algorithm', () => {
    expect(() => crcBytes('crc-c' as CrcAlgorithm, new Uint8Array(1))).toThrow(RangeError);
    expect(() => crcBytes(1 as unknown as CrcAlgorithm, new Uint8Array(1))).toThrow(/alg/);
  });
});
