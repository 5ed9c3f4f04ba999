// AN10922 key diversification: shared vectors, an OpenSSL-based reference for the padding rule, the DES-suite form, argument checks.
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { diversifyKey, type DiversifyAlg } from '../src/crypto/diversify';

interface DivVector {
  id: string;
  alg: DiversifyAlg;
  masterKey: string;
  input: string;
  diversifiedKey: string;
}

const vectors = (
  JSON.parse(
    readFileSync(new URL('../../test-vectors/key-diversification-an10922.json', import.meta.url), 'utf8'),
  ) as { vectors: DivVector[] }
).vectors;

const u8 = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/**
 * AN10922 written out with OpenSSL: D = c ‖ M, padded with 80 00… to at least two blocks (K2) or
 * exactly two blocks unpadded (K1), then the last block of CBC with IV 0.
 */
function refAn10922(alg: 'aes128' | '2k3des' | '3k3des', key: Uint8Array, m: Uint8Array): string {
  const b = alg === 'aes128' ? 16 : 8;
  const name = alg === 'aes128' ? 'aes-128' : alg === '2k3des' ? 'des-ede' : 'des-ede3';
  const enc = (iv: Uint8Array, data: Uint8Array): Uint8Array => {
    const c = createCipheriv(`${name}-cbc`, key, iv).setAutoPadding(false);
    return new Uint8Array([...c.update(data), ...c.final()]);
  };
  const dbl = (x: Uint8Array): Uint8Array => {
    const out = new Uint8Array(b);
    for (let i = 0; i < b; i++) out[i] = ((x[i]! << 1) | (i + 1 < b ? x[i + 1]! >> 7 : 0)) & 0xff;
    if (x[0]! & 0x80) out[b - 1]! ^= b === 16 ? 0x87 : 0x1b;
    return out;
  };
  const k1 = dbl(enc(new Uint8Array(b), new Uint8Array(b)));
  const k2 = dbl(k1);
  const constants = alg === 'aes128' ? [0x01] : alg === '2k3des' ? [0x21, 0x22] : [0x31, 0x32, 0x33];
  let out = '';
  for (const c of constants) {
    const d = [c, ...m];
    const padded = d.length < 2 * b;
    if (padded) d.push(0x80);
    while (d.length < 2 * b) d.push(0);
    const sub = padded ? k2 : k1;
    for (let i = 0; i < b; i++) d[b + i]! ^= sub[i]!;
    const cbc = enc(new Uint8Array(b), new Uint8Array(d));
    out += bytesToHex(cbc.slice(b));
  }
  return out;
}

describe('key-diversification-an10922.json', () => {
  it.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    const got = diversifyKey(v.alg, hexToBytes(v.masterKey), hexToBytes(v.input));
    expect(bytesToHex(got)).toBe(v.diversifiedKey);
  });
});

describe('AN10922 padding rule against an OpenSSL reference', () => {
  it.each([
    ['aes128', 16, 31],
    ['2k3des', 16, 15],
    ['3k3des', 24, 15],
  ] as const)('%s, every input length', (alg, keyLength, maxInput) => {
    for (let n = 1; n <= maxInput; n++) {
      const key = u8(keyLength);
      const m = u8(n);
      expect(bytesToHex(diversifyKey(alg, key, m))).toBe(refAn10922(alg, key, m));
    }
  });

  it('a short AES input is padded to 32 bytes, not 16 (unlike plain CMAC)', () => {
    // AN10922 2.2: D is always 32 bytes; plain CMAC would pad 01 ‖ M to one block.
    const key = hexToBytes('00112233445566778899aabbccddeeff');
    const m = hexToBytes('04782e21801d80');
    expect(bytesToHex(diversifyKey('aes128', key, m))).toBe(refAn10922('aes128', key, m));
  });
});

describe('DES suite (security.md §2)', () => {
  it('is the first 8 bytes of 2TDEA under master ‖ master', () => {
    for (let t = 0; t < 20; t++) {
      const master = u8(8);
      const m = u8(1 + (t % 15));
      const full = diversifyKey('2k3des', new Uint8Array([...master, ...master]), m);
      expect(bytesToHex(diversifyKey('des', master, m))).toBe(bytesToHex(full.subarray(0, 8)));
    }
  });

  it('matches a value computed with OpenSSL CMAC (M = IDm ‖ node ‖ system)', () => {
    // openssl mac -cipher DES-EDE-CBC -macopt hexkey:2b7e151628aed2a62b7e151628aed2a6 CMAC over 21 ‖ M
    const got = diversifyKey('des', hexToBytes('2b7e151628aed2a6'), hexToBytes('0102030405060708 8ff0 c3a1'));
    expect(bytesToHex(got)).toBe('4a356394baf10b57');
  });
});

describe('argument checks', () => {
  it('names the bad argument', () => {
    expect(() => diversifyKey('aes256' as DiversifyAlg, new Uint8Array(32), new Uint8Array(4))).toThrow(
      TypeError,
    );
    expect(() => diversifyKey('aes128', new Uint8Array(24), new Uint8Array(4))).toThrow(
      /masterKey must be 16 bytes/,
    );
    expect(() => diversifyKey('des', new Uint8Array(16), new Uint8Array(4))).toThrow(
      /masterKey must be 8 bytes/,
    );
    expect(() => diversifyKey('3k3des', new Uint8Array(24), 'abc' as unknown as Uint8Array)).toThrow(/input/);
    expect(() => diversifyKey('aes128', new Uint8Array(16), new Uint8Array(0))).toThrow(
      /input must be 1 to 31/,
    );
    expect(() => diversifyKey('aes128', new Uint8Array(16), new Uint8Array(32))).toThrow(RangeError);
    expect(() => diversifyKey('2k3des', new Uint8Array(16), new Uint8Array(16))).toThrow(
      /input must be 1 to 15/,
    );
  });

  it('does not modify its arguments', () => {
    const master = u8(16);
    const m = u8(12);
    const [mc, ic] = [master.slice(), m.slice()];
    diversifyKey('2k3des', master, m);
    expect(master).toEqual(mc);
    expect(m).toEqual(ic);
  });
});
