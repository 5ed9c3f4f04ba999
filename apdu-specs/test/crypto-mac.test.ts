// MACs: shared ISO 9797-1 / CMAC vectors, SP 800-38B TDEA examples, OpenSSL and noble as independent references, argument checks.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cmac as nobleCmac } from '@noble/ciphers/aes.js';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { createBlockCipher } from '../src/crypto/block-cipher';
import {
  aesCmac,
  cbcMac,
  cmac,
  cmacSubkeys,
  cmacWithSubkeys,
  computeMac,
  createMac,
  retailMac,
  type MacAlg,
  type MacPadding,
} from '../src/crypto/mac';

interface MacVector {
  id: string;
  alg: MacAlg;
  padding: MacPadding;
  key: string;
  message: string;
  mac: string;
}

const vectors = (
  JSON.parse(readFileSync(new URL('../../test-vectors/mac-iso9797.json', import.meta.url), 'utf8')) as {
    vectors: MacVector[];
  }
).vectors;

const u8 = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** ISO 9797-1 padding written out again for the reference (not the module's pad1/pad2). */
function refPad(m: Uint8Array, method: MacPadding): Uint8Array {
  const body = method === 2 ? [...m, 0x80] : [...m];
  while (body.length % 8 !== 0 || body.length === 0) body.push(0);
  return new Uint8Array(body);
}

/** One-shot OpenSSL operation with a fresh context, padding off. */
function openssl(
  name: string,
  encrypt: boolean,
  key: Uint8Array,
  iv: Uint8Array | null,
  data: Uint8Array,
): Uint8Array {
  const c = encrypt ? createCipheriv(name, key, iv) : createDecipheriv(name, key, iv);
  c.setAutoPadding(false);
  return new Uint8Array([...c.update(data), ...c.final()]);
}

const twice = (k: Uint8Array): Uint8Array => new Uint8Array([...k, ...k]);

/** MAC algorithm 1 from its definition: the last block of OpenSSL CBC with IV 0. */
function refMac1(key: Uint8Array, m: Uint8Array, method: MacPadding): string {
  const name = key.length === 24 ? 'des-ede3-cbc' : 'des-ede-cbc';
  const out = openssl(name, true, key.length === 8 ? twice(key) : key, new Uint8Array(8), refPad(m, method));
  return bytesToHex(out.slice(out.length - 8));
}

/** Retail MAC from its definition: DES-CBC under K, then D(K′) and E(K) as separate single-DES calls. */
function refMac3(key: Uint8Array, m: Uint8Array, method: MacPadding): string {
  const k = twice(key.slice(0, 8));
  const k2 = twice(key.slice(8, 16));
  const cbc = openssl('des-ede-cbc', true, k, new Uint8Array(8), refPad(m, method));
  const h = cbc.slice(cbc.length - 8);
  return bytesToHex(openssl('des-ede-ecb', true, k, null, openssl('des-ede-ecb', false, k2, null, h)));
}

describe('mac-iso9797.json', () => {
  it.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    const key = hexToBytes(v.key);
    const message = hexToBytes(v.message);
    const full = computeMac(v.alg, key, message, { padding: v.padding });
    expect(bytesToHex(full.subarray(0, v.mac.length / 2))).toBe(v.mac);
    // the reusable object gives the same, repeatedly
    const mac = createMac(v.alg, key, { padding: v.padding });
    expect(bytesToHex(mac.compute(message))).toBe(bytesToHex(full));
    expect(bytesToHex(mac.compute(message))).toBe(bytesToHex(full));
    mac.dispose();
  });
});

describe('SP 800-38B Appendix D TDEA CMAC examples (cmac over a DES-family context, Rb = 1B)', () => {
  const messages = [
    '',
    '6bc1bee22e409f96',
    '6bc1bee22e409f96e93d7e117393172aae2d8a57',
    '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51',
  ];
  it.each([
    [
      '3k3des',
      '8aa83bf8cbda10620bc1bf19fbb6cd58bc313d4a371ca8b5',
      ['b7a688e122ffaf95', '8e8f293136283797', '743ddbe0ce2dc2ed', '33e6b1092400eae5'],
    ],
    [
      '2k3des',
      '4cf15134a2850dd58a3d10ba80570d38',
      ['bd2ebf9a3ba00361', '4ff2ab813c53ce83', '62dd1b471902bd4e', '31b1e431dabc4eb8'],
    ],
  ] as const)('%s', (alg, key, tags) => {
    const cipher = createBlockCipher(alg, hexToBytes(key));
    messages.forEach((m, i) => expect(bytesToHex(cmac(cipher, hexToBytes(m)))).toBe(tags[i]));
  });
});

