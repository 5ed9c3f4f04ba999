// The `smd` back-end's API (seed 002, flows.md 4.1-4.2): the request schemas, the answers and the
// SettlementBackend interface peers and clients see. The instance is SqliteSmd (./smd.ts): its core
// (./smd-core.ts), settlements (./smd-settlement.ts) and top-ups.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { canonicalJson } from '../canonical-json';
import type { Outcome } from '../outcome';
import { hex, int, object, oneOf, optional, str, txId, amount, type Infer } from '../schema';
import type { Backend } from '../backend';

const peerId = str({ max: 24, pattern: /^[\w.-]+$/, describe: 'a back-end id of 1-24 characters' });
const cardIdField = hex(8);
const orderNo = str({
  min: 8,
  max: 8,
  pattern: /^[\x21-\x7e]{8}$/,
  describe: '8 printable ASCII characters',
});
const answer = hex();

const receiptSchema = object({ orderNo, acnHash: hex(32), storeId: peerId, issuedAt: int() });

export const SMD_API = {
  auditView: object({}),
  /** The SMD's identity (certificate from the bureau) and its card system (the KC master). */
  setUp: object({
    bureauId: peerId,
    suite: oneOf(['2k3des', 'aes128'] as const),
    master: hex(),
    systemCode: int(0, 0xffff),
    areaCode: int(0, 0xffff),
    maxBalance: amount,
  }),
  identity: object({}),
  /** Issuance (dedicated channel): a card, its user and its opening value. */
  registerCard: object({
    cardId: cardIdField,
    idm: hex(8),
    userId: str({ max: 64 }),
    name: str({ max: 128 }),
    opening: int(0, 0xffffffff),
  }),
  /** ST8 / ST106: the BILL with SIG1 and the card ID (second embodiment: and the balance it read). */
  beginSettlement: object({
    txId,
    embodiment: oneOf(['first', 'second'] as const),
    bill: hex(),
    encoding: oneOf(['json', 'binary'] as const),
    sig1: hex(64),
    certificate: hex(),
    cardId: cardIdField,
    balance: optional(int(0, 0xffffffff)),
  }),
  /** ST10: the card challenge (the answer to AUTHENTICATE 1) → AUTHENTICATE 2. */
  authChallenge: object({ ref: txId, response: answer }),
  /** ST11: the card's answer to AUTHENTICATE 2 → the next card command of the flow. */
  authConfirm: object({ ref: txId, response: answer }),
  /** ST13-ST14: the BI → {header, balance, SPC} with SIG2, or E_INSUFFICIENT. */
  balanceInfo: object({ settlementId: txId, response: answer }),
  /** ST19: the PCN → the ACN with SIG3 (or, after a duplicate charge ID, a log read). */
  completeSettlement: object({ settlementId: txId, response: answer }),
  /** A lost PCN: re-authenticate, then read the log (flows.md 4.2 errors). */
  recoverSettlement: object({ settlementId: txId }),
  /** The log read of a recovery: completes the settlement, or re-sends the same SPC. */
  reconcileSettlement: object({ settlementId: txId, response: answer }),
  /** ST16 / ST109: the user declined. */
  abandon: object({ orderNo }),
  /** (9)-(11): the store's receipt with SIG4. */
  acceptReceipt: object({ receipt: receiptSchema, sig4: hex(64), certificate: hex() }),
  receipt: object({ orderNo }),
  settlement: object({ settlementId: txId }),
  /** Top-up (1)-(4): the card ID and balance → AUTHENTICATE, then READ LOG into [32]. */
  beginTopUp: object({ txId, cardId: cardIdField, balance: int(0, 0xffffffff) }),
  topUpHistory: object({ topUpId: txId, response: answer }),
  /** (5)-(7): {sum, credit no., expiry, PIN} → VALUE UPDATE with SIG5. */
  requestTopUp: object({
    topUpId: txId,
    amount,
    creditId: peerId,
    creditNo: str({ max: 19, pattern: /^\d+$/, describe: 'a credit card number (digits)' }),
    expiry: int(0, 0xffff),
    pin: str({ min: 4, max: 12, pattern: /^\d+$/, describe: '4-12 PIN digits' }),
  }),
  /** (7): the card's answer to VALUE UPDATE → books the top-up, then READ LOG. */
  completeTopUp: object({ topUpId: txId, response: answer }),
  /** (8)-(9): the card log into [32]; an update the log does not show is reversed at the credit company. */
  topUpLog: object({ topUpId: txId, response: answer }),
  /**
   * (7) answer lost: re-authenticate, then READ LOG settles it (booked if applied, else reversed); or,
   * before (4), a card tapped again: a new card session for the history read.
   */
  recoverTopUp: object({ topUpId: txId }),
  topUp: object({ topUpId: txId }),
  cardLog: object({ cardId: cardIdField }),
} as const;

export type SmdRequest<M extends keyof typeof SMD_API> = Infer<(typeof SMD_API)[M]>;

export interface SettlementHeader {
  readonly orderNo: string;
  readonly amount: number;
  readonly billHash: string;
  readonly smdId: string;
}

