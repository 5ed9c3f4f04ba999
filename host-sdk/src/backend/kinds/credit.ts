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
import { accepted, refuse, refused, type Outcome } from '../outcome';
import { bool, hex, int, object, oneOf, optional, str, txId, amount, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';
import type { BankRequest } from './bank';
import type { EMoneyRequest } from './emoney';
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
];

/** A nonce of beginPurchase is valid for 120 s (flows.md 3.2 P1). */
export const NONCE_LIFETIME_MS = 120_000;
/** The cutoff: the 25th at 00:00 JST (flows.md 3.2 R4). */
export const CUTOFF_DAY = 25;
const PBKDF2_ROUNDS = 1000;

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
   * bank: first booked here as an in-flight item, then asked of the bank, then booked
   * clearing:<bank> → receivable. A refusal is recorded as E_CANNOT_DEDUCT and the cycle stays open.
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
      this.db.transaction(() => {
        if (!prior)
          this.db
            .prepare(
              "INSERT INTO cutoffs (cycle, cardNo, total, bankTxId, result) VALUES (?, ?, ?, ?, 'pending')",
            )
            .run(r.cycle, t.cardNo, t.total, bankTxId);
        if (!this.db.prepare('SELECT 1 FROM outbox WHERE txId = ? AND deliveredAt IS NULL').get(bankTxId))
          this.enqueue(
            { txId: bankTxId, peer: a.billingBankId, topic: 'payToPeer', clearingAmount: -t.total },
            {},
          );
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
        answer = await this.peers.peer('bank', a.billingBankId).payToPeer(ask);
      } catch {
        continue; // link lost: the item stays in flight; the next cutoff run retries with the same txId
      }
      this.db.transaction(() => {
        const seq = this.db
          .prepare('SELECT seq FROM outbox WHERE txId = ? AND deliveredAt IS NULL')
          .get(bankTxId) as { seq: number } | undefined;
        if (seq) this.delivered(seq.seq);
        if (answer.ok) {
          if (!hasTx(this.db, bankTxId))
            post(
              this.db,
              bankTxId,
              [
                [`clearing:${a.billingBankId}`, t.total],
                [receivable(t.cardNo), -t.total],
              ],
              this.clock.now(),
            );
          this.db
            .prepare("UPDATE cutoffs SET result = 'OK' WHERE cycle = ? AND cardNo = ?")
            .run(r.cycle, t.cardNo);
          this.db
            .prepare('UPDATE card_accounts SET liabilityUnbilled = liabilityUnbilled - ? WHERE cardNo = ?')
            .run(t.total, t.cardNo);
        } else {
          // A fresh txId next time: the bank stored its refusal under this one.
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
    this.clock.schedule(at, async () => {
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
      available: a.limit - a.liabilityBilled - a.liabilityUnbilled,
    };
  }
}

function requestHash(method: string, request: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(`${method}:${canonicalJson(request)}`)));
}

/** The receivable the ledger holds for a card (for reports). */
export function receivableOf(db: Parameters<typeof balanceOf>[0], card: string): number {
  return balanceOf(db, receivable(card));
}
