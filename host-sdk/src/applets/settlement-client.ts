// The settlement applet's client (seed 002): SELECT, GET DATA, AUTHENTICATE under KC, then BRC, SPC, VALUE UPDATE and READ LOG under SM.
import { SETTLEMENT } from '@mica/apdu-specs/apdu/emoney-settlement';
import type { LogRecord } from '@mica/apdu-specs/eeprom-records';
import type { ApduClient } from '../apdu/apdu-client';
import type { ApduResponse } from '../apdu/apdu-response';
import type { AppletAuthResult, LocalAppletKeys } from './applet-keys';
import { be32, logRecords, refusal, u32be, type AppletResult } from './emoney-client';

export interface SettlementPayment {
  readonly chargeId: Uint8Array;
  /** 8 bytes, echoed in the PCN. */
  readonly orderNo: Uint8Array;
  readonly amount: number;
  readonly day: number;
  readonly origin: number;
  /** SHA-256 of the BILL (32 bytes). */
  readonly billHash: Uint8Array;
}

export interface SettlementValueUpdate {
  readonly chargeId: Uint8Array;
  /** First 8 bytes of the topUpId. */
  readonly topUpId: Uint8Array;
  readonly op: 'add' | 'subtract';
  readonly amount: number;
  readonly day: number;
  readonly origin: number;
}

function exact(b: Uint8Array, n: number, what: string): Uint8Array {
  if (b.length !== n) throw new RangeError(`${what} must be ${n} bytes`);
  return b;
}

export class SettlementClient {
  private sm: ApduClient | undefined;

  constructor(
    private readonly client: ApduClient,
    readonly aid: Uint8Array,
  ) {}

  select(): Promise<ApduResponse> {
    this.sm = undefined;
    return this.client.select(this.aid);
  }

  /** GET DATA: the card ID and the balance in plaintext (no authentication). */
  async getData(): Promise<AppletResult<{ readonly cardId: Uint8Array; readonly balance: number }>> {
    const r = await this.client.send({
      cla: SETTLEMENT.cla,
      ins: SETTLEMENT.insGetData,
      p1: 0,
      p2: 0,
      ne: 256,
    });
    if (!r.ok || r.data.length !== SETTLEMENT.cardIdLength + 4) return refusal(r);
    return { ok: true, cardId: r.data.slice(0, 8), balance: u32be(r.data, 8) };
  }

  /** Mutual authentication under the common key KC (the area node). */
  async authenticate(keys: LocalAppletKeys): Promise<AppletAuthResult> {
    this.sm = undefined;
    const r = await keys.authenticate(this.client);
    if (r.ok) this.sm = r.client;
    return r;
  }

  private secure(p1: number, p2: number, data?: Uint8Array): Promise<ApduResponse> {
    if (!this.sm?.secureMessagingActive) throw new Error('no secure messaging session: AUTHENTICATE first');
    return this.sm.send({
      cla: SETTLEMENT.cla,
      ins: SETTLEMENT.insSecure,
      p1,
      p2,
      ...(data ? { data } : {}),
      ne: 256,
    });
  }

  /** BRC → BI. */
  async balance(): Promise<AppletResult<{ readonly balance: number }>> {
    const r = await this.secure(SETTLEMENT.inner.brc, 0);
    if (!r.ok || r.data.length !== 4) return refusal(r);
    return { ok: true, balance: u32be(r.data, 0) };
  }

  /** SPC → PCN. */
  async pay(
    p: SettlementPayment,
  ): Promise<
    AppletResult<{ readonly orderNo: Uint8Array; readonly debited: number; readonly newBalance: number }>
  > {
    const data = Uint8Array.of(
      ...exact(p.chargeId, 8, 'chargeId'),
      ...exact(p.orderNo, 8, 'orderNo'),
      ...be32(p.amount),
      p.day >> 8,
      p.day & 0xff,
      p.origin,
      0,
      ...exact(p.billHash, 32, 'billHash'),
    );
    const r = await this.secure(SETTLEMENT.inner.spc, 0, data);
    if (!r.ok || r.data.length !== SETTLEMENT.pcnLength) return refusal(r);
    return {
      ok: true,
      orderNo: r.data.slice(0, 8),
      debited: u32be(r.data, 8),
      newBalance: u32be(r.data, 12),
    };
  }

  async valueUpdate(u: SettlementValueUpdate): Promise<AppletResult<{ readonly newBalance: number }>> {
    const data = Uint8Array.of(
      ...exact(u.chargeId, 8, 'chargeId'),
      ...exact(u.topUpId, 8, 'topUpId'),
      u.op === 'add' ? 1 : 2,
      ...be32(u.amount),
      u.day >> 8,
      u.day & 0xff,
      u.origin,
    );
    const r = await this.secure(SETTLEMENT.inner.valueUpdate, 0, data);
    if (!r.ok || r.data.length !== 5 || r.data[0] !== 1) return refusal(r);
    return { ok: true, newBalance: u32be(r.data, 1) };
  }

  async readLog(count = 0): Promise<AppletResult<{ readonly records: LogRecord[] }>> {
    const r = await this.secure(SETTLEMENT.inner.readLog, count);
    if (!r.ok) return refusal(r);
    return { ok: true, records: logRecords(r.data) };
  }
}
