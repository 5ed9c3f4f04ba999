// ECB and CBC without padding over a reusable BlockCipher context (data length a multiple of the block size).
import { bulkModes, type BlockCipher } from './block-cipher';
import { assertBytes } from './compare';

function checkCipher(cipher: unknown): asserts cipher is BlockCipher {
  const c = cipher as Partial<BlockCipher> | null | undefined;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.encryptBlock !== 'function' ||
    typeof c.decryptBlock !== 'function' ||
    (c.blockSize !== 8 && c.blockSize !== 16)
  ) {
    throw new TypeError('cipher must be a BlockCipher (see createBlockCipher)');
  }
}

function checkData(cipher: BlockCipher, data: unknown): asserts data is Uint8Array {
  assertBytes(data, 'data');
  if (data.length % cipher.blockSize !== 0) {
    throw new RangeError(
      `data must be a multiple of the ${cipher.blockSize}-byte block size, got ${data.length} bytes`,
    );
  }
}

function ecb(cipher: BlockCipher, data: Uint8Array, encrypt: boolean): Uint8Array {
  checkCipher(cipher);
  checkData(cipher, data);
  const bulk = bulkModes(cipher);
  if (bulk !== undefined) return bulk.ecb(encrypt, data);
  const out = new Uint8Array(data.length);
  const b = cipher.blockSize;
  for (let off = 0; off < data.length; off += b) {
    if (encrypt) cipher.encryptBlock(data, off, out, off);
    else cipher.decryptBlock(data, off, out, off);
  }
  return out;
}

export function ecbEncrypt(cipher: BlockCipher, data: Uint8Array): Uint8Array {
  return ecb(cipher, data, true);
}

export function ecbDecrypt(cipher: BlockCipher, data: Uint8Array): Uint8Array {
  return ecb(cipher, data, false);
}

export function cbcEncrypt(cipher: BlockCipher, iv: Uint8Array, data: Uint8Array): Uint8Array {
  checkCipher(cipher);
  assertBytes(iv, 'iv', cipher.blockSize);
  checkData(cipher, data);
  const bulk = bulkModes(cipher);
  if (bulk !== undefined) return bulk.cbc(true, iv, data);
  const b = cipher.blockSize;
  const out = new Uint8Array(data.length);
  let prev = iv;
  let prevOff = 0;
  for (let off = 0; off < data.length; off += b) {
    for (let i = 0; i < b; i++) out[off + i] = data[off + i]! ^ prev[prevOff + i]!;
    cipher.encryptBlock(out, off, out, off);
    prev = out;
    prevOff = off;
  }
  return out;
}

export function cbcDecrypt(cipher: BlockCipher, iv: Uint8Array, data: Uint8Array): Uint8Array {
  checkCipher(cipher);
  assertBytes(iv, 'iv', cipher.blockSize);
  checkData(cipher, data);
  const bulk = bulkModes(cipher);
  if (bulk !== undefined) return bulk.cbc(false, iv, data);
  const b = cipher.blockSize;
  const out = new Uint8Array(data.length);
  for (let off = 0; off < data.length; off += b) {
    cipher.decryptBlock(data, off, out, off);
    const prev = off === 0 ? iv : data;
    const prevOff = off === 0 ? 0 : off - b;
    for (let i = 0; i < b; i++) out[off + i] = out[off + i]! ^ prev[prevOff + i]!;
  }
  return out;
}

/** The last block of `data` (a copy): the next CBC IV in chained exchanges. */
export function lastBlock(cipher: BlockCipher, data: Uint8Array): Uint8Array {
  checkCipher(cipher);
  assertBytes(data, 'data');
  if (data.length < cipher.blockSize) {
    throw new RangeError(
      `data must hold at least one ${cipher.blockSize}-byte block, got ${data.length} bytes`,
    );
  }
  return data.slice(data.length - cipher.blockSize);
}
