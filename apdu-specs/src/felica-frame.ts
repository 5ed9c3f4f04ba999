// The FeliCa physical frame (rf.md §4.1): preamble 00×P ‖ sync B2 4D ‖ LEN ‖ data ‖ CRC, in both directions.
//
// The payload is LEN ‖ data, LEN counting itself (1..255). The CRC is crcFelica over the payload, sent
// high byte first. The standard preamble is at least 6 zero bytes; the encoder sends 6 unless told
// otherwise, and both decoders require at least 6 zero bytes immediately before the sync word.
import { crcFelica } from './crc';

export const FELICA_PREAMBLE_BYTES = 6;
/** The sync word, sent high byte first: B2 4D. */
export const FELICA_SYNC = 0xb24d;
/** Preamble + sync + CRC: what a frame adds around its payload (with the default preamble). */
export const FELICA_FRAME_OVERHEAD = FELICA_PREAMBLE_BYTES + 2 + 2;

const SYNC_HI = FELICA_SYNC >>> 8;
const SYNC_LO = FELICA_SYNC & 0xff;
const MAX_LEN = 255;
const MAX_PREAMBLE = 0xffff;

export type FelicaFrameError = 'preamble' | 'sync' | 'length' | 'crc';

export type FelicaFrameDecoded =
  | { readonly ok: true; readonly payload: Uint8Array }
  | { readonly ok: false; readonly error: FelicaFrameError; readonly message: string };

export interface FelicaFrameOptions {
  /** Zero bytes sent before the sync word; at least 6 (the default). */
  readonly preambleBytes?: number;
}

function checkPayload(payload: unknown): asserts payload is Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  if (payload.length < 1 || payload.length > MAX_LEN) {
    throw new RangeError(`payload must be 1..${MAX_LEN} bytes (LEN ‖ data), got ${payload.length}`);
  }
  if (payload[0] !== payload.length) {
    throw new RangeError(`payload LEN byte is ${payload[0]!}, but the payload is ${payload.length} bytes`);
  }
}

/** preamble ‖ B2 4D ‖ payload ‖ CRC (high byte first). `payload[0]` (LEN) must equal `payload.length`. */
export function encodeFelicaFrame(payload: Uint8Array, options: FelicaFrameOptions = {}): Uint8Array {
  checkPayload(payload);
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const p = options.preambleBytes ?? FELICA_PREAMBLE_BYTES;
  if (typeof p !== 'number') throw new TypeError('options.preambleBytes must be a number');
  if (!Number.isInteger(p) || p < FELICA_PREAMBLE_BYTES || p > MAX_PREAMBLE) {
    throw new RangeError(
      `options.preambleBytes must be an integer from ${FELICA_PREAMBLE_BYTES} to ${MAX_PREAMBLE}, got ${p}`,
    );
  }
  const frame = new Uint8Array(p + 2 + payload.length + 2);
  frame[p] = SYNC_HI;
  frame[p + 1] = SYNC_LO;
  frame.set(payload, p + 2);
  const crc = crcFelica(payload);
  frame[frame.length - 2] = crc >>> 8;
  frame[frame.length - 1] = crc & 0xff;
  return frame;
}

function failure(error: FelicaFrameError, message: string): FelicaFrameDecoded {
  return { ok: false, error, message };
}

/**
 * Decodes one whole frame: at least 6 zero preamble bytes, B2 4D, LEN ‖ data, CRC, and nothing after.
 * Never throws on frame contents; only a non-Uint8Array argument is a TypeError.
 */
