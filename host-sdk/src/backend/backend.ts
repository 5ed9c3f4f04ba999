// What every back-end instance shares (flows.md 1.2-1.4): its identity, its store, the injected
// clock and random source, and the request discipline: a request's shape is checked against the
// kind's API schema, then it runs as one SQLite transaction; a refusal rolls everything back; a
// money-moving request (one with a txId) is answered from the idempotency table when retried, and
// E_TXID_CONFLICT when the same txId comes with a different request.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { Clock, ClockTask, ScheduledTask } from '../platform/clock';
import type { Rng } from '../platform/rng';
import { canonicalJson } from './canonical-json';
import { entries, type LedgerEntry } from './ledger';
import { RefusedError, accepted, refused, type Outcome } from './outcome';
import type { ApiSpec } from './schema';
import { SecretStore } from './secrets';
import { openStore, type Db, type Migration, type Statement } from './store';

export type Mode = 'hardened' | 'faithful';

/** Everything an instance is given; nothing is read from the environment. */
export interface BackendContext {
  readonly id: string;
  /** A file path, or ':memory:'. */
  readonly path: string;
  /** 32 bytes: wraps the instance's secret keys at rest. */
  readonly storageKey: Uint8Array;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly mode: Mode;
  /** Other back-ends, reached by kind and id (in-process or over HTTP). */
  readonly peers: PeerDirectory;
}

/** Resolves a peer back-end; kinds register their interfaces in KindInterfaces (./kinds.ts). */
export interface PeerDirectory {
  peer<K extends keyof KindInterfaces>(kind: K, id: string): KindInterfaces[K];
}

/** kind → interface; each kind module adds itself by declaration merging. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface KindInterfaces {}

/**
 * One thing this instance booked on its side only (flows.md 1.3 C4): a clearing leg its peer has not
 * booked yet (`clearingAmount` is what the peer's clearing:<this> leg will be), or a card value change
 * not yet booked against the float (`floatAmount` for `floatIssuer`).
 */
export interface InFlightItem {
  readonly txId: string;
  readonly holder: string;
  readonly peer: string;
  readonly topic: string;
  readonly clearingAmount: number;
  readonly floatIssuer: string | null;
  readonly floatAmount: number;
}

export interface AuditView {
  readonly id: string;
  readonly kind: string;
  readonly entries: readonly LedgerEntry[];
  readonly inFlight: readonly InFlightItem[];
}

/** Every kind answers these besides its own methods. */
export interface Backend {
  readonly kind: string;
  readonly id: string;
  auditView(request?: Record<string, never>): Promise<Outcome<AuditView>>;
}

export abstract class SqliteBackend implements Backend {
  abstract readonly kind: string;
  readonly id: string;
  protected readonly db: Db;
  protected readonly clock: Clock;
  protected readonly rng: Rng;
  protected readonly mode: Mode;
  protected readonly peers: PeerDirectory;
  protected readonly secrets: SecretStore;

  protected constructor(
    context: BackendContext,
    migrations: readonly Migration[],
    private readonly api: ApiSpec,
  ) {
    this.id = context.id;
    this.db = openStore(context.path, migrations);
    this.clock = context.clock;
    this.rng = context.rng;
    this.mode = context.mode;
    this.peers = context.peers;
    this.secrets = new SecretStore(this.db, context.storageKey, context.rng.fork('secrets'));
  }

  /** Tasks this instance scheduled on the clock and that have not run: a closed instance cancels them. */
  private readonly scheduled = new Set<ScheduledTask>();

  /**
   * Schedules `task` on the clock for this instance's lifetime: a closed (or restarted) instance no
   * longer runs it; what must survive a restart is re-scheduled from the file by the reopened one.
   */
  protected schedule(at: number, task: ClockTask): ScheduledTask {
    const s = this.clock.schedule(at, async () => {
      this.scheduled.delete(s);
      try {
        await task();
      } catch (e) {
        // A task still running when its instance closed (a crash) dies with it.
        if (!this.closed) throw e;
      }
    });
    this.scheduled.add(s);
    return s;
  }

  private closed = false;

  close(): void {
    this.closed = true;
    for (const s of this.scheduled) s.cancel();
    this.scheduled.clear();
    this.db.close();
  }

  auditView(): Promise<Outcome<AuditView>> {
    const inFlight = (
      this.db
        .prepare(
          'SELECT txId, peer, topic, clearingAmount, floatIssuer, floatAmount FROM outbox WHERE deliveredAt IS NULL ORDER BY seq',
        )
        .all() as Omit<InFlightItem, 'holder'>[]
    ).map((r) => ({ ...r, holder: this.id }));
    return Promise.resolve(accepted({ id: this.id, kind: this.kind, entries: entries(this.db), inFlight }));
  }

