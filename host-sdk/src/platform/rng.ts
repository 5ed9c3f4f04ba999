// The injectable random source of flows.md 1.4: a ChaCha20 stream (@noble/ciphers) under
// key = SHA-256("mica-rng:" ‖ seed), nonce 12 zero bytes, counter from 0, so one seed gives one
// transcript. `fork(label)` gives an independent stream per component (key SHA-256 of
// "mica-rng:<seed>/<label>"), so adding a component does not shift the numbers another one draws.
import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

export interface Rng {
  /** The next n random bytes. */
  bytes(n: number): Uint8Array;
  /** An independent stream for a named component. */
  fork(label: string): Rng;
}

export class SeededRng implements Rng {
  private readonly key: Uint8Array;
  private readonly nonce = new Uint8Array(12);
  private block = new Uint8Array(0);
  private used = 0;
  private counter = 0;

  constructor(private readonly seed: string | number | bigint) {
    this.key = sha256(utf8ToBytes(`mica-rng:${seed.toString()}`));
  }

  bytes(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (this.used === this.block.length) {
        // 16 ChaCha20 blocks at a time: the same bytes as one long keystream from counter 0.
        this.block = chacha20(this.key, this.nonce, new Uint8Array(1024), undefined, this.counter);
        this.counter += 16;
        this.used = 0;
      }
      out[i] = this.block[this.used++]!;
    }
    return out;
  }

  fork(label: string): Rng {
    return new SeededRng(`${this.seed.toString()}/${label}`);
  }
}

/** The platform CSPRNG, for a deployment. */
export class SystemRng implements Rng {
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    globalThis.crypto.getRandomValues(out);
    return out;
  }
  fork(): Rng {
    return this;
  }
}
