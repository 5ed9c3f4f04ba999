// Block-cipher contexts and ECB/CBC modes: shared vectors, FIPS-197, OpenSSL as an independent reference, reuse, argument checks.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import {
  BLOCK_CIPHER_ALGS,
  KEY_LENGTHS,
  createBlockCipher,
  type BlockCipher,
  type BlockCipherAlg,
} from '../src/crypto/block-cipher';
import { cbcDecrypt, cbcEncrypt, ecbDecrypt, ecbEncrypt, lastBlock } from '../src/crypto/modes';

interface CipherVector {
  id: string;
  alg: BlockCipherAlg;
  mode: 'ecb' | 'cbc';
  key: string;
  iv?: string;
  plaintext: string;
  ciphertext: string;
}

const vectors = (
  JSON.parse(readFileSync(new URL('../../test-vectors/cipher-des-tdes.json', import.meta.url), 'utf8')) as {
    vectors: CipherVector[];
  }
).vectors;

const u8 = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** OpenSSL one-shot reference (a fresh context per call, padding off); single DES as K ‖ K. */
function reference(
  alg: BlockCipherAlg,
  mode: 'ecb' | 'cbc',
  encrypt: boolean,
  key: Uint8Array,
  iv: Uint8Array | null,
  data: Uint8Array,
): string {
  const name =
    alg === 'aes128' ? `aes-128-${mode}` : alg === '3k3des' ? `des-ede3-${mode}` : `des-ede-${mode}`;
  const k = alg === 'des' ? new Uint8Array([...key, ...key]) : key;
  const c = encrypt ? createCipheriv(name, k, iv) : createDecipheriv(name, k, iv);
  c.setAutoPadding(false);
  return bytesToHex(new Uint8Array([...c.update(data), ...c.final()]));
}

describe('cipher-des-tdes.json through createBlockCipher and the modes', () => {
  it.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    const cipher = createBlockCipher(v.alg, hexToBytes(v.key));
    const pt = hexToBytes(v.plaintext);
    const ct = hexToBytes(v.ciphertext);
    if (v.mode === 'ecb') {
      expect(bytesToHex(ecbEncrypt(cipher, pt))).toBe(bytesToHex(ct));
      expect(bytesToHex(ecbDecrypt(cipher, ct))).toBe(bytesToHex(pt));
      // block by block as well as in one call
      const out = new Uint8Array(pt.length);
      for (let o = 0; o < pt.length; o += 8) cipher.encryptBlock(pt, o, out, o);
      expect(bytesToHex(out)).toBe(bytesToHex(ct));
      for (let o = 0; o < ct.length; o += 8) cipher.decryptBlock(ct, o, out, o);
      expect(bytesToHex(out)).toBe(bytesToHex(pt));
    } else {
      const iv = hexToBytes(v.iv!);
      expect(bytesToHex(cbcEncrypt(cipher, iv, pt))).toBe(bytesToHex(ct));
      expect(bytesToHex(cbcDecrypt(cipher, iv, ct))).toBe(bytesToHex(pt));
    }
    cipher.dispose();
  });
});

describe('AES-128', () => {
  it('FIPS-197 Appendix C.1 known answer', () => {
    const aes = createBlockCipher('aes128', hexToBytes('000102030405060708090a0b0c0d0e0f'));
    const block = hexToBytes('00112233445566778899aabbccddeeff');
    const out = new Uint8Array(16);
    aes.encryptBlock(block, 0, out, 0);
    expect(bytesToHex(out)).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
    aes.decryptBlock(out, 0, out, 0);
    expect(bytesToHex(out)).toBe('00112233445566778899aabbccddeeff');
  });

  it('SP 800-38A F.2.1 CBC-AES128 example', () => {
    const aes = createBlockCipher('aes128', hexToBytes('2b7e151628aed2a6abf7158809cf4f3c'));
    const iv = hexToBytes('000102030405060708090a0b0c0d0e0f');
    const pt = hexToBytes('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51');
    const ct = '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2';
    expect(bytesToHex(cbcEncrypt(aes, iv, pt))).toBe(ct);
    expect(bytesToHex(cbcDecrypt(aes, iv, hexToBytes(ct)))).toBe(bytesToHex(pt));
  });

  it('works at unaligned offsets and in place', () => {
    const key = u8(16);
    const aes = createBlockCipher('aes128', key);
    const buf = u8(37);
    const plain = buf.slice(3, 19);
    aes.encryptBlock(buf, 3, buf, 3);
    expect(bytesToHex(buf.subarray(3, 19))).toBe(reference('aes128', 'ecb', true, key, null, plain));
    aes.decryptBlock(buf, 3, buf, 3);
    expect(bytesToHex(buf.subarray(3, 19))).toBe(bytesToHex(plain));
  });
});

