// The independent side of the credit applet's public-key crypto (flows.md 1.5): Ed25519 and X25519 keys
// from raw 32-byte secrets, and the ECIES seal, all on node:crypto (none of the code under test). Used by
// tools/scripts/gen-secure-apdu-vectors.ts.
import {
  createCipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** DER prefixes of PKCS #8 private keys for a raw 32-byte Ed25519 seed and X25519 scalar (RFC 8410). */
const ED25519_PKCS8 = hex('302e020100300506032b657004220420');
const X25519_PKCS8 = hex('302e020100300506032b656e04220420');
export const edKey = (seed: Buffer): KeyObject =>
  createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: 'der', type: 'pkcs8' });
export const xKey = (scalar: Buffer): KeyObject =>
  createPrivateKey({ key: Buffer.concat([X25519_PKCS8, scalar]), format: 'der', type: 'pkcs8' });
export const rawPublic = (k: KeyObject): Buffer =>
  createPublicKey(k).export({ format: 'der', type: 'spki' }).subarray(-32) as Buffer;

/** flows.md 1.5 ECIES: ephemeral X25519, HKDF-SHA256 (salt ephPub ‖ recipientPub, info mica-ecies-v1 ‖ context), AES-256-GCM. */
export function eciesSeal(recipient: Buffer, ephScalar: Buffer, context: Buffer, plaintext: Buffer): Buffer {
  const eph = xKey(ephScalar);
  const ephPub = rawPublic(eph);
  const recipientKey = createPublicKey({
    key: Buffer.concat([hex('302a300506032b656e032100'), recipient]),
    format: 'der',
    type: 'spki',
  });
  const shared = diffieHellman({ privateKey: eph, publicKey: recipientKey });
  const okm = Buffer.from(
    hkdfSync(
      'sha256',
      shared,
      Buffer.concat([ephPub, recipient]),
      Buffer.concat([Buffer.from('mica-ecies-v1'), context]),
      44,
    ),
  );
  const c = createCipheriv('aes-256-gcm', okm.subarray(0, 32), okm.subarray(32, 44));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([ephPub, ct, c.getAuthTag()]);
}