describe('independent references', () => {
  it('AES-CMAC: noble one-shot, createMac and cmac() over the AES context agree for lengths 0..80', () => {
    for (let n = 0; n <= 80; n++) {
      const key = u8(16);
      const m = u8(n);
      const want = bytesToHex(nobleCmac(m, key));
      expect(bytesToHex(aesCmac(key, m))).toBe(want);
      const mac = createMac('aes-cmac', key);
      expect(bytesToHex(mac.compute(m))).toBe(want);
      expect(bytesToHex(mac.compute(m))).toBe(want);
      expect(bytesToHex(cmac(createBlockCipher('aes128', key), m))).toBe(want);
    }
  });

  it('RFC 4493 example 2 (16-byte message)', () => {
    const key = hexToBytes('2b7e151628aed2a6abf7158809cf4f3c');
    expect(bytesToHex(aesCmac(key, hexToBytes('6bc1bee22e409f96e93d7e117393172a')))).toBe(
      '070a16b46b4d4144f79bdd9dd04a287c',
    );
    const { k1, k2 } = cmacSubkeys(createBlockCipher('aes128', key));
    expect(bytesToHex(k1)).toBe('fbeed618357133667c85e08f7236a8de');
    expect(bytesToHex(k2)).toBe('f7ddac306ae266ccf90bc11ee46d513b');
  });

  it.each([1, 2] as const)(
    'algorithm 1, padding %i, DES / 2K3DES / 3K3DES keys, against OpenSSL CBC',
    (padding) => {
      for (const keyLength of [8, 16, 24]) {
        for (let n = 0; n <= 33; n++) {
          const key = u8(keyLength);
          const m = u8(n);
          const want = refMac1(key, m, padding);
          expect(bytesToHex(cbcMac(key, m, padding))).toBe(want);
          const mac = createMac('iso9797-1-m1', key, { padding });
          expect(bytesToHex(mac.compute(m))).toBe(want);
          expect(bytesToHex(mac.compute(m))).toBe(want);
        }
      }
    },
  );

  it.each([1, 2] as const)(
    'algorithm 3 (retail MAC), padding %i, 16- and 24-byte keys, against its definition',
    (padding) => {
      for (const keyLength of [16, 24]) {
        for (let n = 0; n <= 33; n++) {
          const key = u8(keyLength);
          const m = u8(n);
          const want = refMac3(key, m, padding);
          expect(bytesToHex(retailMac(key, m, padding))).toBe(want);
          const mac = createMac('iso9797-1-m3', key, { padding });
          expect(bytesToHex(mac.compute(m))).toBe(want);
          expect(bytesToHex(mac.compute(m))).toBe(want);
        }
      }
    },
  );

  it('a 24-byte retail-MAC key uses only its first 16 bytes (security.md §5)', () => {
    const key = u8(24);
    const m = u8(20);
    expect(bytesToHex(retailMac(key, m))).toBe(bytesToHex(retailMac(key.slice(0, 16), m)));
  });

  it('defaults to padding method 2', () => {
    const key = u8(16);
    const m = u8(13);
    expect(retailMac(key, m)).toEqual(retailMac(key, m, 2));
    expect(createMac('iso9797-1-m3', key).compute(m)).toEqual(retailMac(key, m, 2));
    expect(cbcMac(key, m)).toEqual(cbcMac(key, m, 2));
  });

  it('padding 1 and 2 differ, and one flipped message bit changes every MAC', () => {
    const key = u8(16);
    const m = u8(12);
    expect(retailMac(key, m, 1)).not.toEqual(retailMac(key, m, 2));
    for (const alg of ['iso9797-1-m1', 'iso9797-1-m3', 'aes-cmac'] as const) {
      const mac = createMac(alg, key);
      const flipped = m.slice();
      flipped[5]! ^= 0x10;
      expect(mac.compute(flipped)).not.toEqual(mac.compute(m));
    }
  });
});

describe('argument checks', () => {
  it('names bad keys, algorithms, padding and messages', () => {
    expect(() => createMac('hmac' as MacAlg, new Uint8Array(16))).toThrow(TypeError);
    expect(() => createMac('iso9797-1-m1', new Uint8Array(12))).toThrow(/key must be 8, 16, 24 bytes/);
    expect(() => createMac('iso9797-1-m3', new Uint8Array(8))).toThrow(RangeError);
    expect(() => createMac('aes-cmac', new Uint8Array(24))).toThrow(/key must be 16 bytes/);
    expect(() => createMac('iso9797-1-m3', 'k' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => createMac('iso9797-1-m3', new Uint8Array(16), { padding: 3 as MacPadding })).toThrow(
      /padding must be 1 or 2/,
    );
    expect(() => retailMac(new Uint8Array(16), [1, 2] as unknown as Uint8Array)).toThrow(/message/);
    expect(() => aesCmac(new Uint8Array(16), null as unknown as Uint8Array)).toThrow(TypeError);
    const c = createBlockCipher('2k3des', new Uint8Array(16));
    const { k1, k2 } = cmacSubkeys(c);
    expect(() => cmacWithSubkeys(c, k1, k2, new Uint8Array(3), 12)).toThrow(/minLength/);
    expect(() => cmacWithSubkeys(c, k1.subarray(1), k2, new Uint8Array(3))).toThrow(/k1/);
  });

  it('a disposed MAC throws', () => {
    for (const alg of ['iso9797-1-m1', 'iso9797-1-m3', 'aes-cmac'] as const) {
      const mac = createMac(alg, new Uint8Array(16).fill(3));
      mac.compute(new Uint8Array(4));
      mac.dispose();
      expect(() => mac.compute(new Uint8Array(4))).toThrow(/disposed/);
    }
  });
});
