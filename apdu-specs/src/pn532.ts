// The PN532 host protocol over a serial line (interop.md 6.2, NXP PN532 User Manual UM0701-02 §6.2):
// information frames (normal and extended), ACK, NACK and the error frame, shared by the emulated PN532
// (`mica serve pn532`) and any host-side test driver. Pure functions over Uint8Array.

export const PN532 = Object.freeze({
  /** TFI of a frame from the host to the PN532. */
  tfiHost: 0xd4,
  /** TFI of a frame from the PN532 to the host. */
  tfiPn532: 0xd5,
  /** TFI of the error frame ("syntax error", UM0701-02 §6.2.1.5). */
  tfiError: 0x7f,
  /** Bytes of TFI + PD a normal frame can carry (LEN 0xFF is reserved for NACK/extended frames). */
  maxNormalLen: 0xfe,
  /** Bytes of TFI + PD an extended frame can carry (UM0701-02: up to 264; the 16-bit field allows more). */
  maxExtendedLen: 0xffff,
  /** Command codes (the byte after TFI D4; the response code is the command code + 1). */
  command: Object.freeze({
    diagnose: 0x00,
    getFirmwareVersion: 0x02,
    getGeneralStatus: 0x04,
    readRegister: 0x06,
    writeRegister: 0x08,
    setParameters: 0x12,
    samConfiguration: 0x14,
    powerDown: 0x16,
    rfConfiguration: 0x32,
    inDataExchange: 0x40,
    inCommunicateThru: 0x42,
    inDeselect: 0x44,
    inListPassiveTarget: 0x4a,
    inRelease: 0x52,
    inSelect: 0x54,
  } as const),
  /** InListPassiveTarget BrTy values (UM0701-02 §7.3.5). */
  baudRate: Object.freeze({
    typeA106: 0x00,
    felica212: 0x01,
    felica424: 0x02,
    typeB106: 0x03,
    jewel106: 0x04,
  } as const),
  /** RFConfiguration CfgItem values used by libnfc. */
  rfItem: Object.freeze({ field: 0x01, maxRetries: 0x05 } as const),
  /** Status byte of InDataExchange / InCommunicateThru: 00 success, 01 timeout (no answer). */
  status: Object.freeze({ ok: 0x00, timeout: 0x01 } as const),
} as const);

/** ACK: `00 00 FF 00 FF 00`. */
export const PN532_ACK = Uint8Array.of(0x00, 0x00, 0xff, 0x00, 0xff, 0x00);
/** NACK: `00 00 FF FF 00 00`. */
export const PN532_NACK = Uint8Array.of(0x00, 0x00, 0xff, 0xff, 0x00, 0x00);
/** Error frame: `00 00 FF 01 FF 7F 81 00`. */
export const PN532_ERROR_FRAME = Uint8Array.of(0x00, 0x00, 0xff, 0x01, 0xff, 0x7f, 0x81, 0x00);

/** (0x100 − Σ bytes) & 0xFF: LCS over LEN (or LENm + LENl), DCS over TFI + PD. */
export function pn532Checksum(bytes: Uint8Array): number {
  let s = 0;
  for (const b of bytes) s += b;
  return (0x100 - (s & 0xff)) & 0xff;
}

/**
 * One information frame carrying TFI ‖ `data`: a normal frame when TFI + data fit in 254 bytes, else an
 * extended frame `00 00 FF FF FF LENm LENl LCS TFI … DCS 00`.
 */