describe.each(BLOCK_CIPHER_ALGS.map((a) => [a] as const))('%s agrees with one-shot OpenSSL', (alg) => {
  it('ECB and CBC over random keys, IVs and lengths', () => {
    for (let t = 0; t < 50; t++) {
      const key = u8(KEY_LENGTHS[alg]);
      const cipher = createBlockCipher(alg, key);
      for (let r = 0; r < 4; r++) {
        const b = cipher.blockSize;
        const data = u8(b * (r + 1));
        const iv = u8(b);
        expect(bytesToHex(ecbEncrypt(cipher, data))).toBe(reference(alg, 'ecb', true, key, null, data));
        expect(bytesToHex(ecbDecrypt(cipher, data))).toBe(reference(alg, 'ecb', false, key, null, data));
        expect(bytesToHex(cbcEncrypt(cipher, iv, data))).toBe(reference(alg, 'cbc', true, key, iv, data));
        expect(bytesToHex(cbcDecrypt(cipher, iv, data))).toBe(reference(alg, 'cbc', false, key, iv, data));
      }
      cipher.dispose();
    }
  });

  it('one context reused for 10,000 alternating encrypt/decrypt calls matches fresh contexts', () => {
    const key = u8(KEY_LENGTHS[alg]);
    const reused = createBlockCipher(alg, key);
    const b = reused.blockSize;
    const data = u8(b * 64);
    const reusedOut: string[] = [];
    const outA = new Uint8Array(b);
    for (let i = 0; i < 10_000; i++) {
      const off = (i % 64) * b;
      if (i % 2 === 0) reused.encryptBlock(data, off, outA, 0);
      else reused.decryptBlock(data, off, outA, 0);
      reusedOut.push(bytesToHex(outA));
    }
    // the same calls, a fresh context each
    const freshOut: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const fresh = createBlockCipher(alg, key);
      const off = (i % 64) * b;
      const out = new Uint8Array(b);
      if (i % 2 === 0) fresh.encryptBlock(data, off, out, 0);
      else fresh.decryptBlock(data, off, out, 0);
      freshOut.push(bytesToHex(out));
      fresh.dispose();
    }
    expect(reusedOut).toEqual(freshOut);
    // and the contexts are still in step afterwards
    const block = data.slice(0, b);
    reused.encryptBlock(block, 0, outA, 0);
    reused.decryptBlock(outA, 0, outA, 0);
    expect(bytesToHex(outA)).toBe(bytesToHex(block));
  });

  it('CBC calls with changing IVs on one context match fresh contexts (chaining state never leaks)', () => {
    const key = u8(KEY_LENGTHS[alg]);
    const cipher = createBlockCipher(alg, key);
    const b = cipher.blockSize;
    for (let i = 0; i < 500; i++) {
      const data = u8(b * (1 + (i % 5)));
      const iv = i % 3 === 0 ? new Uint8Array(b) : u8(b);
      const op = i % 4;
      const got =
        op === 0
          ? cbcEncrypt(cipher, iv, data)
          : op === 1
            ? cbcDecrypt(cipher, iv, data)
            : op === 2
              ? ecbEncrypt(cipher, data)
              : ecbDecrypt(cipher, data);
      const want =
        op < 2
          ? reference(alg, 'cbc', op === 0, key, iv, data)
          : reference(alg, 'ecb', op === 2, key, null, data);
      expect(bytesToHex(got)).toBe(want);
    }
  });
});

