// The credit applet's on-card key pair (flows.md 2.5, Fig. 15): generated from the card random source,
// kept in a keyed service of its area and never exported; Ed25519 SIGN and ECIES (flows.md 1.5) DECRYPT.
import { gcm } from '@noble/ciphers/aes.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { CREDIT_SERVICES, ECIES_INFO } from '@mica/apdu-specs/apdu/bank-credit';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { concatBytes } from '@mica/apdu-specs/hex';
import type { AppletFirewall } from '../apdu/applet-firewall';
import { IsoError } from '../apdu/iso-error';
import type { CardContext } from '../dispatch/context';

const KEY_BLOCKS = 4;
const PUBLIC = 32;
const TAG = 16;

function keyService(card: CardContext, fw: AppletFirewall): number {
  const code = fw.scope.area + CREDIT_SERVICES.keyPair;
  const node = card.fs.system(fw.scope.system)?.byCode.get(code);
  if (!node || node.kind !== 'service') throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
  if (!node.attribute.withKey || node.blockCount < KEY_BLOCKS)
    throw new IsoError(SW.REFERENCE_DATA_UNUSABLE, 'the key-pair service must be keyed, 4 blocks');
  return code;
}

/** The two private keys (Ed25519 seed ‖ X25519 scalar), or undefined before GENERATE KEY PAIR. */
function privateKeys(card: CardContext, fw: AppletFirewall): { ed: Uint8Array; x: Uint8Array } | undefined {
  const code = keyService(card, fw);
  const all = concatBytes(...Array.from({ length: KEY_BLOCKS }, (_, i) => fw.readBlock(code, i)));
  if (all.every((b) => b === 0)) return undefined;
  return { ed: all.slice(0, 32), x: all.slice(32, 64) };
}

function requireKeys(card: CardContext, fw: AppletFirewall): { ed: Uint8Array; x: Uint8Array } {
  const k = privateKeys(card, fw);
  if (!k) throw new IsoError(SW.CONDITIONS_OF_USE, 'no key pair yet');
  return k;
}

function wipe(k: { ed: Uint8Array; x: Uint8Array }): void {
  k.ed.fill(0);
  k.x.fill(0);
}

/** The card's Ed25519 public key, or undefined without a key pair (or without its service). */
export function signingPublicKey(card: CardContext, fw: AppletFirewall): Uint8Array | undefined {
  const code = fw.scope.area + CREDIT_SERVICES.keyPair;
  const node = card.fs.system(fw.scope.system)?.byCode.get(code);
  if (!node || node.kind !== 'service' || !node.attribute.withKey || node.blockCount < KEY_BLOCKS)
    return undefined;
  const k = privateKeys(card, fw);
  if (!k) return undefined;
  try {
    return ed25519.getPublicKey(k.ed);
  } finally {
    wipe(k);
  }
}

/** GENERATE KEY PAIR: 64 bytes from the card's random source, stored in one commit; the public keys. */
export function generateKeyPair(card: CardContext, fw: AppletFirewall): Uint8Array {
  const code = keyService(card, fw);
  if (privateKeys(card, fw)) throw new IsoError(SW.CONDITIONS_OF_USE, 'a key pair already exists');
  const secret = new Uint8Array(64);
  card.random.fill(secret);
  const k = { ed: secret.slice(0, 32), x: secret.slice(32) };
  const pub = concatBytes(ed25519.getPublicKey(k.ed), x25519.getPublicKey(k.x));
  fw.writeBlocks(
    code,
    Array.from({ length: KEY_BLOCKS }, (_, i) => ({ block: i, data: secret.subarray(i * 16, i * 16 + 16) })),
  );
  secret.fill(0);
  wipe(k);
  return pub;
}

/** SIGN: Ed25519 over `message` with the card's signing key. */
export function sign(card: CardContext, fw: AppletFirewall, message: Uint8Array): Uint8Array {
  if (message.length === 0) throw new IsoError(SW.WRONG_LENGTH);
  const k = requireKeys(card, fw);
  try {
    return ed25519.sign(message, k.ed);
  } finally {
    wipe(k);
  }
}

/** DECRYPT: n ‖ context ‖ ephPub ‖ ciphertext ‖ tag, ECIES to the card's X25519 key (no AAD). */
export function decrypt(card: CardContext, fw: AppletFirewall, d: Uint8Array): Uint8Array {
  const n = d[0];
  if (n === undefined || d.length < 1 + n + PUBLIC + TAG) throw new IsoError(SW.WRONG_DATA);
  const context = d.subarray(1, 1 + n);
  const eph = d.subarray(1 + n, 1 + n + PUBLIC);
  const sealed = d.subarray(1 + n + PUBLIC);
  const k = requireKeys(card, fw);
  let shared: Uint8Array | undefined;
  let okm: Uint8Array | undefined;
  try {
    const recipient = x25519.getPublicKey(k.x);
    shared = x25519.getSharedSecret(k.x, eph);
    okm = hkdf(
      sha256,
      shared,
      concatBytes(eph, recipient),
      concatBytes(utf8ToBytes(ECIES_INFO), context),
      44,
    );
    return gcm(okm.subarray(0, 32), okm.subarray(32, 44)).decrypt(sealed);
  } catch (e) {
    if (e instanceof IsoError) throw e;
    throw new IsoError(SW.WRONG_DATA, 'the envelope does not open');
  } finally {
    wipe(k);
    shared?.fill(0);
    okm?.fill(0);
  }
}
