// The e-money applet's client (seed 001): SELECT, AUTHENTICATE, GET BALANCE, READ LOG and AMOUNT CHANGE under SM, results as values.
import { AMOUNT_KIND, EMONEY, VALUE_SW } from '@mica/apdu-specs/apdu/emoney-settlement';
import { swName } from '@mica/apdu-specs/apdu/status-words';
import { logRecord, type LogRecord } from '@mica/apdu-specs/eeprom-records';
import type { ApduClient } from '../apdu/apdu-client';
import type { ApduResponse } from '../apdu/apdu-response';
import type { AppletAuthResult, LocalAppletKeys } from './applet-keys';

/** A refusal: the SW and its name (VALUE_SW names for the value rules). */
export interface AppletRefusal {
  readonly ok: false;
  readonly sw: number;
  readonly name: string;
}

export type AppletResult<T> = ({ readonly ok: true } & T) | AppletRefusal;

/** The name of a status word, VALUE_SW first. */
export function appletSwName(sw: number): string {
  const v = Object.entries(VALUE_SW).find(([, c]) => c === sw);
  return v ? v[0] : swName(sw);
}

export function refusal(r: ApduResponse): AppletRefusal {
  return { ok: false, sw: r.sw, name: appletSwName(r.sw) };
}

export const u32be = (d: Uint8Array, i: number): number =>
  ((d[i]! << 24) | (d[i + 1]! << 16) | (d[i + 2]! << 8) | d[i + 3]!) >>> 0;
export const be32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** Splits 16-byte log records (newest first). */
export function logRecords(data: Uint8Array): LogRecord[] {
  const out: LogRecord[] = [];
  for (let i = 0; i + 16 <= data.length; i += 16) out.push(logRecord.decode(data.subarray(i, i + 16)));
  return out;
}

export interface PurseState {
  readonly balance: number;
  readonly executionId: number;
}

export interface AmountChange {
  readonly kind: keyof typeof AMOUNT_KIND;
  /** The delta, or the new balance for an overwrite. */
  readonly amount: number;
  /** 8 bytes: the first 8 of the txId. */
  readonly chargeId: Uint8Array;
  readonly day: number;
  readonly origin: number;
  /** Overwrite only: the execution ID GET BALANCE read. */
  readonly executionId?: number;
}

export class EmoneyClient {
  private sm: ApduClient | undefined;

  constructor(
    private readonly client: ApduClient,
    readonly aid: Uint8Array,
  ) {}

  /** SELECT by AID; any earlier session is gone. */
  select(): Promise<ApduResponse> {
    this.sm = undefined;
    return this.client.select(this.aid);
  }

  async authenticate(keys: LocalAppletKeys): Promise<AppletAuthResult> {
    this.sm = undefined;
    const r = await keys.authenticate(this.client);
    if (r.ok) this.sm = r.client;
    return r;
  }

  private session(): ApduClient {
    if (!this.sm?.secureMessagingActive) throw new Error('no secure messaging session: AUTHENTICATE first');
    return this.sm;
  }

  async getBalance(): Promise<AppletResult<PurseState>> {
    const r = await this.session().send({
      cla: EMONEY.cla,
      ins: EMONEY.insGetBalance,
      p1: 0,
      p2: 0,
      ne: 256,
    });
    if (!r.ok || r.data.length !== EMONEY.balanceLength) return refusal(r);
    return { ok: true, balance: u32be(r.data, 0), executionId: (r.data[4]! << 8) | r.data[5]! };
  }

  async readLog(first = 0, count = 0): Promise<AppletResult<{ readonly records: LogRecord[] }>> {
    const r = await this.session().send({
      cla: EMONEY.cla,
      ins: EMONEY.insReadLog,
      p1: first,
      p2: count,
      ne: 256,
    });
    if (!r.ok) return refusal(r);
    return { ok: true, records: logRecords(r.data) };
  }

  async amountChange(c: AmountChange): Promise<AppletResult<PurseState>> {
    if (c.chargeId.length !== 8) throw new RangeError('chargeId must be 8 bytes');
    const data = [...c.chargeId, ...be32(c.amount), c.day >> 8, c.day & 0xff, c.origin];
    if (c.kind === 'overwrite') {
      if (c.executionId === undefined) throw new RangeError('an overwrite needs the executionId read');
      data.push(c.executionId >> 8, c.executionId & 0xff);
    }
    const r = await this.session().send({
      cla: EMONEY.cla,
      ins: EMONEY.insAmountChange,
      p1: AMOUNT_KIND[c.kind],
      p2: 0,
      data: Uint8Array.from(data),
      ne: 256,
    });
    if (!r.ok || r.data.length !== EMONEY.balanceLength) return refusal(r);
    return { ok: true, balance: u32be(r.data, 0), executionId: (r.data[4]! << 8) | r.data[5]! };
  }
}
