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
} as const;

export type BankRequest<M extends keyof typeof BANK_API> = Infer<(typeof BANK_API)[M]>;

export interface BankAccountView {
  readonly accountNo: string;
  readonly userId: string;
  readonly name: string;
  readonly cardId: string | null;
  readonly balance: number;
}

export interface BankBackend extends Backend {
  openAccount(r: BankRequest<'openAccount'>): Promise<Outcome<BankAccountView>>;
  account(r: BankRequest<'account'>): Promise<Outcome<BankAccountView>>;
  depositCash(r: BankRequest<'depositCash'>): Promise<Outcome<BankAccountView>>;
  withdrawCash(r: BankRequest<'withdrawCash'>): Promise<Outcome<BankAccountView>>;
  payToPeer(r: BankRequest<'payToPeer'>): Promise<Outcome<BankAccountView>>;
  receiveFromPeer(r: BankRequest<'receiveFromPeer'>): Promise<Outcome<BankAccountView>>;
}

declare module '../backend' {
  interface KindInterfaces {
    bank: BankBackend;
  }
}

const MIGRATIONS = [
  `CREATE TABLE accounts (accountNo TEXT PRIMARY KEY, userId TEXT NOT NULL, name TEXT NOT NULL, cardId TEXT);`,
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
    return { ...row, balance: 0 - balanceOf(this.db, personal(accountNo)) };
  }

  private cover(accountNo: string, amount: number, step: string): void {
    const { balance } = this.view(accountNo);
    if (balance < amount)
      refuse('E_INSUFFICIENT_FUNDS', step, `account ${accountNo} holds ${balance}, cannot cover ${amount}`);
  }
}
