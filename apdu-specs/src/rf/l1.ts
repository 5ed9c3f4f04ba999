// The L1 frame-codec interface of rf.md §4.5 in one place. The CRC functions of ../crc return numbers, so
// the byte-returning forms of §4.5 are named crcABytes, crcBBytes and crcFelicaBytes here (one implementation).
import { crcBytes } from '../crc';

/** CRC_A in transmission order (low byte first). */
export function crcABytes(data: Uint8Array): Uint8Array {
  return crcBytes('crc-a', data);
}

/** CRC_B in transmission order (low byte first). */
export function crcBBytes(data: Uint8Array): Uint8Array {
  return crcBytes('crc-b', data);
}

/** FeliCa CRC in transmission order (high byte first). */
export function crcFelicaBytes(data: Uint8Array): Uint8Array {
  return crcBytes('felica', data);
}

export { felicaFrame, felicaFrameBits, parseFelicaAfterSync } from './type-f';
export { typeABits, typeAFromBits, type TypeAFrame, type TypeAFrameDecoded } from './type-a';
export { typeBChars, typeBFrameLevels, typeBFromLevels } from './type-b';
export { isoDep, type IsoDepBlock } from './iso-dep';
export { type FrameError, type FrameErrorKind, isFrameError } from './frame-error';
