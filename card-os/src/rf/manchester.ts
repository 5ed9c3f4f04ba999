// Type F Manchester line code (rf.md §5.2): bit 1 → chips 10, bit 0 → 01, optional differential
// conversion, polarity detection by the sync word, and a packed table-driven fast path.
import { makeStream, unpackChips, type ChipStream } from './chips';

export type FelicaRate = 212 | 424;

/** Chip duration (half a bit) in carrier cycles. */
export function manchesterChipFc(rate: FelicaRate): number {
  if (rate !== 212 && rate !== 424) throw new RangeError(`rate must be 212 or 424, got ${String(rate)}`);
  return rate === 212 ? 32 : 16;
}

/** 16 chips (MSB first) per byte value. */
export const MANCHESTER_WORD = (() => {
  const t = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    let w = 0;
    for (let k = 7; k >= 0; k--) w = (w << 2) | ((b >>> k) & 1 ? 0b10 : 0b01);
    t[b] = w;
  }
  return t;
})();

/** Byte value of a 16-chip word, or −1 when a chip pair is 00 or 11 (not Manchester). */
export const MANCHESTER_BYTE = (() => {
  const t = new Int16Array(65536).fill(-1);
  for (let b = 0; b < 256; b++) t[MANCHESTER_WORD[b]!] = b;
  return t;
})();

/** Fast path: bytes → packed chips, two bytes of chips per byte, through the 256-entry table. */
export function manchesterPack(bytes: Uint8Array, out = new Uint8Array(bytes.length * 2)): Uint8Array {
  for (let i = 0; i < bytes.length; i++) {
    const w = MANCHESTER_WORD[bytes[i]!]!;
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 0xff;
  }
  return out;
}

/**
 * Fast path: packed chips → bytes through the 65 536-entry table, starting `chipOffset` chips into `packed`
 * (any alignment). `bad` counts bytes holding a non-Manchester chip pair (their value is taken as 0).
 */
export function manchesterUnpack(
  packed: Uint8Array,
  byteCount: number,
  chipOffset = 0,
  out = new Uint8Array(byteCount),
): { bytes: Uint8Array; bad: number } {
  let bad = 0;
  const shift = chipOffset & 7;
  let at = chipOffset >>> 3;
  for (let i = 0; i < byteCount; i++, at += 2) {
    let w: number;
    if (shift === 0) w = (packed[at]! << 8) | packed[at + 1]!;
    else
      w = (((packed[at]! << 16) | (packed[at + 1]! << 8) | (packed[at + 2] ?? 0)) >>> (8 - shift)) & 0xffff;
    const b = MANCHESTER_BYTE[w]!;
    if (b < 0) {
      bad++;
      out[i] = 0;
    } else out[i] = b;
  }
  return { bytes: out, bad };
}

/** Differential conversion: d_i = b_i XOR d_(i−1), d_(−1) = 0. */
export function differentialEncode(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(bits.length);
  let d = 0;
  for (let i = 0; i < bits.length; i++) out[i] = d ^= bits[i]! & 1;
  return out;
}

/** Inverse of the differential conversion: b_i = d_i XOR d_(i−1), d_(−1) = 0. */
export function differentialDecode(d: Uint8Array): Uint8Array {
  const out = new Uint8Array(d.length);
  let prev = 0;
  for (let i = 0; i < d.length; i++) {
    out[i] = (d[i]! ^ prev) & 1;
    prev = d[i]! & 1;
  }
  return out;
}

export function encodeManchester(
  bits: Uint8Array,
  opts: { rate?: FelicaRate; diff?: boolean } = {},
): ChipStream {
  const src = opts.diff ? differentialEncode(bits) : bits;
  const chips = new Uint8Array(src.length * 2);
  for (let i = 0; i < src.length; i++) {
    const b = src[i]! & 1;
    chips[2 * i] = b;
    chips[2 * i + 1] = b ^ 1;
  }
  return makeStream('manchester-f', manchesterChipFc(opts.rate ?? 212), chips);
}

const SYNC_BITS = [1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1];

