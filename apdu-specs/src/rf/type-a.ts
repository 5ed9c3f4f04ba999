// ISO/IEC 14443-3 Type A frames (rf.md §4.2): short, standard (odd parity, CRC_A) and bit-oriented
// anticollision frames as bit strings, plus the UID cascade helpers (BCC, NVB, SELECT).
import { crcA } from '../crc';
import { concatBytes } from '../hex';

export const REQA = 0x26;
export const WUPA = 0x52;
/** HLTA without its CRC_A. */
export const HLTA = Object.freeze([0x50, 0x00] as const);
/** SEL codes of cascade levels 1, 2, 3. */
export const SEL_CODES = Object.freeze([0x93, 0x95, 0x97] as const);
export const CASCADE_TAG = 0x88;
/** SAK bit: UID not complete, another cascade level follows. */
export const SAK_UID_INCOMPLETE = 0x04;
/** SAK bit: ISO/IEC 14443-4 compliant. */
export const SAK_ISO14443_4 = 0x20;

/** A Type A frame: the bytes and which of their bits are on air. */
export interface TypeAFrame {
  readonly bytes: Uint8Array;
  /** Bits of the last byte that are sent: 7 for a short frame, 1..7 for a split byte, 8 (default) otherwise. */
  readonly validBitsInLastByte?: number;
  /** Low bits of the first byte that the other side already sent (a card's answer to a split frame): 0..7. */
  readonly firstBit?: number;
  /** Per byte: its parity bit was right (or the byte has none). Set by the decoder. */
  readonly parityOk?: readonly boolean[];
}

/** The decoder's view: every field present. */
export interface TypeAFrameDecoded extends TypeAFrame {
  readonly validBitsInLastByte: number;
  readonly firstBit: number;
  readonly parityOk: readonly boolean[];
}

/** The odd-parity bit of a byte: 1 when the byte holds an even number of ones. */
export function oddParity(byte: number): number {
  let v = byte & 0xff;
  v ^= v >>> 4;
  v ^= v >>> 2;
  v ^= v >>> 1;
  return (v & 1) ^ 1;
}

/** True for a frame of one byte with 7 valid bits: REQA, WUPA and other short frames (no parity). */
export function isShortFrame(frame: TypeAFrame): boolean {
  return frame.bytes.length === 1 && frame.validBitsInLastByte === 7 && (frame.firstBit ?? 0) === 0;
}

function checkFrame(frame: unknown): asserts frame is TypeAFrame {
  if (typeof frame !== 'object' || frame === null) throw new TypeError('frame must be an object');
  const f = frame as TypeAFrame;
  if (!(f.bytes instanceof Uint8Array)) throw new TypeError('frame.bytes must be a Uint8Array');
  const v = f.validBitsInLastByte ?? 8;
  const o = f.firstBit ?? 0;
  if (!Number.isInteger(v) || v < 1 || v > 8)
    throw new RangeError(`frame.validBitsInLastByte must be 1..8, got ${v}`);
  if (!Number.isInteger(o) || o < 0 || o > 7) throw new RangeError(`frame.firstBit must be 0..7, got ${o}`);
  if (f.bytes.length === 1 && o > 0 && v < 8)
    throw new RangeError('a one-byte frame cannot both start and end inside its byte');
  if (f.bytes.length === 0 && (v !== 8 || o !== 0))
    throw new RangeError('an empty frame has no partial bytes');
}

/**
 * The frame's bits in transmission order, one per byte: each byte LSB first followed by its odd parity bit.
 * A short frame is its 7 bits alone; a partial last byte has no parity; a partial first byte (firstBit > 0)
 * sends its remaining bits and then the parity of the complete byte.
 */
