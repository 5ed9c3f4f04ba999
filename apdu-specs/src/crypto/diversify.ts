// NXP AN10922 CMAC-based key diversification (AES-128, 2TDEA, 3TDEA) and the DES-suite form of security.md §2.
import { createBlockCipher, type BlockCipher } from './block-cipher';
import { assertBytes } from './compare';
import { cmacSubkeys, cmacWithSubkeys } from './mac';

export const DIVERSIFY_ALGS = ['aes128', '2k3des', '3k3des', 'des'] as const;
export type DiversifyAlg = (typeof DIVERSIFY_ALGS)[number];

const MASTER_LENGTHS: Readonly<Record<DiversifyAlg, number>> = Object.freeze({
  aes128: 16,
  '2k3des': 16,
  '3k3des': 24,
  des: 8,
});

/**
 * AN10922 core: for each constant c, CMAC(K, c ‖ M) where the data is padded with 80 00… to at
 * least two cipher blocks and finished with K2 when padded (K1 when c ‖ M fills exactly two blocks).
 */
function an10922(cipher: BlockCipher, constants: readonly number[], input: Uint8Array): Uint8Array {
  const b = cipher.blockSize;
  const { k1, k2 } = cmacSubkeys(cipher);
  const d = new Uint8Array(1 + input.length);
  d.set(input, 1);
  const out = new Uint8Array(constants.length * b);
  try {
    constants.forEach((c, i) => {
      d[0] = c;
      out.set(cmacWithSubkeys(cipher, k1, k2, d, 2 * b), i * b);
    });
  } finally {
    k1.fill(0);
    k2.fill(0);
    d.fill(0);
  }
  return out;
}

/**
 * The diversified key of AN10922 for `masterKey` and diversification input `input` (M, without the
 * constant prefix; 1 to 31 bytes for AES-128, 1 to 15 for the DES family: at most two blocks with
 * the prefix). Returns the raw CMAC output, parity bits untouched:
 * - `aes128` (16-byte master): CMAC(K, 01 ‖ M), 16 bytes;
 * - `2k3des` (16-byte master): CMAC(K, 21 ‖ M) ‖ CMAC(K, 22 ‖ M), 16 bytes;
 * - `3k3des` (24-byte master): the same with 31, 32, 33, 24 bytes;
 * - `des` (8-byte master): the first 8 bytes of the `2k3des` result under master ‖ master, 8 bytes
 *   (a DES suite stores it as K′ ‖ K′, security.md §2).
 */
export function diversifyKey(alg: DiversifyAlg, masterKey: Uint8Array, input: Uint8Array): Uint8Array {
  if (typeof alg !== 'string' || !(DIVERSIFY_ALGS as readonly string[]).includes(alg)) {
    throw new TypeError(`alg must be one of ${DIVERSIFY_ALGS.join(', ')}, got ${String(alg)}`);
  }
  assertBytes(masterKey, 'masterKey', MASTER_LENGTHS[alg]);
  assertBytes(input, 'input');
  const maxInput = alg === 'aes128' ? 31 : 15;
  if (input.length < 1 || input.length > maxInput) {
    throw new RangeError(`input must be 1 to ${maxInput} bytes for ${alg}, got ${input.length}`);
  }
  let cipher: BlockCipher;
  let constants: readonly number[];
  switch (alg) {
    case 'aes128':
      cipher = createBlockCipher('aes128', masterKey);
      constants = [0x01];
      break;
    case '2k3des':
      cipher = createBlockCipher('2k3des', masterKey);
      constants = [0x21, 0x22];
      break;
    case '3k3des':
      cipher = createBlockCipher('3k3des', masterKey);
      constants = [0x31, 0x32, 0x33];
      break;
    case 'des':
      // master ‖ master as a 2K3DES key is single DES under master.
      cipher = createBlockCipher('des', masterKey);
      constants = [0x21];
      break;
  }
  try {
    return an10922(cipher, constants, input);
  } finally {
    cipher.dispose();
  }
}
