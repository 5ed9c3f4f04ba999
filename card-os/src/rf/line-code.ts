// The L2 line-coding interface (rf.md §5.7): bits (one per byte, transmission order) ⇄ chip streams for
// every code, and the sequence letters of the Type A codes.
import { makeStream, type ChipCode, type ChipStream } from './chips';
import { decodeManchester, encodeManchester, type FelicaRate } from './manchester';
import { decodeMillerLetters, encodeMiller, millerLettersOf, MILLER_CHIP_FC } from './miller';
import {
  decodeEtuLevels,
  decodeOokLetters,
  encodeEtuLevels,
  encodeOok,
  ookLettersOf,
  OOK_CHIP_FC,
} from './subcarrier-codes';

export type { ChipCode, ChipStream } from './chips';

export interface EncodeChipsOpts {
  /** Type F bit rate (default 212). */
  readonly rate?: FelicaRate;
  /** Type F differential conversion (rf.md §5.2; not FeliCa-compatible). */
  readonly diff?: boolean;
}

export interface DecodeChipsOpts {
  readonly diff?: boolean;
  /** Type F: `auto` (default) detects inversion by the sync word. */
  readonly polarity?: 'auto' | 'normal' | 'inverted';
}

export interface ChipsDecoded {
  readonly bits: Uint8Array;
  /** Bit indexes with a coding violation. */
  readonly violations: number[];
  readonly polarity: 'normal' | 'inverted';
  /** Type A card→reader: bit indexes that arrived as C (two cards sending different bits). */
  readonly collisions?: number[];
  /** Type A: the end-of-frame pattern was seen. */
  readonly ended?: boolean;
}

function checkBits(bits: unknown): asserts bits is Uint8Array {
  if (!(bits instanceof Uint8Array)) throw new TypeError('bits must be a Uint8Array');
  for (let i = 0; i < bits.length; i++)
    if (bits[i]! > 1) throw new RangeError(`bits must hold 0 or 1 per byte, got ${bits[i]!} at ${i}`);
}

/**
 * Bits → chips. Type A codes add their start and end of frame (Miller: SoF Z, logic 0, Y; OOK: SoF D,
 * EoF F); Manchester and the Type B codes code exactly the bits given (preamble, SOF, EOF, TR1 are bits).
 */
export function encodeChips(code: ChipCode, bits: Uint8Array, opts: EncodeChipsOpts = {}): ChipStream {
  checkBits(bits);
  switch (code) {
    case 'manchester-f':
      return encodeManchester(bits, opts);
    case 'miller-a':
      return encodeMiller(bits);
    case 'ook-sc-a':
      return encodeOok(bits);
    case 'nrz-b':
    case 'bpsk-sc-b':
      return encodeEtuLevels(code, bits);
    default:
      throw new RangeError(`unknown line code "${String(code)}"`);
  }
}

/** Chips → bits; the inverse of `encodeChips` for aligned streams. Never throws on chip contents. */
export function decodeChips(stream: ChipStream, opts: DecodeChipsOpts = {}): ChipsDecoded {
  if (typeof stream !== 'object' || stream === null || !(stream.value instanceof Uint8Array))
    throw new TypeError('stream must be a ChipStream');
  switch (stream.code) {
    case 'manchester-f':
      return decodeManchester(stream, opts);
    case 'miller-a':
      return decodeMillerLetters(millerLettersOf(stream));
    case 'ook-sc-a':
      return decodeOokLetters(ookLettersOf(stream));
    case 'nrz-b':
    case 'bpsk-sc-b':
      return decodeEtuLevels(stream);
    default:
      throw new RangeError(`unknown line code "${String(stream.code)}"`);
  }
}

/** Type A sequence letters of a stream (X/Y/Z or D/E/F/C; `?` for a pattern that is none of them). */
export function sequencesOf(stream: ChipStream): string {
  if (stream.code === 'miller-a') return millerLettersOf(stream);
  if (stream.code === 'ook-sc-a') return ookLettersOf(stream);
  throw new RangeError(`sequence letters exist only for miller-a and ook-sc-a, not ${stream.code}`);
}

const LETTER_CHIPS: Readonly<Record<string, readonly number[]>> = {
  X: [0, 0, 1, 0],
  Y: [0, 0, 0, 0],
  Z: [1, 0, 0, 0],
  D: [1, 0],
  E: [0, 1],
  F: [0, 0],
  C: [1, 1],
};

/** A stream from sequence letters (spaces ignored): XYZ for miller-a, DEFC for ook-sc-a. */
export function streamFromSequences(code: 'miller-a' | 'ook-sc-a', letters: string): ChipStream {
  const allowed = code === 'miller-a' ? 'XYZ' : 'DEFC';
  const clean = letters.replace(/\s+/g, '');
  const chips: number[] = [];
  for (const l of clean) {
    if (!allowed.includes(l))
      throw new RangeError(`sequence letter "${l}" is not one of ${allowed} (${code})`);
    chips.push(...LETTER_CHIPS[l]!);
  }
  return makeStream(code, code === 'miller-a' ? MILLER_CHIP_FC : OOK_CHIP_FC, Uint8Array.from(chips));
}