export function typeABits(frame: TypeAFrame): Uint8Array {
  checkFrame(frame);
  const { bytes } = frame;
  if (isShortFrame(frame)) {
    const out = new Uint8Array(7);
    for (let k = 0; k < 7; k++) out[k] = (bytes[0]! >>> k) & 1;
    return out;
  }
  const last = bytes.length - 1;
  const v = frame.validBitsInLastByte ?? 8;
  const o = frame.firstBit ?? 0;
  const out: number[] = [];
  for (let i = 0; i <= last; i++) {
    const b = bytes[i]!;
    const from = i === 0 ? o : 0;
    const to = i === last ? v : 8;
    for (let k = from; k < to; k++) out.push((b >>> k) & 1);
    if (to === 8) out.push(oddParity(b));
  }
  return Uint8Array.from(out);
}

/** Number of coded bits of a frame (what the airtime formula of rf.md §8.1 counts). */
export function typeABitCount(frame: TypeAFrame): number {
  checkFrame(frame);
  if (isShortFrame(frame)) return 7;
  const n = frame.bytes.length;
  if (n === 0) return 0;
  const v = frame.validBitsInLastByte ?? 8;
  const o = frame.firstBit ?? 0;
  return 9 * n - o - (v < 8 ? 9 - v : 0);
}

/**
 * Bytes from received bits. 7 bits (with firstBit 0) are a short frame. Otherwise groups of 8 data bits
 * and a parity bit; a remainder of r < 9 bits is a last byte of r bits without parity (r = 8 marks its
 * parity as missing). With `firstBit` o the first group is 8 − o bits and a parity bit that is ignored
 * (rf.md §4.2: the reader ignores the parity of the split byte). Never throws on bit contents.
 */
export function typeAFromBits(bits: Uint8Array, opts: { firstBit?: number } = {}): TypeAFrameDecoded {
  if (!(bits instanceof Uint8Array)) throw new TypeError('bits must be a Uint8Array');
  const o = opts.firstBit ?? 0;
  if (!Number.isInteger(o) || o < 0 || o > 7) throw new RangeError(`opts.firstBit must be 0..7, got ${o}`);
  if (o === 0 && bits.length === 7) {
    let b = 0;
    for (let k = 0; k < 7; k++) b |= (bits[k]! & 1) << k;
    return { bytes: Uint8Array.of(b), validBitsInLastByte: 7, firstBit: 0, parityOk: [true] };
  }
  const bytes: number[] = [];
  const parityOk: boolean[] = [];
  let at = 0;
  let lastBits = 8;
  let first = true;
  while (at < bits.length) {
    const from = first ? o : 0;
    const avail = bits.length - at;
    const need = 8 - from;
    let b = 0;
    const take = Math.min(need, avail);
    for (let k = 0; k < take; k++) b |= (bits[at + k]! & 1) << (from + k);
    at += take;
    bytes.push(b);
    if (take < need) {
      lastBits = from + take;
      parityOk.push(true);
    } else if (at < bits.length) {
      const p = bits[at]! & 1;
      at += 1;
      parityOk.push(first && o > 0 ? true : p === oddParity(b));
    } else {
      // all 8 data bits but no parity bit
      parityOk.push(first && o > 0);
    }
    first = false;
  }
  return { bytes: Uint8Array.from(bytes), validBitsInLastByte: lastBits, firstBit: o, parityOk };
}

/** bytes ‖ CRC_A (low byte first). */
export function withCrcA(bytes: Uint8Array): Uint8Array {
  const c = crcA(bytes);
  return concatBytes(bytes, Uint8Array.of(c & 0xff, c >>> 8));
}

/** True when the last two bytes are the CRC_A of the others. */
export function crcAOk(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (bytes.length < 2) return false;
  const n = bytes.length - 2;
  return crcA(bytes.subarray(0, n)) === (bytes[n]! | (bytes[n + 1]! << 8));
}

/** Block check character: XOR of the 4 bytes of a cascade level. */
export function bcc(four: Uint8Array): number {
  if (!(four instanceof Uint8Array) || four.length !== 4) throw new RangeError('bcc needs 4 bytes');
  return four[0]! ^ four[1]! ^ four[2]! ^ four[3]!;
}

