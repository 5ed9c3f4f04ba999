// Access-key synthesis (security.md 3): K = key(node0); K = E_ECB(key(node i), K) for each further node.
import { createBlockCipher } from '../crypto/block-cipher';
import type { Suite } from './suite';
import { storedKey } from './suite';

export function synthesizeAccessKey(suite: Suite, nodeKeys: readonly Uint8Array[]): Uint8Array {
  if (nodeKeys.length === 0) throw new RangeError('access-key synthesis needs at least one node key');
  const k = storedKey(suite, nodeKeys[0]!);
  for (let i = 1; i < nodeKeys.length; i++) {
    const c = createBlockCipher(suite.cipher, storedKey(suite, nodeKeys[i]!));
    for (let o = 0; o < k.length; o += suite.blockSize) c.encryptBlock(k, o, k, o);
    c.dispose();
  }
  return k;
}
