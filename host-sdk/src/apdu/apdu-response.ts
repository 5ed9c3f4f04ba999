// Response APDUs as values: data and status word; `expectOk()` throws only when asked (house-style.md).
import { bytesToHex } from '@mica/apdu-specs/hex';
import { swName } from '@mica/apdu-specs/apdu/status-words';

export class ApduStatusError extends Error {
  override readonly name = 'ApduStatusError';
  constructor(
    readonly sw: number,
    readonly command: string,
  ) {
    super(`${command}: SW ${sw.toString(16).padStart(4, '0')} (${swName(sw)})`);
  }
}

export class ApduResponse {
  constructor(
    /** The response data (after GET RESPONSE chaining, all of it). */
    readonly data: Uint8Array,
    readonly sw: number,
    /** What was sent, for messages. */
    readonly command = 'APDU',
  ) {}

  /** Splits response data ‖ SW1 SW2. */
  static fromBytes(bytes: Uint8Array, command = 'APDU'): ApduResponse {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
    if (bytes.length < 2) throw new RangeError(`a response APDU has at least 2 bytes, got ${bytes.length}`);
    const n = bytes.length - 2;
    return new ApduResponse(bytes.slice(0, n), (bytes[n]! << 8) | bytes[n + 1]!, command);
  }

  get sw1(): number {
    return this.sw >> 8;
  }

  get sw2(): number {
    return this.sw & 0xff;
  }

  /** 9000 only: warnings (62xx, 63xx) are not OK. */
  get ok(): boolean {
    return this.sw === 0x9000;
  }

  /** The data on 9000; otherwise throws ApduStatusError. */
  expectOk(): Uint8Array {
    if (this.sw !== 0x9000) throw new ApduStatusError(this.sw, this.command);
    return this.data;
  }

  /** Data ‖ SW1 SW2, as on the wire. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.data.length + 2);
    out.set(this.data);
    out[this.data.length] = this.sw1;
    out[this.data.length + 1] = this.sw2;
    return out;
  }

  toString(): string {
    return `${this.command} → ${bytesToHex(this.data)} ${swName(this.sw)}`;
  }
}
