// The 3-pass mutual-authentication core of security.md §4 (card and reader sides), session keys and SM keys.
import { hash } from 'node:crypto';
import { BLOCK_CIPHER_ALGS, type BlockCipher, type BlockCipherAlg } from './block-cipher';
import { assertBytes, constantTimeEqual } from './compare';
import { cbcDecrypt, cbcEncrypt } from './modes';

/** RndA / RndB length: 8 bytes for DES and 2K3DES, 16 for 3K3DES and AES-128. */
export function randomLength(alg: BlockCipherAlg): 8 | 16 {
  checkAlg(alg);
  return alg === 'des' || alg === '2k3des' ? 8 : 16;
}

function checkAlg(alg: unknown): asserts alg is BlockCipherAlg {
  if (typeof alg !== 'string' || !(BLOCK_CIPHER_ALGS as readonly string[]).includes(alg)) {
    throw new TypeError(`alg must be one of ${BLOCK_CIPHER_ALGS.join(', ')}, got ${String(alg)}`);
  }
}

function checkCipher(cipher: unknown): asserts cipher is BlockCipher {
  const c = cipher as Partial<BlockCipher> | null | undefined;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.alg !== 'string' ||
    typeof c.encryptBlock !== 'function'
  ) {
    throw new TypeError('cipher must be a BlockCipher (see createBlockCipher)');
  }
}

function checkRandom(cipher: BlockCipher, value: unknown, name: string): asserts value is Uint8Array {
  assertBytes(value, name, randomLength(cipher.alg));
}

/** The last cipher block of a cryptogram: the IV of the next pass. */
function chainIv(cipher: BlockCipher, cryptogram: Uint8Array): Uint8Array {
  return cryptogram.slice(cryptogram.length - cipher.blockSize);
}

/** Rotates left by one byte: rotl8(b0 b1 … bn) = b1 … bn b0. */
export function rotl8(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  const out = new Uint8Array(data.length);
  if (data.length === 0) return out;
  out.set(data.subarray(1));
  out[data.length - 1] = data[0]!;
  return out;
}

/** Pass 1, card → reader: E_CBC(K, IV = 0, RndB). */
export function cardChallenge(cipher: BlockCipher, rndB: Uint8Array): Uint8Array {
  checkCipher(cipher);
  checkRandom(cipher, rndB, 'rndB');
  return cbcEncrypt(cipher, new Uint8Array(cipher.blockSize), rndB);
}

/** Pass 2, reader → card: E_CBC(K, IV = last block of cardChallenge, RndA ‖ rotl8(RndB)). */
export function readerResponse(
  cipher: BlockCipher,
  cardChallenge: Uint8Array,
  rndA: Uint8Array,
  rndB: Uint8Array,
): Uint8Array {
  checkCipher(cipher);
  checkRandom(cipher, cardChallenge, 'cardChallenge');
  checkRandom(cipher, rndA, 'rndA');
  checkRandom(cipher, rndB, 'rndB');
  const plain = new Uint8Array(2 * rndA.length);
  plain.set(rndA);
  plain.set(rotl8(rndB), rndA.length);
  try {
    return cbcEncrypt(cipher, chainIv(cipher, cardChallenge), plain);
  } finally {
    plain.fill(0);
  }
}

/** Pass 3, card → reader: E_CBC(K, IV = last block of readerResponse, rotl8(RndA)). */
export function cardResponse(cipher: BlockCipher, readerResponse: Uint8Array, rndA: Uint8Array): Uint8Array {
  checkCipher(cipher);
  checkRandom(cipher, rndA, 'rndA');
  assertBytes(readerResponse, 'readerResponse', 2 * rndA.length);
  return cbcEncrypt(cipher, chainIv(cipher, readerResponse), rotl8(rndA));
}

/** Reader side of pass 1: RndB recovered from cardChallenge (any value decrypts; pass 3 proves the card). */
export function readerOpenChallenge(cipher: BlockCipher, cardChallenge: Uint8Array): Uint8Array {
  checkCipher(cipher);
  checkRandom(cipher, cardChallenge, 'cardChallenge');
  return cbcDecrypt(cipher, new Uint8Array(cipher.blockSize), cardChallenge);
}

export type CardVerification = { readonly ok: true; readonly rndA: Uint8Array } | { readonly ok: false };

/**
 * Card side of pass 2: decrypts readerResponse and checks, in constant time, that its second half is
 * rotl8(RndB). On success returns RndA; on failure the session must end.
 */
