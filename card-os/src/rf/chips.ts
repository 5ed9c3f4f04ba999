// Chip streams (rf.md §5.1): the smallest time slots of a line code, packed one bit per chip, MSB first.

export type ChipCode = 'manchester-f' | 'miller-a' | 'ook-sc-a' | 'nrz-b' | 'bpsk-sc-b';

export const CHIP_CODES: readonly ChipCode[] = Object.freeze([
  'manchester-f',
  'miller-a',
  'ook-sc-a',
  'nrz-b',
  'bpsk-sc-b',
] as const);

export interface ChipStream {
  readonly code: ChipCode;
  /** Chip duration in carrier cycles. */
  readonly chipFc: number;
  /** Number of chips. */
  readonly length: number;
  /** Packed, MSB first. */
  readonly value: Uint8Array;
  /** Packed; only `bpsk-sc-b`: 0 = no subcarrier. Absent = subcarrier on for every chip. */
  readonly active?: Uint8Array;
}

/** Chips per bit (per etu for Type A/B) of each code. */
export const CHIPS_PER_BIT: Readonly<Record<ChipCode, number>> = Object.freeze({
  'manchester-f': 2,
  'miller-a': 4,
  'ook-sc-a': 2,
  'nrz-b': 1,
  'bpsk-sc-b': 1,
});

/** Carrier cycles of one bit (Type F) or one etu (Type A/B): 64 (212 kbps), 32 (424 kbps), 128 (106 kbps). */
export function bitFcOf(stream: Pick<ChipStream, 'code' | 'chipFc'>): number {
  return stream.chipFc * CHIPS_PER_BIT[stream.code];
}

export function isChipCode(v: unknown): v is ChipCode {
  return typeof v === 'string' && (CHIP_CODES as readonly string[]).includes(v);
}

/** Packs one-chip-per-byte values (0/1), MSB first. */
export function packChips(values: Uint8Array): Uint8Array {
  const out = new Uint8Array((values.length + 7) >>> 3);
  for (let i = 0; i < values.length; i++) if (values[i]! & 1) out[i >>> 3]! |= 0x80 >>> (i & 7);
  return out;
}

/** One byte (0/1) per chip. */
export function unpackChips(packed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (packed[i >>> 3]! >>> (7 - (i & 7))) & 1;
  return out;
}

export function chipAt(packed: Uint8Array, i: number): number {
  return (packed[i >>> 3]! >>> (7 - (i & 7))) & 1;
}

export function makeStream(
  code: ChipCode,
  chipFc: number,
  values: Uint8Array,
  active?: Uint8Array,
): ChipStream {
  const base = { code, chipFc, length: values.length, value: packChips(values) };
  return active === undefined ? base : { ...base, active: packChips(active) };
}

/** "0110…" of a stream, cut to `max` chips (with a trailing "…") when longer. */
export function chipString(stream: ChipStream, max = Infinity): string {
  const n = Math.min(stream.length, max);
  let s = '';
  for (let i = 0; i < n; i++) s += chipAt(stream.value, i) ? '1' : '0';
  return n < stream.length ? `${s}…` : s;
}

/** A stream from "0110…" (spaces and `|` ignored). */
export function streamFromString(code: ChipCode, chipFc: number, text: string): ChipStream {
  if (typeof text !== 'string') throw new TypeError('chips must be a string');
  const clean = text.replace(/[\s|]+/g, '');
  if (!/^[01]*$/.test(clean)) throw new RangeError(`chips must hold only 0 and 1, got "${text}"`);
  const values = new Uint8Array(clean.length);
  for (let i = 0; i < clean.length; i++) values[i] = clean.charCodeAt(i) - 48;
  return makeStream(code, chipFc, values);
}

/** The complement of a stream (polarity inversion; `active` unchanged). */
export function invertStream(stream: ChipStream): ChipStream {
  const value = stream.value.map((b) => b ^ 0xff);
  const spare = value.length * 8 - stream.length;
  if (spare > 0) value[value.length - 1]! &= (0xff << spare) & 0xff;
  return { ...stream, value };
}
