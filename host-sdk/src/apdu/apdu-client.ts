// ISO 7816 APDU client: GET RESPONSE on 61xx, re-send on 6Cxx, command chaining, extended length, SELECT, channels, GET DATA.
import { buildCommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { INS, MAX_CHANNELS } from '@mica/apdu-specs/apdu/iso-commands';
import {
  MANAGE_CHANNEL_P1,
  PCSC_GET_DATA,
  SELECT_BY_AID,
  SELECT_P2,
} from '@mica/apdu-specs/apdu/declarations';
import { concatBytes } from '@mica/apdu-specs/hex';
import { initialSsc, unwrapResponse, wrapCommand, type SmKeys } from '@mica/apdu-specs/apdu/secure-messaging';
import { TransportError, type Transport } from '../transport/transport';
import { ApduResponse } from './apdu-response';

export interface ApduCommand {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data?: Uint8Array;
  /** Ne: how many response bytes are expected at most (256 = short Le 00); 0 or absent = no Le. */
  readonly ne?: number;
  /** For messages; default `CLA INS P1 P2` in hex. */
  readonly name?: string;
}

export interface ApduClientOptions {
  /** Logical channel 0-19 put into every CLA this client sends (default 0). */
  readonly channel?: number;
  /** Largest data field of one chained part, 1-255 (default 255). */
  readonly chainSize?: number;
  /** Send data over 255 bytes and Ne over 256 as one extended-length APDU instead of chaining (default false). */
  readonly extendedLength?: boolean;
  /** Stop collecting GET RESPONSE parts beyond this many bytes (default 65536 × 4): a `protocol` error. */
  readonly maxResponseLength?: number;
  /**
   * Secure messaging (security.md 6) for every `send`, with these keys and the SSC at zero (just after
   * AUTHENTICATE). SELECT, MANAGE CHANNEL, GET RESPONSE and GET DATA stay plain.
   */
  readonly secureMessaging?: SmKeys;
}

export type SelectOccurrence = 'first' | 'last' | 'next' | 'previous';
export type SelectAnswer = 'fci' | 'fcp' | 'fmd' | 'none';

export interface SelectOptions {
  readonly occurrence?: SelectOccurrence;
  readonly answer?: SelectAnswer;
}

/** The answer to MANAGE CHANNEL open: the response, and the channel that was opened on success. */
export class ChannelOpening {
  constructor(
    readonly response: ApduResponse,
    readonly channel: number | undefined,
    private readonly client: (channel: number) => ApduClient,
  ) {}

  /** A client on the new channel; throws ApduStatusError when the card refused. */
  expectOk(): ApduClient {
    this.response.expectOk();
    if (this.channel === undefined) throw new TransportError('protocol', 'MANAGE CHANNEL: no channel number');
    return this.client(this.channel);
  }
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

function checkByte(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer`);
  if (v < 0 || v > 255) throw new RangeError(`${what} must be 0-255, got ${v}`);
  return v;
}

/** Puts a logical channel into a CLA: 0-3 in b2-b1 (first interindustry), 4-19 as 40 + (n - 4) (further). */
export function claForChannel(cla: number, channel: number): number {
  checkByte(cla, 'cla');
  if (!Number.isInteger(channel) || channel < 0 || channel > 19)
    throw new RangeError(`channel must be 0-19, got ${channel}`);
  const proprietary = cla & 0x80;
  const chained = cla & 0x10;
  if (channel < 4) return proprietary | chained | (cla & 0x0c) | channel;
  // Further interindustry: b6 is SM (only "SM without header authentication" can be said).
  const sm = (cla & 0x40 ? cla & 0x20 : cla & 0x0c) !== 0 ? 0x20 : 0;
  return proprietary | 0x40 | sm | chained | (channel - 4);
}

export class ApduClient {
  readonly channel: number;
  private readonly chainSize: number;
  private readonly extendedLength: boolean;
  private readonly maxResponseLength: number;
  private readonly sm: { readonly keys: SmKeys; ssc: Uint8Array; over: boolean } | undefined;

  constructor(
    readonly transport: Transport,
    private readonly options: ApduClientOptions = {},
  ) {
    const channel = options.channel ?? 0;
    if (!Number.isInteger(channel) || channel < 0 || channel > 19)
      throw new RangeError(`options.channel must be 0-19, got ${channel}`);
    const chainSize = options.chainSize ?? 255;
    if (!Number.isInteger(chainSize) || chainSize < 1 || chainSize > 255)
      throw new RangeError(`options.chainSize must be 1-255, got ${chainSize}`);
    this.channel = channel;
    this.chainSize = chainSize;
    this.extendedLength = options.extendedLength ?? false;
    this.maxResponseLength = options.maxResponseLength ?? 4 * 65536;
    const keys = options.secureMessaging;
    this.sm = keys ? { keys, ssc: initialSsc(keys), over: false } : undefined;
  }

  /** The same client on another logical channel (same transport and options, no SM session). */
  onChannel(channel: number): ApduClient {
    const options: { -readonly [K in keyof ApduClientOptions]: ApduClientOptions[K] } = {
      ...this.options,
      channel,
    };
    delete options.secureMessaging;
    return new ApduClient(this.transport, options);
  }

  /** A client on this channel whose `send`s use secure messaging, SSC zero (call after AUTHENTICATE). */
  withSecureMessaging(keys: SmKeys): ApduClient {
    return new ApduClient(this.transport, { ...this.options, secureMessaging: keys });
  }

  /** Whether `send` wraps commands: true until the card answers one without SM (the session is over). */
  get secureMessagingActive(): boolean {
    return this.sm !== undefined && !this.sm.over;
  }

  /** One exchange of raw bytes, no automation: response data ‖ SW as a value. */
  async exchange(command: Uint8Array, name = 'APDU'): Promise<ApduResponse> {
    if (!(command instanceof Uint8Array)) throw new TypeError('command must be a Uint8Array');
    const r = await this.transport.apdu(command);
    if (r.length < 2) throw new TransportError('protocol', `${name}: answer shorter than a status word`);
    return ApduResponse.fromBytes(r, name);
  }

  /**
   * Sends a command on this client's channel: long data chained (or extended), 61xx answered with
   * GET RESPONSE (the parts concatenated), 6Cxx answered by sending the command again with Le = xx.
   * With secure messaging the command is wrapped (DOs 87, 97, 8E; outer Le 00) and the answer
   * unwrapped; an answer without DOs is returned as it is and ends the session; one whose DOs or MAC
   * do not check is a `protocol` error and also ends it.
   */
  send(command: ApduCommand): Promise<ApduResponse> {
    return this.sm ? this.sendSecure(command, this.sm) : this.sendPlain(command);
  }

  private async sendSecure(
    command: ApduCommand,
    sm: { readonly keys: SmKeys; ssc: Uint8Array; over: boolean },
  ): Promise<ApduResponse> {
    if (sm.over) throw new TransportError('protocol', 'the secure messaging session is over');
    const cla = claForChannel(checkByte(command.cla, 'command.cla'), this.channel);
    const data = command.data ?? new Uint8Array(0);
    if (!(data instanceof Uint8Array)) throw new TypeError('command.data must be a Uint8Array');
    const ne = command.ne ?? 0;
    if (!Number.isInteger(ne) || ne < 0 || ne > 65536)
      throw new RangeError(`command.ne must be 0-65536, got ${ne}`);
    const wrapped = wrapCommand(sm.keys, sm.ssc, {
      cla,
      ins: checkByte(command.ins, 'command.ins'),
      p1: checkByte(command.p1, 'command.p1'),
      p2: checkByte(command.p2, 'command.p2'),
      data,
      ne,
    });
    sm.ssc = wrapped.ssc;
    const name =
      command.name ?? `${hex2(command.cla)}${hex2(command.ins)}${hex2(command.p1)}${hex2(command.p2)} SM`;
    const outer = await this.sendPlain({ ...wrapped, ne: this.extendedLength ? 65536 : 256, name });
    if (outer.data.length === 0) {
      sm.over = true;
      return outer;
    }
    const u = unwrapResponse(sm.keys, sm.ssc, outer.data);
    if (!u.ok) {
      sm.over = true;
      throw new TransportError('protocol', `${name}: secure messaging answer refused (${u.reason})`);
    }
    sm.ssc = u.ssc;
    return new ApduResponse(u.data, u.sw, name);
  }

  private async sendPlain(command: ApduCommand): Promise<ApduResponse> {
    const cla = claForChannel(checkByte(command.cla, 'command.cla'), this.channel);
    const ins = checkByte(command.ins, 'command.ins');
    const p1 = checkByte(command.p1, 'command.p1');
    const p2 = checkByte(command.p2, 'command.p2');
    const data = command.data ?? new Uint8Array(0);
    if (!(data instanceof Uint8Array)) throw new TypeError('command.data must be a Uint8Array');
    const ne = command.ne ?? 0;
    if (!Number.isInteger(ne) || ne < 0 || ne > 65536)
      throw new RangeError(`command.ne must be 0-65536, got ${ne}`);
    const name = command.name ?? `${hex2(command.cla)}${hex2(ins)}${hex2(p1)}${hex2(p2)}`;
    let r = await this.sendOnce(cla, ins, p1, p2, data, ne, name);
    if (r.sw1 === 0x6c) {
      // The card names the exact Le; one re-send is part of the protocol, not a retry.
      r = await this.sendOnce(cla, ins, p1, p2, data, r.sw2 === 0 ? 256 : r.sw2, name);
    }
    return this.collect(r, name);
  }

  private async sendOnce(
    cla: number,
    ins: number,
    p1: number,
    p2: number,
    data: Uint8Array,
    ne: number,
    name: string,
  ): Promise<ApduResponse> {
    const extended = this.extendedLength;
    const le = extended ? ne : Math.min(ne, 256);
    // One APDU when the data fits a part, or an extended APDU where that was asked for; else a chain.
    if (data.length <= this.chainSize || (extended && data.length > 255 && data.length <= 65535))
      return this.exchange(buildCommandApdu(cla, ins, p1, p2, data, le), name);
    for (let at = 0; ; at += this.chainSize) {
      const part = data.subarray(at, at + this.chainSize);
      const last = at + this.chainSize >= data.length;
      if (last) return this.exchange(buildCommandApdu(cla, ins, p1, p2, part, le), name);
      const r = await this.exchange(buildCommandApdu(cla | 0x10, ins, p1, p2, part), name);
      if (r.sw !== 0x9000) return r;
    }
  }

  private async collect(first: ApduResponse, name: string): Promise<ApduResponse> {
    if (first.sw1 !== 0x61) return first;
    const parts = [first.data];
    let total = first.data.length;
    let r = first;
    while (r.sw1 === 0x61) {
      const ne = r.sw2 === 0 ? 256 : r.sw2;
      r = await this.exchange(
        buildCommandApdu(claForChannel(0x00, this.channel), INS.GET_RESPONSE, 0, 0, undefined, ne),
        `${name} GET RESPONSE`,
      );
      parts.push(r.data);
      total += r.data.length;
      if (total > this.maxResponseLength)
        throw new TransportError('protocol', `${name}: answer longer than ${this.maxResponseLength} bytes`);
    }
    return new ApduResponse(concatBytes(...parts), r.sw, name);
  }

  /** SELECT by AID (P1 04); `next` selects the following applet whose AID starts with `aid`. */
  select(aid: Uint8Array, options: SelectOptions = {}): Promise<ApduResponse> {
    if (!(aid instanceof Uint8Array)) throw new TypeError('aid must be a Uint8Array');
    if (aid.length > 16) throw new RangeError(`aid must be at most 16 bytes, got ${aid.length}`);
    const occurrence = options.occurrence ?? 'first';
    const answer = options.answer ?? 'fci';
    const p2 = SELECT_P2[occurrence] | SELECT_P2[answer === 'none' ? 'noAnswer' : answer];
    return this.sendPlain({
      cla: 0x00,
      ins: INS.SELECT,
      p1: SELECT_BY_AID,
      p2,
      data: aid,
      ne: answer === 'none' ? 0 : 256,
      name: 'SELECT',
    });
  }

  /** SELECT of the next occurrence of an AID prefix. */
  selectNext(aid: Uint8Array, answer: SelectAnswer = 'fci'): Promise<ApduResponse> {
    return this.select(aid, { occurrence: 'next', answer });
  }

  /** MANAGE CHANNEL open, sent on this client's channel; `channel` 0 (default) lets the card choose. */
  async openChannel(channel = 0): Promise<ChannelOpening> {
    if (!Number.isInteger(channel) || channel < 0 || channel >= MAX_CHANNELS)
      throw new RangeError(`channel must be 0-${MAX_CHANNELS - 1}, got ${channel}`);
    const r = await this.sendPlain({
      cla: 0x00,
      ins: INS.MANAGE_CHANNEL,
      p1: MANAGE_CHANNEL_P1.open,
      p2: channel,
      ne: channel === 0 ? 1 : 0,
      name: 'MANAGE CHANNEL open',
    });
    const opened = !r.ok ? undefined : channel !== 0 ? channel : r.data[0];
    return new ChannelOpening(r, opened, (n) => this.onChannel(n));
  }

  /** MANAGE CHANNEL close of `channel` (default: this client's own). */
  closeChannel(channel = this.channel): Promise<ApduResponse> {
    if (!Number.isInteger(channel) || channel < 1 || channel > 19)
      throw new RangeError(`channel must be 1-19, got ${channel}`);
    return this.sendPlain({
      cla: 0x00,
      ins: INS.MANAGE_CHANNEL,
      p1: MANAGE_CHANNEL_P1.close,
      p2: channel,
      name: 'MANAGE CHANNEL close',
    });
  }

  /** PC/SC GET DATA FF CA 00 00: the UID (Type A), PUPI (Type B) or IDm (FeliCa) the card presents. */
  getUid(): Promise<ApduResponse> {
    return this.getData(PCSC_GET_DATA.p1Uid, 'GET DATA (UID)');
  }

  /** PC/SC GET DATA FF CA 01 00: the historical bytes of the ATS (6A81 when there are none). */
  getHistoricalBytes(): Promise<ApduResponse> {
    return this.getData(PCSC_GET_DATA.p1Historical, 'GET DATA (historical bytes)');
  }

  private async getData(p1: number, name: string): Promise<ApduResponse> {
    // CLA FF is not a channel CLA: sent as is, on whatever channel.
    const send = (ne: number): Promise<ApduResponse> =>
      this.exchange(buildCommandApdu(PCSC_GET_DATA.cla, PCSC_GET_DATA.ins, p1, 0, undefined, ne), name);
    let r = await send(256);
    if (r.sw1 === 0x6c) r = await send(r.sw2 === 0 ? 256 : r.sw2);
    return this.collect(r, name);
  }

  /** The ATR, where the transport has one. */
  async atr(): Promise<Uint8Array | undefined> {
    return this.transport.atr ? this.transport.atr() : undefined;
  }
}
