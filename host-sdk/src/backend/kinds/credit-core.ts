// The `credit` back-end's core (flows.md 1.2 one schema for all seeds; seed 001 in 3.1-3.2): card
// accounts with limit and liability (billed + unbilled), billing rows (Fig. 4B), single-use nonces
// (H), links to e-money numbers, per-card applet keys (wrapped) for the PIN proof, and cutoffs. Ledger
// legs: a VALUE purchase books asset:receivable:<card> → clearing:<emoney> and asks the e-money server
// to prepare the charge; the cutoff on the 25th debits the billing account: clearing:<bank> →
// receivable. Seed 000 (./credit-tokens.ts) and seed 002 (./credit.ts) build on it.
import { computeMac } from '@mica/apdu-specs/crypto/mac';
import { constantTimeEqual } from '@mica/apdu-specs/crypto/compare';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { jstDateTime, jstDay, nextJstMonthDay } from '../../platform/clock';
import { newTxId } from '../../platform/tx-id';
import { canonicalJson } from '../canonical-json';
import { balanceOf, hasTx, post } from '../ledger';
import { deliverToPeer } from '../link-retry';
import { accepted, refuse, refused, type Outcome } from '../outcome';
import { SqliteBackend, type BackendContext } from '../backend';
import type { BankRequest } from './bank';
import type { EMoneyRequest } from './emoney';
import {
  CREDIT_API,
  type BillingRow,
  type CardAccountView,
  type CreditRequest,
  type CutoffRow,
} from './credit-api';

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

export abstract class CreditCore extends SqliteBackend {
  protected constructor(context: BackendContext) {
    super(context, MIGRATIONS, CREDIT_API);
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

  protected scheduleCutoff(): void {
    const at = nextJstMonthDay(this.clock.now(), CUTOFF_DAY);
    this.schedule(at, async () => {
      // The cycle that closes at this instant is the one of the instant just before it.
      await this.runCutoff({ cycle: cycleOf(at - 1) });
      this.scheduleCutoff();
    });
  }

  /** P8, in order; every refusal leaves nothing behind (the transaction rolls back). */
  protected checkPurchase(r: CreditRequest<'purchaseValue'>): void {
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

  protected proofValid(cardNo: string, nonce: Uint8Array, amountYen: number, mac: Uint8Array): boolean {
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
  protected remember<T>(txId: string, hash: string, outcome: Outcome<T>): Outcome<T> {
    this.db
      .prepare(
        "INSERT INTO idempotency (txId, method, requestHash, response) VALUES (?, 'purchaseValue', ?, ?) ON CONFLICT (txId) DO UPDATE SET response = excluded.response",
      )
      .run(txId, hash, JSON.stringify(outcome));
    return outcome;
  }

  protected row(cardNo: string): AccountRow | undefined {
    return this.db
      .prepare(
        'SELECT cardNo, userId, name, billingBankId, billingAccountNo, cardExpiry, lost, "limit" AS "limit", liabilityBilled, liabilityUnbilled, overdue, keySuite FROM card_accounts WHERE cardNo = ?',
      )
      .get(cardNo) as AccountRow | undefined;
  }

  protected billingRow(txId: string): BillingRow | undefined {
    return this.db
      .prepare('SELECT txId, cardNo, amount, terminalId, at, cycle, reversedBy FROM billing WHERE txId = ?')
      .get(txId) as BillingRow | undefined;
  }

  protected view(cardNo: string): CardAccountView {
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
  protected reflected(cardNo: string): number {
    return (
      this.db
        .prepare(
          "SELECT COALESCE(SUM(amount), 0) AS s FROM reflections WHERE cardNo = ? AND status = 'active' AND validUntil > ?",
        )
        .get(cardNo, jstDay(this.clock.now())) as { s: number }
    ).s;
  }
}

function requestHash(method: string, request: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(`${method}:${canonicalJson(request)}`)));
}

/** The receivable the ledger holds for a card (for reports). */
export function receivableOf(db: Parameters<typeof balanceOf>[0], card: string): number {
  return balanceOf(db, receivable(card));
}
