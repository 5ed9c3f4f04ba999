// MACs: ISO/IEC 9797-1 algorithms 1 (CBC-MAC) and 3 (retail MAC) over DES/3DES, and CMAC (SP 800-38B).
import { cmac as nobleCmac } from '@noble/ciphers/aes.js';
import { createBlockCipher, type BlockCipher, type BlockCipherAlg } from './block-cipher';
import { assertBytes } from './compare';
import { cbcEncrypt } from './modes';
import { pad1, pad2 } from './padding';

export const MAC_ALGS = ['iso9797-1-m1', 'iso9797-1-m3', 'aes-cmac'] as const;
export type MacAlg = (typeof MAC_ALGS)[number];
/** ISO/IEC 9797-1 padding method. */
export type MacPadding = 1 | 2;

export interface MacOptions {
  /** ISO 9797-1 padding method for algorithms 1 and 3 (default 2); CMAC pads itself. */
  readonly padding?: MacPadding;
}

/** A MAC keyed once, for hot paths: its cipher contexts and subkeys are built at creation. */
export interface Mac {
  readonly alg: MacAlg;
  /** Full MAC length in bytes (8 for algorithms 1 and 3, 16 for AES-CMAC); callers truncate. */
  readonly macLength: number;
  compute(message: Uint8Array): Uint8Array;
  /** Wipes the keys and subkeys; any later call throws. */
  dispose(): void;
}

function checkPadding(padding: unknown): MacPadding {
  if (padding !== 1 && padding !== 2) throw new RangeError(`padding must be 1 or 2, got ${String(padding)}`);
  return padding;
}

function padTo(padding: MacPadding, message: Uint8Array, blockSize: number): Uint8Array {
  return padding === 1 ? pad1(message, blockSize) : pad2(message, blockSize);
}

function desAlgForKey(key: Uint8Array): BlockCipherAlg {
  return key.length === 8 ? 'des' : key.length === 16 ? '2k3des' : '3k3des';
}

const ZERO_IV8 = new Uint8Array(8);

/** MAC algorithm 1: the last block of E_CBC(K, IV = 0, padded message); the cipher may be DES or 3DES. */
function cbcMacWith(cipher: BlockCipher, padded: Uint8Array): Uint8Array {
  const iv = new Uint8Array(cipher.blockSize);
  return cbcEncrypt(cipher, iv, padded).slice(padded.length - cipher.blockSize);
}

/**
 * ISO/IEC 9797-1 MAC algorithm 1 (full-block CBC-MAC, 8 bytes). Key of 8 bytes: DES; 16: 2K3DES;
 * 24: 3K3DES.
 */
export function cbcMac(key: Uint8Array, message: Uint8Array, padding: MacPadding = 2): Uint8Array {
  const mac = createMac('iso9797-1-m1', key, { padding });
  try {
    return mac.compute(message);
  } finally {
    mac.dispose();
  }
}

/**
 * ISO/IEC 9797-1 MAC algorithm 3 (retail MAC, 8 bytes): single-DES CBC under K, then the last block
 * D(K′) and E(K). A 16-byte key is K ‖ K′; of a 24-byte key K = key[0..7], K′ = key[8..15]
 * (security.md §5).
 */
export function retailMac(key: Uint8Array, message: Uint8Array, padding: MacPadding = 2): Uint8Array {
  const mac = createMac('iso9797-1-m3', key, { padding });
  try {
    return mac.compute(message);
  } finally {
    mac.dispose();
  }
}

/** AES-CMAC (SP 800-38B / RFC 4493, 16 bytes) with @noble/ciphers. */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  assertBytes(key, 'key', 16);
  assertBytes(message, 'message');
  return Uint8Array.from(nobleCmac(message, key));
}

/** The MAC of `message` under `alg` (a one-shot createMac). */
export function computeMac(
  alg: MacAlg,
  key: Uint8Array,
  message: Uint8Array,
  options: MacOptions = {},
): Uint8Array {
  const mac = createMac(alg, key, options);
  try {
    return mac.compute(message);
  } finally {
    mac.dispose();
  }
}

// ---- CMAC on any BlockCipher (AES: Rb = 87h; 64-bit block ciphers such as TDEA: Rb = 1Bh) ----

/** Doubling in GF(2^n): shift left one bit, and XOR Rb into the last byte when a bit fell off. */
function dbl(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(block.length);
  const rb = block.length === 16 ? 0x87 : 0x1b;
  let carry = 0;
  for (let i = block.length - 1; i >= 0; i--) {
    const b = block[i]!;
    out[i] = ((b << 1) | carry) & 0xff;
    carry = b >>> 7;
  }
  if (carry) out[block.length - 1]! ^= rb;
  return out;
}

/** CMAC subkeys K1, K2 of SP 800-38B §6.1 for `cipher`. */
export function cmacSubkeys(cipher: BlockCipher): { k1: Uint8Array; k2: Uint8Array } {
  const l = new Uint8Array(cipher.blockSize);
  cipher.encryptBlock(l, 0, l, 0);
  const k1 = dbl(l);
  const k2 = dbl(k1);
  l.fill(0);
  return { k1, k2 };
}

/**
 * CMAC with precomputed subkeys. `minLength` (a multiple of the block size) makes a shorter message
 * padded with 80 00… up to that length and finished with K2, as AN10922 does (2 blocks); 0 is
 * plain SP 800-38B.
 */