/** A card command for the client to relay, with what the client must check first. */
export interface CardStep {
  readonly command: string;
  readonly step: string;
  /** SIG2 (first embodiment ST12 / ST14) over {settlementId, step, command, header?, balance?}. */
  readonly sig2?: string;
  readonly header?: SettlementHeader;
  readonly balance?: number;
  readonly certificate?: string;
}

export interface Acn {
  readonly settlementId: string;
  readonly orderNo: string;
  readonly amount: number;
  readonly billHash: string;
  readonly newBalance: number;
  readonly completedAt: number;
}

export interface AcnResult {
  readonly acn: Acn;
  readonly sig3: string;
  readonly certificate: string;
  /** Whether the merchant store accepted (and booked) the ACN. */
  readonly storeAccepted: boolean;
}

export type SettlementNext = { readonly kind: 'acn' } & AcnResult;

export type Receipt = Infer<typeof receiptSchema>;

export interface SettlementView {
  readonly settlementId: string;
  readonly orderNo: string;
  readonly storeId: string;
  readonly merchantId: string;
  readonly cardId: string;
  readonly amount: number;
  readonly billHash: string;
  readonly embodiment: string;
  readonly status: 'verified' | 'authenticated' | 'debit-sent' | 'completed' | 'abandoned' | 'failed';
  readonly acn: Acn | null;
  readonly receipt: Receipt | null;
  readonly sig4: string | null;
}

export interface TopUpView {
  readonly topUpId: string;
  readonly cardId: string;
  readonly amount: number | null;
  readonly creditId: string | null;
  readonly status: 'started' | 'authorized' | 'declined' | 'applied' | 'refused' | 'reversed';
  readonly newBalance: number | null;
}

export interface CardLogRow {
  readonly chargeId: string;
  readonly amount: number;
  readonly kind: number;
  readonly day: number;
  readonly origin: number;
}

export interface SettlementBackend extends Backend {
  setUp(r: SmdRequest<'setUp'>): Promise<Outcome<{ readonly certificate: string }>>;
  identity(
    r: SmdRequest<'identity'>,
  ): Promise<Outcome<{ readonly certificate: string; readonly root: string }>>;
  registerCard(r: SmdRequest<'registerCard'>): Promise<Outcome<{ readonly cardId: string }>>;
  beginSettlement(
    r: SmdRequest<'beginSettlement'>,
  ): Promise<Outcome<CardStep & { readonly settlementId: string }>>;
  authChallenge(r: SmdRequest<'authChallenge'>): Promise<Outcome<CardStep>>;
  authConfirm(r: SmdRequest<'authConfirm'>): Promise<Outcome<CardStep>>;
  balanceInfo(r: SmdRequest<'balanceInfo'>): Promise<Outcome<CardStep>>;
  completeSettlement(
    r: SmdRequest<'completeSettlement'>,
  ): Promise<Outcome<SettlementNext | ({ readonly kind: 'card' } & CardStep)>>;
  recoverSettlement(r: SmdRequest<'recoverSettlement'>): Promise<Outcome<CardStep>>;
  reconcileSettlement(
    r: SmdRequest<'reconcileSettlement'>,
  ): Promise<Outcome<SettlementNext | ({ readonly kind: 'card' } & CardStep)>>;
  abandon(r: SmdRequest<'abandon'>): Promise<Outcome<SettlementView>>;
  acceptReceipt(r: SmdRequest<'acceptReceipt'>): Promise<Outcome<{ readonly orderNo: string }>>;
  receipt(
    r: SmdRequest<'receipt'>,
  ): Promise<Outcome<{ readonly receipt: Receipt; readonly sig4: string; readonly certificate: string }>>;
  settlement(r: SmdRequest<'settlement'>): Promise<Outcome<SettlementView>>;
  beginTopUp(r: SmdRequest<'beginTopUp'>): Promise<Outcome<CardStep & { readonly topUpId: string }>>;
  topUpHistory(r: SmdRequest<'topUpHistory'>): Promise<Outcome<{ readonly records: number }>>;
  requestTopUp(
    r: SmdRequest<'requestTopUp'>,
  ): Promise<Outcome<CardStep & { readonly sig5: string; readonly blobHash: string }>>;
  completeTopUp(r: SmdRequest<'completeTopUp'>): Promise<Outcome<CardStep & { readonly newBalance: number }>>;
  topUpLog(
    r: SmdRequest<'topUpLog'>,
  ): Promise<Outcome<{ readonly applied: boolean; readonly records: number }>>;
  recoverTopUp(r: SmdRequest<'recoverTopUp'>): Promise<Outcome<CardStep>>;
  topUp(r: SmdRequest<'topUp'>): Promise<Outcome<TopUpView>>;
  cardLog(r: SmdRequest<'cardLog'>): Promise<Outcome<readonly CardLogRow[]>>;
}

declare module '../backend' {
  interface KindInterfaces {
    smd: SettlementBackend;
  }
}

/** SHA-256 of an ACN's canonical JSON (the receipt names it). */
export function acnHash(acn: Acn): string {
  return bytesToHex(sha256(new TextEncoder().encode(canonicalJson(acn))));
}
