// The card operations of seed 003 (flows.md 5.2), as a terminal runs them with a key holder it cannot
// see into: (a) detect, (b) authentication information through Request Service and Authentication1,
// (b′) the key holder's verdict and Authentication2, (c) balance check by a secure Read, (d) the value
// write and (e) the log write or read-back. (H) writes purse and log record in one atomic Write; (F)
// writes the purse, then the log in a second Write. Every refusal is a result code with its step.
import { logRecord, LogKind, purseBlock } from '@mica/apdu-specs/eeprom-records';
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { Mode } from '../backend/backend';
import { refused, type Refused } from '../backend/outcome';
import type { ResultCode } from '../platform/result-codes';
import { chargeIdOf } from '../platform/tx-id';
import type { FelicaClient } from '../felica/client';
import { AuthenticationError, SecureFelicaSession } from '../felica/secure-session';
import type { KeyHolder } from '../keys/key-holder';
import { isCardLeft } from '../terminals/card-retap';
import { TransportError } from '../transport/transport';
import {
  BRAND_SUITE,
  BRAND_SYSTEM_CODE,
  issuerAreaLayout,
  originOf,
  type ServiceKeyName,
} from './card-layout';

/** A card as a terminal found it: its IDm and the issuer area it carries. */
export interface DetectedCard {
  readonly idm: Uint8Array;
  readonly issuerId: string;
  readonly area: number;
  /** The card ID read from the keyless ID service (hex). */
  readonly cardId: string;
}

/** The execution ID a value write last sent, kept across re-taps so a re-tap sends that write again. */
export interface WriteSent {
  executionId?: number;
}

export type CardOp<T> =
  { readonly ok: true; readonly value: T; readonly card: string } | (Refused & { readonly card: string });

const fail = (code: ResultCode, step: string, message: string, card: string): Refused & { card: string } => ({
  ...refused(code, step, message),
  card,
});

/** (a): Polling the brand system, then the ID service of each known issuer area (keyless read). */
export async function detect(
  client: FelicaClient,
  issuers: readonly { readonly issuerId: string; readonly area: number }[],
  step: string,
): Promise<CardOp<DetectedCard>> {
  let idm: Uint8Array;
  try {
    idm = (await client.polling(BRAND_SYSTEM_CODE)).idm;
  } catch (e) {
    // A card that left the field is the re-tap's (the terminal polls again); silence is no card.
    if (isCardLeft(e)) throw e;
    return fail(
      'E_NODE_ABSENT',
      step,
      `no brand card answers Polling: ${(e as Error).message}`,
      'Polling → -',
    );
  }
  const ids = issuers.map((i) => issuerAreaLayout(i.area).id);
  const versions = await client.requestService(idm, ids);
  const at = versions.findIndex((v) => v !== 0xffff);
  if (at < 0)
    return fail(
      'E_NODE_ABSENT',
      step,
      'the card carries no area of a known issuer',
      'Request Service → FFFF',
    );
  const issuer = issuers[at]!;
  const r = await client.readWithoutEncryption(idm, [ids[at]!], [{ serviceIndex: 0, block: 0 }]);
  if (!r.ok)
    return fail(
      'E_NODE_ABSENT',
      step,
      'the ID service cannot be read',
      `Read Without Encryption → ${r.toString()}`,
    );
  return {
    ok: true,
    value: {
      idm,
      issuerId: issuer.issuerId,
      area: issuer.area,
      cardId: bytesToHex(r.value![0]!.subarray(0, 8)),
    },
    card: 'Polling, Request Service, Read Without Encryption (ID) → 00 00',
  };
}

/** A value-moving session over {service X, log overlap X} (b, b′). */
export class ValueSession {
  private constructor(
    private readonly session: SecureFelicaSession,
    readonly nodes: readonly [number, number],
    readonly keyName: ServiceKeyName,
  ) {}

  /** (b) and (b′): Request Service, then Authentication1/2 through `holder`. */
  static async open(
    client: FelicaClient,
    holder: KeyHolder,
    card: DetectedCard,
    keyName: ServiceKeyName,
    steps: { readonly info: string; readonly verdict: string },
  ): Promise<CardOp<ValueSession>> {
    const s = issuerAreaLayout(card.area).services[keyName];
    const nodes = [s.purse, s.log] as const;
    const versions = await client.requestService(card.idm, nodes);
    if (versions.some((v) => v === 0xffff))
      return fail(
        'E_NODE_ABSENT',
        steps.info,
        `the card has no service ${keyName} (Request Service answered FFFF)`,
        'Request Service → FFFF',
      );
    try {
      const session = await SecureFelicaSession.open(client, holder, {
        idm: card.idm,
        systemCode: BRAND_SYSTEM_CODE,
        suite: BRAND_SUITE,
        areas: [],
        services: nodes,
      });
      return {
        ok: true,
        value: new ValueSession(session, nodes, keyName),
        card: 'Authentication1/2 → 00 00',
      };
    } catch (e) {
      if (e instanceof AuthenticationError)
        return fail(
          'E_AUTH_FAILED',
          steps.verdict,
          `the card refused the key holder: ${e.message}`,
          `Authentication2 → ${e.sf1.toString(16)} ${e.sf2.toString(16)}`,
        );
      if (e instanceof TransportError) throw e;
      return fail(
        'E_NO_KEY',
        steps.verdict,
        `the key holder has no key for ${keyName}: ${(e as Error).message}`,
        'Authentication1 not sent',
      );
    }
  }

