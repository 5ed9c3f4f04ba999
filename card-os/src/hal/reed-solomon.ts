// RS(20,16) over GF(2^8), the parity of every EEPROM block (eeprom.md §2): encode, and correct up to 2 bytes.
//
// Field polynomial 0x11D, α = 2, generator (x-α^0)(x-α^1)(x-α^2)(x-α^3). Systematic, QR-code convention:
// codeword = 16 data bytes then 4 parity bytes, byte 0 the coefficient of x^19.

export const RS_DATA_BYTES = 16;
export const RS_PARITY_BYTES = 4;
export const RS_CODEWORD_BYTES = RS_DATA_BYTES + RS_PARITY_BYTES;

export type RsDecodeResult =
  | { readonly status: 'clean' }
  | { readonly status: 'corrected'; readonly data: Uint8Array; readonly positions: readonly number[] }
  | { readonly status: 'failed' };

// α^i for i in 0..509 (doubled so a sum of two logs needs no reduction), and log_α.
const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    EXP[i + 255] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
}

function mul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

/** a / b for b ≠ 0. */
function div(a: number, b: number): number {
  return a === 0 ? 0 : EXP[LOG[a]! + 255 - LOG[b]!]!;
}

// Generator coefficients, highest degree first: g = [1, g3, g2, g1, g0].
const GEN: number[] = [1];
for (let j = 0; j < RS_PARITY_BYTES; j++) {
  const root = EXP[j]!;
  const next = [...GEN, 0];
  for (let k = 1; k < next.length; k++) next[k] = next[k]! ^ mul(GEN[k - 1]!, root);
  GEN.splice(0, GEN.length, ...next);
}

// One LFSR step for feedback f: f·(g3 g2 g1 g0), packed big-endian into 32 bits (the 4-byte remainder).
const STEP = new Uint32Array(256);
for (let f = 0; f < 256; f++) {
  STEP[f] =
    ((mul(f, GEN[1]!) << 24) | (mul(f, GEN[2]!) << 16) | (mul(f, GEN[3]!) << 8) | mul(f, GEN[4]!)) >>> 0;
}

/** d(x)·x^4 mod g(x) for the 16 bytes at `data[o..o+16)`, packed big-endian (the 4 parity bytes). */
function remainder(data: Uint8Array, o: number): number {
  let rem = 0;
  for (let i = o; i < o + RS_DATA_BYTES; i++) rem = ((rem << 8) ^ STEP[(rem >>> 24) ^ data[i]!]!) >>> 0;
  return rem;
}

function packed(bytes: Uint8Array, o: number): number {
  return ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
}

