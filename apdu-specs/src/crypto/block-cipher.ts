// Keyed block-cipher contexts (DES family via node:crypto, AES-128 via @noble/ciphers), built once per key and reused.
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { unsafe as aesUnsafe } from '@noble/ciphers/aes.js';
import { assertBytes } from './compare';

export const BLOCK_CIPHER_ALGS = ['des', '2k3des', '3k3des', 'aes128'] as const;
export type BlockCipherAlg = (typeof BLOCK_CIPHER_ALGS)[number];

/** Key length in bytes per algorithm (single DES is 8; its K ‖ K form is a `2k3des` key). */
export const KEY_LENGTHS: Readonly<Record<BlockCipherAlg, 8 | 16 | 24>> = Object.freeze({
  des: 8,
  '2k3des': 16,
  '3k3des': 24,
  aes128: 16,
});

export const BLOCK_SIZES: Readonly<Record<BlockCipherAlg, 8 | 16>> = Object.freeze({
  des: 8,
  '2k3des': 8,
  '3k3des': 8,
  aes128: 16,
});

/** One keyed block cipher; every call works on exactly one block, in place if input and out overlap. */
export interface BlockCipher {
  readonly alg: BlockCipherAlg;
  readonly blockSize: 8 | 16;
  readonly keyLength: number;
  encryptBlock(input: Uint8Array, inOff: number, out: Uint8Array, outOff: number): void;
  decryptBlock(input: Uint8Array, inOff: number, out: Uint8Array, outOff: number): void;
  /** Wipes the key material this object keeps; any later call throws. */
  dispose(): void;
}

export function isBlockCipherAlg(alg: unknown): alg is BlockCipherAlg {
  return typeof alg === 'string' && (BLOCK_CIPHER_ALGS as readonly string[]).includes(alg);
}

/** Creates the keyed context for `alg`; the key is copied, the caller may wipe its own array. */
export function createBlockCipher(alg: BlockCipherAlg, key: Uint8Array): BlockCipher {
  if (!isBlockCipherAlg(alg)) {
    throw new TypeError(`alg must be one of ${BLOCK_CIPHER_ALGS.join(', ')}, got ${String(alg)}`);
  }
  assertBytes(key, 'key', KEY_LENGTHS[alg]);
  switch (alg) {
    case 'des': {
      // OpenSSL 3 keeps single DES in the legacy provider; EDE with K ‖ K is the same permutation.
      const kk = new Uint8Array(16);
      kk.set(key, 0);
      kk.set(key, 8);
      try {
        return new NodeDesCipher(alg, 'des-ede', kk, 8);
      } finally {
        kk.fill(0);
      }
    }
    case '2k3des':
      return new NodeDesCipher(alg, 'des-ede', key, 16);
    case '3k3des':
      return new NodeDesCipher(alg, 'des-ede3', key, 24);
    case 'aes128':
      return new Aes128Cipher(key);
  }
}

function checkBlockArgs(
  input: Uint8Array,
  inOff: number,
  out: Uint8Array,
  outOff: number,
  size: number,
): void {
  if (!(input instanceof Uint8Array)) throw new TypeError('input must be a Uint8Array');
  if (!(out instanceof Uint8Array)) throw new TypeError('out must be a Uint8Array');
  if (!Number.isInteger(inOff) || inOff < 0 || inOff + size > input.length) {
    throw new RangeError(`inOff ${inOff} leaves no ${size}-byte block in input (${input.length} bytes)`);
  }
  if (!Number.isInteger(outOff) || outOff < 0 || outOff + size > out.length) {
    throw new RangeError(
      `outOff ${outOff} leaves no room for a ${size}-byte block in out (${out.length} bytes)`,
    );
  }
}

function disposedError(alg: BlockCipherAlg): Error {
  return new Error(`this ${alg} cipher has been disposed`);
}

/** Whole-message ECB and CBC in one call, offered by contexts where a call costs far more than a block. */
export interface BulkModes {
  /** ECB over `data` (a multiple of 8 bytes, checked by the caller). */
  ecb(encrypt: boolean, data: Uint8Array): Uint8Array;
  /** CBC over `data` with `iv` (8 bytes; lengths checked by the caller). */
  cbc(encrypt: boolean, iv: Uint8Array, data: Uint8Array): Uint8Array;
}

