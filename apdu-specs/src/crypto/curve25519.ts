// Ed25519 signatures (RFC 8032) and X25519 agreement (RFC 7748) on raw 32-byte keys, through node:crypto.
//
// Why node:crypto and not @noble/curves: both schemes are deterministic, so OpenSSL gives the same
// bytes as noble at 9-15 times less CPU per call (noble's field arithmetic was ~28% of `mica campaign
// faults`). @noble/curves stays the independent reference in the tests. Card and host import the
// same five functions, so both sides behave the same.
//
// Decided edges:
// - ed25519Verify answers false, never throws, for a signature or public key of the wrong length or
//   one that is not a point. Verification is OpenSSL's strict RFC 8032 check (S < L, the point
//   encodings must decode), not noble's default ZIP-215 rules, which accept some non-canonical
//   encodings: stricter, and identical for every signature an honest signer makes.
// - x25519SharedSecret refuses a low-order peer key (the all-zero shared secret of RFC 7748 §6.1) by
//   throwing Error('invalid private or public key received'), as @noble/curves 2.4.0 does, and checks
//   the key against the same blocklist before the scalar multiplication, as noble does.
// - A wrong type throws TypeError, a wrong key length RangeError, each naming the argument. Inputs
//   are never changed; every result is a fresh Uint8Array (not a Buffer from Node's pool).
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { assertBytes } from './compare';

/** Bytes in a private key (Ed25519 seed, X25519 scalar), a public key, a shared secret. */
export const CURVE25519_KEY_BYTES = 32;
/** Bytes in an Ed25519 signature. */
export const ED25519_SIGNATURE_BYTES = 64;

type Curve = 'Ed25519' | 'X25519';

// Keys go in and out as JWK (RFC 8037 OKP: base64url of the raw 32 bytes), not as PKCS#8 / SPKI DER:
// node 20's OpenSSL 3.0 decodes DER through its decoder framework, which measured 1.5 ms per private
// key import against 0.18 ms for a JWK, more than the signature itself. Node builds a private OKP key
// from `d` alone; `x` must be a string but is not compared with `d`, so it is left empty (the RFC
// vectors in the tests would catch a node that starts checking it).
function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function privateKeyObject(crv: Curve, raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv, d: toBase64Url(raw), x: '' }, format: 'jwk' });
}

function publicKeyObject(crv: Curve, raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv, x: toBase64Url(raw) }, format: 'jwk' });
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const { x } = key.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new Error('node:crypto exported an OKP public key without x');
  return fromBase64Url(x);
}

/** The Ed25519 public key of a 32-byte secret key (the RFC 8032 seed). */
export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  assertBytes(secretKey, 'secretKey', CURVE25519_KEY_BYTES);
  return rawPublicKey(createPublicKey(privateKeyObject('Ed25519', secretKey)));
}

/** The 64-byte Ed25519 signature of `message` under a 32-byte secret key (deterministic, RFC 8032). */
export function ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertBytes(message, 'message');
  assertBytes(secretKey, 'secretKey', CURVE25519_KEY_BYTES);
  return new Uint8Array(nodeSign(null, message, privateKeyObject('Ed25519', secretKey)));
}

/**
 * True when `signature` is a valid Ed25519 signature of `message` under `publicKey` (strict RFC 8032).
 * False, not an exception, for a signature or key of the wrong length or a key that is not a point.
 */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  assertBytes(signature, 'signature');
  assertBytes(message, 'message');
  assertBytes(publicKey, 'publicKey');
  if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== CURVE25519_KEY_BYTES) return false;
  try {
    return nodeVerify(null, message, publicKeyObject('Ed25519', publicKey), signature);
  } catch {
    return false;
  }
}

/** The X25519 public key (u-coordinate) of a 32-byte secret scalar (clamped as RFC 7748 says). */
export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  assertBytes(secretKey, 'secretKey', CURVE25519_KEY_BYTES);
  return rawPublicKey(createPublicKey(privateKeyObject('X25519', secretKey)));
}

// The u-coordinates of order dividing 8 on the curve and its twist, after masking bit 255 and
// reducing mod p (0, 1, p - 1, the two of order 8), with the non-canonical p and p + 1 that reduce
// to 0 and 1: the list @noble/curves 2.4.0 refuses. Each gives the all-zero shared secret.
const P = 2n ** 255n - 19n;
const LOW_ORDER_U: readonly Uint8Array[] = [
  0n,
  1n,
  P - 1n,
  P,
  P + 1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
].map((u) =>
  Uint8Array.from({ length: CURVE25519_KEY_BYTES }, (_, i) => Number((u >> BigInt(8 * i)) & 0xffn)),
);

function isLowOrder(u: Uint8Array): boolean {
  return LOW_ORDER_U.some((bad) => {
    for (let i = 0; i < CURVE25519_KEY_BYTES; i++) {
      const b = i === CURVE25519_KEY_BYTES - 1 ? u[i]! & 0x7f : u[i]!;
      if (b !== bad[i]) return false;
    }
    return true;
  });
}

/**
 * The 32-byte X25519 shared secret of `secretKey` and the peer's `publicKey`. Throws
 * Error('invalid private or public key received') for a low-order peer key (all-zero secret).
 */
export function x25519SharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  assertBytes(secretKey, 'secretKey', CURVE25519_KEY_BYTES);
  assertBytes(publicKey, 'publicKey', CURVE25519_KEY_BYTES);
  if (isLowOrder(publicKey)) throw new Error('invalid private or public key received');
  let shared: Uint8Array;
  try {
    shared = diffieHellman({
      privateKey: privateKeyObject('X25519', secretKey),
      publicKey: publicKeyObject('X25519', publicKey),
    });
  } catch {
    throw new Error('invalid private or public key received');
  }
  const out = new Uint8Array(shared);
  shared.fill(0);
  if (out.every((b) => b === 0)) throw new Error('invalid private or public key received');
  return out;
}
