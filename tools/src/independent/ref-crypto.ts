// A second, independent implementation of mica's secure scheme (security.md 3-5), written directly on
// node:crypto with fresh cipher objects per call and none of apdu-specs' crypto code. It generates and
// checks the project's own secure-messaging vectors; the card and the host SDK must agree with it.
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

export type RefSuite = '2k3des' | '3k3des' | 'aes128';

const B = (x: Uint8Array | Buffer): Buffer => Buffer.from(x);

function alg(suite: RefSuite, mode: 'cbc' | 'ecb'): string {
  return suite === 'aes128'
    ? `aes-128-${mode}`
    : suite === '3k3des'
      ? `des-ede3-${mode === 'cbc' ? 'cbc' : 'ecb'}`
      : `des-ede-${mode === 'cbc' ? 'cbc' : 'ecb'}`;
}

export function blockSize(suite: RefSuite): number {
  return suite === 'aes128' ? 16 : 8;
}

export function cbcEnc(suite: RefSuite, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const c = createCipheriv(alg(suite, 'cbc'), B(key), B(iv));
  c.setAutoPadding(false);
  return Buffer.concat([c.update(B(data)), c.final()]);
}

export function cbcDec(suite: RefSuite, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const c = createDecipheriv(alg(suite, 'cbc'), B(key), B(iv));
  c.setAutoPadding(false);
  return Buffer.concat([c.update(B(data)), c.final()]);
}

export function ecbEnc(suite: RefSuite, key: Uint8Array, data: Uint8Array): Buffer {
  const c = createCipheriv(alg(suite, 'ecb'), B(key), null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(B(data)), c.final()]);
}

/** K = key0; K = E_ECB(key_i, K). */
export function accessKey(suite: RefSuite, keys: readonly Uint8Array[]): Buffer {
  let k = B(keys[0]!);
  for (const next of keys.slice(1)) k = ecbEnc(suite, next, k);
  return k;
}

export function rotl(x: Uint8Array): Buffer {
  return Buffer.concat([B(x).subarray(1), B(x).subarray(0, 1)]);
}

export function lastBlock(suite: RefSuite, x: Uint8Array): Buffer {
  return B(x).subarray(x.length - blockSize(suite));
}

export function sessionKey(suite: RefSuite, a: Uint8Array, b: Uint8Array, halvesEqual: boolean): Buffer {
  const A = B(a);
  const Bb = B(b);
  if (suite === '2k3des')
    return halvesEqual
      ? Buffer.concat([A.subarray(0, 4), Bb.subarray(0, 4), A.subarray(0, 4), Bb.subarray(0, 4)])
      : Buffer.concat([A.subarray(0, 4), Bb.subarray(0, 4), A.subarray(4, 8), Bb.subarray(4, 8)]);
  if (suite === '3k3des')
    return Buffer.concat([
      A.subarray(0, 4),
      Bb.subarray(0, 4),
      A.subarray(6, 10),
      Bb.subarray(6, 10),
      A.subarray(12, 16),
      Bb.subarray(12, 16),
    ]);
  return Buffer.concat([A.subarray(0, 4), Bb.subarray(0, 4), A.subarray(12, 16), Bb.subarray(12, 16)]);
}

export function smKeys(suite: RefSuite, ks: Uint8Array): { enc: Buffer; mac: Buffer } {
  const L = suite === '3k3des' ? 24 : 16;
  const h = (n: number): Buffer =>
    createHash('sha256')
      .update(Buffer.concat([B(ks), Buffer.from([0, 0, 0, n])]))
      .digest()
      .subarray(0, L);
  return { enc: h(1), mac: h(2) };
}

function pad2(x: Uint8Array, bs: number): Buffer {
  const n = Math.ceil((x.length + 1) / bs) * bs;
  const out = Buffer.alloc(n);
  B(x).copy(out);
  out[x.length] = 0x80;
  return out;
}

export { pad2 };

