// card-os crypto: block ciphers, modes, padding, MACs, key diversification and the 3-pass authentication core.
export {
  BLOCK_CIPHER_ALGS,
  BLOCK_SIZES,
  KEY_LENGTHS,
  createBlockCipher,
  isBlockCipherAlg,
  type BlockCipher,
  type BlockCipherAlg,
} from './block-cipher';
export { cbcDecrypt, cbcEncrypt, ecbDecrypt, ecbEncrypt, lastBlock } from './modes';
export { PaddingError, pad1, pad2, unpad2 } from './padding';
export {
  MAC_ALGS,
  aesCmac,
  cbcMac,
  cmac,
  computeMac,
  createMac,
  retailMac,
  type Mac,
  type MacAlg,
  type MacOptions,
  type MacPadding,
} from './mac';
export { DIVERSIFY_ALGS, diversifyKey, type DiversifyAlg } from './diversify';
export { assertBytes, constantTimeEqual, zero } from './compare';
export {
  cardChallenge,
  cardResponse,
  cardVerifyReaderResponse,
  clearParity,
  deriveSmKeys,
  keyHalvesEqual,
  randomLength,
  readerOpenChallenge,
  readerResponse,
  readerVerifyCardResponse,
  rotl8,
  sessionKey,
  type CardVerification,
} from './three-pass';
