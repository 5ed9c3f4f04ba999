// The `emoney-center` back-end's store section [8] (flows.md 6.2-6.3): its set-up (configure, start,
// status) and the validity cache (deny-list, expiry horizon, allow-list) per cache mode, extracted
// from the center database [6] at start-up and every refresh interval, and changed by every pushed
// change; the cache lookups the judging section uses. The ACK/NAK sessions
// (./emoney-center-sessions.ts) and load/unload (./emoney-center.ts) build on it.
import { jstDay } from '../../platform/clock';
import { refuse, type Outcome } from '../outcome';
import { RequestError } from '../schema';
import { SqliteBackend, type BackendContext } from '../backend';
import type { CacheExtract, DbChange } from './center-db';
import {
  CENTER_DEFAULTS,
  EMONEY_CENTER_API,
  MEDIUM_ENTRY_BYTES,
  TERMINAL_ENTRY_BYTES,
  type CacheEntry,
  type CacheMode,
  type CenterConfig,
  type CenterRequest,
  type CenterStatus,
  type NakReason,
} from './emoney-center-api';

const MIGRATIONS = [
  `CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE keys (systemCode INTEGER NOT NULL, node INTEGER NOT NULL, version INTEGER NOT NULL,
     PRIMARY KEY (systemCode, node));
   CREATE TABLE cache_media (mediumId TEXT PRIMARY KEY,
     status TEXT NOT NULL CHECK (status IN ('stolen', 'captured', 'expired', 'expiring')), expiresOn INTEGER);
   CREATE TABLE cache_terminals (terminalId TEXT PRIMARY KEY);
   CREATE TABLE connections (connectionId TEXT PRIMARY KEY, mediumId TEXT NOT NULL, terminalId TEXT NOT NULL,
     cacheMode TEXT NOT NULL, tHello INTEGER NOT NULL, tAck INTEGER, tStart INTEGER, tEnd INTEGER,
     verdict TEXT NOT NULL, nakReason TEXT, late INTEGER NOT NULL DEFAULT 0, dbAccesses INTEGER NOT NULL DEFAULT 0,
     mediumOk INTEGER, terminalOk INTEGER, state TEXT NOT NULL, txId TEXT, kind TEXT, amount INTEGER,
     idm TEXT, userAccount TEXT);
   CREATE TABLE messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, connectionId TEXT NOT NULL, body TEXT NOT NULL,
     sentAt INTEGER NOT NULL, deliverAt INTEGER NOT NULL);
   CREATE TABLE transactions (txId TEXT PRIMARY KEY, connectionId TEXT NOT NULL, kind TEXT NOT NULL,
     amount INTEGER NOT NULL, chargeId TEXT NOT NULL, status TEXT NOT NULL);
   CREATE TABLE auth_witness (seq INTEGER PRIMARY KEY AUTOINCREMENT, idm TEXT NOT NULL, at INTEGER NOT NULL);`,
  // The DB query a connection waits for and when it completes: a restarted center resumes it.
  `ALTER TABLE connections ADD COLUMN pendingQuery TEXT;
   ALTER TABLE connections ADD COLUMN pendingAt INTEGER;`,
];

export abstract class CenterCache extends SqliteBackend {
  protected constructor(context: BackendContext) {
    super(context, MIGRATIONS, EMONEY_CENTER_API);
  }

  /** Sends the outbox's bank transfers (./emoney-center.ts); every cache load ends with it. */
  protected abstract deliverOutbox(): Promise<number>;

  configure(request: CenterRequest<'configure'>): Promise<Outcome<CenterConfig>> {
    const r = this.checked<CenterRequest<'configure'>>('configure', request);
    return Promise.resolve(
      this.run('configure', r, () => {
        if (this.setting('state'))
          refuse('E_BAD_STATE', '—', 'the center has started; configure it before start');
        const config: CenterConfig = { ...CENTER_DEFAULTS, ...r };
        this.put('config', JSON.stringify(config));
        return config;
      }),
    );
  }

