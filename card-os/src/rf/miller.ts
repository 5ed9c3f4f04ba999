// Type A reader→card modified Miller code (rf.md §5.3): sequences X = 0010, Y = 0000, Z = 1000 of four
// 32/fc chips (chip 1 = pause); start of frame Z, end of frame logic 0 then Y.
import { makeStream, unpackChips, type ChipStream } from './chips';

export const MILLER_CHIP_FC = 32;

const SEQ_CHIPS = { X: [0, 0, 1, 0], Y: [0, 0, 0, 0], Z: [1, 0, 0, 0] } as const;

/** Sequence letters of a frame: SoF Z, one letter per bit, the end-of-frame logic 0, and the final Y. */
export function millerSequences(bits: Uint8Array): string {
  let s = 'Z';
  let prev = 0;
  const letter = (b: number): string => {
    const l = b ? 'X' : prev === 0 ? 'Z' : 'Y';
    prev = b;
    return l;
  };
  for (let i = 0; i < bits.length; i++) s += letter(bits[i]! & 1);
  return `${s}${letter(0)}Y`;
}

export function encodeMiller(bits: Uint8Array): ChipStream {
  const seq = millerSequences(bits);
  const chips = new Uint8Array(seq.length * 4);
  for (let i = 0; i < seq.length; i++) chips.set(SEQ_CHIPS[seq[i] as 'X' | 'Y' | 'Z'], 4 * i);
  return makeStream('miller-a', MILLER_CHIP_FC, chips);
}

/** The letter of four chips, or `?` for any other pattern (coding violation). */
export function millerLetter(c0: number, c1: number, c2: number, c3: number): 'X' | 'Y' | 'Z' | '?' {
  const v = (c0 << 3) | (c1 << 2) | (c2 << 1) | c3;
  return v === 0b0010 ? 'X' : v === 0 ? 'Y' : v === 0b1000 ? 'Z' : '?';
}

export interface MillerDecoded {
  readonly bits: Uint8Array;
  /** Bit indexes with a coding violation (a pattern that is no sequence, or Z directly after X). */
  readonly violations: number[];
  readonly polarity: 'normal';
  /** True when the end of frame (Y after a logic 0) was seen. */
  readonly ended: boolean;
}

/** Sequence letters → bits, from the SoF (idle Y before it skipped) to the end of frame. */
export function decodeMillerLetters(letters: string): MillerDecoded {
  let i = 0;
  while (i < letters.length && letters[i] === 'Y') i++;
  const violations: number[] = [];
  const bits: number[] = [];
  if (i >= letters.length) return { bits: new Uint8Array(0), violations, polarity: 'normal', ended: false };
  if (letters[i] !== 'Z') violations.push(0);
  i++;
  let prev = 0;
  let prevLetter = 'Z';
  let ended = false;
  for (; i < letters.length; i++) {
    const l = letters[i]!;
    if (l === 'Y' && prev === 0) {
      ended = true;
      break;
    }
    if (l === '?' || (l === 'Z' && prevLetter === 'X')) violations.push(bits.length);
    const b = l === 'X' ? 1 : 0;
    bits.push(b);
    prev = b;
    prevLetter = l;
  }
  // The last logic 0 before the final Y belongs to the end of frame.
  if (ended) bits.pop();
  return { bits: Uint8Array.from(bits), violations, polarity: 'normal', ended };
}

export function millerLettersOf(stream: ChipStream): string {
  const c = unpackChips(stream.value, stream.length);
  let s = '';
  for (let i = 0; i + 4 <= c.length; i += 4) s += millerLetter(c[i]!, c[i + 1]!, c[i + 2]!, c[i + 3]!);
  return s;
}

export function decodeMiller(stream: ChipStream): MillerDecoded {
  return decodeMillerLetters(millerLettersOf(stream));
}
