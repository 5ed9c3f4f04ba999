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

/** Compiled statements a connection keeps; past this many distinct SQL texts the oldest is dropped. */
const STATEMENT_CACHE_SIZE = 512;

/**
 * A connection whose `prepare` compiles each SQL text once and hands the compiled statement out again
 * (a request used to recompile every statement it ran). A statement comes back as a fresh one would:
 * pluck, raw and expand off and safeIntegers at the connection's default, since callers toggle those
 * modes on what they get. One busy with an unfinished `iterate()` is not handed out again: its caller
 * gets a new, uncached one. `close()` drops the cache; a reopened file is a new connection.
 */
class StatementCachingDatabase extends Database {
  readonly #statements = new Map<string, Statement>();
  #safeIntegers = false;

  // The base class's signature, `{}` included, or the override does not type-check.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  override prepare<BindParameters extends unknown[] | {} = unknown[], Result = unknown>(
    source: string,
  ): Database.Statement<BindParameters, Result> {
    type Prepared = Database.Statement<BindParameters, Result>;
    const cached = this.#statements.get(source);
    if (cached === undefined) {
      const fresh = super.prepare(source);
      if (this.#statements.size >= STATEMENT_CACHE_SIZE)
        this.#statements.delete(this.#statements.keys().next().value!);
      this.#statements.set(source, fresh);
      return fresh as unknown as Prepared;
    }
    if (cached.busy) return super.prepare(source) as unknown as Prepared;
    if (cached.reader) cached.pluck(false).raw(false).expand(false);
    cached.safeIntegers(this.#safeIntegers);
    return cached as unknown as Prepared;
  }

  override defaultSafeIntegers(toggleState = true): this {
    super.defaultSafeIntegers(toggleState);
    this.#safeIntegers = toggleState;
    return this;
  }

  override close(): this {
    this.#statements.clear();
    return super.close();
  }
}

/** The serialized database of each set of migrations, fresh and migrated (better-sqlite3 takes a Buffer). */
const migratedImages = new Map<string, Buffer>();

/**
 * Opens (creating if needed) an instance's database and brings its schema up to date: the platform
 * tables, then the kind's migrations. A file whose user_version is newer than the code knows is refused.
 * A ':memory:' database starts as a copy of one migrated once per set of migrations (running them
 * again for every in-memory instance was most of the cost of opening one).
 */
export function openStore(path: string, kindMigrations: readonly Migration[]): Db {
  const all = [PLATFORM_MIGRATION, ...kindMigrations];
  if (path !== ':memory:') return opened(new StatementCachingDatabase(path), path, all);
  const key = JSON.stringify(all);
  let image = migratedImages.get(key);
  if (image === undefined) {
    const db = opened(new StatementCachingDatabase(path), path, all);
    image = db.serialize();
    db.close();
    migratedImages.set(key, image);
  }
  return opened(new StatementCachingDatabase(image), path, all);
}

function opened(db: Db, path: string, all: readonly Migration[]): Db {
  try {
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // WAL + NORMAL: a commit is in the WAL file before it returns, so a restarted back-end (even a
    // killed process) loses nothing committed (flows.md §7.9); only an OS crash or power loss may lose
    // the last commits, which FULL's fsync per commit (about 1 s of a 2-4 s file-backed run) guarded.
    db.pragma('synchronous = NORMAL');
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
