// The `emoney` back-end of seed 001 (flows.md 3.1-3.2; just over 600 lines, one kind's API): users (Fig. 6A, with the added refund
// account), pending charges (Fig. 6B), quotes, deliveries and card state. Ledger legs: a purchase
// books clearing:<credit> → liab:pending:<emoneyNo>; a completed delivery books pending →
// liab:float:<this id>; an expiry refund books pending → clearing:<bank> and pays the bank through
// the outbox. The card write between confirm and completeDelivery is authored by this back-end's key
// holder and relayed by a terminal (the flow's part); completeDelivery and failDelivery record what
// the MAC-verified card answer showed.
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { constantTimeEqual } from '@mica/apdu-specs/crypto/compare';
import { MS_PER_DAY } from '../../platform/clock';
import { newTxId } from '../../platform/tx-id';
import { balanceOf, post } from '../ledger';
import { deliverToPeer } from '../link-retry';
import { refuse, type Outcome } from '../outcome';
import { amount, hex, int, object, oneOf, optional, str, txId, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';
import type { BankRequest } from './bank';

const emoneyNo = str({ max: 32, pattern: /^\d+$/, describe: 'an e-money number (digits)' });
const cardNo = str({ max: 19, pattern: /^\d+$/, describe: 'a credit card number (digits)' });
const peerId = str({ max: 64, pattern: /^[\w.-]+$/, describe: 'a back-end id' });
const terminalId = str({ max: 64 });

export const EMONEY_API = {
  auditView: object({}),
  registerUser: object({
    emoneyNo,
    name: str({ max: 128 }),
    password: str({ min: 1, max: 64 }),
    refundBankId: peerId,
    refundAccountNo: str({ max: 32 }),
    creditCardNo: optional(cardNo),
    idm: optional(hex(8)),
  }),
  /** A card issued with value on it: ext:opening → liab:float (so C3 holds from the start). */
  openingBalance: object({ txId, emoneyNo, amount }),
  prepareCharge: object({
    txId,
    emoneyNo: optional(emoneyNo),
    creditCardNo: optional(cardNo),
    amount,
    source: oneOf(['credit', 'points', 'other'] as const),
    /** The paying back-end when source is credit. */
    from: optional(peerId),
  }),
  inquire: object({ emoneyNo, password: str({ min: 1, max: 64 }), terminalId }),
  confirm: object({ quoteId: hex(16), txId, terminalId, mode: oneOf(['add', 'overwrite'] as const) }),
  completeDelivery: object({
    deliveryId: txId,
    balanceAfter: int(0, 0xffffffff),
    executionId: optional(int(0, 0xffff)),
  }),
  failDelivery: object({ deliveryId: txId, status: str({ max: 64 }) }),
  refundExpired: object({}),
  recordPayment: object({
    txId,
    emoneyNo,
    amount,
    merchant: str({ max: 64, pattern: /^[\w.-]+$/ }),
    terminalId: optional(terminalId),
  }),
  charges: object({ emoneyNo }),
  user: object({ emoneyNo }),
} as const;

export type EMoneyRequest<M extends keyof typeof EMONEY_API> = Infer<(typeof EMONEY_API)[M]>;

export type ChargeStatus = 'pending' | 'delivering' | 'completed' | 'refunded';

export interface ChargeView {
  readonly chargeId: string;
  readonly emoneyNo: string;
  readonly amount: number;
  readonly source: string;
  readonly expiresAt: number;
  readonly status: ChargeStatus;
  readonly deliveryId: string | null;
  readonly refundTxId: string | null;
}

export interface EMoneyUserView {
  readonly emoneyNo: string;
  readonly name: string;
  readonly refundBankId: string;
  readonly refundAccountNo: string;
  readonly creditCardNo: string | null;
  readonly idm: string | null;
  readonly lastBalance: number | null;
  readonly lastExecutionId: number | null;
  /** Value on this user's card as the ledger sees it (liab:float share is not per card: pending only). */
  readonly pending: number;
}

export interface Quote {
  readonly quoteId: string;
  readonly available: number;
  readonly chargeIds: readonly string[];
}

export interface Delivery {
  readonly deliveryId: string;
  /** deliveryId[0..8]: the charge ID the card write carries in its log record (flows.md 1.4). */
  readonly chargeId: string;
  readonly emoneyNo: string;
  readonly idm: string | null;
  readonly total: number;
  readonly mode: 'add' | 'overwrite';
  readonly chargeIds: readonly string[];
  readonly terminalId: string;
  readonly status: 'delivering' | 'completed' | 'failed';
}

export interface Receipt {
  readonly deliveryId: string;
  readonly maskedCreditNo: string | null;
  readonly amount: number;
  readonly at: number;
  readonly terminalId: string;
  readonly emoneyNo: string;
  readonly balanceAfter: number;
}

export interface EMoneyBackend extends Backend {
  registerUser(r: EMoneyRequest<'registerUser'>): Promise<Outcome<EMoneyUserView>>;
  openingBalance(r: EMoneyRequest<'openingBalance'>): Promise<Outcome<{ readonly float: number }>>;
  prepareCharge(r: EMoneyRequest<'prepareCharge'>): Promise<Outcome<ChargeView>>;
  inquire(r: EMoneyRequest<'inquire'>): Promise<Outcome<Quote>>;
  confirm(r: EMoneyRequest<'confirm'>): Promise<Outcome<Delivery>>;
  completeDelivery(r: EMoneyRequest<'completeDelivery'>): Promise<Outcome<Receipt>>;
  failDelivery(r: EMoneyRequest<'failDelivery'>): Promise<Outcome<Delivery>>;
  refundExpired(
    r: EMoneyRequest<'refundExpired'>,
  ): Promise<Outcome<{ readonly refunded: readonly string[] }>>;
  recordPayment(r: EMoneyRequest<'recordPayment'>): Promise<Outcome<{ readonly float: number }>>;
  charges(r: EMoneyRequest<'charges'>): Promise<Outcome<readonly ChargeView[]>>;
  user(r: EMoneyRequest<'user'>): Promise<Outcome<EMoneyUserView>>;
}

declare module '../backend' {
  interface KindInterfaces {
    emoney: EMoneyBackend;
  }
}

const MIGRATIONS = [
  `CREATE TABLE users (emoneyNo TEXT PRIMARY KEY, name TEXT NOT NULL, passwordSalt BLOB NOT NULL,
     passwordHash BLOB NOT NULL, refundBankId TEXT NOT NULL, refundAccountNo TEXT NOT NULL,
     creditCardNo TEXT UNIQUE);
   CREATE TABLE charges (chargeId TEXT PRIMARY KEY, emoneyNo TEXT NOT NULL REFERENCES users, amount INTEGER NOT NULL,
     source TEXT NOT NULL, origin TEXT, expiresAt INTEGER NOT NULL, status TEXT NOT NULL, deliveryId TEXT, refundTxId TEXT);
   CREATE TABLE quotes (quoteId TEXT PRIMARY KEY, emoneyNo TEXT NOT NULL, chargeIds TEXT NOT NULL, total INTEGER NOT NULL,
     terminalId TEXT NOT NULL, createdAt INTEGER NOT NULL);
   CREATE TABLE deliveries (deliveryId TEXT PRIMARY KEY, emoneyNo TEXT NOT NULL, total INTEGER NOT NULL, mode TEXT NOT NULL,
     chargeIds TEXT NOT NULL, terminalId TEXT NOT NULL, status TEXT NOT NULL, receipt TEXT);
   CREATE TABLE card_state (emoneyNo TEXT PRIMARY KEY REFERENCES users, idm TEXT, lastBalance INTEGER, lastExecutionId INTEGER);`,
];

/** Pending charges live 30 days (flows.md 3.3). */
export const CHARGE_LIFETIME_MS = 30 * MS_PER_DAY;
/** PBKDF2-SHA256 iterations for passwords: modest, the store is a simulation's. */
const PBKDF2_ROUNDS = 1000;

const pending = (no: string): string => `liab:pending:${no}`;

interface ChargeRow extends ChargeView {
  readonly origin: string | null;
}

export class SqliteEMoney extends SqliteBackend implements EMoneyBackend {
  readonly kind = 'emoney';
  private readonly float: string;

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, EMONEY_API);
    this.float = `liab:float:${this.id}`;
    // After a restart, the expiry tasks of pending charges are scheduled again (tasks live in memory).
    const next = this.db
      .prepare("SELECT MIN(expiresAt) AS t FROM charges WHERE status = 'pending'")
      .get() as { t: number | null };
    if (next.t !== null) this.scheduleExpiry(next.t);
  }

  registerUser(request: EMoneyRequest<'registerUser'>): Promise<Outcome<EMoneyUserView>> {
    const r = this.checked<EMoneyRequest<'registerUser'>>('registerUser', request);
    // The password travels in the request; only a salted hash is kept.
    return Promise.resolve(
      this.run('registerUser', { ...r, password: '*' }, () => {
        if (this.userRow(r.emoneyNo))
          refuse('E_DUPLICATE', '—', `e-money number ${r.emoneyNo} is registered`);
        const salt = this.rng.bytes(16);
        this.db
          .prepare(
            'INSERT INTO users (emoneyNo, name, passwordSalt, passwordHash, refundBankId, refundAccountNo, creditCardNo) VALUES (?, ?, ?, ?, ?, ?, ?)',
          )
          .run(
            r.emoneyNo,
            r.name,
            salt,
            hashPassword(r.password, salt),
            r.refundBankId,
            r.refundAccountNo,
            r.creditCardNo ?? null,
          );
        this.db
          .prepare('INSERT INTO card_state (emoneyNo, idm) VALUES (?, ?)')
          .run(r.emoneyNo, r.idm ?? null);
        return this.userView(r.emoneyNo);
      }),
    );
  }

  openingBalance(request: EMoneyRequest<'openingBalance'>): Promise<Outcome<{ readonly float: number }>> {
    const r = this.checked<EMoneyRequest<'openingBalance'>>('openingBalance', request);
    return Promise.resolve(
      this.run(
        'openingBalance',
        r,
        () => {
          this.userView(r.emoneyNo);
          post(
            this.db,
            r.txId,
            [
              ['ext:opening', r.amount],
              [this.float, -r.amount],
            ],
            this.clock.now(),
          );
          return { float: 0 - balanceOf(this.db, this.float) };
        },
        r.txId,
      ),
    );
  }

  prepareCharge(request: EMoneyRequest<'prepareCharge'>): Promise<Outcome<ChargeView>> {
    const r = this.checked<EMoneyRequest<'prepareCharge'>>('prepareCharge', request);
    return Promise.resolve(
      this.run(
        'prepareCharge',
        r,
        () => {
          if ((r.emoneyNo === undefined) === (r.creditCardNo === undefined))
            refuse('E_EMONEY_UNKNOWN', '35', 'give exactly one of emoneyNo and creditCardNo');
          if (r.source === 'credit' && r.from === undefined)
            refuse('E_BAD_STATE', '30', 'a charge paid by credit names the paying back-end in "from"');
          const user =
            r.emoneyNo !== undefined
              ? this.userRow(r.emoneyNo)
              : (this.db.prepare('SELECT emoneyNo FROM users WHERE creditCardNo = ?').get(r.creditCardNo) as
                  { emoneyNo: string } | undefined);
          if (!user)
            refuse(
              'E_EMONEY_UNKNOWN',
              '35',
              `the e-money server cannot identify ${r.emoneyNo ?? `credit card ${r.creditCardNo}`}`,
            );
          const expiresAt = this.clock.now() + CHARGE_LIFETIME_MS;
          const payer = r.source === 'credit' ? `clearing:${r.from!}` : `ext:${r.source}`;
          post(
            this.db,
            r.txId,
            [
              [payer, r.amount],
              [pending(user.emoneyNo), -r.amount],
            ],
            this.clock.now(),
          );
          this.db
            .prepare(
              "INSERT INTO charges (chargeId, emoneyNo, amount, source, origin, expiresAt, status) VALUES (?, ?, ?, ?, ?, ?, 'pending')",
            )
            .run(r.txId, user.emoneyNo, r.amount, r.source, r.from ?? null, expiresAt);
          this.scheduleExpiry(expiresAt);
          return this.charge(r.txId);
        },
        r.txId,
      ),
    );
  }

  inquire(request: EMoneyRequest<'inquire'>): Promise<Outcome<Quote>> {
    const r = this.checked<EMoneyRequest<'inquire'>>('inquire', request);
    return Promise.resolve(
      this.run('inquire', { ...r, password: '*' }, () => {
        const u = this.db
          .prepare('SELECT passwordSalt, passwordHash FROM users WHERE emoneyNo = ?')
          .get(r.emoneyNo) as { passwordSalt: Uint8Array; passwordHash: Uint8Array } | undefined;
        if (!u) refuse('E_EMONEY_UNKNOWN', '55', `e-money number ${r.emoneyNo} is not registered`);
        if (
          !constantTimeEqual(
            hashPassword(r.password, new Uint8Array(u.passwordSalt)),
            new Uint8Array(u.passwordHash),
          )
        )
          refuse('E_BAD_PASSWORD', '60', 'the password does not match');
        const open = this.db
          .prepare(
            "SELECT chargeId, amount FROM charges WHERE emoneyNo = ? AND status = 'pending' AND expiresAt > ? ORDER BY rowid",
          )
          .all(r.emoneyNo, this.clock.now()) as { chargeId: string; amount: number }[];
        if (open.length === 0) refuse('E_NOTHING_PENDING', '65', `nothing is pending for ${r.emoneyNo}`);
        const quoteId = bytesToHex(this.rng.bytes(16));
        const available = open.reduce((s, c) => s + c.amount, 0);
        const chargeIds = open.map((c) => c.chargeId);
        this.db
          .prepare(
            'INSERT INTO quotes (quoteId, emoneyNo, chargeIds, total, terminalId, createdAt) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(quoteId, r.emoneyNo, JSON.stringify(chargeIds), available, r.terminalId, this.clock.now());
        return { quoteId, available, chargeIds };
      }),
    );
  }

  confirm(request: EMoneyRequest<'confirm'>): Promise<Outcome<Delivery>> {
    const r = this.checked<EMoneyRequest<'confirm'>>('confirm', request);
    return Promise.resolve(
      this.run(
        'confirm',
        r,
        () => {
          const q = this.db
            .prepare('SELECT emoneyNo, chargeIds, total FROM quotes WHERE quoteId = ?')
            .get(r.quoteId) as { emoneyNo: string; chargeIds: string; total: number } | undefined;
          if (!q) refuse('E_NOT_FOUND', '70', `no quote ${r.quoteId}`);
          const ids = JSON.parse(q.chargeIds) as string[];
          for (const id of ids) {
            const c = this.charge(id);
            if (c.status !== 'pending' || c.expiresAt <= this.clock.now())
              refuse(
                'E_NOTHING_PENDING',
                '70',
                `charge ${id} is ${c.status === 'pending' ? 'expired' : c.status}; ask again`,
              );
          }
          this.db
            .prepare(
              "INSERT INTO deliveries (deliveryId, emoneyNo, total, mode, chargeIds, terminalId, status) VALUES (?, ?, ?, ?, ?, ?, 'delivering')",
            )
            .run(r.txId, q.emoneyNo, q.total, r.mode, q.chargeIds, r.terminalId);
          const mark = this.db.prepare(
            "UPDATE charges SET status = 'delivering', deliveryId = ? WHERE chargeId = ?",
          );
          for (const id of ids) mark.run(r.txId, id);
          return this.delivery(r.txId);
        },
        r.txId,
      ),
    );
  }

  completeDelivery(request: EMoneyRequest<'completeDelivery'>): Promise<Outcome<Receipt>> {
    const r = this.checked<EMoneyRequest<'completeDelivery'>>('completeDelivery', request);
    return Promise.resolve(
      this.run('completeDelivery', r, () => {
        const d = this.delivery(r.deliveryId);
        const stored = this.db
          .prepare('SELECT receipt FROM deliveries WHERE deliveryId = ?')
          .get(r.deliveryId) as { receipt: string | null };
        if (d.status === 'completed' && stored.receipt) return JSON.parse(stored.receipt) as Receipt;
        if (d.status !== 'delivering') refuse('E_BAD_STATE', '95', `delivery ${r.deliveryId} is ${d.status}`);
        post(
          this.db,
          r.deliveryId,
          [
            [pending(d.emoneyNo), d.total],
            [this.float, -d.total],
          ],
          this.clock.now(),
        );
        const done = this.db.prepare("UPDATE charges SET status = 'completed' WHERE chargeId = ?");
        for (const id of d.chargeIds) done.run(id);
        const user = this.userRow(d.emoneyNo)!;
        const receipt: Receipt = {
          deliveryId: d.deliveryId,
          maskedCreditNo: user.creditCardNo === null ? null : maskCardNo(user.creditCardNo),
          amount: d.total,
          at: this.clock.now(),
          terminalId: d.terminalId,
          emoneyNo: d.emoneyNo,
          balanceAfter: r.balanceAfter,
        };
        this.db
          .prepare("UPDATE deliveries SET status = 'completed', receipt = ? WHERE deliveryId = ?")
          .run(JSON.stringify(receipt), r.deliveryId);
        this.db
          .prepare('UPDATE card_state SET lastBalance = ?, lastExecutionId = ? WHERE emoneyNo = ?')
          .run(r.balanceAfter, r.executionId ?? null, d.emoneyNo);
        return receipt;
      }),
    );
  }

  failDelivery(request: EMoneyRequest<'failDelivery'>): Promise<Outcome<Delivery>> {
    const r = this.checked<EMoneyRequest<'failDelivery'>>('failDelivery', request);
    return Promise.resolve(
      this.run('failDelivery', r, () => {
        const d = this.delivery(r.deliveryId);
        if (d.status === 'failed') return d;
        if (d.status !== 'delivering') refuse('E_BAD_STATE', 'Q9', `delivery ${r.deliveryId} is ${d.status}`);
        const back = this.db.prepare(
          "UPDATE charges SET status = 'pending', deliveryId = NULL WHERE chargeId = ?",
        );
        for (const id of d.chargeIds) back.run(id);
        this.db
          .prepare("UPDATE deliveries SET status = 'failed', receipt = ? WHERE deliveryId = ?")
          .run(JSON.stringify({ status: r.status }), r.deliveryId);
        return this.delivery(r.deliveryId);
      }),
    );
  }

  /**
   * R3: every pending charge past its expiry is refunded to the user's refund account: booked
   * pending → clearing:<bank> with an outbox item, then paid to the bank; the item stays in flight
   * (C4) until the bank has booked its side.
   */
  async refundExpired(
    request: EMoneyRequest<'refundExpired'> = {},
  ): Promise<Outcome<{ readonly refunded: readonly string[] }>> {
    const r = this.checked<EMoneyRequest<'refundExpired'>>('refundExpired', request);
    const outcome = this.run('refundExpired', r, () => {
      const due = this.db
        .prepare(
          "SELECT chargeId FROM charges WHERE status = 'pending' AND expiresAt <= ? ORDER BY expiresAt, rowid",
        )
        .all(this.clock.now()) as { chargeId: string }[];
      for (const { chargeId } of due) {
        const c = this.charge(chargeId);
        const u = this.userRow(c.emoneyNo)!;
        const refundTxId = newTxId(this.rng);
        post(
          this.db,
          refundTxId,
          [
            [pending(c.emoneyNo), c.amount],
            [`clearing:${u.refundBankId}`, -c.amount],
          ],
          this.clock.now(),
        );
        this.db
          .prepare("UPDATE charges SET status = 'refunded', refundTxId = ? WHERE chargeId = ?")
          .run(refundTxId, chargeId);
        this.enqueue(
          { txId: refundTxId, peer: u.refundBankId, topic: 'receiveFromPeer', clearingAmount: c.amount },
          { txId: refundTxId, accountNo: u.refundAccountNo, amount: c.amount, peer: this.id, step: 'R3' },
        );
      }
      return { refunded: due.map((d) => d.chargeId) };
    });
    await this.deliverOutbox();
    return outcome;
  }

  recordPayment(request: EMoneyRequest<'recordPayment'>): Promise<Outcome<{ readonly float: number }>> {
    const r = this.checked<EMoneyRequest<'recordPayment'>>('recordPayment', request);
    return Promise.resolve(
      this.run(
        'recordPayment',
        r,
        () => {
          this.userView(r.emoneyNo);
          post(
            this.db,
            r.txId,
            [
              [this.float, r.amount],
              [`ext:merchant:${r.merchant}`, -r.amount],
            ],
            this.clock.now(),
          );
          return { float: 0 - balanceOf(this.db, this.float) };
        },
        r.txId,
      ),
    );
  }

  charges(request: EMoneyRequest<'charges'>): Promise<Outcome<readonly ChargeView[]>> {
    const r = this.checked<EMoneyRequest<'charges'>>('charges', request);
    return Promise.resolve(
      this.run('charges', r, () => {
        this.userView(r.emoneyNo);
        const ids = this.db
          .prepare('SELECT chargeId FROM charges WHERE emoneyNo = ? ORDER BY rowid')
          .all(r.emoneyNo) as { chargeId: string }[];
        return ids.map((c) => this.charge(c.chargeId));
      }),
    );
  }

  user(request: EMoneyRequest<'user'>): Promise<Outcome<EMoneyUserView>> {
    const r = this.checked<EMoneyRequest<'user'>>('user', request);
    return Promise.resolve(this.run('user', r, () => this.userView(r.emoneyNo)));
  }

  /** Sends every undelivered outbox item; one that fails stays in flight for the next attempt. */
  async deliverOutbox(): Promise<number> {
    const rows = this.db
      .prepare(
        "SELECT seq, peer, topic, payload FROM outbox WHERE deliveredAt IS NULL AND topic = 'receiveFromPeer' ORDER BY seq",
      )
      .all() as {
      seq: number;
      peer: string;
      topic: string;
      payload: string;
    }[];
    let sent = 0;
    for (const row of rows) {
      try {
        // Again while the link is lost: the bank answers a retry of the same txId from its table.
        const o = await deliverToPeer(() =>
          this.peers
            .peer('bank', row.peer)
            .receiveFromPeer(JSON.parse(row.payload) as BankRequest<'receiveFromPeer'>),
        );
        if (!o.ok) continue;
      } catch {
        continue;
      }
      this.delivered(row.seq);
      sent++;
    }
    return sent;
  }

  private scheduleExpiry(at: number): void {
    this.schedule(at, async () => {
      await this.refundExpired({});
    });
  }

  private userRow(no: string):
    | {
        emoneyNo: string;
        name: string;
        refundBankId: string;
        refundAccountNo: string;
        creditCardNo: string | null;
      }
    | undefined {
    return this.db
      .prepare(
        'SELECT emoneyNo, name, refundBankId, refundAccountNo, creditCardNo FROM users WHERE emoneyNo = ?',
      )
      .get(no) as
      | {
          emoneyNo: string;
          name: string;
          refundBankId: string;
          refundAccountNo: string;
          creditCardNo: string | null;
        }
      | undefined;
  }

  private userView(no: string): EMoneyUserView {
    const u = this.userRow(no);
    if (!u) refuse('E_EMONEY_UNKNOWN', '35', `e-money number ${no} is not registered`);
    const s = this.db
      .prepare('SELECT idm, lastBalance, lastExecutionId FROM card_state WHERE emoneyNo = ?')
      .get(no) as {
      idm: string | null;
      lastBalance: number | null;
      lastExecutionId: number | null;
    };
    return { ...u, ...s, pending: 0 - balanceOf(this.db, pending(no)) };
  }

  private charge(id: string): ChargeView {
    const c = this.db
      .prepare(
        'SELECT chargeId, emoneyNo, amount, source, origin, expiresAt, status, deliveryId, refundTxId FROM charges WHERE chargeId = ?',
      )
      .get(id) as ChargeRow | undefined;
    if (!c) refuse('E_NOT_FOUND', '—', `no charge ${id}`);
    const view: Omit<ChargeRow, 'origin'> & { origin?: unknown } = { ...c };
    delete view.origin;
    return view;
  }

  private delivery(id: string): Delivery {
    const d = this.db
      .prepare(
        'SELECT deliveryId, emoneyNo, total, mode, chargeIds, terminalId, status FROM deliveries WHERE deliveryId = ?',
      )
      .get(id) as
      | {
          deliveryId: string;
          emoneyNo: string;
          total: number;
          mode: 'add' | 'overwrite';
          chargeIds: string;
          terminalId: string;
          status: Delivery['status'];
        }
      | undefined;
    if (!d) refuse('E_NOT_FOUND', '—', `no delivery ${id}`);
    const s = this.db.prepare('SELECT idm FROM card_state WHERE emoneyNo = ?').get(d.emoneyNo) as {
      idm: string | null;
    };
    return {
      ...d,
      chargeId: d.deliveryId.slice(0, 16),
      idm: s.idm,
      chargeIds: JSON.parse(d.chargeIds) as string[],
    };
  }
}

function hashPassword(password: string, salt: Uint8Array): Uint8Array {
  return pbkdf2(sha256, utf8ToBytes(password), salt, { c: PBKDF2_ROUNDS, dkLen: 32 });
}

/** All but the last four digits masked (receipt, claim 9). */
export function maskCardNo(no: string): string {
  return `${'*'.repeat(Math.max(0, no.length - 4))}${no.slice(-4)}`;
}