export function encodePn532Frame(tfi: number, data: Uint8Array): Uint8Array {
  if (!Number.isInteger(tfi) || tfi < 0 || tfi > 0xff) throw new RangeError(`TFI must be a byte, got ${tfi}`);
  if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
  const len = 1 + data.length;
  if (len > PN532.maxExtendedLen)
    throw new RangeError(
      `a PN532 frame carries at most ${PN532.maxExtendedLen - 1} data bytes, got ${data.length}`,
    );
  const body = new Uint8Array(len);
  body[0] = tfi;
  body.set(data, 1);
  const header =
    len <= PN532.maxNormalLen
      ? Uint8Array.of(0x00, 0x00, 0xff, len, pn532Checksum(Uint8Array.of(len)))
      : Uint8Array.of(
          0x00,
          0x00,
          0xff,
          0xff,
          0xff,
          len >> 8,
          len & 0xff,
          pn532Checksum(Uint8Array.of(len >> 8, len & 0xff)),
        );
  const out = new Uint8Array(header.length + len + 2);
  out.set(header, 0);
  out.set(body, header.length);
  out[header.length + len] = pn532Checksum(body);
  return out;
}

/** What a PN532 frame reader found in the byte stream. */
export type Pn532Event =
  | { readonly kind: 'frame'; readonly tfi: number; readonly data: Uint8Array; readonly extended: boolean }
  | { readonly kind: 'ack' }
  | { readonly kind: 'nack' }
  /** A frame whose LEN/LCS was valid but whose DCS was not: dropped (its bytes are consumed). */
  | { readonly kind: 'bad-checksum'; readonly raw: Uint8Array };

/**
 * A streaming reader: feed it whatever the line delivered (any chunking) and take the events, in order.
 * Everything before a start code `00 FF` followed by a valid LEN/LCS pair is skipped: libnfc's wake-up
 * bytes (`55 55 00 …`), preambles, postambles and line noise. ACK, NACK and extended frames are recognised
 * by their LEN/LCS pairs 00 FF, FF 00 and FF FF.
 */
export class Pn532FrameReader {
  private buffer = new Uint8Array(0);

  push(chunk: Uint8Array): Pn532Event[] {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('chunk must be a Uint8Array');
    const b = new Uint8Array(this.buffer.length + chunk.length);
    b.set(this.buffer, 0);
    b.set(chunk, this.buffer.length);
    const out: Pn532Event[] = [];
    let o = 0;
    for (;;) {
      // Find a start code 00 FF.
      while (o + 1 < b.length && !(b[o] === 0x00 && b[o + 1] === 0xff)) o += 1;
      if (o + 4 > b.length) break; // 00 FF LEN LCS not all here yet
      const len = b[o + 2]!;
      const lcs = b[o + 3]!;
      if (len === 0x00 && lcs === 0xff) {
        out.push({ kind: 'ack' });
        o += 4;
        continue;
      }
      if (len === 0xff && lcs === 0x00) {
        out.push({ kind: 'nack' });
        o += 4;
        continue;
      }
      let bodyAt: number;
      let n: number;
      let extended = false;
      if (len === 0xff && lcs === 0xff) {
        if (o + 7 > b.length) break;
        n = (b[o + 4]! << 8) | b[o + 5]!;
        if (n === 0 || pn532Checksum(b.subarray(o + 4, o + 6)) !== b[o + 6]) {
          o += 1;
          continue;
        }
        bodyAt = o + 7;
        extended = true;
      } else {
        if (len === 0 || ((len + lcs) & 0xff) !== 0) {
          o += 1; // not a frame start: 00 FF inside noise
          continue;
        }
        n = len;
        bodyAt = o + 4;
      }
      if (bodyAt + n + 1 > b.length) break; // body and DCS not all here yet
      const body = b.subarray(bodyAt, bodyAt + n);
      const end = bodyAt + n + 1;
      if (pn532Checksum(body) !== b[bodyAt + n]) out.push({ kind: 'bad-checksum', raw: b.slice(o, end) });
      else out.push({ kind: 'frame', tfi: body[0]!, data: body.slice(1), extended });
      o = end;
    }
    this.buffer = b.slice(o);
    return out;
  }

  /** Bytes kept for a frame not yet complete (or a lone trailing byte that may start one). */
  get pending(): number {
    return this.buffer.length;
  }
}