/** Index of the first bit of the first B24D (inverted: 4DB2) in a bit string, or −1. */
export function findSync(bits: Uint8Array, inverted: boolean, from = 0): number {
  const x = inverted ? 1 : 0;
  outer: for (let i = from; i + 16 <= bits.length; i++) {
    for (let k = 0; k < 16; k++) if ((bits[i + k]! ^ x) !== SYNC_BITS[k]) continue outer;
    return i;
  }
  return -1;
}

export interface ManchesterDecoded {
  readonly bits: Uint8Array;
  /** Bit indexes whose chip pair was 00 or 11 (bit taken from the first chip). */
  readonly violations: number[];
  readonly polarity: 'normal' | 'inverted';
}

/**
 * Chips → bits. Polarity: `auto` (default) decodes as inverted when 4DB2 occurs before any B24D, so the
 * complement of a valid stream gives the same bits; with `diff` the differential decoding makes polarity
 * irrelevant and only `normal` is reported.
 */
export function decodeManchester(
  stream: ChipStream,
  opts: { diff?: boolean; polarity?: 'auto' | 'normal' | 'inverted' } = {},
): ManchesterDecoded {
  const chips = unpackChips(stream.value, stream.length);
  const n = stream.length >>> 1;
  const raw = new Uint8Array(n);
  const violations: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = chips[2 * i]!;
    raw[i] = a;
    if (a === chips[2 * i + 1]) violations.push(i);
  }
  if (opts.diff) return { bits: differentialDecode(raw), violations, polarity: 'normal' };
  let inverted = opts.polarity === 'inverted';
  if ((opts.polarity ?? 'auto') === 'auto') {
    const normal = findSync(raw, false);
    const inv = findSync(raw, true);
    inverted = inv >= 0 && (normal < 0 || inv < normal);
  }
  if (inverted) for (let i = 0; i < n; i++) raw[i]! ^= 1;
  return { bits: raw, violations, polarity: inverted ? 'inverted' : 'normal' };
}

const SYNC_CHIPS = 0x9a5965a6; // B2 4D as Manchester chips

/**
 * Fast path for the benchmarks and `level=chips` links: finds the sync word in packed chips at any chip
 * offset (either polarity) and decodes LEN ‖ data ‖ CRC through the 65 536-entry table. Returns undefined
 * when no sync word is found or the stream ends early; `bad` counts bytes with a non-Manchester chip pair.
 */
export function decodeFelicaChips(
  packed: Uint8Array,
  length: number,
): { body: Uint8Array; bad: number; inverted: boolean } | undefined {
  // Streams straight from the coder are byte-aligned: look there first, a byte at a time.
  const bytes = length >>> 3;
  for (let b = 0; b + 3 < bytes; b++) {
    if (packed[b] === 0x9a && packed[b + 1] === 0x59 && packed[b + 2] === 0x65 && packed[b + 3] === 0xa6) {
      const at = 8 * (b + 4);
      if (at + 16 > length) return undefined;
      const len = manchesterUnpack(packed, 1, at).bytes[0]!;
      const n = Math.max(1, len) + 2;
      if (at + 16 * n > length) return undefined;
      const { bytes: body, bad } = manchesterUnpack(packed, n, at);
      return { body, bad, inverted: false };
    }
    if (packed[b] !== 0x55 && packed[b] !== 0xaa) break; // past the preamble: use the chip-by-chip search
  }
  let reg = 0;
  for (let i = 0; i < length; i++) {
    reg = ((reg << 1) | ((packed[i >>> 3]! >>> (7 - (i & 7))) & 1)) >>> 0;
    if (i < 31 || (reg !== SYNC_CHIPS && reg !== ~SYNC_CHIPS >>> 0)) continue;
    const inverted = reg !== SYNC_CHIPS;
    const src = inverted ? packed.map((b) => b ^ 0xff) : packed;
    const at = i + 1;
    if (at + 16 > length) return undefined;
    const len = manchesterUnpack(src, 1, at).bytes[0]!;
    const n = Math.max(1, len) + 2;
    if (at + 16 * n > length) return undefined;
    const { bytes, bad } = manchesterUnpack(src, n, at);
    return { body: bytes, bad, inverted };
  }
  return undefined;
}
