// ISO/IEC 9797-1 padding methods 1 (zeros) and 2 (80 then zeros), and removal of method 2.
import { assertBytes } from './compare';

/** Data whose ISO 9797-1 method-2 padding is malformed (no 80 marker, or non-zero bytes after it). */
export class PaddingError extends Error {
  override readonly name = 'PaddingError';
}

function checkBlockSize(blockSize: unknown): asserts blockSize is number {
  if (typeof blockSize !== 'number') throw new TypeError('blockSize must be a number');
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 255) {
    throw new RangeError(`blockSize must be an integer from 1 to 255, got ${blockSize}`);
  }
}

/**
 * Padding method 1: zeros up to a multiple of `blockSize`, none when already a multiple. Empty data
 * becomes one block of zeros (ISO/IEC 9797-1:2011 6.3.1).
 */
export function pad1(data: Uint8Array, blockSize: number): Uint8Array {
  assertBytes(data, 'data');
  checkBlockSize(blockSize);
  const n = data.length === 0 ? blockSize : Math.ceil(data.length / blockSize) * blockSize;
  const out = new Uint8Array(n);
  out.set(data);
  return out;
}

/** Padding method 2: one 80 byte, then zeros up to a multiple of `blockSize` (always adds 1 to blockSize bytes). */
export function pad2(data: Uint8Array, blockSize: number): Uint8Array {
  assertBytes(data, 'data');
  checkBlockSize(blockSize);
  const out = new Uint8Array((Math.floor(data.length / blockSize) + 1) * blockSize);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

/**
 * Removes padding method 2. `data` must be a non-empty multiple of `blockSize` (RangeError otherwise);
 * a last block without the 80 marker, or with non-zero bytes after it, throws PaddingError.
 */
export function unpad2(data: Uint8Array, blockSize: number): Uint8Array {
  assertBytes(data, 'data');
  checkBlockSize(blockSize);
  if (data.length === 0 || data.length % blockSize !== 0) {
    throw new RangeError(
      `data must be a non-empty multiple of the ${blockSize}-byte block size, got ${data.length} bytes`,
    );
  }
  const stop = data.length - blockSize;
  for (let i = data.length - 1; i >= stop; i--) {
    const b = data[i]!;
    if (b === 0x80) return data.slice(0, i);
    if (b !== 0) {
      throw new PaddingError(
        `ISO 9797-1 method 2 padding: byte ${i} is ${b.toString(16).padStart(2, '0')}, expected 00 or the 80 marker`,
      );
    }
  }
  throw new PaddingError('ISO 9797-1 method 2 padding: no 80 marker in the last block');
}