  private readonly digestStatements = new Map<string, Statement>();
  private changesStatement: Statement | undefined;

  /**
   * A SHA-256 per table over its rows (in-process only: the fuzz campaign's "a rejected request
   * changed nothing" names the table that changed).
   */
  storeDigests(): Record<string, string> {
    const statement = (key: string, sql: string): Statement => {
      let s = this.digestStatements.get(key);
      if (!s) this.digestStatements.set(key, (s = this.db.prepare(sql)));
      return s;
    };
    const tables = statement('', "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all() as string[];
    const out: Record<string, string> = {};
    for (const name of tables)
      out[name] = bytesToHex(
        sha256(utf8ToBytes(JSON.stringify(statement(name, `SELECT * FROM "${name}"`).all()))),
      );
    return out;
  }

  /**
   * Rows inserted, updated or deleted since the store opened (SQLite total_changes(), rolled-back
   * ones included): unchanged, nothing was written; changed, compare `storeDigests`.
   */
  storeChanges(): number {
    this.changesStatement ??= this.db.prepare('SELECT total_changes()').pluck();
    return this.changesStatement.get() as number;
  }

  /** Checks `request` against the method's schema (a RequestError names the bad field). */
  protected checked<T>(method: string, request: unknown): T {
    const s = this.api[method];
    if (!s) throw new TypeError(`${this.kind} has no method ${method}`);
    return s.check(request, method) as T;
  }

  /**
   * Runs `body` as one transaction. A RefusedError thrown inside rolls back and becomes the answer.
   * With `txId`, the answer is stored under it: a retry gets the stored answer and changes nothing.
   */
  protected run<T>(method: string, request: unknown, body: () => T, txId?: string): Outcome<T> {
    // Only a request with a txId is hashed: the hash is its idempotency key, and a big request without
    // one (registerMedia's 5,000 media) would spend more time hashing than running.
    const hash =
      txId === undefined ? '' : bytesToHex(sha256(utf8ToBytes(`${method}:${canonicalJson(request)}`)));
    return this.inTransaction((): Outcome<T> => {
      if (txId !== undefined) {
        const prior = this.db
          .prepare('SELECT method, requestHash, response FROM idempotency WHERE txId = ?')
          .get(txId) as { method: string; requestHash: string; response: string } | undefined;
        if (prior) {
          if (prior.requestHash !== hash)
            return refused(
              'E_TXID_CONFLICT',
              '—',
              `txId ${txId} was used for another request (${prior.method})`,
            );
          return JSON.parse(prior.response) as Outcome<T>;
        }
      }
      let outcome: Outcome<T>;
      try {
        // A savepoint: a refusal undoes the body but keeps the idempotency row written below.
        outcome = accepted(this.inTransaction(body));
      } catch (e) {
        if (!(e instanceof RefusedError)) throw e;
        outcome = e.refusal;
      }
      if (txId !== undefined)
        this.db
          .prepare('INSERT INTO idempotency (txId, method, requestHash, response) VALUES (?, ?, ?, ?)')
          .run(txId, method, hash, JSON.stringify(outcome));
      return outcome;
    });
  }

  /** `db.transaction` made once: at each call it begins a transaction, or a savepoint inside one. */
  private transactionOf: ((body: () => unknown) => unknown) | undefined;

  /** Runs `body` in a transaction (a savepoint inside one): a throw rolls it back. */
  private inTransaction<T>(body: () => T): T {
    this.transactionOf ??= this.db.transaction((b: () => unknown) => b());
    return this.transactionOf(body) as T;
  }

  /** Records an in-flight item (C4) inside the current transaction; returns its outbox sequence number. */
  protected enqueue(
    item: Omit<InFlightItem, 'holder' | 'floatIssuer' | 'floatAmount'> & {
      floatIssuer?: string;
      floatAmount?: number;
    },
    payload: unknown,
  ): number {
    const r = this.db
      .prepare(
        'INSERT INTO outbox (txId, peer, topic, payload, clearingAmount, floatIssuer, floatAmount, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        item.txId,
        item.peer,
        item.topic,
        JSON.stringify(payload),
        item.clearingAmount,
        item.floatIssuer ?? null,
        item.floatAmount ?? 0,
        this.clock.now(),
      );
    return Number(r.lastInsertRowid);
  }

  protected delivered(seq: number): void {
    this.db.prepare('UPDATE outbox SET deliveredAt = ? WHERE seq = ?').run(this.clock.now(), seq);
  }
}