/**
 * ISO 9797-1 algorithm 3: single-DES CBC with K, then D(K') and E(K) on the last block. Padding 2
 * by default; `padded: true` takes a message that is already whole blocks (padding method 1 on it).
 */
export function retailMac(key: Uint8Array, msg: Uint8Array, padded = false): Buffer {
  if (padded && msg.length % 8 !== 0) throw new RangeError('retailMac: message is not whole blocks');
  const k1 = B(key).subarray(0, 8);
  const k2 = B(key).subarray(8, 16);
  const k1k1 = Buffer.concat([k1, k1]);
  const k2k2 = Buffer.concat([k2, k2]);
  const h = lastBlock('2k3des', cbcEnc('2k3des', k1k1, Buffer.alloc(8), padded ? msg : pad2(msg, 8)));
  const d = createDecipheriv('des-ede-ecb', k2k2, null);
  d.setAutoPadding(false);
  const h2 = Buffer.concat([d.update(h), d.final()]);
  return ecbEnc('2k3des', k1k1, h2);
}

function dbl(x: Buffer): Buffer {
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) out[i] = ((x[i]! << 1) | (i < 15 ? x[i + 1]! >> 7 : 0)) & 0xff;
  if (x[0]! & 0x80) out[15]! ^= 0x87;
  return out;
}

/** AES-CMAC (SP 800-38B). */
export function aesCmac(key: Uint8Array, msg: Uint8Array): Buffer {
  const l = ecbEnc('aes128', key, Buffer.alloc(16));
  const k1 = dbl(l);
  const k2 = dbl(k1);
  const n = Math.max(1, Math.ceil(msg.length / 16));
  const complete = msg.length > 0 && msg.length % 16 === 0;
  const last = complete
    ? Buffer.from(B(msg).subarray(16 * (n - 1)))
    : pad2(B(msg).subarray(16 * (n - 1)), 16);
  for (let i = 0; i < 16; i++) last[i]! ^= (complete ? k1 : k2)[i]!;
  const blocks = Buffer.concat([B(msg).subarray(0, 16 * (n - 1)), last]);
  return lastBlock('aes128', cbcEnc('aes128', key, Buffer.alloc(16), blocks));
}

export function mac8(suite: RefSuite, ksMac: Uint8Array, ctr: number, bytes: Uint8Array): Buffer {
  const c = Buffer.alloc(4);
  c.writeUInt32BE(ctr);
  const m = Buffer.concat([c, B(bytes)]);
  return (
    suite === 'aes128' ? aesCmac(ksMac.subarray(0, 16), m) : retailMac(ksMac.subarray(0, 16), m)
  ).subarray(0, 8);
}

export function iv(suite: RefSuite, ksEnc: Uint8Array, ctr: number): Buffer {
  const b = Buffer.alloc(blockSize(suite));
  b.writeUInt32BE(ctr, b.length - 4);
  return ecbEnc(suite, ksEnc, b);
}

/** The three messages of the 3-pass core and the SM keys it yields (security.md 3-4). */
export function threePass(
  suite: RefSuite,
  nodeKeys: readonly Uint8Array[],
  rndA: Buffer,
  rndB: Buffer,
): { challenge: Buffer; readerResponse: Buffer; cardResponse: Buffer; ks: { enc: Buffer; mac: Buffer } } {
  const K = accessKey(suite, nodeKeys);
  const challenge = cbcEnc(suite, K, Buffer.alloc(blockSize(suite)), rndB);
  const readerResponse = cbcEnc(suite, K, lastBlock(suite, challenge), Buffer.concat([rndA, rotl(rndB)]));
  const cardResponse = cbcEnc(suite, K, lastBlock(suite, readerResponse), rotl(rndA));
  const halves = suite === '2k3des' && K.subarray(0, 8).equals(K.subarray(8, 16));
  return {
    challenge,
    readerResponse,
    cardResponse,
    ks: smKeys(suite, sessionKey(suite, rndA, rndB, halves)),
  };
}