describe('argument checks', () => {
  it('createBlockCipher names a bad alg or key', () => {
    expect(() => createBlockCipher('aes256' as BlockCipherAlg, new Uint8Array(32))).toThrow(TypeError);
    expect(() => createBlockCipher('aes256' as BlockCipherAlg, new Uint8Array(32))).toThrow(/alg/);
    expect(() => createBlockCipher('2k3des', 'key' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => createBlockCipher('2k3des', [1, 2] as unknown as Uint8Array)).toThrow(
      /key must be a Uint8Array/,
    );
    for (const alg of BLOCK_CIPHER_ALGS) {
      expect(() => createBlockCipher(alg, new Uint8Array(KEY_LENGTHS[alg] + 1))).toThrow(RangeError);
      expect(() => createBlockCipher(alg, new Uint8Array(KEY_LENGTHS[alg] - 1))).toThrow(/key must be/);
    }
  });

  it.each(BLOCK_CIPHER_ALGS.map((a) => [a] as const))('%s block calls check buffers and offsets', (alg) => {
    const c = createBlockCipher(alg, new Uint8Array(KEY_LENGTHS[alg]).fill(0x11));
    const b = c.blockSize;
    const out = new Uint8Array(b);
    expect(() => c.encryptBlock(null as unknown as Uint8Array, 0, out, 0)).toThrow(/input/);
    expect(() => c.decryptBlock(new Uint8Array(b), 0, 'x' as unknown as Uint8Array, 0)).toThrow(TypeError);
    expect(() => c.encryptBlock(new Uint8Array(b - 1), 0, out, 0)).toThrow(RangeError);
    expect(() => c.encryptBlock(new Uint8Array(b), 1, out, 0)).toThrow(/inOff/);
    expect(() => c.decryptBlock(new Uint8Array(b), 0, out, 1)).toThrow(/outOff/);
    expect(() => c.encryptBlock(new Uint8Array(b), -1, out, 0)).toThrow(RangeError);
    expect(() => c.encryptBlock(new Uint8Array(2 * b), 0.5, out, 0)).toThrow(RangeError);
  });

  it('modes check the cipher, the IV and the data length', () => {
    const des = createBlockCipher('2k3des', new Uint8Array(16).fill(1));
    const aes = createBlockCipher('aes128', new Uint8Array(16).fill(1));
    expect(() => ecbEncrypt({} as BlockCipher, new Uint8Array(8))).toThrow(/cipher/);
    expect(() => ecbEncrypt(des, new Uint8Array(12))).toThrow(RangeError);
    expect(() => ecbDecrypt(aes, new Uint8Array(8))).toThrow(/multiple of the 16-byte block/);
    expect(() => cbcEncrypt(des, new Uint8Array(16), new Uint8Array(8))).toThrow(/iv must be 8 bytes/);
    expect(() => cbcDecrypt(aes, new Uint8Array(8), new Uint8Array(16))).toThrow(RangeError);
    expect(() => cbcEncrypt(des, new Uint8Array(8), 'abc' as unknown as Uint8Array)).toThrow(/data/);
    expect(ecbEncrypt(des, new Uint8Array(0))).toEqual(new Uint8Array(0));
    expect(cbcDecrypt(aes, new Uint8Array(16), new Uint8Array(0))).toEqual(new Uint8Array(0));
    expect(bytesToHex(lastBlock(des, hexToBytes('00112233445566778899aabbccddeeff')))).toBe(
      '8899aabbccddeeff',
    );
    expect(() => lastBlock(aes, new Uint8Array(8))).toThrow(RangeError);
  });

  it('dispose wipes the context: later calls throw', () => {
    for (const alg of BLOCK_CIPHER_ALGS) {
      const c = createBlockCipher(alg, new Uint8Array(KEY_LENGTHS[alg]).fill(7));
      const b = c.blockSize;
      c.encryptBlock(new Uint8Array(b), 0, new Uint8Array(b), 0);
      c.dispose();
      expect(() => c.encryptBlock(new Uint8Array(b), 0, new Uint8Array(b), 0)).toThrow(/disposed/);
      expect(() => c.decryptBlock(new Uint8Array(b), 0, new Uint8Array(b), 0)).toThrow(/disposed/);
      expect(() => cbcEncrypt(c, new Uint8Array(b), new Uint8Array(b))).toThrow(/disposed/);
      c.dispose(); // idempotent
    }
  });

  it('copies the key: wiping the caller array does not change the context', () => {
    const key = hexToBytes('0123456789abcdef');
    const des = createBlockCipher('des', key);
    key.fill(0);
    expect(bytesToHex(ecbEncrypt(des, hexToBytes('4e6f772069732074')))).toBe('3fa40e8a984d4815');
  });
});