  /** (c): the purse balance through the overlap. */
  async balance(step: string): Promise<CardOp<number>> {
    const r = await this.session.read(this.nodes, [{ serviceIndex: 0, block: 0 }]);
    if (!r.ok) return fail('E_AUTH_FAILED', step, `Read refused (${r.toString()})`, `Read → ${r.toString()}`);
    return { ok: true, value: purseBlock.decode(r.value![0]!).balance, card: 'Read (purse) → 00 00' };
  }

  /**
   * (d): the value write carrying the charge ID of `txId`. (H) purse and log record in one Write;
   * (F) the purse block only (the log follows in `writeLog`).
   */
  async writeValue(
    mode: Mode,
    kind: 'add' | 'subtract',
    amount: number,
    txId: string,
    day: number,
    step: string,
    sent?: WriteSent,
  ): Promise<CardOp<true>> {
    const chargeId = chargeIdOf(txId);
    // After a re-tap: the write the tap before sent, the same execution ID (flows.md 1.4).
    const again = sent?.executionId !== undefined;
    let executionId = sent?.executionId ?? chargeId[0]! | (chargeId[1]! << 8);
    for (let attempt = 0; attempt < 2; attempt++) {
      const purse = purseBlock.encode({
        balance: 0,
        userData: new Uint8Array(6),
        lastAmount: amount,
        executionId,
      });
      const log = this.logBlock(kind, amount, txId, day);
      if (sent) sent.executionId = executionId;
      const r =
        mode === 'hardened'
          ? await this.session.write(
              this.nodes,
              [
                { serviceIndex: 0, block: 0 },
                { serviceIndex: 1, block: 0 },
              ],
              [purse, log],
            )
          : await this.session.write(this.nodes, [{ serviceIndex: 0, block: 0 }], [purse]);
      const card = `Write (${mode === 'hardened' ? 'purse + log' : 'purse'}) → ${r.toString().split(' ').pop()!}`;
      if (r.ok) return { ok: true, value: true, card };
      if (again && attempt === 0 && (await this.appliedBefore(mode, r.sf2, amount, executionId)))
        return { ok: true, value: true, card };
      if (r.sf2 === 0xe4 && attempt === 0) {
        // eeprom.md 4.5: a MAC-verified duplicate execution ID: the same write with that value + 1.
        executionId = (executionId + 1) & 0xffff;
        continue;
      }
      if (r.sf2 === 0x01) return fail('E_INSUFFICIENT_VALUE', step, 'the purse would go below 0', card);
      if (r.sf2 === 0x02) return fail('E_OVER_MAX', step, 'the purse would exceed its maxBalance', card);
      return fail('E_CARD_REFUSED', step, `the card refused the write (${r.toString()})`, card);
    }
    return fail('E_CARD_REFUSED', step, 'the execution ID clashed twice', 'Write → E4');
  }

  /**
   * Whether the card's duplicate refusal of a write sent again after a re-tap says the write of the
   * tap before applied: (H) DUPLICATE_CHARGE_ID, its log record is on the card; (F) no log block, so
   * DUPLICATE_EXECUTION_ID with the purse holding that execution ID and amount as its last write.
   */
  private async appliedBefore(
    mode: Mode,
    sf2: number,
    amount: number,
    executionId: number,
  ): Promise<boolean> {
    if (mode === 'hardened') return sf2 === 0xe1;
    if (sf2 !== 0xe4) return false;
    const r = await this.session.read(this.nodes, [{ serviceIndex: 0, block: 0 }]);
    if (!r.ok) return false;
    const purse = purseBlock.decode(r.value![0]!);
    return purse.executionId === executionId && purse.lastAmount === amount;
  }

  /** (e) (F): the separate Write of the log record. */
  async writeLog(
    kind: 'add' | 'subtract',
    amount: number,
    txId: string,
    day: number,
    step: string,
    again = false,
  ): Promise<CardOp<true>> {
    const r = await this.session.write(
      this.nodes,
      [{ serviceIndex: 1, block: 0 }],
      [this.logBlock(kind, amount, txId, day)],
    );
    const card = `Write (log) → ${r.toString().split(' ').pop()!}`;
    // Sent again after a re-tap, DUPLICATE_CHARGE_ID: the log write of the tap before reached the card.
    return r.ok || (again && r.sf2 === 0xe1)
      ? { ok: true, value: true, card }
      : fail('E_CARD_REFUSED', step, `the log write was refused (${r.toString()})`, card);
  }

  /** (e) (H): reads the newest log record back as proof; true when it carries the charge ID. */
  async readLog(txId: string, step: string): Promise<CardOp<boolean>> {
    const r = await this.session.read(this.nodes, [{ serviceIndex: 1, block: 0 }]);
    if (!r.ok)
      return fail(
        'E_CARD_REFUSED',
        step,
        `Read of the log refused (${r.toString()})`,
        `Read (log) → ${r.toString()}`,
      );
    const rec = logRecord.decode(r.value![0]!);
    return { ok: true, value: bytesToHex(rec.chargeId) === txId.slice(0, 16), card: 'Read (log) → 00 00' };
  }

  /** Record `index` of the log (0 = newest), through the log overlap: 16 bytes, zero when empty. */
  async readLogBlock(index: number): Promise<Uint8Array> {
    const r = await this.session.read(this.nodes, [{ serviceIndex: 1, block: index }]);
    if (!r.ok) throw new Error(`Read of log record ${index} refused (${r.toString()})`);
    return r.value![0]!;
  }

  close(): Promise<void> {
    return this.session.close();
  }

  private logBlock(kind: 'add' | 'subtract', amount: number, txId: string, day: number): Uint8Array {
    return logRecord.encode({
      chargeId: chargeIdOf(txId),
      amount,
      kind: kind === 'add' ? LogKind.add : LogKind.subtract,
      day,
      origin: originOf(this.keyName),
    });
  }
}
