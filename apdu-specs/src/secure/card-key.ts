// Per-card keys (security.md 2): a key given as a value is stored as is; a master is diversified for
// the card with AN10922, M = IDm ‖ node code (2 bytes BE) ‖ system code (2 bytes BE).
import { diversifyKey, type DiversifyAlg } from '../crypto/diversify';
import { storedKey, type Suite } from './suite';

export type KeySource =
  | { readonly version: number; readonly value: Uint8Array }
  | { readonly version: number; readonly master: Uint8Array };

export function diversificationInput(idm: Uint8Array, node: number, systemCode: number): Uint8Array {
  if (idm.length !== 8) throw new RangeError('idm must be 8 bytes');
  return Uint8Array.of(...idm, node >> 8, node & 0xff, systemCode >> 8, systemCode & 0xff);
}

/** The key stored on the card with this IDm for `node` of the system `systemCode` (stored form). */
export function cardKey(
  suite: Suite,
  key: KeySource,
  idm: Uint8Array,
  node: number,
  systemCode: number,
): Uint8Array {
  if ('value' in key) return storedKey(suite, key.value);
  return storedKey(
    suite,
    diversifyKey(suite.name as DiversifyAlg, key.master, diversificationInput(idm, node, systemCode)),
  );
}
