// The `credit` back-end (flows.md 1.2 one schema for all seeds; seed 001 in 3.1-3.2): card accounts
// with limit and liability (billed + unbilled), billing rows (Fig. 4B), single-use nonces (H), links to
// e-money numbers, per-card applet keys (wrapped) for the PIN proof, and cutoffs. Ledger legs: a VALUE
// purchase books asset:receivable:<card> → clearing:<emoney> and asks the e-money server to prepare
// the charge; the cutoff on the 25th debits the billing account: clearing:<bank> → receivable.
import { computeMac } from '@mica/apdu-specs/crypto/mac';
import { constantTimeEqual } from '@mica/apdu-specs/crypto/compare';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { jstDateTime, nextJstMonthDay } from '../../platform/clock';
import { newTxId } from '../../platform/tx-id';
import { canonicalJson } from '../canonical-json';
import { balanceOf, hasTx, post } from '../ledger';
import { deliverToPeer } from '../link-retry';
import { accepted, refuse, refused, type Outcome } from '../outcome';
import { bool, hex, int, object, oneOf, optional, str, txId, amount, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';
import { x25519 } from '@noble/curves/ed25519.js';
import { nextDeductionDay } from '../../bank-credit/calendar';
import { decodeToken, openEnvelope, parseEnvelope, TokenError, type OpenKey } from '../../bank-credit/token';
import { CertificateError, verifyCertificate } from '../../bureau/certificate';
import { jstDay } from '../../platform/clock';
import { list } from '../schema';
import type { BankRequest, DeductionDetail } from './bank';
import type { EMoneyRequest } from './emoney';
import { certifyBank, certifyCard, creditAnchor, type PkmaAnchor } from './pkma';
import {
  authorizeCardNotPresent,
  captureCardNotPresent,
  reverseCardNotPresent,
  type CardNotPresentResult,
} from './credit-permission';

const cardNo = str({ max: 19, pattern: /^\d+$/, describe: 'a credit card number (digits)' });
const peerId = str({ max: 64, pattern: /^[\w.-]+$/, describe: 'a back-end id' });
const terminalId = str({ max: 64 });

export const CREDIT_API = {
  auditView: object({}),
  openCardAccount: object({
    cardNo,
    userId: str({ max: 64 }),
    name: str({ max: 128 }),
    billingBankId: peerId,
    billingAccountNo: str({ max: 32 }),
    /** Last valid day, days since 2000-01-01 JST. */
    cardExpiry: int(0, 0xffff),
    limit: int(0, 0xffffffff),
    /** Written at issuance as a salted PBKDF2 hash (Fig. 4A) and never read online. */
    pin: optional(str({ min: 4, max: 12, pattern: /^\d+$/, describe: '4-12 PIN digits' })),
  }),
  setLost: object({ cardNo, lost: bool }),
  linkEmoney: object({ cardNo, emoneyNo: str({ max: 32, pattern: /^\d+$/ }) }),
  /** The credit applet's per-card key (the area key the card MACs the PIN proof with), wrapped at rest. */
  registerCardKey: object({
    cardNo,
    suite: oneOf(['des', '2k3des', '3k3des', 'aes128'] as const),
    key: hex(),
  }),
  account: object({ cardNo }),
  beginPurchase: object({ terminalId }),
  purchaseValue: object({
    txId,
    terminalId,
    creditCardNo: cardNo,
    emoneyNo: optional(str({ max: 32, pattern: /^\d+$/ })),
    amount,
    /** The e-money back-end that prepares the charge. */
    emoneyId: peerId,
    auth: object({
      result: optional(oneOf(['verified', 'failed'] as const)),
      nonce: optional(hex(8)),
      mac: optional(hex(8)),
    }),
  }),
  billing: object({ cardNo }),
  runCutoff: object({
    cycle: str({ min: 7, max: 7, pattern: /^\d{4}-\d{2}$/, describe: 'a cycle YYYY-MM' }),
  }),
  /** Seed 002 credit permission device [35] (./credit-permission.ts). */
  authorizeCardNotPresent: object({
    txId,
    cardNo,
    expiry: int(0, 0xffff),
    pin: str({ min: 4, max: 12, pattern: /^\d+$/, describe: '4-12 PIN digits' }),
    amount,
    merchantId: peerId,
  }),
  captureCardNotPresent: object({ txId, merchantId: peerId }),
  reverseCardNotPresent: object({ txId }),
  // ---- seed 000 (flows.md 2): key exchange, token verification, reflections, statements, 1103
  /** The credit X25519 decryption key of a bank's key set (created once); answers its public key. */
  contractKey: object({
    bankId: peerId,
    keyId: hex(8),
    keyMode: optional(oneOf(['ca', 'contract'] as const)),
  }),
  exchangeKeys: object({
    bankId: peerId,
    keyMode: oneOf(['ca', 'contract', 'common'] as const),
    keyId: hex(8),
    bankKey: optional(hex(32)),
    certificate: optional(hex(155)),
    root: optional(hex(155)),
    commonKey: optional(hex(32)),
  }),
  /** B2-B7: one request with the card's tokens. */
  authorizeWithTokens: object({
    txId,
    cardId: str({ max: 64 }),
    cardNo,
    amount,
    envelopes: list(hex(), 8),
  }),
  reflections: object({ cardNo }),
  /** C1: closing (the 15th): unbilled becomes billed; the statement goes to the bank. */
  closeCycle: object({ bankId: peerId, cycleId: str({ min: 7, max: 7, pattern: /^\d{4}-\d{2}$/ }) }),
  /** C4 → 1102, 1103: the bank's batch transfer and its detail rows. */
  receiveDeduction: object({
    txId,
    bankId: peerId,
    cycleId: str({ min: 7, max: 7, pattern: /^\d{4}-\d{2}$/ }),
    total: int(0, 0xffffffff),
    rows: list(
      object({
        userId: str({ max: 16 }),
        fromPool: int(0, 0xffffffff),
        fromPersonal: int(0, 0xffffffff),
        tokens: list(
          object({
            tokenId: hex(16),
            deposit: int(0, 0xffffffff),
            drawn: int(0, 0xffffffff),
            carried: int(0, 0xffffffff),
          }),
        ),
      }),
    ),
    notices: list(object({ userId: str({ max: 16 }), shortfall: int(0, 0xffffffff) })),
  }),
  /** 1103's exception rows (reflections made invalid), oldest first. */
  exceptions: object({ cycleId: optional(str({ min: 7, max: 7, pattern: /^\d{4}-\d{2}$/ })) }),
  // ---- `direct` (flows.md 2.2, 2.5 AUTHENTICATE PK; backend/kinds/pkma.ts)
  /** The card trust anchor: issuerId and the PK-MA certification key (created once). */
  pkmaAnchor: object({}),
  /** Personalisation: the credit-AP certificate of a card's Ed25519 key (subject = IDm, 16 hex). */
  certifyCard: object({ cardId: hex(8), publicKey: hex(32) }),
  /** 1501: the bank certificate (role bank) for a contracted bank's PK-MA key, with the anchor. */
  certifyBank: object({ bankId: str({ max: 24, pattern: /^[\w.-]+$/ }), publicKey: hex(32) }),
} as const;

export type CreditRequest<M extends keyof typeof CREDIT_API> = Infer<(typeof CREDIT_API)[M]>;

export interface CardAccountView {
  readonly cardNo: string;
  readonly userId: string;
  readonly name: string;
  readonly billingBankId: string;
  readonly billingAccountNo: string;
  readonly cardExpiry: number;
  readonly lost: boolean;
  readonly limit: number;
  readonly liabilityBilled: number;
  readonly liabilityUnbilled: number;
  readonly overdue: number;
  readonly emoneyNo: string | null;
  readonly available: number;
}

export interface BillingRow {
  readonly txId: string;
  readonly cardNo: string;
  readonly amount: number;
  readonly terminalId: string;
  readonly at: number;
  readonly cycle: string;
  readonly reversedBy: string | null;
}

export interface CutoffRow {
  readonly cycle: string;
  readonly cardNo: string;
  readonly total: number;
  readonly bankTxId: string;
  readonly result: string;
}

export interface CreditBackend extends Backend {
  openCardAccount(r: CreditRequest<'openCardAccount'>): Promise<Outcome<CardAccountView>>;
  setLost(r: CreditRequest<'setLost'>): Promise<Outcome<CardAccountView>>;
  linkEmoney(r: CreditRequest<'linkEmoney'>): Promise<Outcome<CardAccountView>>;
  registerCardKey(r: CreditRequest<'registerCardKey'>): Promise<Outcome<{ readonly cardNo: string }>>;
  account(r: CreditRequest<'account'>): Promise<Outcome<CardAccountView>>;
  beginPurchase(
    r: CreditRequest<'beginPurchase'>,
  ): Promise<Outcome<{ readonly nonce: string; readonly expiresAt: number }>>;
  purchaseValue(r: CreditRequest<'purchaseValue'>): Promise<Outcome<BillingRow>>;
  billing(r: CreditRequest<'billing'>): Promise<Outcome<readonly BillingRow[]>>;
  runCutoff(r: CreditRequest<'runCutoff'>): Promise<Outcome<readonly CutoffRow[]>>;
  authorizeCardNotPresent(
    r: CreditRequest<'authorizeCardNotPresent'>,
  ): Promise<Outcome<CardNotPresentResult>>;
  captureCardNotPresent(r: CreditRequest<'captureCardNotPresent'>): Promise<Outcome<CardNotPresentResult>>;
  reverseCardNotPresent(r: CreditRequest<'reverseCardNotPresent'>): Promise<Outcome<CardNotPresentResult>>;
  contractKey(r: CreditRequest<'contractKey'>): Promise<Outcome<{ readonly publicKey: string }>>;
  exchangeKeys(r: CreditRequest<'exchangeKeys'>): Promise<Outcome<{ readonly bankId: string }>>;
  authorizeWithTokens(r: CreditRequest<'authorizeWithTokens'>): Promise<Outcome<TokenAuthorization>>;
  reflections(r: CreditRequest<'reflections'>): Promise<Outcome<readonly Reflection[]>>;
  closeCycle(r: CreditRequest<'closeCycle'>): Promise<Outcome<readonly StatementRow[]>>;
  receiveDeduction(r: CreditRequest<'receiveDeduction'>): Promise<Outcome<Reconciliation>>;
  exceptions(r: CreditRequest<'exceptions'>): Promise<Outcome<readonly ExceptionRow[]>>;
  pkmaAnchor(r: CreditRequest<'pkmaAnchor'>): Promise<Outcome<PkmaAnchor>>;
  certifyCard(r: CreditRequest<'certifyCard'>): Promise<Outcome<{ readonly certificate: string }>>;
  certifyBank(
    r: CreditRequest<'certifyBank'>,
  ): Promise<Outcome<PkmaAnchor & { readonly certificate: string }>>;
}

/** One row of 1103's exceptions [1103]: a reflection the bank's batch did not confirm. */
export interface ExceptionRow {
  readonly cycleId: string;
  readonly reflectionId: string;
  readonly reason: string;
}

export type TokenStatus =
  | 'ABSENT'
  | 'INVALID_SEAL'
  | 'EXPIRED'
  | 'ALREADY_USED'
  | 'USER_MISMATCH'
  | 'WRONG_COMPANY'
  | 'BINDING_MISMATCH'
  | 'REFLECTED';

/** B7/B8's answer: approved at 1008 or refused at 1010 (reflections stay either way). */
export interface TokenAuthorization {
  readonly txId: string;
  readonly result: 'OK_AVAILABLE' | 'E_OVER_LIMIT';
  readonly step: '1008' | '1010';
  readonly available: number;
  readonly tokens: readonly { readonly tokenId: string | null; readonly status: TokenStatus }[];
  /** Token IDs to mark used on the card (MARK TOKEN USED). */
  readonly marks: readonly string[];
}

export interface Reflection {
  readonly reflectionId: string;
  readonly tokenId: string;
  readonly bankId: string;
  readonly amount: number;
  readonly validUntil: number;
  readonly status: 'active' | 'confirmed' | 'invalid';
}

export interface StatementRow {
  readonly userId: string;
  readonly bankAccountNo: string;
  readonly billed: number;
}

export interface Reconciliation {
  readonly txId: string;
  readonly confirmed: readonly string[];
  readonly invalid: readonly string[];
  readonly carried: readonly string[];
  readonly overdue: readonly string[];
}

declare module '../backend' {
  interface KindInterfaces {
    credit: CreditBackend;
  }
}

const MIGRATIONS = [
  `CREATE TABLE card_accounts (cardNo TEXT PRIMARY KEY, userId TEXT NOT NULL, name TEXT NOT NULL,
     billingBankId TEXT NOT NULL, billingAccountNo TEXT NOT NULL, cardExpiry INTEGER NOT NULL,
     lost INTEGER NOT NULL DEFAULT 0, "limit" INTEGER NOT NULL, liabilityBilled INTEGER NOT NULL DEFAULT 0,
     liabilityUnbilled INTEGER NOT NULL DEFAULT 0, overdue INTEGER NOT NULL DEFAULT 0,
     pinSalt BLOB, pinHash BLOB, keySuite TEXT);
   CREATE TABLE authorizations (txId TEXT PRIMARY KEY, cardNo TEXT NOT NULL, expiry INTEGER, amount INTEGER NOT NULL,
     result TEXT NOT NULL, reason TEXT, tokenStatuses TEXT);
   CREATE TABLE billing (txId TEXT PRIMARY KEY, cardNo TEXT NOT NULL REFERENCES card_accounts, amount INTEGER NOT NULL,
     terminalId TEXT NOT NULL, at INTEGER NOT NULL, cycle TEXT NOT NULL, reversedBy TEXT, emoneyId TEXT NOT NULL);
   CREATE TABLE nonces (nonce TEXT PRIMARY KEY, terminalId TEXT NOT NULL, issuedAt INTEGER NOT NULL, usedAt INTEGER);
   CREATE TABLE emoney_links (cardNo TEXT PRIMARY KEY REFERENCES card_accounts, emoneyNo TEXT NOT NULL);
   CREATE TABLE cutoffs (cycle TEXT NOT NULL, cardNo TEXT NOT NULL, total INTEGER NOT NULL, bankTxId TEXT NOT NULL,
     result TEXT NOT NULL, PRIMARY KEY (cycle, cardNo));`,
  // seed 000 (flows.md 2.1)
  `CREATE TABLE bank_keys (bankId TEXT NOT NULL, keyId TEXT NOT NULL, keyMode TEXT NOT NULL, bankKey BLOB,
     exchangedAt INTEGER NOT NULL, PRIMARY KEY (bankId, keyId));
   CREATE TABLE reflections (reflectionId TEXT PRIMARY KEY, tokenId TEXT NOT NULL, cardNo TEXT NOT NULL,
     userId TEXT NOT NULL, bankId TEXT NOT NULL, amount INTEGER NOT NULL, validUntil INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('active', 'confirmed', 'invalid')), seq INTEGER NOT NULL);
   CREATE TABLE used_tokens (tokenId TEXT PRIMARY KEY, usedAt INTEGER NOT NULL, cardId TEXT NOT NULL, txId TEXT NOT NULL);
   CREATE TABLE statements_out (bankId TEXT NOT NULL, cycleId TEXT NOT NULL, rows TEXT NOT NULL, PRIMARY KEY (bankId, cycleId));
   CREATE TABLE transfers_in (txId TEXT PRIMARY KEY, bankId TEXT NOT NULL, cycleId TEXT NOT NULL, total INTEGER NOT NULL,
     detail TEXT NOT NULL);
   CREATE TABLE exceptions (seq INTEGER PRIMARY KEY AUTOINCREMENT, cycleId TEXT NOT NULL, reflectionId TEXT NOT NULL,
     reason TEXT NOT NULL);`,
];

/** A nonce of beginPurchase is valid for 120 s (flows.md 3.2 P1). */
export const NONCE_LIFETIME_MS = 120_000;
/** The cutoff: the 25th at 00:00 JST (flows.md 3.2 R4). */
export const CUTOFF_DAY = 25;
const PBKDF2_ROUNDS = 1000;

/** The credit company's certified X25519 encryption key (key mode ca). */
const CA_DEC = 'ca-dec';
const receivable = (card: string): string => `asset:receivable:${card}`;

/** The billing cycle of an instant: the YYYY-MM of the next cutoff after it. */
export function cycleOf(ms: number): string {
  const { year, month } = jstDateTime(nextJstMonthDay(ms, CUTOFF_DAY));
  return `${year}-${String(month).padStart(2, '0')}`;
}

/** The card number as the PIN proof carries it: digits left-aligned, F-padded to 10 bytes. */
export function cardNoField(no: string): Uint8Array {
  if (!/^\d{1,20}$/.test(no)) throw new RangeError(`card number must be 1-20 digits, got "${no}"`);
  return hexToBytes(no.padEnd(20, 'f'));
}

type AccountRow = Omit<CardAccountView, 'available' | 'emoneyNo' | 'lost'> & {
  lost: number;
  keySuite: string | null;
};

export class SqliteCredit extends SqliteBackend implements CreditBackend {
  readonly kind = 'credit';

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, CREDIT_API);
    this.scheduleCutoff();
  }

  openCardAccount(request: CreditRequest<'openCardAccount'>): Promise<Outcome<CardAccountView>> {
    const r = this.checked<CreditRequest<'openCardAccount'>>('openCardAccount', request);
    return Promise.resolve(
      this.run('openCardAccount', { ...r, pin: r.pin === undefined ? undefined : '*' }, () => {
        if (this.row(r.cardNo)) refuse('E_DUPLICATE', '—', `card ${r.cardNo} has an account`);
        const salt = r.pin === undefined ? null : this.rng.bytes(16);
        this.db
          .prepare(
            'INSERT INTO card_accounts (cardNo, userId, name, billingBankId, billingAccountNo, cardExpiry, "limit", pinSalt, pinHash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(
            r.cardNo,
            r.userId,
            r.name,
            r.billingBankId,
            r.billingAccountNo,
            r.cardExpiry,
            r.limit,
            salt,
            salt && pbkdf2(sha256, utf8ToBytes(r.pin!), salt, { c: PBKDF2_ROUNDS, dkLen: 32 }),
          );
        return this.view(r.cardNo);
      }),
    );
  }

  setLost(request: CreditRequest<'setLost'>): Promise<Outcome<CardAccountView>> {
    const r = this.checked<CreditRequest<'setLost'>>('setLost', request);
    return Promise.resolve(
      this.run('setLost', r, () => {
        this.view(r.cardNo);
        this.db.prepare('UPDATE card_accounts SET lost = ? WHERE cardNo = ?').run(r.lost ? 1 : 0, r.cardNo);
        return this.view(r.cardNo);
      }),
    );
  }

  linkEmoney(request: CreditRequest<'linkEmoney'>): Promise<Outcome<CardAccountView>> {
    const r = this.checked<CreditRequest<'linkEmoney'>>('linkEmoney', request);
    return Promise.resolve(
      this.run('linkEmoney', r, () => {
        this.view(r.cardNo);
        this.db
          .prepare(
            'INSERT INTO emoney_links (cardNo, emoneyNo) VALUES (?, ?) ON CONFLICT (cardNo) DO UPDATE SET emoneyNo = excluded.emoneyNo',
          )
          .run(r.cardNo, r.emoneyNo);
        return this.view(r.cardNo);
      }),
    );
  }

  registerCardKey(request: CreditRequest<'registerCardKey'>): Promise<Outcome<{ readonly cardNo: string }>> {
    const r = this.checked<CreditRequest<'registerCardKey'>>('registerCardKey', request);
    return Promise.resolve(
      this.run('registerCardKey', { ...r, key: '*' }, () => {
        this.view(r.cardNo);
        const key = hexToBytes(r.key);
        if (key.length < 16)
          refuse('E_BAD_STATE', '—', `the ${r.suite} key must be at least 16 bytes, got ${key.length}`);
        this.secrets.put(`card-key:${r.cardNo}`, key);
        this.db.prepare('UPDATE card_accounts SET keySuite = ? WHERE cardNo = ?').run(r.suite, r.cardNo);
        return { cardNo: r.cardNo };
      }),
    );
  }

  account(request: CreditRequest<'account'>): Promise<Outcome<CardAccountView>> {
    const r = this.checked<CreditRequest<'account'>>('account', request);
    return Promise.resolve(this.run('account', r, () => this.view(r.cardNo)));
  }

  beginPurchase(
    request: CreditRequest<'beginPurchase'>,
  ): Promise<Outcome<{ readonly nonce: string; readonly expiresAt: number }>> {
    const r = this.checked<CreditRequest<'beginPurchase'>>('beginPurchase', request);
    return Promise.resolve(
      this.run('beginPurchase', r, () => {
        const nonce = bytesToHex(this.rng.bytes(8));
        this.db
          .prepare('INSERT INTO nonces (nonce, terminalId, issuedAt) VALUES (?, ?, ?)')
          .run(nonce, r.terminalId, this.clock.now());
        return { nonce, expiresAt: this.clock.now() + NONCE_LIFETIME_MS };
      }),
    );
  }

  /**
   * P7-P10. Step one (one transaction): the checks of P8, the billing row and the ledger, with the
   * e-money call as an in-flight item. Step two: emoney.prepareCharge with the same txId. Step three
   * (one transaction): on E_EMONEY_UNKNOWN a compensating reversal (net 0). A retry with the same txId
   * resumes where the first attempt stopped and answers the stored outcome once there is one.
   */
  async purchaseValue(request: CreditRequest<'purchaseValue'>): Promise<Outcome<BillingRow>> {
    const r = this.checked<CreditRequest<'purchaseValue'>>('purchaseValue', request);
    const hash = requestHash('purchaseValue', r);
    const prior = this.db
      .prepare('SELECT requestHash, response FROM idempotency WHERE txId = ?')
      .get(r.txId) as { requestHash: string; response: string } | undefined;
    if (prior && prior.requestHash !== hash)
      return refused('E_TXID_CONFLICT', '—', `txId ${r.txId} was used for another request`);
    if (prior && prior.response !== 'null') return JSON.parse(prior.response) as Outcome<BillingRow>;
    const first = this.run('purchaseValue', r, () => {
      if (this.billingRow(r.txId)) return { resumed: true };
      this.checkPurchase(r);
      const a = this.view(r.creditCardNo);
      const at = this.clock.now();
      this.db
        .prepare(
          'INSERT INTO billing (txId, cardNo, amount, terminalId, at, cycle, emoneyId) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(r.txId, a.cardNo, r.amount, r.terminalId, at, cycleOf(at), r.emoneyId);
      this.db
        .prepare('UPDATE card_accounts SET liabilityUnbilled = liabilityUnbilled + ? WHERE cardNo = ?')
        .run(r.amount, a.cardNo);
      post(
        this.db,
        r.txId,
        [
          [receivable(a.cardNo), r.amount],
          [`clearing:${r.emoneyId}`, -r.amount],
        ],
        at,
      );
      this.enqueue({ txId: r.txId, peer: r.emoneyId, topic: 'prepareCharge', clearingAmount: r.amount }, {});
      // In progress: a retry with another request under this txId is a conflict from now on.
      this.db
        .prepare(
          "INSERT INTO idempotency (txId, method, requestHash, response) VALUES (?, 'purchaseValue', ?, 'null')",
        )
        .run(r.txId, hash);
      return { resumed: false };
    });
    if (!first.ok) return this.remember(r.txId, hash, first);
    const a = this.row(r.creditCardNo)!;
    const link = this.db.prepare('SELECT emoneyNo FROM emoney_links WHERE cardNo = ?').get(a.cardNo) as
      { emoneyNo: string } | undefined;
    const ask: EMoneyRequest<'prepareCharge'> = {
      txId: r.txId,
      amount: r.amount,
      source: 'credit',
      from: this.id,
      ...(r.emoneyNo !== undefined
        ? { emoneyNo: r.emoneyNo }
        : link
          ? { emoneyNo: link.emoneyNo }
          : { creditCardNo: a.cardNo }),
    };
    // A lost link propagates; the in-flight item stays and a retry with the same txId resumes here.
    const answer = await this.peers.peer('emoney', r.emoneyId).prepareCharge(ask);
    const done = this.db.transaction((): Outcome<BillingRow> => {
      const seq = this.db
        .prepare("SELECT seq FROM outbox WHERE txId = ? AND topic = 'prepareCharge' AND deliveredAt IS NULL")
        .get(r.txId) as { seq: number } | undefined;
      if (seq) this.delivered(seq.seq);
      if (answer.ok) return this.remember(r.txId, hash, accepted(this.billingRow(r.txId)!));
      // P10: the e-money server refused; book the reversal so the purchase nets to 0.
      const reversal = `reversal:${r.txId}`;
      if (!this.billingRow(r.txId)!.reversedBy) {
        post(
          this.db,
          r.txId,
          [
            [`clearing:${r.emoneyId}`, r.amount],
            [receivable(a.cardNo), -r.amount],
          ],
          this.clock.now(),
        );
        this.db.prepare('UPDATE billing SET reversedBy = ? WHERE txId = ?').run(reversal, r.txId);
        this.db
          .prepare('UPDATE card_accounts SET liabilityUnbilled = liabilityUnbilled - ? WHERE cardNo = ?')
          .run(r.amount, a.cardNo);
      }
      return this.remember(r.txId, hash, refused(answer.code, answer.step, answer.message));
    });
    return done();
  }

  billing(request: CreditRequest<'billing'>): Promise<Outcome<readonly BillingRow[]>> {
    const r = this.checked<CreditRequest<'billing'>>('billing', request);
    return Promise.resolve(
      this.run('billing', r, () => {
        this.view(r.cardNo);
        return this.db
          .prepare(
            'SELECT txId, cardNo, amount, terminalId, at, cycle, reversedBy FROM billing WHERE cardNo = ? ORDER BY at, txId',
          )
          .all(r.cardNo) as BillingRow[];
      }),
    );
  }

  /**
   * R4: for each card, the cycle's total (not reversed) is debited from its billing account at the
   * bank: booked here first (clearing:<bank> → receivable, with the bank's leg as an in-flight item,
   * C4), then asked of the bank with the same txId (again while the link is lost: the bank answers a
   * retry from its idempotency table). A refusal reverses the booking under the same txId and is
   * recorded as E_CANNOT_DEDUCT; the cycle stays open. A link still lost leaves the item in flight
   * and the cutoff pending: the next cutoff run delivers it with the same txId.
   */
  async runCutoff(request: CreditRequest<'runCutoff'>): Promise<Outcome<readonly CutoffRow[]>> {
    const r = this.checked<CreditRequest<'runCutoff'>>('runCutoff', request);
    const totals = this.db
      .prepare(
        "SELECT b.cardNo AS cardNo, SUM(b.amount) AS total FROM billing b WHERE b.cycle = ? AND b.reversedBy IS NULL AND NOT EXISTS (SELECT 1 FROM cutoffs c WHERE c.cycle = b.cycle AND c.cardNo = b.cardNo AND c.result = 'OK') GROUP BY b.cardNo ORDER BY b.cardNo",
      )
      .all(r.cycle) as { cardNo: string; total: number }[];
    for (const t of totals) {
      const a = this.row(t.cardNo)!;
      const prior = this.db
        .prepare('SELECT bankTxId FROM cutoffs WHERE cycle = ? AND cardNo = ?')
        .get(r.cycle, t.cardNo) as { bankTxId: string } | undefined;
      const bankTxId = prior?.bankTxId ?? newTxId(this.rng);
      const clearing = `clearing:${a.billingBankId}`;
      this.db.transaction(() => {
        if (!prior)
          this.db
            .prepare(
              "INSERT INTO cutoffs (cycle, cardNo, total, bankTxId, result) VALUES (?, ?, ?, ?, 'pending')",
            )
            .run(r.cycle, t.cardNo, t.total, bankTxId);
        if (!hasTx(this.db, bankTxId)) {
          post(
            this.db,
            bankTxId,
            [
              [clearing, t.total],
              [receivable(t.cardNo), -t.total],
            ],
            this.clock.now(),
          );
          this.enqueue(
            { txId: bankTxId, peer: a.billingBankId, topic: 'payToPeer', clearingAmount: -t.total },
            {},
          );
        }
      })();
      const ask: BankRequest<'payToPeer'> = {
        txId: bankTxId,
        accountNo: a.billingAccountNo,
        amount: t.total,
        peer: this.id,
        step: 'R4',
      };
      let answer: Outcome<unknown>;
      try {
        answer = await deliverToPeer(() => this.peers.peer('bank', a.billingBankId).payToPeer(ask));
      } catch {
        continue; // link lost: the item stays in flight; the next cutoff run retries with the same txId
      }
      this.db.transaction(() => {
        const seq = this.db
          .prepare('SELECT seq FROM outbox WHERE txId = ? AND deliveredAt IS NULL')
          .get(bankTxId) as { seq: number } | undefined;
        if (seq) this.delivered(seq.seq);
        if (answer.ok) {
          this.db
            .prepare("UPDATE cutoffs SET result = 'OK' WHERE cycle = ? AND cardNo = ?")
            .run(r.cycle, t.cardNo);
          this.db
            .prepare('UPDATE card_accounts SET liabilityUnbilled = liabilityUnbilled - ? WHERE cardNo = ?')
            .run(t.total, t.cardNo);
        } else {
          // The bank booked nothing: the booking is reversed under the same txId (it nets to 0), and
          // a fresh txId next time, since the bank stored its refusal under this one.
          post(
            this.db,
            bankTxId,
            [
              [clearing, -t.total],
              [receivable(t.cardNo), t.total],
            ],
            this.clock.now(),
          );
          this.db
            .prepare('UPDATE cutoffs SET result = ?, bankTxId = ? WHERE cycle = ? AND cardNo = ?')
            .run('E_CANNOT_DEDUCT', newTxId(this.rng), r.cycle, t.cardNo);
        }
      })();
    }
    return accepted(
      this.db
        .prepare('SELECT cycle, cardNo, total, bankTxId, result FROM cutoffs WHERE cycle = ? ORDER BY cardNo')
        .all(r.cycle) as CutoffRow[],
    );
  }

  /** Seed 002 (flows.md 4.2 row 20): E_CREDIT_DECLINED names the reason; the decline is recorded. */
  authorizeCardNotPresent(
    request: CreditRequest<'authorizeCardNotPresent'>,
  ): Promise<Outcome<CardNotPresentResult>> {
    const r = this.checked<CreditRequest<'authorizeCardNotPresent'>>('authorizeCardNotPresent', request);
    const o = this.run(
      'authorizeCardNotPresent',
      { ...r, pin: '*' },
      () => authorizeCardNotPresent(this.db, r, this.clock.now()),
      r.txId,
    );
    if (o.ok && !o.result.approved)
      return Promise.resolve(refused('E_CREDIT_DECLINED', '(6)', `declined: ${o.result.reason ?? ''}`));
    return Promise.resolve(o);
  }

  captureCardNotPresent(
    request: CreditRequest<'captureCardNotPresent'>,
  ): Promise<Outcome<CardNotPresentResult>> {
    const r = this.checked<CreditRequest<'captureCardNotPresent'>>('captureCardNotPresent', request);
    return Promise.resolve(
      this.run('captureCardNotPresent', r, () =>
        captureCardNotPresent(this.db, r.txId, r.merchantId, this.clock.now()),
      ),
    );
  }

  reverseCardNotPresent(
    request: CreditRequest<'reverseCardNotPresent'>,
  ): Promise<Outcome<CardNotPresentResult>> {
    const r = this.checked<CreditRequest<'reverseCardNotPresent'>>('reverseCardNotPresent', request);
    return Promise.resolve(
      this.run('reverseCardNotPresent', r, () => reverseCardNotPresent(this.db, r.txId)),
    );
  }

  private scheduleCutoff(): void {
    const at = nextJstMonthDay(this.clock.now(), CUTOFF_DAY);
    this.schedule(at, async () => {
      // The cycle that closes at this instant is the one of the instant just before it.
      await this.runCutoff({ cycle: cycleOf(at - 1) });
      this.scheduleCutoff();
    });
  }

  /** P8, in order; every refusal leaves nothing behind (the transaction rolls back). */
  private checkPurchase(r: CreditRequest<'purchaseValue'>): void {
    if (this.mode === 'faithful') {
      if (r.auth.result !== 'verified')
        refuse('E_PIN_NOT_VERIFIED', '20', 'the terminal reports the PIN as not verified');
    } else {
      const { nonce, mac } = r.auth;
      if (nonce === undefined || mac === undefined)
        refuse('E_PIN_NOT_VERIFIED', '20', 'hardened mode needs the card proof (nonce and mac)');
      const n = this.db
        .prepare('SELECT terminalId, issuedAt, usedAt FROM nonces WHERE nonce = ?')
        .get(nonce) as { terminalId: string; issuedAt: number; usedAt: number | null } | undefined;
      if (!n) refuse('E_PIN_NOT_VERIFIED', '20', `nonce ${nonce} was not issued`);
      if (n.usedAt !== null) refuse('E_PIN_NOT_VERIFIED', '20', `nonce ${nonce} was used already`);
      if (n.issuedAt + NONCE_LIFETIME_MS <= this.clock.now())
        refuse('E_PIN_NOT_VERIFIED', '20', `nonce ${nonce} has expired`);
      if (!this.proofValid(r.creditCardNo, hexToBytes(nonce), r.amount, hexToBytes(mac)))
        refuse('E_PIN_NOT_VERIFIED', '20', 'the card proof does not verify');
      this.db.prepare('UPDATE nonces SET usedAt = ? WHERE nonce = ?').run(this.clock.now(), nonce);
    }
    const a = this.row(r.creditCardNo);
    if (!a) refuse('E_UNKNOWN_CARD', '20', `card ${r.creditCardNo} is not in the user database`);
    if (a.lost || a.cardExpiry < this.clock.today())
      refuse('E_CARD_INVALID', '20', `card ${r.creditCardNo} is ${a.lost ? 'reported lost' : 'expired'}`);
    const available = this.view(r.creditCardNo).available;
    if (r.amount > available)
      refuse('E_OVER_QUOTA', '25', `amount ${r.amount} exceeds the available ${available}`);
  }

  private proofValid(cardNo: string, nonce: Uint8Array, amountYen: number, mac: Uint8Array): boolean {
    const a = this.row(cardNo);
    const key = a?.keySuite ? this.secrets.get(`card-key:${cardNo}`) : undefined;
    if (!a?.keySuite || !key) return false;
    const message = new Uint8Array(8 + 4 + 10 + 1);
    message.set(nonce, 0);
    new DataView(message.buffer).setUint32(8, amountYen);
    message.set(cardNoField(cardNo), 12);
    message[22] = 0x01;
    const want = computeMac(suiteByName(a.keySuite).mac, key.subarray(0, 16), message, { padding: 2 }).slice(
      0,
      8,
    );
    key.fill(0);
    return constantTimeEqual(want, mac);
  }

  /** Stores the final outcome of a multi-step request under its txId. */
  private remember<T>(txId: string, hash: string, outcome: Outcome<T>): Outcome<T> {
    this.db
      .prepare(
        "INSERT INTO idempotency (txId, method, requestHash, response) VALUES (?, 'purchaseValue', ?, ?) ON CONFLICT (txId) DO UPDATE SET response = excluded.response",
      )
      .run(txId, hash, JSON.stringify(outcome));
    return outcome;
  }

  private row(cardNo: string): AccountRow | undefined {
    return this.db
      .prepare(
        'SELECT cardNo, userId, name, billingBankId, billingAccountNo, cardExpiry, lost, "limit" AS "limit", liabilityBilled, liabilityUnbilled, overdue, keySuite FROM card_accounts WHERE cardNo = ?',
      )
      .get(cardNo) as AccountRow | undefined;
  }

  private billingRow(txId: string): BillingRow | undefined {
    return this.db
      .prepare('SELECT txId, cardNo, amount, terminalId, at, cycle, reversedBy FROM billing WHERE txId = ?')
      .get(txId) as BillingRow | undefined;
  }

  private view(cardNo: string): CardAccountView {
    const a = this.row(cardNo);
    if (!a) refuse('E_UNKNOWN_CARD', '20', `card ${cardNo} is not in the user database`);
    const link = this.db.prepare('SELECT emoneyNo FROM emoney_links WHERE cardNo = ?').get(cardNo) as
      { emoneyNo: string } | undefined;
    const { lost, ...withKey } = a;
    const rest: Omit<typeof withKey, 'keySuite'> & { keySuite?: unknown } = { ...withKey };
    delete rest.keySuite;
    return {
      ...rest,
      lost: lost !== 0,
      emoneyNo: link?.emoneyNo ?? null,
      available: a.limit - a.liabilityBilled - a.liabilityUnbilled + this.reflected(cardNo),
    };
  }

  /** Σ active reflections with today < validUntil (flows.md 2.3 B7). */
  private reflected(cardNo: string): number {
    return (
      this.db
        .prepare(
          "SELECT COALESCE(SUM(amount), 0) AS s FROM reflections WHERE cardNo = ? AND status = 'active' AND validUntil > ?",
        )
        .get(cardNo, jstDay(this.clock.now())) as { s: number }
    ).s;
  }

  // ---- seed 000 (flows.md 2) ----

  contractKey(request: CreditRequest<'contractKey'>): Promise<Outcome<{ readonly publicKey: string }>> {
    const r = this.checked<CreditRequest<'contractKey'>>('contractKey', request);
    return Promise.resolve(
      this.run('contractKey', r, () => {
        // ca: the one encryption key the credit company's certificate names; contract: one per key set
        const name = r.keyMode === 'ca' ? CA_DEC : `bank-dec:${r.bankId}:${r.keyId}`;
        let secret = this.secrets.get(name);
        if (!secret) {
          secret = this.rng.bytes(32);
          this.secrets.put(name, secret);
        }
        return { publicKey: bytesToHex(x25519.getPublicKey(secret)) };
      }),
    );
  }

  exchangeKeys(request: CreditRequest<'exchangeKeys'>): Promise<Outcome<{ readonly bankId: string }>> {
    const r = this.checked<CreditRequest<'exchangeKeys'>>('exchangeKeys', request);
    return Promise.resolve(
      this.run('exchangeKeys', { ...r, commonKey: r.commonKey && '*' }, () => {
        let bankKey: Uint8Array | null = null;
        if (r.keyMode === 'common') {
          if (!r.commonKey) refuse('E_NO_KEYS', '901', 'keyMode common needs the 32-byte commonKey');
          this.secrets.put(`bank-common:${r.bankId}:${r.keyId}`, hexToBytes(r.commonKey));
        } else {
          if (!this.secrets.get(r.keyMode === 'ca' ? CA_DEC : `bank-dec:${r.bankId}:${r.keyId}`))
            refuse('E_NO_KEYS', '901', `no decryption key for key set ${r.keyId}: call contractKey first`);
          if (r.keyMode === 'contract') {
            if (!r.bankKey) refuse('E_NO_KEYS', '901', 'keyMode contract needs the bank bankKey');
            bankKey = hexToBytes(r.bankKey);
          } else {
            if (!r.certificate || !r.root)
              refuse('E_NO_KEYS', '901', 'keyMode ca needs the bank certificate and the bureau root');
            try {
              bankKey = verifyCertificate({
                chain: [hexToBytes(r.certificate)],
                roots: [hexToBytes(r.root)],
                role: 'bank',
                keyType: 'ed25519',
                subjectId: r.bankId,
                now: this.clock.now(),
              }).publicKey;
            } catch (e) {
              if (!(e instanceof CertificateError)) throw e;
              refuse('E_NO_KEYS', '901', `bank certificate refused: ${e.message}`);
            }
          }
        }
        this.db
          .prepare(
            'INSERT OR REPLACE INTO bank_keys (bankId, keyId, keyMode, bankKey, exchangedAt) VALUES (?, ?, ?, ?, ?)',
          )
          .run(r.bankId, r.keyId, r.keyMode, bankKey, this.clock.now());
        return { bankId: r.bankId };
      }),
    );
  }

  authorizeWithTokens(request: CreditRequest<'authorizeWithTokens'>): Promise<Outcome<TokenAuthorization>> {
    const r = this.checked<CreditRequest<'authorizeWithTokens'>>('authorizeWithTokens', request);
    return Promise.resolve(
      this.run(
        'authorizeWithTokens',
        r,
        () => {
          const a = this.view(r.cardNo);
          const today = jstDay(this.clock.now());
          // B3 (1002 → 1009): only loss/theft and card expiry; the tokens are not processed
          if (a.lost) refuse('E_CARD_LOST', '1009', `card ${r.cardNo} is reported lost or stolen`);
          if (a.cardExpiry < today)
            refuse('E_CARD_EXPIRED', '1009', `card ${r.cardNo} expired on day ${a.cardExpiry}`);
          const tokens: { tokenId: string | null; status: TokenStatus }[] = [];
          const marks: string[] = [];
          if (r.envelopes.length === 0) tokens.push({ tokenId: null, status: 'ABSENT' });
          for (const e of r.envelopes) {
            const { tokenId, status } = this.assess(hexToBytes(e), a, today, r);
            tokens.push({ tokenId, status });
            if (status === 'REFLECTED') marks.push(tokenId!);
          }
          // B7 (1006-1008 / 1010)
          const available = this.view(r.cardNo).available;
          const ok = r.amount <= available;
          if (ok) {
            this.db
              .prepare('UPDATE card_accounts SET liabilityUnbilled = liabilityUnbilled + ? WHERE cardNo = ?')
              .run(r.amount, r.cardNo);
            post(
              this.db,
              r.txId,
              [
                [`asset:receivable:${a.userId}`, r.amount],
                ['ext:merchant', -r.amount],
              ],
              this.clock.now(),
            );
          }
          this.db
            .prepare(
              'INSERT INTO authorizations (txId, cardNo, expiry, amount, result, reason, tokenStatuses) VALUES (?, ?, ?, ?, ?, ?, ?)',
            )
            .run(
              r.txId,
              r.cardNo,
              a.cardExpiry,
              r.amount,
              ok ? 'OK_AVAILABLE' : 'E_OVER_LIMIT',
              ok ? null : `amount ${r.amount} exceeds the available ${available}`,
              JSON.stringify(tokens),
            );
          return {
            txId: r.txId,
            result: ok ? 'OK_AVAILABLE' : 'E_OVER_LIMIT',
            step: ok ? '1008' : '1010',
            available: ok ? available - r.amount : available,
            tokens,
            marks,
          } as TokenAuthorization;
        },
        r.txId,
      ),
    );
  }

  /** B4-B6 for one envelope (1003-1005): its status, and the reflection when it passes. */
  private assess(
    env: Uint8Array,
    a: CardAccountView,
    today: number,
    r: CreditRequest<'authorizeWithTokens'>,
  ): { tokenId: string | null; status: TokenStatus } {
    let plain: Uint8Array | null = null;
    let headerBank = '';
    try {
      const p = parseEnvelope(env);
      headerBank = p.header.bankId;
      const k = this.db
        .prepare('SELECT keyMode, bankKey FROM bank_keys WHERE bankId = ? AND keyId = ?')
        .get(p.header.bankId, bytesToHex(p.header.keyId)) as
        { keyMode: 'ca' | 'contract' | 'common'; bankKey: Uint8Array | null } | undefined;
      if (k && k.keyMode === p.header.keyMode) {
        const name = (pre: string) => `${pre}:${p.header.bankId}:${bytesToHex(p.header.keyId)}`;
        const key: OpenKey =
          k.keyMode === 'common'
            ? { keyMode: 'common', commonKey: this.secrets.get(name('bank-common'))! }
            : {
                keyMode: k.keyMode,
                bankPublic: new Uint8Array(k.bankKey!),
                creditSecret: this.secrets.get(k.keyMode === 'ca' ? CA_DEC : name('bank-dec'))!,
              };
        plain = openEnvelope(p, key, this.mode);
      }
    } catch (e) {
      if (!(e instanceof TokenError)) throw e;
    }
    if (!plain) return { tokenId: null, status: 'INVALID_SEAL' };
    let t;
    try {
      t = decodeToken(plain);
    } catch (e) {
      if (!(e instanceof TokenError)) throw e;
      return { tokenId: null, status: 'INVALID_SEAL' };
    }
    const tokenId = bytesToHex(t.tokenId);
    if (this.db.prepare('SELECT 1 FROM used_tokens WHERE tokenId = ?').get(tokenId))
      return { tokenId, status: 'ALREADY_USED' };
    if (!(today < t.effectiveUntil)) return { tokenId, status: 'EXPIRED' };
    if (t.userId !== a.userId || t.creditCardNo !== a.cardNo) return { tokenId, status: 'USER_MISMATCH' };
    if (t.creditCompanyId !== this.id) return { tokenId, status: 'WRONG_COMPANY' };
    if (this.mode === 'hardened' && t.bankId !== headerBank) return { tokenId, status: 'BINDING_MISMATCH' };
    const seq = (this.db.prepare('SELECT COUNT(*) AS n FROM reflections').get() as { n: number }).n;
    this.db
      .prepare(
        "INSERT INTO reflections (reflectionId, tokenId, cardNo, userId, bankId, amount, validUntil, status, seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?)",
      )
      .run(tokenId, tokenId, a.cardNo, a.userId, headerBank, t.amount, t.effectiveUntil, seq);
    this.db
      .prepare('INSERT INTO used_tokens (tokenId, usedAt, cardId, txId) VALUES (?, ?, ?, ?)')
      .run(tokenId, this.clock.now(), r.cardId, r.txId);
    return { tokenId, status: 'REFLECTED' };
  }

  reflections(request: CreditRequest<'reflections'>): Promise<Outcome<readonly Reflection[]>> {
    const r = this.checked<CreditRequest<'reflections'>>('reflections', request);
    return Promise.resolve(
      this.run('reflections', r, () => {
        this.view(r.cardNo);
        return this.db
          .prepare(
            'SELECT reflectionId, tokenId, bankId, amount, validUntil, status FROM reflections WHERE cardNo = ? ORDER BY seq',
          )
          .all(r.cardNo) as Reflection[];
      }),
    );
  }

  async closeCycle(request: CreditRequest<'closeCycle'>): Promise<Outcome<readonly StatementRow[]>> {
    const r = this.checked<CreditRequest<'closeCycle'>>('closeCycle', request);
    const o = this.run('closeCycle', r, () => {
      const prior = this.db
        .prepare('SELECT rows FROM statements_out WHERE bankId = ? AND cycleId = ?')
        .get(r.bankId, r.cycleId) as { rows: string } | undefined;
      if (prior) return JSON.parse(prior.rows) as StatementRow[];
      this.db
        .prepare(
          'UPDATE card_accounts SET liabilityBilled = liabilityBilled + liabilityUnbilled, liabilityUnbilled = 0 WHERE billingBankId = ?',
        )
        .run(r.bankId);
      const rows = this.db
        .prepare(
          'SELECT userId, billingAccountNo AS bankAccountNo, liabilityBilled AS billed FROM card_accounts WHERE billingBankId = ? ORDER BY cardNo',
        )
        .all(r.bankId) as StatementRow[];
      this.db
        .prepare('INSERT INTO statements_out (bankId, cycleId, rows) VALUES (?, ?, ?)')
        .run(r.bankId, r.cycleId, JSON.stringify(rows));
      return rows;
    });
    if (!o.ok) return o;
    const sent = await this.peers
      .peer('bank', r.bankId)
      .receiveStatement({ creditCoId: this.id, cycleId: r.cycleId, rows: [...o.result] });
    return sent.ok ? o : sent;
  }

  receiveDeduction(request: CreditRequest<'receiveDeduction'>): Promise<Outcome<Reconciliation>> {
    const r = this.checked<CreditRequest<'receiveDeduction'>>('receiveDeduction', request);
    return Promise.resolve(
      this.run(
        'receiveDeduction',
        r,
        () => {
          const today = jstDay(this.clock.now());
          const sum = r.rows.reduce((s, x) => s + x.fromPool + x.fromPersonal, 0);
          if (sum !== r.total)
            refuse('E_AMOUNT_MISMATCH', '1102', `detail rows sum to ${sum}, not ${r.total}`);
          const legs: [string, number][] = [];
          const out = {
            confirmed: [] as string[],
            invalid: [] as string[],
            carried: [] as string[],
            overdue: [] as string[],
          };
          const listed = new Map<string, DeductionDetail['tokens'][number]>();
          for (const row of r.rows) {
            const paid = row.fromPool + row.fromPersonal;
            if (paid > 0) {
              legs.push([`asset:receivable:${row.userId}`, -paid]);
              this.db
                .prepare(
                  'UPDATE card_accounts SET liabilityBilled = liabilityBilled - ? WHERE userId = ? AND billingBankId = ?',
                )
                .run(paid, row.userId, r.bankId);
            }
            for (const t of row.tokens) listed.set(t.tokenId, t);
          }
          for (const n of r.notices) {
            this.db
              .prepare('UPDATE card_accounts SET overdue = ? WHERE userId = ? AND billingBankId = ?')
              .run(n.shortfall, n.userId, r.bankId);
            out.overdue.push(n.userId);
          }
          if (r.total > 0) {
            legs.unshift([`clearing:${r.bankId}`, r.total]);
            post(this.db, r.txId, legs, this.clock.now());
          }
          this.db
            .prepare('INSERT INTO transfers_in (txId, bankId, cycleId, total, detail) VALUES (?, ?, ?, ?, ?)')
            .run(r.txId, r.bankId, r.cycleId, r.total, JSON.stringify(r.rows));
          // 1103: every reflection of this bank that came due
          const due = this.db
            .prepare(
              "SELECT reflectionId, tokenId, cardNo, userId, amount, validUntil FROM reflections WHERE bankId = ? AND status = 'active' AND validUntil <= ? ORDER BY seq",
            )
            .all(r.bankId, today) as {
            reflectionId: string;
            tokenId: string;
            cardNo: string;
            userId: string;
            amount: number;
          }[];
          let seq = (this.db.prepare('SELECT COUNT(*) AS n FROM reflections').get() as { n: number }).n;
          for (const f of due) {
            const t = listed.get(f.tokenId);
            const ok = t !== undefined && (f.reflectionId !== f.tokenId || t.deposit === f.amount);
            this.db
              .prepare('UPDATE reflections SET status = ? WHERE reflectionId = ?')
              .run(ok ? 'confirmed' : 'invalid', f.reflectionId);
            if (!ok) {
              out.invalid.push(f.reflectionId);
              this.db
                .prepare('INSERT INTO exceptions (cycleId, reflectionId, reason) VALUES (?, ?, ?)')
                .run(
                  r.cycleId,
                  f.reflectionId,
                  t ? `deposit ${t.deposit} ≠ reflected ${f.amount}` : 'not reported by the bank',
                );
              continue;
            }
            out.confirmed.push(f.reflectionId);
            if (t.carried > 0) {
              const n = (
                this.db.prepare('SELECT COUNT(*) AS n FROM reflections WHERE tokenId = ?').get(f.tokenId) as {
                  n: number;
                }
              ).n;
              const id = `${f.tokenId}#${n}`;
              this.db
                .prepare(
                  "INSERT INTO reflections (reflectionId, tokenId, cardNo, userId, bankId, amount, validUntil, status, seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?)",
                )
                .run(id, f.tokenId, f.cardNo, f.userId, r.bankId, t.carried, nextDeductionDay(today), seq++);
              out.carried.push(id);
            }
          }
          return { txId: r.txId, ...out };
        },
        r.txId,
      ),
    );
  }

  exceptions(request: CreditRequest<'exceptions'>): Promise<Outcome<readonly ExceptionRow[]>> {
    const r = this.checked<CreditRequest<'exceptions'>>('exceptions', request);
    const sql = 'SELECT cycleId, reflectionId, reason FROM exceptions';
    return Promise.resolve(
      this.run('exceptions', r, () =>
        r.cycleId === undefined
          ? (this.db.prepare(`${sql} ORDER BY seq`).all() as ExceptionRow[])
          : (this.db.prepare(`${sql} WHERE cycleId = ? ORDER BY seq`).all(r.cycleId) as ExceptionRow[]),
      ),
    );
  }

  // ---- `direct` (flows.md 2.5; the certificates are made in pkma.ts) ----

  pkmaAnchor(request: CreditRequest<'pkmaAnchor'>): Promise<Outcome<PkmaAnchor>> {
    const r = this.checked<CreditRequest<'pkmaAnchor'>>('pkmaAnchor', request);
    return Promise.resolve(this.run('pkmaAnchor', r, () => creditAnchor(this.pkmaKeys, this.id)));
  }

  certifyCard(request: CreditRequest<'certifyCard'>): Promise<Outcome<{ readonly certificate: string }>> {
    const r = this.checked<CreditRequest<'certifyCard'>>('certifyCard', request);
    return Promise.resolve(
      this.run('certifyCard', r, () => ({
        certificate: certifyCard(this.pkmaKeys, this.clock, this.id, r.cardId, r.publicKey),
      })),
    );
  }

  certifyBank(
    request: CreditRequest<'certifyBank'>,
  ): Promise<Outcome<PkmaAnchor & { readonly certificate: string }>> {
    const r = this.checked<CreditRequest<'certifyBank'>>('certifyBank', request);
    return Promise.resolve(
      this.run('certifyBank', r, () =>
        certifyBank(this.pkmaKeys, this.clock, this.id, r.bankId, r.publicKey),
      ),
    );
  }

  private get pkmaKeys() {
    return { secrets: this.secrets, rng: this.rng };
  }
}

function requestHash(method: string, request: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(`${method}:${canonicalJson(request)}`)));
}

/** The receivable the ledger holds for a card (for reports). */
export function receivableOf(db: Parameters<typeof balanceOf>[0], card: string): number {
  return balanceOf(db, receivable(card));
}
