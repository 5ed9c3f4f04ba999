// One back-end instance's SQLite store (flows.md 1.2): one file per instance in WAL mode (':memory:'
// in tests), migrations by PRAGMA user_version, one request = one transaction, and the platform tables
// every kind shares: the double-entry ledger, idempotency, the outbox (in-flight items, C4) and
// wrapped secrets. Kinds add their own tables through their migrations.
import Database from 'better-sqlite3';

/** Statements run in order; migration i (0-based) moves user_version from i to i + 1. */
export type Migration = string;

export const PLATFORM_MIGRATION: Migration = `
  CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    txId TEXT NOT NULL,
    leg INTEGER NOT NULL,
    account TEXT NOT NULL,
    amount INTEGER NOT NULL,
    at INTEGER NOT NULL,
    UNIQUE (txId, leg)
  );
  CREATE INDEX ledger_account ON ledger (account);
  CREATE TABLE idempotency (
    txId TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    requestHash TEXT NOT NULL,
    response TEXT NOT NULL
  );
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    txId TEXT NOT NULL,
    peer TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    clearingAmount INTEGER NOT NULL DEFAULT 0,
    floatIssuer TEXT,
    floatAmount INTEGER NOT NULL DEFAULT 0,
    createdAt INTEGER NOT NULL,
    deliveredAt INTEGER
  );
  CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    nonce BLOB NOT NULL,
    sealed BLOB NOT NULL
  );
`;

export class StoreError extends Error {
  override readonly name = 'StoreError';
}

export type Db = Database.Database;
export type Statement = Database.Statement;

/**
 * Opens (creating if needed) an instance's database and brings its schema up to date: the platform
 * tables, then the kind's migrations. A file whose user_version is newer than the code knows is refused.
 */
export function openStore(path: string, kindMigrations: readonly Migration[]): Db {
  const db = new Database(path);
  try {
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = FULL');
    const all = [PLATFORM_MIGRATION, ...kindMigrations];
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > all.length)
      throw new StoreError(`${path} has schema version ${version}, newer than this code's ${all.length}`);
    for (let v = version; v < all.length; v++) {
      db.transaction(() => {
        db.exec(all[v]!);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}
