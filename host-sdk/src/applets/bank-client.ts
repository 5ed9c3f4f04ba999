// The bank applet's client (seed 000): SELECT, AUTHENTICATE, then account READ BINARY and the token commands under SM.
import {
  BANK_CREDIT,
  LIST_ENTRY,
  MAX_ENVELOPE,
  PUT_TOKEN_HEADER,
  accountRecord,
} from '@mica/apdu-specs/apdu/bank-credit';
import type { ApduClient } from '../apdu/apdu-client';
import type { ApduResponse } from '../apdu/apdu-response';
import type { AppletAuthResult, LocalAppletKeys } from './applet-keys';

/** A result as a value: the parsed answer on 9000, otherwise the status word. */
export type TokenResult<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly sw: number };

export interface TokenToPut {
  /** JST day number: used and expired slots are evicted first. */
  readonly today: number;
  readonly tokenId: Uint8Array;
  /** ascii[8]. */
  readonly creditCompanyId: Uint8Array;
  readonly effectiveUntil: number;
  /** The flows.md 2.2 envelope, 1-272 bytes. */
  readonly envelope: Uint8Array;
}

export interface TokenEntry {
  readonly slot: number;
  /** 1 stored, 2 used. */
  readonly state: number;
  readonly tokenId: Uint8Array;
  readonly creditCompanyId: Uint8Array;
  readonly effectiveUntil: number;
}

export function refused(r: ApduResponse): { readonly ok: false; readonly sw: number } {
  return { ok: false, sw: r.sw };
}

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} must be a u32`);
  return v;
}

function sized(b: unknown, n: number, what: string): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (b.length !== n) throw new RangeError(`${what} must be ${n} bytes, got ${b.length}`);
  return b;
}

/** PUT TOKEN data (apdu-specs bank-credit). */
export function putTokenData(t: TokenToPut): Uint8Array {
  if (!(t.envelope instanceof Uint8Array)) throw new TypeError('envelope must be a Uint8Array');
  if (t.envelope.length < 1 || t.envelope.length > MAX_ENVELOPE)
    throw new RangeError(`envelope must be 1-${MAX_ENVELOPE} bytes, got ${t.envelope.length}`);
  const d = new Uint8Array(PUT_TOKEN_HEADER + t.envelope.length);
  const v = new DataView(d.buffer);
  v.setUint32(0, u32(t.today, 'today'));
  d.set(sized(t.tokenId, 16, 'tokenId'), 4);
  d.set(sized(t.creditCompanyId, 8, 'creditCompanyId'), 20);
  v.setUint32(28, u32(t.effectiveUntil, 'effectiveUntil'));
  d.set(t.envelope, PUT_TOKEN_HEADER);
  return d;
}

/** LIST TOKENS answer → entries. */
export function parseTokenList(data: Uint8Array): TokenEntry[] {
  if (data.length % LIST_ENTRY !== 0) throw new RangeError('LIST TOKENS answer is not whole entries');
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: data.length / LIST_ENTRY }, (_, i) => {
    const o = i * LIST_ENTRY;
    return {
      slot: data[o]!,
      state: data[o + 1]!,
      tokenId: data.slice(o + 2, o + 18),
      creditCompanyId: data.slice(o + 18, o + 26),
      effectiveUntil: v.getUint32(o + 26),
    };
  });
}

/** The token commands both applets share, sent on an SM client. */
export class TokenCommands {
  constructor(private readonly sm: () => ApduClient) {}

  async put(t: TokenToPut): Promise<TokenResult<{ readonly slot: number }>> {
    const r = await this.sm().send({
      cla: BANK_CREDIT.cla,
      ins: BANK_CREDIT.putToken,
      p1: 0,
      p2: 0,
      data: putTokenData(t),
      ne: 256,
    });
    return r.ok && r.data.length === 1 ? { ok: true, slot: r.data[0]! } : refused(r);
  }

  async list(p2: number = BANK_CREDIT.storeOwn): Promise<TokenResult<{ readonly tokens: TokenEntry[] }>> {
    const r = await this.sm().send({ cla: BANK_CREDIT.cla, ins: BANK_CREDIT.listTokens, p1: 0, p2, ne: 256 });
    return r.ok ? { ok: true, tokens: parseTokenList(r.data) } : refused(r);
  }

  async get(
    slot: number,
    p2: number = BANK_CREDIT.storeOwn,
  ): Promise<TokenResult<{ readonly envelope: Uint8Array }>> {
    const r = await this.sm().send({
      cla: BANK_CREDIT.cla,
      ins: BANK_CREDIT.getToken,
      p1: slot,
      p2,
      ne: 256,
    });
    return r.ok ? { ok: true, envelope: r.data } : refused(r);
  }
}

export interface BankAccount {
  readonly bankId: string;
  readonly accountNo: string;
  readonly userId: string;
}

const text = (b: Uint8Array): string => {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
};

export class BankClient {
  private sm: ApduClient | undefined;
  readonly tokens = new TokenCommands(() => this.secure());

  constructor(
    private readonly client: ApduClient,
    readonly aid: Uint8Array,
  ) {}

  select(): Promise<ApduResponse> {
    this.sm = undefined;
    return this.client.select(this.aid);
  }

  /** Mutual authentication with the bank system's keys for the applet's area nodes. */
  async authenticate(keys: LocalAppletKeys): Promise<AppletAuthResult> {
    this.sm = undefined;
    const r = await keys.authenticate(this.client);
    if (r.ok) this.sm = r.client;
    return r;
  }

  private secure(): ApduClient {
    if (!this.sm?.secureMessagingActive) throw new Error('no secure messaging session: AUTHENTICATE first');
    return this.sm;
  }

  /** READ BINARY (SM): the account reference. */
  async readAccount(): Promise<TokenResult<{ readonly account: BankAccount }>> {
    const r = await this.secure().send({ cla: 0x00, ins: BANK_CREDIT.readBinary, p1: 0, p2: 0, ne: 256 });
    if (!r.ok || r.data.length !== accountRecord.span) return refused(r);
    const a = accountRecord.decode(r.data);
    return {
      ok: true,
      account: { bankId: text(a.bankId), accountNo: text(a.accountNo), userId: text(a.userId) },
    };
  }

  putToken(t: TokenToPut): Promise<TokenResult<{ readonly slot: number }>> {
    return this.tokens.put(t);
  }

  listTokens(): Promise<TokenResult<{ readonly tokens: TokenEntry[] }>> {
    return this.tokens.list();
  }

  getToken(slot: number): Promise<TokenResult<{ readonly envelope: Uint8Array }>> {
    return this.tokens.get(slot);
  }

  /** TRANSFER TOKEN (Fig. 14): moves the slot's token into the credit applet's store. */
  async transferToken(slot: number): Promise<TokenResult<{ readonly creditSlot: number }>> {
    const r = await this.secure().send({
      cla: BANK_CREDIT.cla,
      ins: BANK_CREDIT.transferToken,
      p1: slot,
      p2: 0,
      ne: 256,
    });
    return r.ok && r.data.length === 1 ? { ok: true, creditSlot: r.data[0]! } : refused(r);
  }
}
