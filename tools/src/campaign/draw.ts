// Seeded random choices for the campaigns: bytes from the card's ChaCha20 stream, a buffer at a time.
import { SeededRandom } from '@mica/card-os/random';

export class Draw {
  private readonly source: SeededRandom;
  private readonly buf = new Uint8Array(8192);
  private at = this.buf.length;

  constructor(seed: number | bigint) {
    this.source = new SeededRandom(seed);
  }

  byte(): number {
    if (this.at === this.buf.length) {
      this.source.fill(this.buf);
      this.at = 0;
    }
    return this.buf[this.at++]!;
  }

  /** 0 ≤ n < bound (bound ≤ 65536; a slight bias toward small values is fine for fuzzing). */
  below(bound: number): number {
    return ((this.byte() << 8) | this.byte()) % bound;
  }

  /** True with probability about p. */
  chance(p: number): boolean {
    return this.below(65536) < p * 65536;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }

  bytes(n: number): number[] {
    return Array.from({ length: n }, () => this.byte());
  }
}
