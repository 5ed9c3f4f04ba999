// Secret keys at rest (flows.md 1.2): sealed with AES-256-GCM (@noble/ciphers) under the instance's
// storage key, a fresh 12-byte nonce each, the secret's name as AAD (so a sealed value cannot be moved
// to another name).
import { gcm } from '@noble/ciphers/aes.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import type { Rng } from '../platform/rng';
import type { Db } from './store';

export class SecretError extends Error {
  override readonly name = 'SecretError';
}

export class SecretStore {
  constructor(
    private readonly db: Db,
    private readonly storageKey: Uint8Array,
    private readonly rng: Rng,
  ) {
    if (!(storageKey instanceof Uint8Array) || storageKey.length !== 32)
      throw new RangeError('storageKey must be 32 bytes (AES-256)');
  }

  put(name: string, secret: Uint8Array): void {
    const nonce = this.rng.bytes(12);
    const sealed = gcm(this.storageKey, nonce, utf8ToBytes(name)).encrypt(secret);
    this.db
      .prepare(
        'INSERT INTO secrets (name, nonce, sealed) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET nonce = excluded.nonce, sealed = excluded.sealed',
      )
      .run(name, nonce, sealed);
  }

  get(name: string): Uint8Array | undefined {
    const row = this.db.prepare('SELECT nonce, sealed FROM secrets WHERE name = ?').get(name) as
      { nonce: Uint8Array; sealed: Uint8Array } | undefined;
    if (!row) return undefined;
    try {
      return gcm(this.storageKey, new Uint8Array(row.nonce), utf8ToBytes(name)).decrypt(
        new Uint8Array(row.sealed),
      );
    } catch {
      throw new SecretError(`secret "${name}" does not open under this instance's storage key`);
    }
  }

  names(): string[] {
    return (this.db.prepare('SELECT name FROM secrets ORDER BY name').all() as { name: string }[]).map(
      (r) => r.name,
    );
  }
}