export function cmacWithSubkeys(
  cipher: BlockCipher,
  k1: Uint8Array,
  k2: Uint8Array,
  message: Uint8Array,
  minLength = 0,
): Uint8Array {
  assertBytes(message, 'message');
  const b = cipher.blockSize;
  assertBytes(k1, 'k1', b);
  assertBytes(k2, 'k2', b);
  if (!Number.isInteger(minLength) || minLength < 0 || minLength % b !== 0) {
    throw new RangeError(`minLength must be a multiple of the ${b}-byte block size, got ${minLength}`);
  }
  const n = message.length;
  const complete = n > 0 && n % b === 0 && n >= minLength;
  const total = complete ? n : Math.max(minLength, (Math.floor(n / b) + 1) * b);
  const x = new Uint8Array(total);
  x.set(message);
  if (!complete) x[n] = 0x80;
  const sub = complete ? k1 : k2;
  for (let i = 0; i < b; i++) x[total - b + i]! ^= sub[i]!;
  const iv = new Uint8Array(b);
  return cbcEncrypt(cipher, iv, x).slice(total - b);
}

/** CMAC (SP 800-38B) of `message` with any block cipher context; the tag is one block long. */
export function cmac(cipher: BlockCipher, message: Uint8Array): Uint8Array {
  const { k1, k2 } = cmacSubkeys(cipher);
  try {
    return cmacWithSubkeys(cipher, k1, k2, message);
  } finally {
    k1.fill(0);
    k2.fill(0);
  }
}

// ---- reusable MAC objects ----

class CbcMac implements Mac {
  readonly alg = 'iso9797-1-m1';
  readonly macLength = 8;
  constructor(
    private readonly cipher: BlockCipher,
    private readonly padding: MacPadding,
  ) {}
  compute(message: Uint8Array): Uint8Array {
    assertBytes(message, 'message');
    return cbcMacWith(this.cipher, padTo(this.padding, message, 8));
  }
  dispose(): void {
    this.cipher.dispose();
  }
}

/** Retail MAC: the last block's E(K)∘D(K′)∘E(K) is one 2K3DES encryption under K ‖ K′. */
class RetailMac implements Mac {
  readonly alg = 'iso9797-1-m3';
  readonly macLength = 8;
  constructor(
    private readonly first: BlockCipher, // DES under K
    private readonly final: BlockCipher, // 2K3DES under K ‖ K′
    private readonly padding: MacPadding,
  ) {}
  compute(message: Uint8Array): Uint8Array {
    assertBytes(message, 'message');
    const padded = padTo(this.padding, message, 8);
    const lastOff = padded.length - 8;
    const h =
      lastOff === 0
        ? new Uint8Array(8)
        : cbcEncrypt(this.first, ZERO_IV8, padded.subarray(0, lastOff)).subarray(lastOff - 8);
    const x = new Uint8Array(8);
    for (let i = 0; i < 8; i++) x[i] = h[i]! ^ padded[lastOff + i]!;
    this.final.encryptBlock(x, 0, x, 0);
    return x;
  }
  dispose(): void {
    this.first.dispose();
    this.final.dispose();
  }
}

class CmacMac implements Mac {
  readonly alg = 'aes-cmac';
  readonly macLength = 16;
  private readonly k1: Uint8Array;
  private readonly k2: Uint8Array;
  private disposed = false;
  constructor(private readonly cipher: BlockCipher) {
    ({ k1: this.k1, k2: this.k2 } = cmacSubkeys(cipher));
  }
  compute(message: Uint8Array): Uint8Array {
    if (this.disposed) throw new Error('this aes-cmac MAC has been disposed');
    return cmacWithSubkeys(this.cipher, this.k1, this.k2, message);
  }
  dispose(): void {
    this.disposed = true;
    this.k1.fill(0);
    this.k2.fill(0);
    this.cipher.dispose();
  }
}

/**
 * A keyed MAC for repeated use. `iso9797-1-m1`: key 8 (DES), 16 (2K3DES) or 24 (3K3DES) bytes;
 * `iso9797-1-m3`: 16 bytes (K ‖ K′) or 24 (K = key[0..7], K′ = key[8..15]); `aes-cmac`: 16 bytes.
 */
export function createMac(alg: MacAlg, key: Uint8Array, options: MacOptions = {}): Mac {
  if (typeof alg !== 'string' || !(MAC_ALGS as readonly string[]).includes(alg)) {
    throw new TypeError(`alg must be one of ${MAC_ALGS.join(', ')}, got ${String(alg)}`);
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const padding = checkPadding(options.padding ?? 2);
  switch (alg) {
    case 'iso9797-1-m1':
      assertBytes(key, 'key', [8, 16, 24]);
      return new CbcMac(createBlockCipher(desAlgForKey(key), key), padding);
    case 'iso9797-1-m3': {
      assertBytes(key, 'key', [16, 24]);
      const first = createBlockCipher('des', key.subarray(0, 8));
      const final = createBlockCipher('2k3des', key.subarray(0, 16));
      return new RetailMac(first, final, padding);
    }
    case 'aes-cmac':
      assertBytes(key, 'key', 16);
      return new CmacMac(createBlockCipher('aes128', key));
  }
}
