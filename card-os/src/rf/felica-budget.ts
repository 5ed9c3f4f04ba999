// The FeliCa response-time budget from PMm (rf.md §8.4): T = T_u · ((B + 1) · n + A + 1) · 4^E, exactly
// in carrier cycles, with the PMm byte each command uses and its n.
import { TU_FC } from './timing';

/** Which PMm byte (0-based; bytes 0–1 are the IC code) governs a command code. */
export function pmmByteFor(command: number): number {
  if (!Number.isInteger(command) || command < 0 || command > 0xff)
    throw new RangeError(`command must be a byte, got ${command}`);
  switch (command) {
    case 0x00:
      throw new RangeError('Polling (00) is governed by the time slots, not by PMm');
    case 0x02:
    case 0x32:
      return 2;
    case 0x04:
    case 0x0a:
    case 0x0c:
      return 3;
    case 0x10:
    case 0x12:
    case 0x40:
    case 0x42:
      return 4;
    case 0x06:
    case 0x14:
    case 0x44:
      return 5;
    case 0x08:
    case 0x16:
    case 0x46:
      return 6;
    default:
      return 7;
  }
}

/** T for one budget byte and n: T_u · ((B + 1) · n + A + 1) · 4^E, A = bits 2–0, B = bits 5–3, E = bits 7–6. */
export function budgetFromByte(byte: number, n: number): number {
  if (!Number.isInteger(byte) || byte < 0 || byte > 0xff)
    throw new RangeError(`byte must be a byte, got ${byte}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  const a = byte & 7;
  const b = (byte >>> 3) & 7;
  const e = byte >>> 6;
  return TU_FC * ((b + 1) * n + a + 1) * 4 ** e;
}

/** The budget of `command` with `n` (nodes or blocks, rf.md §8.4 table) from an 8-byte PMm. */
export function felicaBudgetFc(pmm: Uint8Array, command: number, n: number): number {
  if (!(pmm instanceof Uint8Array) || pmm.length !== 8) throw new RangeError('pmm must be 8 bytes');
  return budgetFromByte(pmm[pmmByteFor(command)]!, n);
}

/**
 * n for a command frame `LEN code IDm …` where the frame fixes it: node codes of Request Service (02, 32),
 * blocks of Read/Write Without Encryption (06, 08); 0 for the commands rf.md gives n = 0 (mica's choice for
 * 04, 0A, 0C and "other"); undefined when the frame is too short or the caller must say (10, 14, 16, 44, 46).
 */
export function felicaBudgetN(frame: Uint8Array): number | undefined {
  if (!(frame instanceof Uint8Array)) throw new TypeError('frame must be a Uint8Array');
  const code = frame[1];
  if (code === undefined || code === 0x00) return undefined;
  if (code === 0x02 || code === 0x32) return frame[10];
  if (code === 0x06 || code === 0x08) {
    const m = frame[10];
    return m === undefined ? undefined : frame[11 + 2 * m];
  }
  return pmmByteFor(code) === 3 || pmmByteFor(code) === 7 ? 0 : undefined;
}
