// ISO/IEC 14443-3 Type B frames (rf.md §4.3): characters with start and stop bits, SOF/EOF, CRC_B, as logic levels.
import { crcB } from '../crc';
import { concatBytes } from '../hex';
import { frameError, type FrameError } from './frame-error';

/** mica defaults (rf.md §4.3, §5.6): SOF 10 etu low + 2 high, EOF 10 low, EGT 0, TR1 10 etu. */
export const TYPE_B_DEFAULTS = Object.freeze({ sofLow: 10, sofHigh: 2, eof: 10, egt: 0, tr1: 10 } as const);

export interface TypeBFraming {
  /** SOF low part, 10 or 11 etu. */
  readonly sofLow?: number;
  /** SOF high part, 2 or 3 etu. */
  readonly sofHigh?: number;
  /** EOF, 10 or 11 etu. */
  readonly eof?: number;
  /** Extra guard time between characters (logic 1), etu. */
  readonly egt?: number;
  /** Card→reader only: etu of unmodulated subcarrier (logic 1) before the SOF; 0 for reader→card. */
  readonly tr1?: number;
}

function intIn(v: number, lo: number, hi: number, name: string): number {
  if (!Number.isInteger(v) || v < lo || v > hi)
    throw new RangeError(`${name} must be ${lo}..${hi}, got ${v}`);
  return v;
}

/** Logic levels of the characters only: per byte start 0, 8 data bits LSB first, stop 1 (and EGT ones). */
export function typeBChars(bytes: Uint8Array, egt = 0): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  intIn(egt, 0, 64, 'egt');
  const n = bytes.length;
  const out = new Uint8Array(Math.max(0, 10 * n + egt * (n - 1)));
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0) out.fill(1, at, (at += egt));
    const b = bytes[i]!;
    out[at++] = 0;
    for (let k = 0; k < 8; k++) out[at++] = (b >>> k) & 1;
    out[at++] = 1;
  }
  return out;
}

/** Whole frame as logic levels: [TR1 ones] ‖ SOF ‖ characters ‖ EOF. */
export function typeBFrameLevels(bytes: Uint8Array, framing: TypeBFraming = {}): Uint8Array {
  const d = TYPE_B_DEFAULTS;
  const sofLow = intIn(framing.sofLow ?? d.sofLow, 10, 11, 'sofLow');
  const sofHigh = intIn(framing.sofHigh ?? d.sofHigh, 2, 3, 'sofHigh');
  const eof = intIn(framing.eof ?? d.eof, 10, 11, 'eof');
  const tr1 = intIn(framing.tr1 ?? 0, 0, 1024, 'tr1');
  const chars = typeBChars(bytes, framing.egt ?? d.egt);
  const out = new Uint8Array(tr1 + sofLow + sofHigh + chars.length + eof);
  out.fill(1, 0, tr1);
  out.fill(1, tr1 + sofLow, tr1 + sofLow + sofHigh);
  out.set(chars, tr1 + sofLow + sofHigh);
  return out;
}

export interface TypeBDecoded {
  readonly bytes: Uint8Array;
  /** Index of the level where the SOF starts. */
  readonly sofAt: number;
  /** Index just after the EOF. */
  readonly endAt: number;
}

/**
 * Bytes from logic levels: skips leading ones (idle, TR1), needs a SOF of 10–11 zeros and 2–3 ones, then
 * characters (start 0, stop 1, any number of EGT ones between them) until an EOF of 10–11 zeros.
 * A character with a bad stop bit is `bad-parity` (the framing error of a character; `at` = its index).
 */
export function typeBFromLevels(levels: Uint8Array): TypeBDecoded | FrameError {
  if (!(levels instanceof Uint8Array)) throw new TypeError('levels must be a Uint8Array');
  let i = 0;
  const n = levels.length;
  while (i < n && levels[i] === 1) i++;
  const sofAt = i;
  if (i >= n) return frameError('truncated', 0);
  let low = 0;
  while (i < n && levels[i] === 0) {
    i++;
    low++;
  }
  if (i >= n) return frameError('truncated', 0);
  if (low < 10 || low > 11) return frameError('bad-length', sofAt);
  let high = 0;
  while (i < n && levels[i] === 1) {
    i++;
    high++;
  }
  if (i >= n) return frameError('truncated', 0);
  if (high < 2 || high > 3) return frameError('bad-length', sofAt + low);
  const bytes: number[] = [];
  for (;;) {
    while (i < n && levels[i] === 1) i++; // EGT
    if (i + 10 > n) return frameError('truncated', bytes.length);
    let b = 0;
    for (let k = 0; k < 8; k++) b |= (levels[i + 1 + k]! & 1) << k;
    const stop = levels[i + 9]!;
    if (stop !== 1) {
      if (b !== 0) return frameError('bad-parity', bytes.length);
      // EOF: 10 or 11 zeros
      const endAt = i + 10 < n && levels[i + 10] === 0 ? i + 11 : i + 10;
      return { bytes: Uint8Array.from(bytes), sofAt, endAt };
    }
    bytes.push(b);
    i += 10;
  }
}

/** bytes ‖ CRC_B (low byte first). */
export function withCrcB(bytes: Uint8Array): Uint8Array {
  const c = crcB(bytes);
  return concatBytes(bytes, Uint8Array.of(c & 0xff, c >>> 8));
}

/** True when the last two bytes are the CRC_B of the others. */
export function crcBOk(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (bytes.length < 2) return false;
  const n = bytes.length - 2;
  return crcB(bytes.subarray(0, n)) === (bytes[n]! | (bytes[n + 1]! << 8));
}
