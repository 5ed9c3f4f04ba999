// vsmartcard's vpcd protocol (interop.md 3.1): the framing and message meanings shared by the card side
// (`mica serve vpcd`) and the host side (the `vpcd:` transport, which takes vpcd's place).

/**
 * Every message in both directions: uint16 big-endian length N, then N bytes. N = 1 from vpcd is a
 * control byte; N > 1 is a command APDU (real APDUs have at least 4 bytes) whose answer is one message
 * holding response data ‖ SW1 SW2.
 */
export const VPCD = Object.freeze({
  /** vpcd's CHANNELID 0x8C7B: slot n listens on this port + n. */
  basePort: 0x8c7b,
  /** The largest payload a length prefix can carry. */
  maxPayload: 0xffff,
  control: Object.freeze({
    /** The card loses power (no reply). */
    powerOff: 0x00,
    /** Cold reset (no reply). */
    powerOn: 0x01,
    /** Warm reset (no reply). */
    reset: 0x02,
    /** The card replies with its ATR, never empty; vpcd also polls presence with it. */
    getAtr: 0x04,
  } as const),
} as const);

export type VpcdControlName = 'power-off' | 'power-on' | 'reset' | 'get-atr';

const CONTROL_NAMES: ReadonlyMap<number, VpcdControlName> = new Map([
  [VPCD.control.powerOff, 'power-off'],
  [VPCD.control.powerOn, 'power-on'],
  [VPCD.control.reset, 'reset'],
  [VPCD.control.getAtr, 'get-atr'],
] as const);

/** What one message from vpcd means to the card. */
export type VpcdRequest =
  | { readonly kind: 'control'; readonly name: VpcdControlName; readonly code: number }
  | { readonly kind: 'unknown-control'; readonly code: number }
  | { readonly kind: 'apdu'; readonly apdu: Uint8Array }
  | { readonly kind: 'empty' };

/** Classifies a message payload received from vpcd (card side). */
export function vpcdRequest(payload: Uint8Array): VpcdRequest {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  if (payload.length === 0) return { kind: 'empty' };
  if (payload.length === 1) {
    const code = payload[0]!;
    const name = CONTROL_NAMES.get(code);
    return name ? { kind: 'control', name, code } : { kind: 'unknown-control', code };
  }
  return { kind: 'apdu', apdu: payload };
}

/** One message: the 2-byte big-endian length, then the payload. */
export function encodeVpcdMessage(payload: Uint8Array): Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  if (payload.length > VPCD.maxPayload)
    throw new RangeError(`a vpcd message carries at most ${VPCD.maxPayload} bytes, got ${payload.length}`);
  const out = new Uint8Array(2 + payload.length);
  out[0] = payload.length >> 8;
  out[1] = payload.length & 0xff;
  out.set(payload, 2);
  return out;
}

/** The control message for `name` (host side). */
export function vpcdControlMessage(name: VpcdControlName): Uint8Array {
  for (const [code, n] of CONTROL_NAMES) if (n === name) return encodeVpcdMessage(Uint8Array.of(code));
  throw new RangeError(`unknown vpcd control "${String(name)}"`);
}

/**
 * A streaming reader: feed it whatever the socket delivered (any chunking, several messages in one
 * read, a length prefix split across reads) and take the complete payloads, in order.
 */
export class VpcdMessageReader {
  private buffer = new Uint8Array(0);

  /** Appends `chunk` and returns every payload now complete (copies, safe to keep). */
  push(chunk: Uint8Array): Uint8Array[] {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('chunk must be a Uint8Array');
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer, 0);
    joined.set(chunk, this.buffer.length);
    const out: Uint8Array[] = [];
    let o = 0;
    while (joined.length - o >= 2) {
      const n = (joined[o]! << 8) | joined[o + 1]!;
      if (joined.length - o - 2 < n) break;
      out.push(joined.slice(o + 2, o + 2 + n));
      o += 2 + n;
    }
    this.buffer = joined.slice(o);
    return out;
  }

  /** Bytes received that do not yet form a whole message. */
  get pending(): number {
    return this.buffer.length;
  }
}