export function cardVerifyReaderResponse(
  cipher: BlockCipher,
  cardChallenge: Uint8Array,
  readerResponse: Uint8Array,
  rndB: Uint8Array,
): CardVerification {
  checkCipher(cipher);
  checkRandom(cipher, cardChallenge, 'cardChallenge');
  checkRandom(cipher, rndB, 'rndB');
  assertBytes(readerResponse, 'readerResponse', 2 * rndB.length);
  const plain = cbcDecrypt(cipher, chainIv(cipher, cardChallenge), readerResponse);
  const n = rndB.length;
  const expected = rotl8(rndB);
  const ok = constantTimeEqual(plain.subarray(n), expected);
  expected.fill(0);
  if (!ok) {
    plain.fill(0);
    return { ok: false };
  }
  return { ok: true, rndA: plain.slice(0, n) };
}

/**
 * Reader side of pass 3: decrypts cardResponse and checks, in constant time, that it is rotl8(RndA).
 * True means the card knows the key.
 */
export function readerVerifyCardResponse(
  cipher: BlockCipher,
  readerResponse: Uint8Array,
  cardResponse: Uint8Array,
  rndA: Uint8Array,
): boolean {
  checkCipher(cipher);
  checkRandom(cipher, rndA, 'rndA');
  assertBytes(readerResponse, 'readerResponse', 2 * rndA.length);
  assertBytes(cardResponse, 'cardResponse', rndA.length);
  const plain = cbcDecrypt(cipher, chainIv(cipher, readerResponse), cardResponse);
  const expected = rotl8(rndA);
  const ok = constantTimeEqual(plain, expected);
  plain.fill(0);
  expected.fill(0);
  return ok;
}

/** True when a 16-byte DES-family key has equal halves (single-DES strength, the DES suite's K ‖ K). */
export function keyHalvesEqual(key: Uint8Array): boolean {
  assertBytes(key, 'key');
  if (key.length !== 16) return false;
  return constantTimeEqual(key.subarray(0, 8), key.subarray(8));
}

/**
 * Session key Ks of security.md §4:
 * - `des` / `2k3des`: A[0..3] ‖ B[0..3] ‖ A[4..7] ‖ B[4..7], or A[0..3] ‖ B[0..3] ‖ A[0..3] ‖ B[0..3]
 *   when the key's halves are equal (always for `des`);
 * - `3k3des`: A[0..3] ‖ B[0..3] ‖ A[6..9] ‖ B[6..9] ‖ A[12..15] ‖ B[12..15];
 * - `aes128`: A[0..3] ‖ B[0..3] ‖ A[12..15] ‖ B[12..15].
 */
export function sessionKey(
  alg: BlockCipherAlg,
  rndA: Uint8Array,
  rndB: Uint8Array,
  keyHalvesEqual = false,
): Uint8Array {
  checkAlg(alg);
  const n = randomLength(alg);
  assertBytes(rndA, 'rndA', n);
  assertBytes(rndB, 'rndB', n);
  if (typeof keyHalvesEqual !== 'boolean') throw new TypeError('keyHalvesEqual must be a boolean');
  const starts =
    alg === '3k3des'
      ? [0, 6, 12]
      : alg === 'aes128'
        ? [0, 12]
        : alg === 'des' || keyHalvesEqual
          ? [0, 0]
          : [0, 4];
  const out = new Uint8Array(8 * starts.length);
  starts.forEach((s, i) => {
    out.set(rndA.subarray(s, s + 4), 8 * i);
    out.set(rndB.subarray(s, s + 4), 8 * i + 4);
  });
  return out;
}

/** A copy of `key` with the low (DES parity) bit of every byte cleared, as DESFire session keys are. */
export function clearParity(key: Uint8Array): Uint8Array {
  assertBytes(key, 'key');
  return key.map((b) => b & 0xfe);
}

/**
 * Secure-messaging keys from Ks: KSenc = first L bytes of SHA-256(Ks ‖ 00000001), KSmac = first L
 * bytes of SHA-256(Ks ‖ 00000002); L = 16, or 24 for 3K3DES (DES suites use 16).
 */
export function deriveSmKeys(ks: Uint8Array, keyLength: number): { ksEnc: Uint8Array; ksMac: Uint8Array } {
  assertBytes(ks, 'ks', [16, 24]);
  if (typeof keyLength !== 'number') throw new TypeError('keyLength must be a number');
  if (keyLength !== 16 && keyLength !== 24)
    throw new RangeError(`keyLength must be 16 or 24, got ${keyLength}`);
  const derive = (counter: number): Uint8Array => {
    const input = new Uint8Array(ks.length + 4);
    input.set(ks);
    input[ks.length + 3] = counter;
    // node:crypto's one-shot hash: about half the time of a JS SHA-256 on these 20-28 byte inputs.
    const digest = hash('sha256', input, 'buffer');
    const key = new Uint8Array(keyLength);
    key.set(digest.subarray(0, keyLength));
    input.fill(0);
    digest.fill(0);
    return key;
  };
  return { ksEnc: derive(1), ksMac: derive(2) };
}
