// Key material as stored below its record: one block (DES as K ‖ K, 2K3DES, AES-128) or two (3K3DES, zero padded).
import { CryptoSuite } from '@mica/apdu-specs/eeprom-records';

export function keyBlocks(suite: number, key: Uint8Array): Uint8Array[] {
  if (suite === CryptoSuite.des) {
    if (key.length !== 8 && key.length !== 16) throw new RangeError('a DES key is 8 bytes');
    const b = new Uint8Array(16);
    b.set(key.subarray(0, 8), 0);
    b.set(key.subarray(0, 8), 8);
    return [b];
  }
  if (suite === CryptoSuite.tdes3) {
    if (key.length !== 24) throw new RangeError('a 3K3DES key is 24 bytes');
    const b = new Uint8Array(32);
    b.set(key);
    return [b.slice(0, 16), b.slice(16, 32)];
  }
  if (key.length !== 16) throw new RangeError('a 2K3DES or AES-128 key is 16 bytes');
  return [key.slice()];
}