/**
 * The 4-byte parts of a UID per cascade level, each followed by its BCC (5 bytes): a single (4), double
 * (7) or triple (10) UID; every level but the last starts with the cascade tag 88.
 */
export function uidCascadeLevels(uid: Uint8Array): Uint8Array[] {
  if (!(uid instanceof Uint8Array)) throw new TypeError('uid must be a Uint8Array');
  if (uid.length !== 4 && uid.length !== 7 && uid.length !== 10)
    throw new RangeError(`uid must be 4, 7 or 10 bytes, got ${uid.length}`);
  const parts: Uint8Array[] = [];
  let rest = uid;
  while (rest.length > 4) {
    parts.push(Uint8Array.of(CASCADE_TAG, rest[0]!, rest[1]!, rest[2]!));
    rest = rest.subarray(3);
  }
  parts.push(rest.slice(0, 4));
  return parts.map((p) => Uint8Array.of(...p, bcc(p)));
}

/** NVB for `knownBits` UID bits after SEL and NVB: high nibble whole bytes (SEL, NVB included), low extra bits. */
export function nvb(knownBits: number): number {
  if (!Number.isInteger(knownBits) || knownBits < 0 || knownBits > 40)
    throw new RangeError(`knownBits must be 0..40, got ${knownBits}`);
  return ((2 + (knownBits >>> 3)) << 4) | (knownBits & 7);
}

/**
 * The reader's anticollision frame `SEL NVB UID-bits` with `knownBits` (0..39) bits of the 5-byte level
 * `uidCl` (UID part and BCC); no CRC. 40 known bits give the SELECT frame, use `selectFrame` for it.
 */
export function anticollisionFrame(sel: number, uidCl: Uint8Array, knownBits: number): TypeAFrame {
  if (!(uidCl instanceof Uint8Array) || uidCl.length !== 5) throw new RangeError('uidCl must be 5 bytes');
  if (knownBits >= 40) throw new RangeError('knownBits must be below 40 for an anticollision frame');
  const whole = knownBits >>> 3;
  const extra = knownBits & 7;
  const bytes = new Uint8Array(2 + whole + (extra > 0 ? 1 : 0));
  bytes[0] = sel;
  bytes[1] = nvb(knownBits);
  bytes.set(uidCl.subarray(0, whole), 2);
  if (extra > 0) bytes[2 + whole] = uidCl[whole]! & ((1 << extra) - 1);
  return extra > 0 ? { bytes, validBitsInLastByte: extra } : { bytes };
}

/** The card's answer to an anticollision frame that carried `knownBits` bits: the remaining bits of `uidCl`. */
export function anticollisionAnswer(uidCl: Uint8Array, knownBits: number): TypeAFrame {
  if (!(uidCl instanceof Uint8Array) || uidCl.length !== 5) throw new RangeError('uidCl must be 5 bytes');
  if (!Number.isInteger(knownBits) || knownBits < 0 || knownBits >= 40)
    throw new RangeError(`knownBits must be 0..39, got ${knownBits}`);
  const bytes = uidCl.slice(knownBits >>> 3);
  const o = knownBits & 7;
  return o > 0 ? { bytes, firstBit: o } : { bytes };
}

/** SELECT: `SEL 70 UID0..3 BCC` with CRC_A. */
export function selectFrame(sel: number, uidCl: Uint8Array): Uint8Array {
  if (!(uidCl instanceof Uint8Array) || uidCl.length !== 5) throw new RangeError('uidCl must be 5 bytes');
  return withCrcA(Uint8Array.of(sel, 0x70, ...uidCl));
}

/** ATQA UID-size bits (byte 0 bits 8–7): 0 single, 1 double, 2 triple. */
export function atqaUidSize(atqa0: number): 'single' | 'double' | 'triple' | 'rfu' {
  return (['single', 'double', 'triple', 'rfu'] as const)[(atqa0 >>> 6) & 3]!;
}
