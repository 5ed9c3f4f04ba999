// The access-key cache: hits only on equal node keys, the synthesised key checked against OpenSSL
// directly, eviction never touching a key in use, and wiping on eviction and clear().
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { AccessKeyCache } from '../src/secure/access-key-cache';
import { suiteByName } from '../src/secure/suite';

const tdes = suiteByName('2k3des');
const K1 = hexToBytes('0123456789abcdeffedcba9876543210');
const K2 = hexToBytes('00112233445566778899aabbccddeeff');
const K3 = hexToBytes('0f1e2d3c4b5a69788796a5b4c3d2e1f0');

/** Security.md 3 synthesis of two 2K3DES node keys, by OpenSSL directly: E_ECB(K2, K1). */
function synthesisedByOpenssl(first: Uint8Array, second: Uint8Array): string {
  const c = createCipheriv('des-ede-ecb', second, null).setAutoPadding(false);
  return Buffer.concat([c.update(first), c.final()]).toString('hex');
}

function encryptZeroBlock(cipher: {
  encryptBlock(i: Uint8Array, o: number, out: Uint8Array, p: number): void;
}) {
  const b = new Uint8Array(8);
  cipher.encryptBlock(b, 0, b, 0);
  return bytesToHex(b);
}

describe('AccessKeyCache', () => {
  it('synthesises the access key of security.md 3 and keys its cipher with it', () => {
    const cache = new AccessKeyCache();
    const lease = cache.acquire(tdes, [K1, K2]);
    expect(bytesToHex(lease.accessKey)).toBe(synthesisedByOpenssl(K1, K2));
    const byOpenssl = createCipheriv('des-ede-ecb', lease.accessKey, null).setAutoPadding(false);
    expect(encryptZeroBlock(lease.cipher)).toBe(byOpenssl.update(new Uint8Array(8)).toString('hex'));
  });

  it('reuses the entry for equal node keys, and never for a key that differs in one bit', () => {
    const cache = new AccessKeyCache();
    const a = cache.acquire(tdes, [K1, K2]);
    a.release();
    const b = cache.acquire(tdes, [K1.slice(), K2.slice()]);
    expect(b.cipher).toBe(a.cipher);
    expect(cache.size).toBe(1);
    const changed = K2.slice();
    changed[15] = changed[15]! ^ 0x02;
    const c = cache.acquire(tdes, [K1, changed]);
    expect(c.cipher).not.toBe(a.cipher);
    expect(bytesToHex(c.accessKey)).toBe(synthesisedByOpenssl(K1, changed));
    expect(cache.size).toBe(2);
    // The same keys in another order are another access key.
    const d = cache.acquire(tdes, [K2, K1]);
    expect(bytesToHex(d.accessKey)).toBe(synthesisedByOpenssl(K2, K1));
    expect(cache.size).toBe(3);
  });

  it('keys a DES suite by the stored form: an 8-byte key and its K ‖ K hit the same entry', () => {
    const des = suiteByName('des');
    const cache = new AccessKeyCache();
    const k = K1.subarray(0, 8);
    const kk = new Uint8Array([...k, ...k]);
    const a = cache.acquire(des, [k]);
    const b = cache.acquire(des, [kk]);
    expect(b.cipher).toBe(a.cipher);
    expect(bytesToHex(a.accessKey)).toBe(bytesToHex(kk));
  });

  it('evicts the least recently used released entry, wiping its key and context', () => {
    const cache = new AccessKeyCache(1);
    const a = cache.acquire(tdes, [K1]);
    const keyA = a.accessKey;
    a.release();
    const b = cache.acquire(tdes, [K2]);
    expect(cache.size).toBe(1);
    expect(keyA.every((x) => x === 0)).toBe(true);
    expect(() => encryptZeroBlock(a.cipher)).toThrow(/disposed/);
    expect(encryptZeroBlock(b.cipher)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('never evicts an entry in use; it goes once released', () => {
    const cache = new AccessKeyCache(1);
    const a = cache.acquire(tdes, [K1]);
    const b = cache.acquire(tdes, [K2]);
    const c = cache.acquire(tdes, [K3]);
    expect(cache.size).toBe(3);
    const before = encryptZeroBlock(a.cipher);
    expect(encryptZeroBlock(a.cipher)).toBe(before);
    a.release();
    a.release(); // idempotent: b stays counted as in use
    expect(cache.size).toBe(2);
    expect(() => encryptZeroBlock(a.cipher)).toThrow(/disposed/);
    expect(encryptZeroBlock(b.cipher)).toMatch(/^[0-9a-f]{16}$/);
    b.release();
    c.release();
    expect(cache.size).toBe(1);
  });

  it('clear() wipes every key, leased or not', () => {
    const cache = new AccessKeyCache();
    const a = cache.acquire(tdes, [K1, K2]);
    const b = cache.acquire(tdes, [K3]);
    b.release();
    cache.clear();
    expect(cache.size).toBe(0);
    for (const l of [a, b]) {
      expect(l.accessKey.every((x) => x === 0)).toBe(true);
      expect(() => encryptZeroBlock(l.cipher)).toThrow(/disposed/);
    }
    a.release(); // harmless after clear()
  });

  it('rejects bad arguments with a message naming them, caching nothing', () => {
    expect(() => new AccessKeyCache(0)).toThrow(/capacity must be a positive integer, got 0/);
    const cache = new AccessKeyCache();
    expect(() => cache.acquire(tdes, [])).toThrow(/at least one node key/);
    expect(() => cache.acquire(tdes, [K1, new Uint8Array(8)])).toThrow(/2k3des key is 16 bytes, got 8/);
    expect(cache.size).toBe(0);
  });
});
