// Type F (FeliCa) frames for the radio simulator (rf.md §4.1): the on-air byte string and the part after sync.
//
// The frame layout and its CRC live in ../felica-frame and ../crc; this module adds the simulator's view:
// LEN at least 2, the frame as a bit string (MSB first), and a decoder for the bytes a demodulator reads
// after it found the sync word.
import { crcFelica } from '../crc';
import { encodeFelicaFrame, FELICA_PREAMBLE_BYTES } from '../felica-frame';
import { bytesToBitsMsb } from './bits';
import { frameError, type FrameError } from './frame-error';

export { FELICA_PREAMBLE_BYTES, FELICA_SYNC } from '../felica-frame';

/** LEN counts itself and the data: 2..255 (rf.md §4.1). */
export const FELICA_MIN_LEN = 2;
export const FELICA_MAX_LEN = 255;

export interface FelicaFrameOpts {
  /** Zero bytes before the sync word, at least 6 (default 6). */
  readonly preambleBytes?: number;
}

function checkPayload(payload: unknown): asserts payload is Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  if (payload.length < FELICA_MIN_LEN || payload.length > FELICA_MAX_LEN) {
    throw new RangeError(
      `payload must be ${FELICA_MIN_LEN}..${FELICA_MAX_LEN} bytes (LEN ‖ data), got ${payload.length}`,
    );
  }
}

/** The whole on-air byte string: preamble ‖ B2 4D ‖ payload ‖ CRC (high byte first). payload = LEN ‖ data. */
export function felicaFrame(payload: Uint8Array, opts: FelicaFrameOpts = {}): Uint8Array {
  checkPayload(payload);
  return encodeFelicaFrame(payload, opts);
}

/** The frame's bits in transmission order (MSB first), preamble and sync included. */
export function felicaFrameBits(payload: Uint8Array, opts: FelicaFrameOpts = {}): Uint8Array {
  return bytesToBitsMsb(felicaFrame(payload, opts));
}

/** Number of bits of a frame with this LEN: 8 · (P + 2 + LEN + 2). */
export function felicaFrameBitCount(len: number, preambleBytes = FELICA_PREAMBLE_BYTES): number {
  return 8 * (preambleBytes + 2 + len + 2);
}

export interface FelicaAfterSync {
  /** LEN ‖ data. */
  readonly payload: Uint8Array;
  readonly crcOk: boolean;
}

/**
 * Decodes the bytes that follow the sync word: LEN ‖ data ‖ CRC. Bytes after the CRC are ignored.
 * LEN < 2 is `bad-length` (at 0); fewer than LEN + 2 bytes is `truncated` (at the byte count present).
 */
export function parseFelicaAfterSync(bytes: Uint8Array): FelicaAfterSync | FrameError {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (bytes.length === 0) return frameError('truncated', 0);
  const len = bytes[0]!;
  if (len < FELICA_MIN_LEN) return frameError('bad-length', 0);
  if (bytes.length < len + 2) return frameError('truncated', bytes.length);
  const payload = bytes.slice(0, len);
  const crc = (bytes[len]! << 8) | bytes[len + 1]!;
  return { payload, crcOk: crcFelica(payload) === crc };
}