/** The bulk fast path of `cipher`, if it has one (the DES family); modes.ts uses it when present. */
export function bulkModes(cipher: BlockCipher): BulkModes | undefined {
  return cipher instanceof NodeDesCipher ? cipher : undefined;
}

type DesName = 'des-ede' | 'des-ede3';

/**
 * DES-family context over node:crypto. Each OpenSSL context (ECB and CBC, each direction) is created
 * on first use and then reused: creating one costs microseconds, an update() on it about one.
 * ECB without padding keeps no state between whole-block updates. A reused CBC context carries the
 * last ciphertext block of the previous call as its chaining value; each call cancels it by XORing
 * it into the first block (encrypt) or the first output block (decrypt), so any IV works.
 */
class NodeDesCipher implements BlockCipher, BulkModes {
  readonly blockSize = 8;
  private key: Uint8Array | undefined;
  private ecbEnc: Cipher | undefined;
  private ecbDec: Decipher | undefined;
  private cbcEnc: Cipher | undefined;
  private cbcDec: Decipher | undefined;
  private readonly encChain = new Uint8Array(8); // chaining value left in cbcEnc
  private readonly decChain = new Uint8Array(8); // chaining value left in cbcDec

  constructor(
    readonly alg: BlockCipherAlg,
    private readonly opensslName: DesName,
    key: Uint8Array,
    readonly keyLength: number,
  ) {
    this.key = key.slice();
  }

  private liveKey(): Uint8Array {
    if (this.key === undefined) throw disposedError(this.alg);
    return this.key;
  }

  private ecbEncryptor(): Cipher {
    return (this.ecbEnc ??= createCipheriv(`${this.opensslName}-ecb`, this.liveKey(), null).setAutoPadding(
      false,
    ));
  }

  private ecbDecryptor(): Decipher {
    return (this.ecbDec ??= createDecipheriv(`${this.opensslName}-ecb`, this.liveKey(), null).setAutoPadding(
      false,
    ));
  }

  encryptBlock(input: Uint8Array, inOff: number, out: Uint8Array, outOff: number): void {
    checkBlockArgs(input, inOff, out, outOff, 8);
    const r = this.ecbEncryptor().update(input.subarray(inOff, inOff + 8));
    if (r.length !== 8) throw new Error(`${this.alg}: OpenSSL returned ${r.length} bytes for one block`);
    out.set(r, outOff);
  }

  decryptBlock(input: Uint8Array, inOff: number, out: Uint8Array, outOff: number): void {
    checkBlockArgs(input, inOff, out, outOff, 8);
    const r = this.ecbDecryptor().update(input.subarray(inOff, inOff + 8));
    if (r.length !== 8) throw new Error(`${this.alg}: OpenSSL returned ${r.length} bytes for one block`);
    out.set(r, outOff);
  }

  ecb(encrypt: boolean, data: Uint8Array): Uint8Array {
    const out = new Uint8Array(data.length);
    if (data.length === 0) return out;
    const r = (encrypt ? this.ecbEncryptor() : this.ecbDecryptor()).update(data);
    if (r.length !== data.length)
      throw new Error(`${this.alg}: OpenSSL returned ${r.length} of ${data.length} bytes`);
    out.set(r);
    return out;
  }

  cbc(encrypt: boolean, iv: Uint8Array, data: Uint8Array): Uint8Array {
    const n = data.length;
    if (n === 0) return new Uint8Array(0);
    const key = this.liveKey();
    if (encrypt) {
      const c = (this.cbcEnc ??= createCipheriv(
        `${this.opensslName}-cbc`,
        key,
        new Uint8Array(8),
      ).setAutoPadding(false));
      const chain = this.encChain;
      const x = data.slice();
      for (let i = 0; i < 8; i++) x[i] = x[i]! ^ iv[i]! ^ chain[i]!;
      const out = this.cbcUpdate(c, x, true);
      chain.set(out.subarray(n - 8));
      return out;
    }
    const c = (this.cbcDec ??= createDecipheriv(
      `${this.opensslName}-cbc`,
      key,
      new Uint8Array(8),
    ).setAutoPadding(false));
    const chain = this.decChain;
    const out = this.cbcUpdate(c, data, false);
    for (let i = 0; i < 8; i++) out[i] = out[i]! ^ iv[i]! ^ chain[i]!;
    chain.set(data.subarray(n - 8));
    return out;
  }

