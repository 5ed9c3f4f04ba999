// ISO 9797-1 padding methods 1 and 2, constant-time comparison, wiping and the shared argument check.
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { assertBytes, constantTimeEqual, zero } from '../src/crypto/compare';
import { PaddingError, pad1, pad2, unpad2 } from '../src/crypto/padding';

describe('padding', () => {
  it('method 1 pads with zeros to the block size; empty data becomes one zero block', () => {
    expect(bytesToHex(pad1(hexToBytes('0102'), 8))).toBe('0102000000000000');
    expect(bytesToHex(pad1(hexToBytes('0102030405060708'), 8))).toBe('0102030405060708');
    expect(bytesToHex(pad1(new Uint8Array(0), 8))).toBe('0000000000000000');
    expect(pad1(new Uint8Array(17), 16).length).toBe(32);
  });

  it('method 2 always appends 80 and then zeros', () => {
    expect(bytesToHex(pad2(hexToBytes('0102'), 8))).toBe('0102800000000000');
    expect(bytesToHex(pad2(hexToBytes('01020304050607'), 8))).toBe('0102030405060780');
    expect(bytesToHex(pad2(hexToBytes('0102030405060708'), 8))).toBe('01020304050607088000000000000000');
    expect(bytesToHex(pad2(new Uint8Array(0), 16))).toBe('80000000000000000000000000000000');
  });

  it('unpad2 inverts pad2 for every length', () => {
    for (const b of [8, 16]) {
      for (let n = 0; n <= 40; n++) {
        const data = new Uint8Array(n).map((_, i) => (i * 37 + 0x80) & 0xff);
        expect(unpad2(pad2(data, b), b)).toEqual(data);
      }
    }
  });

  it('unpad2 rejects malformed padding with PaddingError and bad lengths with RangeError', () => {
    expect(() => unpad2(hexToBytes('0102030405060708'), 8)).toThrow(PaddingError);
    expect(() => unpad2(hexToBytes('0000000000000000'), 8)).toThrow(/no 80 marker/);
    expect(() => unpad2(hexToBytes('0102800000000001'), 8)).toThrow(/byte 7 is 01/);
    // the marker must be in the last block
    expect(() => unpad2(hexToBytes('80000000000000000000000000000000'), 8)).toThrow(PaddingError);
    expect(() => unpad2(new Uint8Array(0), 8)).toThrow(RangeError);
    expect(() => unpad2(new Uint8Array(12), 8)).toThrow(/multiple of the 8-byte block/);
  });

  it('argument checks name the argument', () => {
    expect(() => pad2('01' as unknown as Uint8Array, 8)).toThrow(/data must be a Uint8Array, got a string/);
    expect(() => pad1(new Uint8Array(1), 0)).toThrow(/blockSize/);
    expect(() => pad2(new Uint8Array(1), '8' as unknown as number)).toThrow(TypeError);
    expect(() => unpad2(new Uint8Array(8), 2.5)).toThrow(RangeError);
  });

  it('does not alias its input', () => {
    const data = hexToBytes('0102030405060708');
    const padded = pad1(data, 8);
    padded[0] = 0xff;
    expect(data[0]).toBe(1);
  });
});

describe('constantTimeEqual', () => {
  it('compares contents', () => {
    expect(constantTimeEqual(hexToBytes('00112233'), hexToBytes('00112233'))).toBe(true);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    expect(constantTimeEqual(hexToBytes('00112233'), hexToBytes('00112232'))).toBe(false);
    expect(constantTimeEqual(hexToBytes('80112233'), hexToBytes('00112233'))).toBe(false);
    expect(constantTimeEqual(hexToBytes('0011'), hexToBytes('001122'))).toBe(false);
    expect(constantTimeEqual(hexToBytes('001122'), hexToBytes('0011'))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), hexToBytes('00'))).toBe(false);
  });

  it('finds a difference at every position and bit', () => {
    const a = new Uint8Array(24).map((_, i) => i * 11);
    for (let i = 0; i < a.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = a.slice();
        b[i]! ^= 1 << bit;
        expect(constantTimeEqual(a, b)).toBe(false);
      }
    }
    expect(constantTimeEqual(a, a.slice())).toBe(true);
  });

  it('works on subarray views', () => {
    const buf = hexToBytes('aabbccddaabbccdd');
    expect(constantTimeEqual(buf.subarray(0, 4), buf.subarray(4))).toBe(true);
  });

  it('checks its arguments', () => {
    expect(() => constantTimeEqual('ab' as unknown as Uint8Array, new Uint8Array(1))).toThrow(/^a must be/);
    expect(() => constantTimeEqual(new Uint8Array(1), [1] as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('zero and assertBytes', () => {
  it('zero wipes every array', () => {
    const a = hexToBytes('0102');
    const b = hexToBytes('ffeeddcc');
    zero(a, b);
    expect(bytesToHex(a)).toBe('0000');
    expect(bytesToHex(b)).toBe('00000000');
    expect(() => zero(a, 'x' as unknown as Uint8Array)).toThrow(/arrays\[1\]/);
  });

  it('assertBytes reports type and length', () => {
    expect(() => assertBytes(undefined, 'key')).toThrow(/key must be a Uint8Array, got undefined/);
    expect(() => assertBytes({}, 'key')).toThrow(TypeError);
    expect(() => assertBytes(new Uint8Array(3), 'key', 4)).toThrow(/key must be 4 bytes, got 3/);
    expect(() => assertBytes(new Uint8Array(3), 'key', [8, 16])).toThrow(RangeError);
    expect(() => assertBytes(new Uint8Array(16), 'key', [8, 16])).not.toThrow();
  });
});
