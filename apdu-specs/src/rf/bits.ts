// Bit strings of the air interfaces: one bit per byte (0 or 1) in transmission order, to and from bytes.

function checkBytes(bytes: unknown, name: string): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
}

/** Bits of `bytes`, most significant bit of each byte first (Type F). */
export function bytesToBitsMsb(bytes: Uint8Array): Uint8Array {
  checkBytes(bytes, 'bytes');
  const out = new Uint8Array(bytes.length * 8);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    for (let k = 0; k < 8; k++) out[i * 8 + k] = (b >>> (7 - k)) & 1;
  }
  return out;
}

/** Bits of `bytes`, least significant bit of each byte first (Type A and B). */
export function bytesToBitsLsb(bytes: Uint8Array): Uint8Array {
  checkBytes(bytes, 'bytes');
  const out = new Uint8Array(bytes.length * 8);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    for (let k = 0; k < 8; k++) out[i * 8 + k] = (b >>> k) & 1;
  }
  return out;
}

/** Packs bits MSB first; a last partial byte is filled from its high bit down, low bits zero. */
export function bitsToBytesMsb(bits: Uint8Array): Uint8Array {
  checkBytes(bits, 'bits');
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i]! & 1) out[i >>> 3]! |= 0x80 >>> (i & 7);
  return out;
}

/** Packs bits LSB first; a last partial byte holds its bits in its low positions. */
export function bitsToBytesLsb(bits: Uint8Array): Uint8Array {
  checkBytes(bits, 'bits');
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i]! & 1) out[i >>> 3]! |= 1 << (i & 7);
  return out;
}

/** "0110…" from a bit array. */
export function bitsToString(bits: Uint8Array): string {
  checkBytes(bits, 'bits');
  let s = '';
  for (let i = 0; i < bits.length; i++) s += bits[i]! & 1 ? '1' : '0';
  return s;
}

/** A bit array from "0110…"; spaces and `|` (field separators in vectors) are ignored. */
export function bitsFromString(text: string, what = 'bits'): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`${what} must be a string`);
  const clean = text.replace(/[\s|]+/g, '');
  if (!/^[01]*$/.test(clean)) throw new RangeError(`${what} must hold only 0 and 1, got "${text}"`);
  const out = new Uint8Array(clean.length);
  for (let i = 0; i < clean.length; i++) out[i] = clean.charCodeAt(i) - 48;
  return out;
}

/** Number of positions where two bit arrays differ, counting missing bits of the shorter one. */
export function bitDifferences(a: Uint8Array, b: Uint8Array): number {
  checkBytes(a, 'a');
  checkBytes(b, 'b');
  const n = Math.min(a.length, b.length);
  let d = Math.abs(a.length - b.length);
  for (let i = 0; i < n; i++) if ((a[i]! ^ b[i]!) & 1) d++;
  return d;
}
