// The three CRC-16s of the air interfaces: CRC_A and CRC_B (ISO/IEC 14443-3) and the FeliCa frame CRC.
//
// Each function takes an optional `previous` value, the CRC returned for the bytes before `data`, so a
// CRC can run over several pieces: crcX(b, crcX(a)) === crcX(a ‖ b). Its default is the CRC of no bytes.

export type CrcAlgorithm = 'crc-a' | 'crc-b' | 'felica';

export const CRC_ALGORITHMS: readonly CrcAlgorithm[] = Object.freeze(['crc-a', 'crc-b', 'felica'] as const);

/** CRC of the empty message, i.e. the `previous` value to start from. */
export const CRC_INITIAL = Object.freeze({ 'crc-a': 0x6363, 'crc-b': 0x0000, felica: 0x0000 } as const);

// CRC_A and CRC_B share the reflected polynomial 0x8408 (they differ in initial value and final XOR),
// so they share one byte-at-a-time table.
const REFLECTED_8408 = new Uint16Array(256);
const XMODEM_1021 = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let r = i;
  let x = i << 8;
  for (let k = 0; k < 8; k++) {
    r = r & 1 ? (r >>> 1) ^ 0x8408 : r >>> 1;
    x = x & 0x8000 ? ((x << 1) ^ 0x1021) & 0xffff : (x << 1) & 0xffff;
  }
  REFLECTED_8408[i] = r;
  XMODEM_1021[i] = x;
}

function checkArgs(data: unknown, previous: unknown): void {
  if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
  if (typeof previous !== 'number') throw new TypeError('previous must be a number');
  if (!Number.isInteger(previous) || previous < 0 || previous > 0xffff) {
    throw new RangeError(`previous must be a 16-bit CRC value, got ${previous}`);
  }
}

function reflected(data: Uint8Array, register: number): number {
  let crc = register;
  for (let i = 0; i < data.length; i++) crc = (crc >>> 8) ^ REFLECTED_8408[(crc ^ data[i]!) & 0xff]!;
  return crc;
}

/** CRC-16/ISO-IEC-14443-3-A: reflected poly 0x8408, init 0x6363, no final XOR ("123456789" → 0xBF05). */
export function crcA(data: Uint8Array, previous: number = CRC_INITIAL['crc-a']): number {
  checkArgs(data, previous);
  return reflected(data, previous);
}

/** CRC-16/X-25 (CRC_B): reflected poly 0x8408, init 0xFFFF, final XOR 0xFFFF ("123456789" → 0x906E). */
export function crcB(data: Uint8Array, previous: number = CRC_INITIAL['crc-b']): number {
  checkArgs(data, previous);
  return reflected(data, previous ^ 0xffff) ^ 0xffff;
}

/** CRC-16/XMODEM (FeliCa): poly 0x1021, init 0, not reflected, no final XOR ("123456789" → 0x31C3). */
export function crcFelica(data: Uint8Array, previous: number = CRC_INITIAL.felica): number {
  checkArgs(data, previous);
  let crc = previous;
  for (let i = 0; i < data.length; i++) crc = ((crc << 8) & 0xffff) ^ XMODEM_1021[(crc >>> 8) ^ data[i]!]!;
  return crc;
}

/** The two CRC bytes in transmission order: CRC_A and CRC_B low byte first, FeliCa high byte first. */
export function crcBytes(alg: CrcAlgorithm, data: Uint8Array): Uint8Array {
  if (typeof alg !== 'string') throw new TypeError('alg must be a string');
  switch (alg) {
    case 'crc-a': {
      const c = crcA(data);
      return new Uint8Array([c & 0xff, c >>> 8]);
    }
    case 'crc-b': {
      const c = crcB(data);
      return new Uint8Array([c & 0xff, c >>> 8]);
    }
    case 'felica': {
      const c = crcFelica(data);
      return new Uint8Array([c >>> 8, c & 0xff]);
    }
    default:
      throw new RangeError(`alg must be one of ${CRC_ALGORITHMS.join(', ')}, got "${String(alg)}"`);
  }
}
