// Key packages of seed 003 (flows.md 5.1): the master keys of one key name (a service and its log
// overlap, or an area) for one or more issuer areas, sealed for one recipient with the project's
// ECIES (flows.md 1.5: ephemeral X25519, HKDF-SHA256 with salt ephPub ‖ recipientPub and info
// "mica-ecies-v1" ‖ context, AES-256-GCM; output ephPub ‖ ciphertext ‖ tag). A package travels only
// over `dedicated` or `media` channels; the recipient opens it with its X25519 private key.
import { gcm } from '@noble/ciphers/aes.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import type { Rng } from '../platform/rng';

/** Marks a sealed package wherever it travels (the internet hook looks for it). */
export const KEY_PACKAGE_FORMAT = 'mica-key-package-v1';
const ECIES_INFO = 'mica-ecies-v1';

export interface KeyEntry {
  /** The issuer whose area holds the node (the brand's own keys: the brand id). */
  readonly issuerId: string;
  readonly node: number;
  readonly version: number;
  /** Master key, lowercase hex. */
  readonly master: string;
}

export interface KeyPackageContent {
  readonly keyName: string;
  readonly recipientId: string;
  readonly entries: readonly KeyEntry[];
}

export interface SealedKeyPackage {
  readonly format: typeof KEY_PACKAGE_FORMAT;
  readonly packageId: string;
  readonly senderId: string;
  readonly recipientId: string;
  readonly keyName: string;
  /** ephPub ‖ ciphertext ‖ tag, hex. */
  readonly sealed: string;
}

export class KeyPackageError extends Error {
  override readonly name = 'KeyPackageError';
}

function derive(ephPub: Uint8Array, recipientPub: Uint8Array, shared: Uint8Array, context: string) {
  const salt = new Uint8Array(64);
  salt.set(ephPub);
  salt.set(recipientPub, 32);
  const okm = hkdf(sha256, shared, salt, utf8ToBytes(`${ECIES_INFO}${context}`), 44);
  return { key: okm.slice(0, 32), nonce: okm.slice(32, 44) };
}

/** ECIES encryption to an X25519 public key (flows.md 1.5). */
export function eciesSeal(
  recipientPub: Uint8Array,
  plaintext: Uint8Array,
  context: string,
  rng: Rng,
  aad?: Uint8Array,
): Uint8Array {
  if (!(recipientPub instanceof Uint8Array) || recipientPub.length !== 32)
    throw new RangeError('recipientPub must be a 32-byte X25519 public key');
  const ephPriv = rng.bytes(32);
  const ephPub = x25519.getPublicKey(ephPriv);
  const { key, nonce } = derive(ephPub, recipientPub, x25519.getSharedSecret(ephPriv, recipientPub), context);
  ephPriv.fill(0);
  const ct = gcm(key, nonce, aad).encrypt(plaintext);
  const out = new Uint8Array(32 + ct.length);
  out.set(ephPub);
  out.set(ct, 32);
  return out;
}

export function eciesOpen(
  recipientPriv: Uint8Array,
  sealed: Uint8Array,
  context: string,
  aad?: Uint8Array,
): Uint8Array {
  if (sealed.length < 48) throw new KeyPackageError('a sealed message is at least 48 bytes');
  const ephPub = sealed.slice(0, 32);
  const recipientPub = x25519.getPublicKey(recipientPriv);
  const { key, nonce } = derive(ephPub, recipientPub, x25519.getSharedSecret(recipientPriv, ephPub), context);
  try {
    return gcm(key, nonce, aad).decrypt(sealed.subarray(32));
  } catch {
    throw new KeyPackageError(
      'the key package does not open with this recipient key (wrong recipient or altered)',
    );
  }
}

/** Seals a package for its recipient; the package id is bound as AAD. */
export function sealKeyPackage(
  content: KeyPackageContent,
  senderId: string,
  recipientBoxKey: Uint8Array,
  rng: Rng,
): SealedKeyPackage {
  const packageId = bytesToHex(rng.bytes(16));
  const plain = utf8ToBytes(JSON.stringify(content));
  const sealed = eciesSeal(
    recipientBoxKey,
    plain,
    `key-package:${content.recipientId}`,
    rng,
    utf8ToBytes(packageId),
  );
  plain.fill(0);
  return {
    format: KEY_PACKAGE_FORMAT,
    packageId,
    senderId,
    recipientId: content.recipientId,
    keyName: content.keyName,
    sealed: bytesToHex(sealed),
  };
}

export function openKeyPackage(
  p: SealedKeyPackage,
  recipientId: string,
  boxPriv: Uint8Array,
): KeyPackageContent {
  if (p.format !== KEY_PACKAGE_FORMAT)
    throw new KeyPackageError(`not a key package (format "${String(p.format)}")`);
  if (p.recipientId !== recipientId)
    throw new KeyPackageError(`the package is for ${p.recipientId}, not ${recipientId}`);
  const plain = eciesOpen(
    boxPriv,
    hexToBytes(p.sealed, 'sealed'),
    `key-package:${recipientId}`,
    utf8ToBytes(p.packageId),
  );
  const content = JSON.parse(new TextDecoder().decode(plain)) as KeyPackageContent;
  plain.fill(0);
  if (content.recipientId !== recipientId || content.keyName !== p.keyName)
    throw new KeyPackageError('the sealed content does not match the package header');
  return content;
}

/** A fresh X25519 key pair for a recipient of key packages. */
export function boxKeyPair(rng: Rng): { priv: Uint8Array; pub: Uint8Array } {
  const priv = rng.bytes(32);
  return { priv, pub: x25519.getPublicKey(priv) };
}