  start(request: CenterRequest<'start'> = {}): Promise<Outcome<{ readonly readyAt: number }>> {
    const r = this.checked<CenterRequest<'start'>>('start', request);
    const o = this.run('start', r, () => {
      const c = this.config();
      if (this.setting('state')) refuse('E_BAD_STATE', '—', 'the center has already started');
      this.put('state', 'loading');
      this.put('readyAt', String(this.clock.now() + c.loadMs));
      return { readyAt: this.clock.now() + c.loadMs };
    });
    if (o.ok) this.schedule(o.result.readyAt, () => this.load());
    return Promise.resolve(o);
  }

  status(request: CenterRequest<'status'> = {}): Promise<Outcome<CenterStatus>> {
    const r = this.checked<CenterRequest<'status'>>('status', request);
    return Promise.resolve(this.run('status', r, () => this.statusNow()));
  }

  applyChanges(request: CenterRequest<'applyChanges'>): Promise<Outcome<{ readonly dbSeq: number }>> {
    const r = this.checked<CenterRequest<'applyChanges'>>('applyChanges', request);
    return Promise.resolve(
      this.run('applyChanges', r, () => {
        for (const ch of r.changes) this.applyChange(ch);
        return { dbSeq: Number(this.setting('dbSeq') ?? 0) };
      }),
    );
  }

  cached(request: CenterRequest<'cached'>): Promise<Outcome<CacheEntry | null>> {
    const r = this.checked<CenterRequest<'cached'>>('cached', request);
    if ((r.mediumId === undefined) === (r.terminalId === undefined))
      throw new RequestError('cached must name exactly one of mediumId and terminalId');
    return Promise.resolve(
      this.run('cached', r, () => {
        if (r.mediumId !== undefined)
          return (
            (this.db
              .prepare('SELECT mediumId, status, expiresOn FROM cache_media WHERE mediumId = ?')
              .get(r.mediumId) as CacheEntry | undefined) ?? null
          );
        return this.cachedTerminal(r.terminalId!)
          ? { terminalId: r.terminalId!, status: 'allowed' as const }
          : null;
      }),
    );
  }

  // — the store section [8] —

  /**
   * Loads the cache from the database (subscribing to the push feed the first time) and schedules the
   * next reload. A database that cannot be reached leaves the cache as it was (not ready at start-up)
   * and the load is tried again one interval later; the failure is kept as `lastLoadError`.
   */
  protected async load(): Promise<void> {
    const c = this.config();
    const db = this.peers.peer('center-db', c.db);
    try {
      if (this.setting('loads') === undefined) {
        const s = await db.subscribe({ centerId: this.id, push: c.push });
        if (!s.ok) throw new Error(`cannot subscribe to ${c.db}: ${s.code} ${s.message}`);
      }
      const horizonDay = jstDay(this.clock.now() + c.refreshIntervalMs) + 1;
      const x = await db.extract({ horizonDay });
      if (!x.ok) throw new Error(`cannot extract the cache from ${c.db}: ${x.code} ${x.message}`);
      this.db.transaction(() => this.fill(x.result, c.cacheMode, horizonDay))();
    } catch (e) {
      this.put('lastLoadError', `${this.clock.now()}: ${(e as Error).message}`);
    }
    await this.deliverOutbox();
    this.schedule(this.clock.now() + c.refreshIntervalMs, () => this.load());
  }

  protected fill(x: CacheExtract, mode: CacheMode, horizonDay: number): void {
    this.db.exec('DELETE FROM cache_media; DELETE FROM cache_terminals;');
    if (mode === 'both' || mode === 'medium') {
      const ins = this.db.prepare('INSERT INTO cache_media (mediumId, status, expiresOn) VALUES (?, ?, ?)');
      for (const d of x.deny) ins.run(d.mediumId, d.reason, null);
      for (const e of x.expiring) ins.run(e.mediumId, 'expiring', e.expiresOn);
    }
    if (mode === 'both' || mode === 'terminal') {
      const ins = this.db.prepare('INSERT INTO cache_terminals (terminalId) VALUES (?)');
      for (const t of x.allow) ins.run(t);
    }
    this.put('state', 'ready');
    this.put('loadedAt', String(this.clock.now()));
    this.put('loads', String(Number(this.setting('loads') ?? 0) + 1));
    this.put('dbSeq', String(x.dbSeq));
    this.put('horizonDay', String(horizonDay));
  }

