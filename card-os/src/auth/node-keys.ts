// Reading node keys out of their key blocks (eeprom.md 4.4) for authentication.
import { keyBlockCount } from '@mica/apdu-specs/eeprom-records';
import type { Eeprom } from '../hal/eeprom';
import type { KeyRef } from '../fs/nodes';

/** The stored key of a node: 16 bytes, or 24 for 3K3DES (two blocks, zero padded). */
export function readNodeKey(eeprom: Eeprom, key: KeyRef): Uint8Array {
  const blocks = keyBlockCount(key.algorithm);
  const out = new Uint8Array(16 * blocks);
  for (let i = 0; i < blocks; i++) eeprom.readInto(key.address - i, out, 16 * i);
  return blocks === 2 ? out.slice(0, 24) : out;
}
