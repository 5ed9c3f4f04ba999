// The card→reader and Type B codes (rf.md §5.4–§5.6): Manchester on the fc/16 OOK subcarrier (Type A,
// sequences D = 10, E = 01, F = 00, collision C = 11), NRZ-L and BPSK (Type B, chip 1 = logic 0).
import { makeStream, unpackChips, type ChipStream } from './chips';

export const OOK_CHIP_FC = 64;
export const ETU_FC = 128;

/** Sequence letters: SoF D, one letter per bit, then F. */
export function ookSequences(bits: Uint8Array): string {
  let s = 'D';
  for (let i = 0; i < bits.length; i++) s += bits[i]! & 1 ? 'D' : 'E';
  return `${s}F`;
}

export function encodeOok(bits: Uint8Array): ChipStream {
  const chips = new Uint8Array((bits.length + 2) * 2);
  chips[0] = 1;
  for (let i = 0; i < bits.length; i++) chips[2 + 2 * i + ((bits[i]! & 1) ^ 1)] = 1;
  return makeStream('ook-sc-a', OOK_CHIP_FC, chips);
}

export function ookLettersOf(stream: ChipStream): string {
  const c = unpackChips(stream.value, stream.length);
  let s = '';
  for (let i = 0; i + 2 <= c.length; i += 2) s += 'FEDC'[(c[i]! << 1) | c[i + 1]!]!;
  return s;
}

export interface OokDecoded {
  readonly bits: Uint8Array;
  readonly violations: number[];
  /** Bit indexes (data and parity bits counted together) that arrived as C; their bit is taken as 1. */
  readonly collisions: number[];
  readonly polarity: 'normal';
  readonly ended: boolean;
}

/** Letters → bits, from the SoF D (idle F before it skipped) to the first F. */
export function decodeOokLetters(letters: string): OokDecoded {
  let i = 0;
  while (i < letters.length && letters[i] === 'F') i++;
  const violations: number[] = [];
  const collisions: number[] = [];
  const bits: number[] = [];
  if (i >= letters.length)
    return { bits: new Uint8Array(0), violations, collisions, polarity: 'normal', ended: false };
  if (letters[i] !== 'D') violations.push(0);
  let ended = false;
  for (i++; i < letters.length; i++) {
    const l = letters[i]!;
    if (l === 'F') {
      ended = true;
      break;
    }
    if (l === 'C') collisions.push(bits.length);
    bits.push(l === 'E' ? 0 : 1);
  }
  return { bits: Uint8Array.from(bits), violations, collisions, polarity: 'normal', ended };
}

export function decodeOok(stream: ChipStream): OokDecoded {
  return decodeOokLetters(ookLettersOf(stream));
}

/** NRZ-L (reader→card) or BPSK (card→reader): one chip per etu, chip = 1 − logic level. */
export function encodeEtuLevels(code: 'nrz-b' | 'bpsk-sc-b', levels: Uint8Array): ChipStream {
  const chips = new Uint8Array(levels.length);
  for (let i = 0; i < levels.length; i++) chips[i] = (levels[i]! & 1) ^ 1;
  return makeStream(code, ETU_FC, chips);
}

/** Logic levels of a Type B stream; with `active`, decoding stops at the first chip without subcarrier. */
export function decodeEtuLevels(stream: ChipStream): {
  bits: Uint8Array;
  violations: number[];
  polarity: 'normal';
} {
  const c = unpackChips(stream.value, stream.length);
  const n = c.length;
  if (stream.active !== undefined) {
    const a = unpackChips(stream.active, stream.length);
    let first = a.indexOf(1);
    if (first < 0) first = n;
    let end = first;
    while (end < n && a[end] === 1) end++;
    return { bits: c.subarray(first, end).map((x) => x ^ 1), violations: [], polarity: 'normal' };
  }
  const bits = new Uint8Array(n);
  for (let i = 0; i < n; i++) bits[i] = c[i]! ^ 1;
  return { bits, violations: [], polarity: 'normal' };
}
