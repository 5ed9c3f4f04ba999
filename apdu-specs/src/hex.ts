// Hex text <-> bytes, the notation of every transcript, vector and CLI argument.

/** Parses hex text; upper or lower case, spaces (and other whitespace) ignored. */
export function hexToBytes(hex: string, what = 'hex'): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`${what} must be a hex string`);
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0)
    throw new RangeError(`${what} has an odd number of hex digits (${clean.length})`);
  if (!/^[0-9a-fA-F]*$/.test(clean)) throw new RangeError(`${what} is not hex: "${hex}"`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex without spaces. */
export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b];
  return s;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