export function decodeFelicaFrame(frame: Uint8Array): FelicaFrameDecoded {
  if (!(frame instanceof Uint8Array)) throw new TypeError('frame must be a Uint8Array');
  let p = 0;
  while (p < frame.length && frame[p] === 0) p++;
  if (p < FELICA_PREAMBLE_BYTES) {
    return failure(
      'preamble',
      `preamble has ${p} zero bytes, at least ${FELICA_PREAMBLE_BYTES} are required`,
    );
  }
  if (frame[p] !== SYNC_HI || frame[p + 1] !== SYNC_LO) {
    return failure('sync', `sync word b24d expected after the preamble at offset ${p}`);
  }
  const start = p + 2;
  if (start >= frame.length) return failure('length', 'frame ends before the LEN byte');
  const len = frame[start]!;
  if (len < 1) return failure('length', 'LEN is 0; it counts itself, so it is at least 1');
  const expected = start + len + 2;
  if (frame.length !== expected) {
    return failure('length', `LEN ${len} needs a ${expected}-byte frame, got ${frame.length} bytes`);
  }
  const payload = frame.slice(start, start + len);
  const crc = crcFelica(payload);
  const got = (frame[expected - 2]! << 8) | frame[expected - 1]!;
  if (crc !== got) {
    return failure('crc', `CRC is ${hex4(got)}, computed ${hex4(crc)}`);
  }
  return { ok: true, payload };
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** Why the streaming parser dropped a frame after its sync word. */
export interface FelicaFrameReject {
  readonly error: 'length' | 'crc';
  readonly message: string;
}

export interface FelicaFrameParserOptions {
  /** Called for every frame dropped after its sync word was seen (bad LEN, bad CRC, or cut short by `end`). */
  readonly onReject?: (reject: FelicaFrameReject) => void;
}

const HUNT = 0; // counting zero bytes, waiting for B2 after at least 6 of them
const SYNC = 1; // saw B2 after the preamble, waiting for 4D
const BODY = 2; // collecting LEN ‖ data ‖ CRC

/**
 * Byte-fed FeliCa frame receiver: `push` any chunking of a byte stream and get back the payloads of the
 * complete, CRC-valid frames it finished. Garbage is skipped; a frame dropped for a bad LEN or CRC has
 * its bytes after the sync word searched again, so a real frame hidden behind a false sync is found.
 * Call `end` when the stream stops, so a frame still waiting for bytes is resolved.
 */
export class FelicaFrameParser {
  private state: number = HUNT;
  private zeros = 0;
  /** LEN ‖ data ‖ CRC of the frame being received. */
  private readonly body = new Uint8Array(MAX_LEN + 2);
  private got = 0;
  private need = 0;
  private readonly onReject: ((reject: FelicaFrameReject) => void) | undefined;

  constructor(options: FelicaFrameParserOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    if (options.onReject !== undefined && typeof options.onReject !== 'function') {
      throw new TypeError('options.onReject must be a function');
    }
    this.onReject = options.onReject;
  }

  /** Feeds bytes; returns the payloads (LEN ‖ data, fresh copies) of the frames completed by them. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('chunk must be a Uint8Array');
    const out: Uint8Array[] = [];
    this.consume(chunk, out);
    return out;
  }

  /**
   * The stream ended (end of a burst, field off): a frame still short of its LEN + 2 bytes is dropped, after
   * its bytes are searched for complete frames (a false sync may have swallowed a real frame). The parser
   * is then reset. Returns the payloads found.
   */
  end(): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.state === BODY) {
      const n = this.got;
      this.reject(
        out,
        'length',
        n === 0 ? 'stream ended after the sync word' : `stream ended ${n} bytes into a frame`,
      );
    }
    this.reset();
    return out;
  }

  /** Forgets any partial frame without searching it. */
  reset(): void {
    this.state = HUNT;
    this.zeros = 0;
    this.got = 0;
    this.need = 0;
  }

  /** True while a sync word has been seen and its frame is not complete yet. */
  get inFrame(): boolean {
    return this.state === BODY;
  }

  private consume(bytes: Uint8Array, out: Uint8Array[]): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (this.state === BODY) {
        this.body[this.got++] = b;
        if (this.got === 1) {
          if (b === 0) {
            this.reject(out, 'length', 'LEN is 0');
            continue;
          }
          this.need = b + 2;
        } else if (this.got === this.need) {
          this.finish(out);
        }
      } else if (this.state === SYNC) {
        if (b === SYNC_LO) {
          this.state = BODY;
          this.got = 0;
        } else {
          this.state = HUNT;
          this.zeros = b === 0 ? 1 : 0;
        }
      } else if (b === 0) {
        this.zeros++;
      } else {
        if (b === SYNC_HI && this.zeros >= FELICA_PREAMBLE_BYTES) this.state = SYNC;
        this.zeros = 0;
      }
    }
  }

  private finish(out: Uint8Array[]): void {
    const len = this.need - 2;
    const crc = crcFelica(this.body.subarray(0, len));
    const got = (this.body[len]! << 8) | this.body[len + 1]!;
    if (crc !== got) {
      this.reject(out, 'crc', `CRC is ${hex4(got)}, computed ${hex4(crc)}`);
      return;
    }
    out.push(this.body.slice(0, len));
    this.state = HUNT;
    this.zeros = 0;
  }

  /** Drops the frame and searches its bytes after the sync word again (they may hold the real frame). */
  private reject(out: Uint8Array[], error: 'length' | 'crc', message: string): void {
    const replay = this.body.slice(0, this.got);
    this.state = HUNT;
    this.zeros = 0;
    this.got = 0;
    this.onReject?.({ error, message });
    this.consume(replay, out);
  }
}
