// The double-entry ledger of every back-end (flows.md 1.3): ledger(txId, leg, account, amount), debits
// positive, the legs of a txId summing to 0; balances are always derived from it. Account prefixes:
// asset:, liab:, rev:, clearing:<peerId>, ext:.
import type { Db } from './store';

export type Leg = readonly [account: string, amount: number];

export interface LedgerEntry {
  readonly txId: string;
  readonly leg: number;
  readonly account: string;
  readonly amount: number;
  readonly at: number;
}

const ACCOUNT = /^(asset|liab|rev|clearing|ext):[\w.:@#-]{1,120}$/;

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
}

/** Books the legs of one txId (inside the caller's transaction); they must sum to 0. */
export function post(db: Db, txId: string, legs: readonly Leg[], at: number): void {
  if (legs.length < 2) throw new LedgerError(`a booking needs at least two legs (txId ${txId})`);
  let sum = 0;
  for (const [account, amount] of legs) {
    if (!ACCOUNT.test(account))
      throw new LedgerError(`"${account}" is not an account name (asset:, liab:, rev:, clearing:, ext:)`);
    if (!Number.isSafeInteger(amount) || amount === 0)
      throw new LedgerError(`leg amount must be a non-zero integer, got ${amount}`);
    sum += amount;
  }
  if (sum !== 0) throw new LedgerError(`the legs of ${txId} sum to ${sum}, not 0`);
  const base = (
    db.prepare('SELECT COALESCE(MAX(leg), -1) + 1 AS n FROM ledger WHERE txId = ?').get(txId) as { n: number }
  ).n;
  const insert = db.prepare('INSERT INTO ledger (txId, leg, account, amount, at) VALUES (?, ?, ?, ?, ?)');
  legs.forEach(([account, amount], i) => insert.run(txId, base + i, account, amount, at));
}

/** Σ of an account's legs (debit positive: a liability's balance is negative). */
export function balanceOf(db: Db, account: string): number {
  return (
    db.prepare('SELECT COALESCE(SUM(amount), 0) AS s FROM ledger WHERE account = ?').get(account) as {
      s: number;
    }
  ).s;
}

/** Every account with a non-zero balance, optionally only those starting with `prefix`. */
export function balances(db: Db, prefix = ''): Record<string, number> {
  const rows = db
    .prepare(
      'SELECT account, SUM(amount) AS s FROM ledger WHERE substr(account, 1, ?) = ? GROUP BY account HAVING s <> 0 ORDER BY account',
    )
    .all(prefix.length, prefix) as { account: string; s: number }[];
  return Object.fromEntries(rows.map((r) => [r.account, r.s]));
}

export function entries(db: Db): LedgerEntry[] {
  return db.prepare('SELECT txId, leg, account, amount, at FROM ledger ORDER BY seq').all() as LedgerEntry[];
}

export function hasTx(db: Db, txId: string): boolean {
  return db.prepare('SELECT 1 FROM ledger WHERE txId = ? LIMIT 1').get(txId) !== undefined;
}
