// Parsing of CLI argument values (hex with spaces and either case, integers, BCD dates).
import { hexToBytes } from '@mica/apdu-specs/hex';
import { UsageError } from './cli-error';

export function hexArg(text: string, what: string, lengths?: readonly number[]): Uint8Array {
  let b: Uint8Array;
  try {
    b = hexToBytes(text, what);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (lengths && !lengths.includes(b.length))
    throw new UsageError(`${what} must be ${lengths.join(' or ')} bytes, got ${b.length}`);
  return b;
}

export function intArg(text: string, what: string, min: number, max: number): number {
  const t = text.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${what} must be an integer from ${min} to ${max}, got "${text}"`);
  return n;
}

export function codeArg(text: string, what: string): number {
  const b = hexArg(text, what, [2]);
  return (b[0]! << 8) | b[1]!;
}

/** A date YYYYMMDD as the BCD integer stored on the chip. */
export function dateArg(text: string, what: string): number {
  if (!/^\d{8}$/.test(text)) throw new UsageError(`${what} must be a date YYYYMMDD, got "${text}"`);
  return parseInt(text, 16);
}

/** Today as BCD YYYYMMDD (the CLI reads the clock; card-os never does). */
export function todayBcd(now = new Date()): number {
  const s = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}${String(now.getUTCDate()).padStart(2, '0')}`;
  return parseInt(s, 16);
}
