// Building FeliCa-style command frames on the host side (LEN computed; node codes little-endian).
import { BLOCK_ELEMENT_SHORT } from '@mica/apdu-specs/felica-commands';

export interface BlockRef {
  /** Index into the command's service list. */
  readonly serviceIndex: number;
  readonly block: number;
  /** Access mode (bits 6-4 of the element's first byte); 0 unless a purse cashback/decrement needs 1. */
  readonly accessMode?: number;
}

/** LEN ‖ code ‖ parts…; LEN counts itself. */
export function frame(code: number, ...parts: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  let n = 2;
  for (const p of parts) n += p.length;
  if (n > 255) throw new RangeError(`frame of ${n} bytes is longer than LEN allows (255)`);
  const out = new Uint8Array(n);
  out[0] = n;
  out[1] = code;
  let o = 2;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function nodeList(codes: readonly number[]): Uint8Array {
  const out = new Uint8Array(1 + 2 * codes.length);
  out[0] = codes.length;
  codes.forEach((c, i) => {
    out[1 + 2 * i] = c & 0xff;
    out[2 + 2 * i] = c >> 8;
  });
  return out;
}

/** nB ‖ elements: 2-byte elements for block numbers below 256, else 3-byte ones. */
export function blockList(blocks: readonly BlockRef[]): Uint8Array {
  const bytes: number[] = [blocks.length];
  for (const b of blocks) {
    if (b.serviceIndex < 0 || b.serviceIndex > 15)
      throw new RangeError(`service index ${b.serviceIndex} outside 0..15`);
    const head = ((b.accessMode ?? 0) << 4) | b.serviceIndex;
    if (b.block < 256) bytes.push(BLOCK_ELEMENT_SHORT | head, b.block);
    else bytes.push(head, b.block & 0xff, b.block >> 8);
  }
  return Uint8Array.from(bytes);
}
