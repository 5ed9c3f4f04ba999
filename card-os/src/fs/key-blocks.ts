// Key material as stored below its record: one block (DES as K ‖ K, 2K3DES, AES-128) or two (3K3DES, zero padded).
import { storedKey, suiteByCode } from '@mica/apdu-specs/secure/suite';

export function keyBlocks(suite: number, key: Uint8Array): Uint8Array[] {
  const stored = storedKey(suiteByCode(suite), key);
  if (stored.length === 16) return [stored];
  const b = new Uint8Array(32);
  b.set(stored);
  return [b.slice(0, 16), b.slice(16, 32)];
}
