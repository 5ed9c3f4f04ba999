// The `bank` back-end (flows.md 1.1): personal accounts with balances derived from the ledger, cash
// in and out, and transfers with a peer back-end through clearing:<peer>. Seed 001 uses it for the
// billing account debited at the credit cutoff and the refund account credited by the e-money
// server; seeds 000, 003 and 004 will add their tables (pool rows, statements) as migrations.
import { balanceOf, post } from '../ledger';
import { refuse, type Outcome } from '../outcome';
import { amount, object, optional, str, txId, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';

const accountNo = str({
  max: 32,
  pattern: /^[\w-]+$/,
  describe: 'an account number (letters, digits, _ or -)',
});
const peerId = str({ max: 64, pattern: /^[\w.-]+$/, describe: 'a back-end id' });

export const BANK_API = {
  auditView: object({}),
  openAccount: object({
    accountNo,
    userId: str({ max: 64 }),
    name: str({ max: 128 }),
    cardId: optional(str({ max: 64 })),
  }),
  account: object({ accountNo }),
  depositCash: object({ txId, accountNo, amount }),
  withdrawCash: object({ txId, accountNo, amount }),
  /** Pays `amount` from the account to the peer (the peer books clearing:<bank> on its side). */
  payToPeer: object({ txId, accountNo, amount, peer: peerId, step: optional(str({ max: 32 })) }),
  /** Receives `amount` from the peer into the account (the peer has booked clearing:<bank>). */
  receiveFromPeer: object({ txId, accountNo, amount, peer: peerId, step: optional(str({ max: 32 })) }),
  /** Seed 004 T2: holds `amount` on the account for the peer (E_FUNDS when it is not covered). */
  holdFunds: object({ txId, accountNo, amount, peer: peerId, step: optional(str({ max: 32 })) }),
  /** Pays a held amount to its peer (clearing:<peer>); a second commit answers the same. */
  commitHold: object({ txId }),
  /** Releases a hold: nothing is booked; a second release answers the same. */
  releaseHold: object({ txId }),
} as const;

export type BankRequest<M extends keyof typeof BANK_API> = Infer<(typeof BANK_API)[M]>;

export interface BankAccountView {
  readonly accountNo: string;
  readonly userId: string;
  readonly name: string;
  readonly cardId: string | null;
  /** What the holder can use: the ledger balance less open holds (seed 004). */
  readonly balance: number;
}

export interface BankBackend extends Backend {
  openAccount(r: BankRequest<'openAccount'>): Promise<Outcome<BankAccountView>>;
  account(r: BankRequest<'account'>): Promise<Outcome<BankAccountView>>;
  depositCash(r: BankRequest<'depositCash'>): Promise<Outcome<BankAccountView>>;
  withdrawCash(r: BankRequest<'withdrawCash'>): Promise<Outcome<BankAccountView>>;
  payToPeer(r: BankRequest<'payToPeer'>): Promise<Outcome<BankAccountView>>;
  receiveFromPeer(r: BankRequest<'receiveFromPeer'>): Promise<Outcome<BankAccountView>>;
  holdFunds(r: BankRequest<'holdFunds'>): Promise<Outcome<BankHold>>;
  commitHold(r: BankRequest<'commitHold'>): Promise<Outcome<BankHold>>;
  releaseHold(r: BankRequest<'releaseHold'>): Promise<Outcome<BankHold>>;
}

/** A hold (seed 004 T2): money reserved on an account, not booked until committed. */
export interface BankHold {
  readonly txId: string;
  readonly accountNo: string;
  readonly amount: number;
  readonly peer: string;
  readonly status: 'held' | 'committed' | 'released';
}

declare module '../backend' {
  interface KindInterfaces {
    bank: BankBackend;
  }
}

const MIGRATIONS = [
  `CREATE TABLE accounts (accountNo TEXT PRIMARY KEY, userId TEXT NOT NULL, name TEXT NOT NULL, cardId TEXT);`,
  // seed 004 (flows.md 6.2 T2): holds reduce what an account covers; only a commit books
  `CREATE TABLE holds (txId TEXT PRIMARY KEY, accountNo TEXT NOT NULL, amount INTEGER NOT NULL, peer TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('held', 'committed', 'released')), at INTEGER NOT NULL);`,
];

const personal = (accountNo: string): string => `liab:personal:${accountNo}`;

export class SqliteBank extends SqliteBackend implements BankBackend {
  readonly kind = 'bank';

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, BANK_API);
  }

  openAccount(request: BankRequest<'openAccount'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'openAccount'>>('openAccount', request);
    return Promise.resolve(
      this.run('openAccount', r, () => {
        if (this.row(r.accountNo)) refuse('E_DUPLICATE', '—', `account ${r.accountNo} exists`);
        this.db
          .prepare('INSERT INTO accounts (accountNo, userId, name, cardId) VALUES (?, ?, ?, ?)')
          .run(r.accountNo, r.userId, r.name, r.cardId ?? null);
        return this.view(r.accountNo);
      }),
    );
  }

  account(request: BankRequest<'account'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'account'>>('account', request);
    return Promise.resolve(this.run('account', r, () => this.view(r.accountNo)));
  }

  depositCash(request: BankRequest<'depositCash'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'depositCash'>>('depositCash', request);
    return Promise.resolve(
      this.run(
        'depositCash',
        r,
        () => {
          this.view(r.accountNo);
          post(
            this.db,
            r.txId,
            [
              ['ext:cash', r.amount],
              [personal(r.accountNo), -r.amount],
            ],
            this.clock.now(),
          );
          return this.view(r.accountNo);
        },
        r.txId,
      ),
    );
  }

  withdrawCash(request: BankRequest<'withdrawCash'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'withdrawCash'>>('withdrawCash', request);
    return Promise.resolve(
      this.run(
        'withdrawCash',
        r,
        () => {
          this.cover(r.accountNo, r.amount, '—');
          post(
            this.db,
            r.txId,
            [
              [personal(r.accountNo), r.amount],
              ['ext:cash', -r.amount],
            ],
            this.clock.now(),
          );
          return this.view(r.accountNo);
        },
        r.txId,
      ),
    );
  }

  payToPeer(request: BankRequest<'payToPeer'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'payToPeer'>>('payToPeer', request);
    return Promise.resolve(
      this.run(
        'payToPeer',
        r,
        () => {
          this.cover(r.accountNo, r.amount, r.step ?? '—');
          post(
            this.db,
            r.txId,
            [
              [personal(r.accountNo), r.amount],
              [`clearing:${r.peer}`, -r.amount],
            ],
            this.clock.now(),
          );
          return this.view(r.accountNo);
        },
        r.txId,
      ),
    );
  }

  receiveFromPeer(request: BankRequest<'receiveFromPeer'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'receiveFromPeer'>>('receiveFromPeer', request);
    return Promise.resolve(
      this.run(
        'receiveFromPeer',
        r,
        () => {
          this.view(r.accountNo);
          post(
            this.db,
            r.txId,
            [
              [`clearing:${r.peer}`, r.amount],
              [personal(r.accountNo), -r.amount],
            ],
            this.clock.now(),
          );
          return this.view(r.accountNo);
        },
        r.txId,
      ),
    );
  }

  holdFunds(request: BankRequest<'holdFunds'>): Promise<Outcome<BankHold>> {
    const r = this.checked<BankRequest<'holdFunds'>>('holdFunds', request);
    return Promise.resolve(
      this.run('holdFunds', r, () => {
        const have = this.hold(r.txId);
        if (have) {
          if (have.accountNo !== r.accountNo || have.amount !== r.amount || have.peer !== r.peer)
            refuse('E_TXID_CONFLICT', r.step ?? '—', `hold ${r.txId} exists for another request`);
          return have;
        }
        const { balance } = this.view(r.accountNo);
        if (balance < r.amount)
          refuse(
            'E_FUNDS',
            r.step ?? '—',
            `account ${r.accountNo} covers ${balance}, cannot hold ${r.amount}`,
          );
        this.db
          .prepare('INSERT INTO holds (txId, accountNo, amount, peer, status, at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(r.txId, r.accountNo, r.amount, r.peer, 'held', this.clock.now());
        return this.hold(r.txId)!;
      }),
    );
  }

  commitHold(request: BankRequest<'commitHold'>): Promise<Outcome<BankHold>> {
    const r = this.checked<BankRequest<'commitHold'>>('commitHold', request);
    return Promise.resolve(
      this.run('commitHold', r, () => {
        const h = this.hold(r.txId);
        if (!h) refuse('E_NOT_FOUND', '—', `no hold ${r.txId} at bank ${this.id}`);
        if (h.status === 'committed') return h;
        if (h.status !== 'held') refuse('E_BAD_STATE', '—', `hold ${r.txId} is ${h.status}, not held`);
        post(
          this.db,
          r.txId,
          [
            [personal(h.accountNo), h.amount],
            [`clearing:${h.peer}`, -h.amount],
          ],
          this.clock.now(),
        );
        this.db.prepare("UPDATE holds SET status = 'committed' WHERE txId = ?").run(r.txId);
        return this.hold(r.txId)!;
      }),
    );
  }

  releaseHold(request: BankRequest<'releaseHold'>): Promise<Outcome<BankHold>> {
    const r = this.checked<BankRequest<'releaseHold'>>('releaseHold', request);
    return Promise.resolve(
      this.run('releaseHold', r, () => {
        const h = this.hold(r.txId);
        if (!h) refuse('E_NOT_FOUND', '—', `no hold ${r.txId} at bank ${this.id}`);
        if (h.status === 'released') return h;
        if (h.status !== 'held') refuse('E_BAD_STATE', '—', `hold ${r.txId} is ${h.status}, not held`);
        this.db.prepare("UPDATE holds SET status = 'released' WHERE txId = ?").run(r.txId);
        return this.hold(r.txId)!;
      }),
    );
  }

  private hold(txId: string): BankHold | undefined {
    return this.db
      .prepare('SELECT txId, accountNo, amount, peer, status FROM holds WHERE txId = ?')
      .get(txId) as BankHold | undefined;
  }

  private row(
    accountNo: string,
  ): { accountNo: string; userId: string; name: string; cardId: string | null } | undefined {
    return this.db
      .prepare('SELECT accountNo, userId, name, cardId FROM accounts WHERE accountNo = ?')
      .get(accountNo) as
      { accountNo: string; userId: string; name: string; cardId: string | null } | undefined;
  }

  /** The account with its balance (what the bank owes the holder); E_NOT_FOUND when absent. */
  private view(accountNo: string): BankAccountView {
    const row = this.row(accountNo);
    if (!row) refuse('E_NOT_FOUND', '—', `no account ${accountNo} at bank ${this.id}`);
    const held = (
      this.db
        .prepare("SELECT COALESCE(SUM(amount), 0) AS n FROM holds WHERE accountNo = ? AND status = 'held'")
        .get(accountNo) as { n: number }
    ).n;
    return { ...row, balance: 0 - balanceOf(this.db, personal(accountNo)) - held };
  }

  private cover(accountNo: string, amount: number, step: string): void {
    const { balance } = this.view(accountNo);
    if (balance < amount)
      refuse('E_INSUFFICIENT_FUNDS', step, `account ${accountNo} holds ${balance}, cannot cover ${amount}`);
  }
}