function checkBytes(value: unknown, name: string, length: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (value.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
}

function checkSpan(buf: unknown, bufName: string, offset: unknown, offName: string, length: number): void {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${bufName} must be a Uint8Array`);
  if (typeof offset !== 'number') throw new TypeError(`${offName} must be a number`);
  if (!Number.isInteger(offset) || offset < 0 || offset + length > buf.length) {
    throw new RangeError(
      `${offName} ${offset} leaves no ${length} bytes in ${bufName} (${buf.length} bytes)`,
    );
  }
}

/** The 4 parity bytes of 16 data bytes. */
export function rsParity(data16: Uint8Array): Uint8Array {
  checkBytes(data16, 'data16', RS_DATA_BYTES);
  const out = new Uint8Array(RS_PARITY_BYTES);
  writePacked(remainder(data16, 0), out, 0);
  return out;
}

/** Writes the parity of `data[dataOffset..+16)` to `out[outOffset..+4)`; the two may be the same array. */
export function rsParityInto(data: Uint8Array, dataOffset: number, out: Uint8Array, outOffset: number): void {
  checkSpan(data, 'data', dataOffset, 'dataOffset', RS_DATA_BYTES);
  checkSpan(out, 'out', outOffset, 'outOffset', RS_PARITY_BYTES);
  writePacked(remainder(data, dataOffset), out, outOffset);
}

function writePacked(rem: number, out: Uint8Array, o: number): void {
  out[o] = rem >>> 24;
  out[o + 1] = (rem >>> 16) & 0xff;
  out[o + 2] = (rem >>> 8) & 0xff;
  out[o + 3] = rem & 0xff;
}

const CLEAN: RsDecodeResult = Object.freeze({ status: 'clean' });
const FAILED: RsDecodeResult = Object.freeze({ status: 'failed' });

/**
 * Decodes a 20-byte codeword. 'clean' (no allocation) when it is a codeword; 'corrected' with the 16 data
 * bytes and the corrected codeword positions (0..19, ascending) for 1 or 2 wrong bytes; 'failed' otherwise.
 * Three or more wrong bytes are usually 'failed' but may be miscorrected: the card's check value catches that.
 */
export function rsDecode(codeword20: Uint8Array): RsDecodeResult {
  checkBytes(codeword20, 'codeword20', RS_CODEWORD_BYTES);
  // c(x) mod g(x) = R(x); it is zero exactly for codewords, and S_j = c(α^j) = R(α^j).
  const r = (remainder(codeword20, 0) ^ packed(codeword20, RS_DATA_BYTES)) >>> 0;
  if (r === 0) return CLEAN;
  return correct(codeword20, r);
}

/** Peterson (t = 2) for the error locator, Chien search over the 20 positions, Forney for the values. */
function correct(received: Uint8Array, r: number): RsDecodeResult {
  const r3 = r >>> 24;
  const r2 = (r >>> 16) & 0xff;
  const r1 = (r >>> 8) & 0xff;
  const r0 = r & 0xff;
  const s0 = r3 ^ r2 ^ r1 ^ r0;
  const s1 = syndrome(r3, r2, r1, r0, 1);
  const s2 = syndrome(r3, r2, r1, r0, 2);
  const s3 = syndrome(r3, r2, r1, r0, 3);

  // Λ(x) = 1 + λ1·x + λ2·x², the roots being the inverses of the error locators X = α^(19 - position).
  let l1: number;
  let l2: number;
  const det = mul(s1, s1) ^ mul(s0, s2);
  if (det !== 0) {
    l1 = div(mul(s2, s1) ^ mul(s0, s3), det);
    l2 = div(mul(s1, s3) ^ mul(s2, s2), det);
    if (l2 === 0) return FAILED;
  } else {
    if (s0 === 0 || s1 === 0) return FAILED;
    l1 = div(s1, s0);
    l2 = 0;
  }
  if (l1 === 0) return FAILED; // Λ' = λ1 in characteristic 2: a zero derivative is a repeated root

  const degree = l2 === 0 ? 1 : 2;
  // Ω(x) = S(x)·Λ(x) mod x^4; with Λ from the Newton identities only Ω0 and Ω1 can be non-zero.
  const o0 = s0;
  const o1 = s1 ^ mul(l1, s0);
  const corrected = received.slice();
  const positions: number[] = [];
  for (let position = 0; position < RS_CODEWORD_BYTES; position++) {
    const e = RS_CODEWORD_BYTES - 1 - position;
    const x = EXP[e]!;
    // Λ(X^-1) = 0  ⇔  X² + λ1·X + λ2 = 0
    if ((EXP[2 * e]! ^ mul(l1, x) ^ l2) !== 0) continue;
    // Forney with first consecutive root α^0: Y = X·Ω(X^-1) / Λ'(X^-1) = (Ω0·X + Ω1) / λ1
    const y = div(mul(o0, x) ^ o1, l1);
    if (y === 0) return FAILED;
    corrected[position] = corrected[position]! ^ y;
    positions.push(position);
  }
  if (positions.length !== degree) return FAILED;
  if (remainder(corrected, 0) !== packed(corrected, RS_DATA_BYTES)) return FAILED;
  return Object.freeze({
    status: 'corrected',
    data: corrected.slice(0, RS_DATA_BYTES),
    positions: Object.freeze(positions),
  });
}

/** R(α^j) for R(x) = r3·x³ + r2·x² + r1·x + r0. */
function syndrome(r3: number, r2: number, r1: number, r0: number, j: number): number {
  let s = r0;
  if (r1 !== 0) s ^= EXP[LOG[r1]! + j]!;
  if (r2 !== 0) s ^= EXP[LOG[r2]! + 2 * j]!;
  if (r3 !== 0) s ^= EXP[LOG[r3]! + 3 * j]!;
  return s;
}
