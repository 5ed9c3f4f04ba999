// The message framing of `mica serve tcp` and `tcp:` targets (cli.md "Card targets"): vpcd's
// length-prefixed framing (uint16 big-endian length, then that many bytes) whose first byte is a kind.
// Declared once here; the card server and the client both use it. A message's bytes are
// kind ‖ payload; an answer repeats the command's kind, and an answer of the kind byte alone is silence.

export const TCP_KIND = {
  felica: 0x00,
  apdu: 0x01,
  powerOff: 0x02,
  powerOn: 0x03,
} as const;

export type TcpKind = (typeof TCP_KIND)[keyof typeof TCP_KIND];

export interface TcpMessage {
  readonly kind: number;
  readonly payload: Uint8Array;
}

/** Largest payload: the length field counts the kind byte too and is 16 bits. */
export const TCP_MAX_PAYLOAD = 0xffff - 1;

export function encodeTcpMessage(kind: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!Number.isInteger(kind) || kind < 0 || kind > 0xff)
    throw new RangeError(`kind must be a byte, got ${kind}`);
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  if (payload.length > TCP_MAX_PAYLOAD)
    throw new RangeError(
      `payload of ${payload.length} bytes exceeds the ${TCP_MAX_PAYLOAD}-byte limit of the framing`,
    );
  const n = payload.length + 1;
  const out = new Uint8Array(2 + n);
  out[0] = n >> 8;
  out[1] = n & 0xff;
  out[2] = kind;
  out.set(payload, 3);
  return out;
}

export class TcpFramingError extends Error {
  override readonly name = 'TcpFramingError';
}

/**
 * A byte-fed decoder that copes with any chunking: push bytes as they arrive, get the complete
 * messages back. A length of 0 (no kind byte) is a framing error; after one the reader stays failed.
 */
export class TcpMessageReader {
  private buffer = new Uint8Array(0);
  private failed: TcpFramingError | undefined;

  push(chunk: Uint8Array): TcpMessage[] {
    if (this.failed) throw this.failed;
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer, 0);
    joined.set(chunk, this.buffer.length);
    const out: TcpMessage[] = [];
    let at = 0;
    while (joined.length - at >= 2) {
      const n = (joined[at]! << 8) | joined[at + 1]!;
      if (n === 0) {
        this.failed = new TcpFramingError('a message of length 0 has no kind byte');
        throw this.failed;
      }
      if (joined.length - at - 2 < n) break;
      out.push({ kind: joined[at + 2]!, payload: joined.slice(at + 3, at + 2 + n) });
      at += 2 + n;
    }
    this.buffer = joined.slice(at);
    return out;
  }

  /** Bytes of an incomplete message still waiting for the rest. */
  get pending(): number {
    return this.buffer.length;
  }
}
