// The card's injected random source: the platform CSPRNG in use, or a seeded ChaCha20 keystream
// (security.md 1: key = SHA-256("mica-card-rng:" + N), nonce 12 zero bytes, counter from 0), or a
// fixed list of values (transcript vectors' `cardRandom`).
import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

export interface RandomSource {
  /** Fills `out` with the next random bytes. */
  fill(out: Uint8Array): void;
}

export class SystemRandom implements RandomSource {
  fill(out: Uint8Array): void {
    globalThis.crypto.getRandomValues(out);
  }
}

export class SeededRandom implements RandomSource {
  private readonly key: Uint8Array;
  private readonly nonce = new Uint8Array(12);
  private block = new Uint8Array(0);
  private used = 0;
  private counter = 0;

  constructor(seed: number | bigint) {
    this.key = sha256(utf8ToBytes(`mica-card-rng:${seed.toString()}`));
  }

  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) {
      if (this.used === this.block.length) {
        // 16 ChaCha20 blocks at a time; the stream is the same as one long keystream from counter 0.
        this.block = chacha20(this.key, this.nonce, new Uint8Array(1024), undefined, this.counter);
        this.counter += 16;
        this.used = 0;
      }
      out[i] = this.block[this.used++]!;
    }
  }
}

export class ExhaustedRandomError extends Error {
  override readonly name = 'ExhaustedRandomError';
}

/** Returns the given values in order; running out is an error (vectors.md `cardRandom`). */
export class ListRandom implements RandomSource {
  private readonly bytes: Uint8Array;
  private at = 0;
  constructor(values: readonly Uint8Array[]) {
    let n = 0;
    for (const v of values) n += v.length;
    this.bytes = new Uint8Array(n);
    n = 0;
    for (const v of values) {
      this.bytes.set(v, n);
      n += v.length;
    }
  }
  fill(out: Uint8Array): void {
    if (this.at + out.length > this.bytes.length)
      throw new ExhaustedRandomError('cardRandom ran out of values');
    out.set(this.bytes.subarray(this.at, this.at + out.length));
    this.at += out.length;
  }
}
