// Conformance check for vector kind `cipher`: ECB/CBC encrypt(plaintext) = ciphertext and decrypt(ciphertext) = plaintext.
import { bytesEqual, bytesToHex } from '@mica/apdu-specs/hex';
import {
  BLOCK_CIPHER_ALGS,
  BLOCK_SIZES,
  KEY_LENGTHS,
  createBlockCipher,
} from '@mica/apdu-specs/crypto/block-cipher';
import { cbcDecrypt, cbcEncrypt, ecbDecrypt, ecbEncrypt } from '@mica/apdu-specs/crypto/modes';
import { choiceField, fail, guarded, hexField, PASS, type CheckResult } from '../check-result';

const MODES = ['ecb', 'cbc'] as const;

export function checkCipher(vector: Record<string, unknown>): CheckResult {
  return guarded(() => {
    const alg = choiceField(vector, 'alg', BLOCK_CIPHER_ALGS);
    if (!alg.ok) return alg;
    const mode = choiceField(vector, 'mode', MODES);
    if (!mode.ok) return mode;
    const blockSize = BLOCK_SIZES[alg.value];
    const key = hexField(vector, 'key', KEY_LENGTHS[alg.value]);
    if (!key.ok) return key;
    const iv = mode.value === 'cbc' ? hexField(vector, 'iv', blockSize) : undefined;
    if (iv !== undefined && !iv.ok) return iv;
    const plaintext = hexField(vector, 'plaintext');
    if (!plaintext.ok) return plaintext;
    if (plaintext.value.length % blockSize !== 0) {
      return fail(
        `field "plaintext" must be a multiple of ${blockSize} bytes (no padding), got ${plaintext.value.length}`,
      );
    }
    const ciphertext = hexField(vector, 'ciphertext', plaintext.value.length);
    if (!ciphertext.ok) return ciphertext;

    const cipher = createBlockCipher(alg.value, key.value);
    try {
      const encrypted =
        iv === undefined
          ? ecbEncrypt(cipher, plaintext.value)
          : cbcEncrypt(cipher, iv.value, plaintext.value);
      if (!bytesEqual(encrypted, ciphertext.value)) {
        return fail(
          `encrypt: field "ciphertext" is ${bytesToHex(ciphertext.value)}, computed ${bytesToHex(encrypted)} (${alg.value}-${mode.value})`,
        );
      }
      const decrypted =
        iv === undefined
          ? ecbDecrypt(cipher, ciphertext.value)
          : cbcDecrypt(cipher, iv.value, ciphertext.value);
      if (!bytesEqual(decrypted, plaintext.value)) {
        return fail(
          `decrypt: field "plaintext" is ${bytesToHex(plaintext.value)}, computed ${bytesToHex(decrypted)} (${alg.value}-${mode.value})`,
        );
      }
      return PASS;
    } finally {
      cipher.dispose();
    }
  });
}