  protected applyChange(ch: DbChange): void {
    const mode = this.config().cacheMode;
    if (ch.table === 'media' && (mode === 'both' || mode === 'medium')) {
      this.db.prepare('DELETE FROM cache_media WHERE mediumId = ?').run(ch.id);
      const horizon = Number(this.setting('horizonDay') ?? 0);
      const status =
        ch.reason ??
        (ch.expiresOn !== undefined && ch.expiresOn <= this.clock.today()
          ? 'expired'
          : ch.expiresOn !== undefined && ch.expiresOn <= horizon
            ? 'expiring'
            : null);
      if (status)
        this.db
          .prepare('INSERT INTO cache_media (mediumId, status, expiresOn) VALUES (?, ?, ?)')
          .run(ch.id, status, status === 'expiring' ? ch.expiresOn : null);
    }
    if (ch.table === 'terminals' && (mode === 'both' || mode === 'terminal')) {
      this.db.prepare('DELETE FROM cache_terminals WHERE terminalId = ?').run(ch.id);
      if (ch.active) this.db.prepare('INSERT INTO cache_terminals (terminalId) VALUES (?)').run(ch.id);
    }
    if (ch.seq > Number(this.setting('dbSeq') ?? 0)) this.put('dbSeq', String(ch.seq));
  }

  protected statusNow(): CenterStatus {
    const n = (sql: string): number => (this.db.prepare(sql).get() as { n: number }).n;
    const mediumEntries = n('SELECT COUNT(*) AS n FROM cache_media');
    const terminalEntries = n('SELECT COUNT(*) AS n FROM cache_terminals');
    const loadedAt = this.setting('loadedAt');
    return {
      state: (this.setting('state') ?? 'configured') as CenterStatus['state'],
      cacheMode: this.config().cacheMode,
      loadedAt: loadedAt === undefined ? null : Number(loadedAt),
      loads: Number(this.setting('loads') ?? 0),
      dbSeq: Number(this.setting('dbSeq') ?? 0),
      mediumEntries,
      terminalEntries,
      bytes: mediumEntries * MEDIUM_ENTRY_BYTES + terminalEntries * TERMINAL_ENTRY_BYTES,
    };
  }

  // — the judging section [9] —

  /** A medium's verdict from the cache: a NAK reason, or null (valid). Expiry is judged now. */
  protected cachedMedium(mediumId: string): NakReason | null {
    const m = this.db
      .prepare('SELECT status, expiresOn FROM cache_media WHERE mediumId = ?')
      .get(mediumId) as { status: string; expiresOn: number | null } | undefined;
    if (!m) return null;
    if (m.status === 'stolen' || m.status === 'captured') return 'MEDIUM_STOLEN';
    if (m.status === 'expired') return 'MEDIUM_EXPIRED';
    return m.expiresOn !== null && m.expiresOn <= this.clock.today() ? 'MEDIUM_EXPIRED' : null;
  }

  protected cachedTerminal(terminalId: string): boolean {
    return (
      this.db.prepare('SELECT 1 FROM cache_terminals WHERE terminalId = ?').get(terminalId) !== undefined
    );
  }

  protected config(): CenterConfig {
    const v = this.setting('config');
    if (v === undefined) refuse('E_BAD_STATE', '—', `center ${this.id} is not configured`);
    return JSON.parse(v) as CenterConfig;
  }

  protected setting(name: string): string | undefined {
    return (
      this.db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined
    )?.value;
  }

  protected put(name: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      )
      .run(name, value);
  }
}