  /** One CBC update; if OpenSSL fails, the context is dropped (its chaining value is then unknown). */
  private cbcUpdate(c: Cipher | Decipher, data: Uint8Array, encrypt: boolean): Uint8Array {
    let r: Uint8Array;
    try {
      r = c.update(data);
    } catch (e) {
      this.dropCbc(encrypt);
      throw e;
    }
    if (r.length !== data.length) {
      this.dropCbc(encrypt);
      throw new Error(`${this.alg}: OpenSSL returned ${r.length} of ${data.length} bytes`);
    }
    const out = new Uint8Array(r.length);
    out.set(r);
    return out;
  }

  private dropCbc(encrypt: boolean): void {
    if (encrypt) {
      this.cbcEnc = undefined;
      this.encChain.fill(0);
    } else {
      this.cbcDec = undefined;
      this.decChain.fill(0);
    }
  }

  dispose(): void {
    // final() releases the OpenSSL contexts, which cleanse their key schedules.
    for (const c of [this.ecbEnc, this.ecbDec, this.cbcEnc, this.cbcDec]) {
      try {
        c?.final();
      } catch {
        // already finished: nothing left to release
      }
    }
    this.key?.fill(0);
    this.key = undefined;
    this.ecbEnc = this.ecbDec = this.cbcEnc = this.cbcDec = undefined;
    this.encChain.fill(0);
    this.decChain.fill(0);
  }
}

function readLe32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function writeLe32(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

/**
 * AES-128 on @noble/ciphers' round function with the key schedule expanded once (its ecb() re-expands
 * the key on every call). noble's state words are the block's bytes read as little-endian 32-bit words.
 */
class Aes128Cipher implements BlockCipher {
  readonly alg = 'aes128';
  readonly blockSize = 16;
  readonly keyLength = 16;
  private key: Uint8Array | undefined;
  private xkEnc: Uint32Array | undefined;
  private xkDec: Uint32Array | undefined; // expanded on first decrypt: CMAC and CBC-MAC never need it

  constructor(key: Uint8Array) {
    this.key = key.slice();
    this.xkEnc = aesUnsafe.expandKeyLE(this.key);
  }

  encryptBlock(input: Uint8Array, inOff: number, out: Uint8Array, outOff: number): void {
    checkBlockArgs(input, inOff, out, outOff, 16);
    if (this.xkEnc === undefined) throw disposedError(this.alg);
    const r = aesUnsafe.encrypt(
      this.xkEnc,
      readLe32(input, inOff),
      readLe32(input, inOff + 4),
      readLe32(input, inOff + 8),
      readLe32(input, inOff + 12),
    );
    writeLe32(out, outOff, r.s0);
    writeLe32(out, outOff + 4, r.s1);
    writeLe32(out, outOff + 8, r.s2);
    writeLe32(out, outOff + 12, r.s3);
  }

  decryptBlock(input: Uint8Array, inOff: number, out: Uint8Array, outOff: number): void {
    checkBlockArgs(input, inOff, out, outOff, 16);
    if (this.key === undefined) throw disposedError(this.alg);
    this.xkDec ??= aesUnsafe.expandKeyDecLE(this.key);
    const r = aesUnsafe.decrypt(
      this.xkDec,
      readLe32(input, inOff),
      readLe32(input, inOff + 4),
      readLe32(input, inOff + 8),
      readLe32(input, inOff + 12),
    );
    writeLe32(out, outOff, r.s0);
    writeLe32(out, outOff + 4, r.s1);
    writeLe32(out, outOff + 8, r.s2);
    writeLe32(out, outOff + 12, r.s3);
  }

  dispose(): void {
    this.key?.fill(0);
    this.xkEnc?.fill(0);
    this.xkDec?.fill(0);
    this.key = undefined;
    this.xkEnc = undefined;
    this.xkDec = undefined;
  }
}
