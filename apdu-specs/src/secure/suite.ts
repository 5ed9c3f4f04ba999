// The chip's crypto suites (eeprom.md 4.1, security.md 2): cipher, key, block and random sizes, MAC.
import { createBlockCipher, type BlockCipher, type BlockCipherAlg } from '../crypto/block-cipher';
import { keyHalvesEqual } from '../crypto/three-pass';
import { CryptoSuite } from '../eeprom-records';

export interface Suite {
  readonly code: number;
  readonly name: 'des' | '2k3des' | '3k3des' | 'aes128';
  /** The cipher over stored keys: a DES suite stores K ‖ K and runs it as 2K3DES (= single DES). */
  readonly cipher: BlockCipherAlg;
  /** Stored key length: 16, or 24 for 3K3DES. */
  readonly keyLength: 16 | 24;
  readonly blockSize: 8 | 16;
  /** RndA / RndB length. */
  readonly randomLength: 8 | 16;
  readonly mac: 'iso9797-1-m3' | 'aes-cmac';
  /** Length L of KSenc and KSmac. */
  readonly smKeyLength: 16 | 24;
}

const SUITES: readonly Suite[] = Object.freeze([
  {
    code: CryptoSuite.des,
    name: 'des',
    cipher: '2k3des',
    keyLength: 16,
    blockSize: 8,
    randomLength: 8,
    mac: 'iso9797-1-m3',
    smKeyLength: 16,
  },
  {
    code: CryptoSuite.tdes2,
    name: '2k3des',
    cipher: '2k3des',
    keyLength: 16,
    blockSize: 8,
    randomLength: 8,
    mac: 'iso9797-1-m3',
    smKeyLength: 16,
  },
  {
    code: CryptoSuite.tdes3,
    name: '3k3des',
    cipher: '3k3des',
    keyLength: 24,
    blockSize: 8,
    randomLength: 16,
    mac: 'iso9797-1-m3',
    smKeyLength: 24,
  },
  {
    code: CryptoSuite.aes128,
    name: 'aes128',
    cipher: 'aes128',
    keyLength: 16,
    blockSize: 16,
    randomLength: 16,
    mac: 'aes-cmac',
    smKeyLength: 16,
  },
] as const);

export function suiteByCode(code: number): Suite {
  const s = SUITES.find((x) => x.code === code);
  if (!s) throw new RangeError(`unknown crypto suite ${code}`);
  return s;
}

export function suiteByName(name: string): Suite {
  const s = SUITES.find((x) => x.name === name);
  if (!s) throw new RangeError(`unknown crypto suite "${name}"`);
  return s;
}

/** The stored form of a key: a DES key of 8 bytes becomes K ‖ K. */
export function storedKey(suite: Suite, key: Uint8Array): Uint8Array {
  if (suite.name === 'des' && key.length === 8) {
    const k = new Uint8Array(16);
    k.set(key);
    k.set(key, 8);
    return k;
  }
  if (key.length !== suite.keyLength)
    throw new RangeError(
      `a ${suite.name} key is ${suite.name === 'des' ? '8 or ' : ''}${suite.keyLength} bytes, got ${key.length}`,
    );
  return key.slice();
}

export function suiteCipher(suite: Suite, key: Uint8Array): BlockCipher {
  return createBlockCipher(suite.cipher, storedKey(suite, key));
}

/** Session-key rule selector: single-DES strength when the access key's halves are equal. */
export function singleDesStrength(suite: Suite, accessKey: Uint8Array): boolean {
  return (suite.name === 'des' || suite.name === '2k3des') && keyHalvesEqual(accessKey);
}
