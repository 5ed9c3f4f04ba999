// Access keys and their keyed cipher contexts, reused across sessions over the same node keys
// (ARCHITECTURE.md "Performance": each session creates its keyed contexts once; an access key that
// recurs need not be synthesised and keyed again). An entry is found by comparing the node keys
// themselves in constant time, so a changed node key never reaches a stale entry and no write has to
// invalidate anything. The owner clears the cache when its keys must go (card power-off, holder dispose).
import { createBlockCipher, type BlockCipher } from '../crypto/block-cipher';
import { constantTimeEqual } from '../crypto/compare';
import { storedKey, type Suite } from './suite';
import { synthesizeAccessKey } from './synthesis';

/** One use of a cached access key; the cache keeps the key until clear() or eviction after release(). */
export interface AccessKeyLease {
  readonly accessKey: Uint8Array;
  /** The keyed context of `accessKey` (shared: a DES-family or AES context keeps no state between calls). */
  readonly cipher: BlockCipher;
  /** Ends this use (idempotent); the entry may then be evicted. */
  release(): void;
}

interface Entry {
  readonly suite: number;
  /** The node keys in stored form, concatenated (each exactly suite.keyLength bytes). */
  readonly nodeKeys: Uint8Array;
  readonly accessKey: Uint8Array;
  readonly cipher: BlockCipher;
  users: number;
}

function wipe(e: Entry): void {
  e.cipher.dispose();
  e.accessKey.fill(0);
  e.nodeKeys.fill(0);
}

export class AccessKeyCache {
  private entries: Entry[] = []; // most recently used first

  /** Keeps at most `capacity` released entries (entries in use are never evicted). */
  constructor(readonly capacity = 4) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${String(capacity)}`);
  }

  /** Entries held (released or not); for tests and diagnostics. */
  get size(): number {
    return this.entries.length;
  }

  /**
   * The access key of `nodeKeys` (security.md 3) and its keyed context: cached when the same suite and
   * node keys were seen before, else synthesised and keyed now. Throws as synthesizeAccessKey does.
   */
  acquire(suite: Suite, nodeKeys: readonly Uint8Array[]): AccessKeyLease {
    if (nodeKeys.length === 0) throw new RangeError('access-key synthesis needs at least one node key');
    const joined = new Uint8Array(nodeKeys.length * suite.keyLength);
    try {
      nodeKeys.forEach((k, i) => {
        const s = storedKey(suite, k);
        joined.set(s, i * suite.keyLength);
        s.fill(0);
      });
    } catch (e) {
      joined.fill(0); // the keys before the bad one
      throw e;
    }
    let entry = this.entries.find(
      (e) =>
        e.suite === suite.code &&
        e.nodeKeys.length === joined.length &&
        constantTimeEqual(e.nodeKeys, joined),
    );
    if (entry) {
      joined.fill(0);
      this.entries.splice(this.entries.indexOf(entry), 1);
    } else {
      const accessKey = synthesizeAccessKey(suite, nodeKeys);
      let cipher: BlockCipher;
      try {
        cipher = createBlockCipher(suite.cipher, accessKey);
      } catch (e) {
        accessKey.fill(0);
        joined.fill(0);
        throw e;
      }
      entry = { suite: suite.code, nodeKeys: joined, accessKey, cipher, users: 0 };
    }
    this.entries.unshift(entry);
    entry.users += 1;
    this.evict();
    const held = entry;
    let released = false;
    return {
      accessKey: held.accessKey,
      cipher: held.cipher,
      release: () => {
        if (released) return;
        released = true;
        held.users -= 1;
        this.evict();
      },
    };
  }

  private evict(): void {
    for (let i = this.entries.length - 1; i >= 0 && this.entries.length > this.capacity; i--) {
      const e = this.entries[i]!;
      if (e.users > 0) continue;
      this.entries.splice(i, 1);
      wipe(e);
    }
  }

  /** Wipes every key and disposes every context, leased or not (a lease's cipher then throws). */
  clear(): void {
    for (const e of this.entries) wipe(e);
    this.entries = [];
  }
}
