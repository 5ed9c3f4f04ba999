// The `emoney-center` back-end (flows.md 6, seed 004): the center computer [4] — the store section [8]
// keeps the validity cache (deny-list, expiry horizon, allow-list) extracted from the center database
// [6] at start-up, every refresh interval and on every pushed change; the judging section [9] answers a
// terminal's HELLO with ACK or NAK per cache mode (none, both, medium, terminal: 6.2), charging the
// configured line and DB times on the virtual clock; the transaction processor [11] sends START once
// every check has passed and TXN has arrived, binds the card at T1 (hardened), holds, commits or
// releases the user's money at the bank around the card write of T2, and books the float. It is the key
// holder for load and unload (keyHolder(): in-process only, served by the fixture). The terminal
// reads what the center sent with `receive`: each message carries its send time and the time the line
// delivers it (sent + lineMs).
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { jstDay } from '../../platform/clock';
import type { AuthRequest, CryptogramSession, KeyHolder } from '../../keys/key-holder';
import { LocalKeyHolder, type RandomBytes } from '../../keys/local-key-holder';
import { post } from '../ledger';
import { deliverToPeer } from '../link-retry';
import { refuse, type Outcome } from '../outcome';
import {
  RequestError,
  amount,
  bool,
  hex,
  int,
  list,
  object,
  oneOf,
  optional,
  str,
  txId,
  type Infer,
} from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';
import type { CacheExtract, DbChange, MediumInfo, TerminalInfo } from './center-db';

export const CACHE_MODES = ['none', 'both', 'medium', 'terminal'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];
export type NakReason = 'MEDIUM_STOLEN' | 'MEDIUM_EXPIRED' | 'TERMINAL_UNREGISTERED' | 'MEDIUM_MISMATCH';

/** flows.md 6.3 defaults (project numbers). */
export const CENTER_DEFAULTS = Object.freeze({
  lineMs: 50,
  dbTerminalMs: 80,
  dbMediumMs: 600,
  /** The initial cache load (a project number: until it completes, E_NOT_READY). */
  loadMs: 1000,
  refreshIntervalMs: 3_600_000,
  push: true,
  capture: false,
});

/** flows.md 6.3: bytes per cache entry. */
export const MEDIUM_ENTRY_BYTES = 13;
export const TERMINAL_ENTRY_BYTES = 8;

const backendId = str({ max: 64, pattern: /^[\w.-]+$/, describe: 'a back-end id' });
const connectionId = hex(8);
const ms = int(0, 366 * 86_400_000);

const change = object({
  seq: int(1),
  table: oneOf(['media', 'terminals'] as const),
  id: hex(8),
  at: int(),
  expiresOn: optional(int(0, 0xffff)),
  reason: optional(oneOf(['stolen', 'captured'] as const)),
  active: optional(bool),
});

export const EMONEY_CENTER_API = {
  auditView: object({}),
  configure: object({
    db: backendId,
    bank: backendId,
    cacheMode: oneOf(CACHE_MODES),
    lineMs: optional(ms),
    dbTerminalMs: optional(ms),
    dbMediumMs: optional(ms),
    loadMs: optional(ms),
    refreshIntervalMs: optional(int(1, 366 * 86_400_000)),
    push: optional(bool),
    capture: optional(bool),
  }),
  /** The load and unload keys (masters, diversified per card), on the dedicated channel. */
  registerKeys: object({
    systemCode: int(0, 0xffff),
    keys: list(object({ node: int(0, 0xffff), version: int(0, 0xffff), master: hex(16) }), 16),
  }),
  /** Starts the initial cache load (ready loadMs later), the interval refresh and the push feed. */
  start: object({}),
  status: object({}),
  /** S2: HELLO {connectionId, mediumId, terminalId}; `sentAt` is when the terminal sent it. */
  hello: object({ connectionId, mediumId: hex(8), terminalId: hex(8), sentAt: int() }),
  /** What the center has sent on a connection after message `after` (seq). */
  receive: object({ connectionId, after: int() }),
  /** TXN {txId, kind, amount}. */
  txn: object({ connectionId, txId, kind: oneOf(['load', 'unload'] as const), amount, sentAt: int() }),
  /** T1: the key holder authenticated the card through the relay; (H) binds it to the HELLO medium. */
  authenticated: object({ connectionId }),
  /**
   * Earlier writes to this connection's medium whose outcome is still unknown (no valid answer, the
   * card gone): the terminal reads the log in this session and settles each with complete or fail.
   */
  unsettled: object({ connectionId }),
  /** T2 begins: (load) the bank holds the amount; answers the charge ID the card write carries. */
  prepare: object({ connectionId }),
  /** T2 ends: the MAC-verified write and confirming read; books and moves the money, DONE. */
  complete: object({ connectionId, balanceAfter: int(0, 0xffffffff) }),
  /** T2 refused by the card (MAC-verified): the hold is released, DONE with the refusal. */
  fail: object({ connectionId, status: str({ max: 32 }) }),
  /** CAPTURED {mediumId}: the terminal kept the card after a medium-invalid NAK. */
  captured: object({ connectionId, mediumId: hex(8) }),
  /** The push feed of the center database. */
  applyChanges: object({ changes: list(change, 5000) }),
  connections: object({ connectionId: optional(connectionId) }),
  /** Sends the bank transfers still in the outbox (also tried at every reload). */
  flushOutbox: object({}),
  /** What the cache holds for a medium or a terminal (null: no entry). */
  cached: object({ mediumId: optional(hex(8)), terminalId: optional(hex(8)) }),
} as const;

export type CenterRequest<M extends keyof typeof EMONEY_CENTER_API> = Infer<(typeof EMONEY_CENTER_API)[M]>;

export interface CenterConfig {
  readonly db: string;
  readonly bank: string;
  readonly cacheMode: CacheMode;
  readonly lineMs: number;
  readonly dbTerminalMs: number;
  readonly dbMediumMs: number;
  readonly loadMs: number;
  readonly refreshIntervalMs: number;
  readonly push: boolean;
  readonly capture: boolean;
}

export interface CenterStatus {
  readonly state: 'configured' | 'loading' | 'ready';
  readonly cacheMode: CacheMode;
  readonly loadedAt: number | null;
  readonly loads: number;
  readonly dbSeq: number;
  readonly mediumEntries: number;
  readonly terminalEntries: number;
  /** 13 B per medium entry, 8 B per terminal entry (flows.md 6.3). */
  readonly bytes: number;
}

export type CenterMessage =
  | {
      readonly seq: number;
      readonly type: 'ACK';
      readonly step: string;
      readonly sentAt: number;
      readonly deliverAt: number;
    }
  | {
      readonly seq: number;
      readonly type: 'NAK';
      readonly reason: NakReason;
      readonly late: boolean;
      /** The terminal keeps the card (capture on, a medium-invalid verdict). */
      readonly capture: boolean;
      /** The patent step that judged (S3, S7*, T1, …). */
      readonly step: string;
      readonly sentAt: number;
      readonly deliverAt: number;
    }
  | {
      readonly seq: number;
      readonly type: 'START';
      readonly step: string;
      readonly txId: string;
      readonly sentAt: number;
      readonly deliverAt: number;
    }
  | {
      readonly seq: number;
      readonly type: 'DONE';
      readonly result: string;
      readonly balanceAfter: number | null;
      readonly sentAt: number;
      readonly deliverAt: number;
    };

export interface ConnectionRow {
  readonly connectionId: string;
  readonly mediumId: string;
  readonly terminalId: string;
  readonly cacheMode: CacheMode;
  readonly tHello: number;
  readonly tAck: number | null;
  readonly tStart: number | null;
  readonly tEnd: number | null;
  readonly verdict: 'pending' | 'ACK' | 'NAK';
  readonly nakReason: NakReason | null;
  readonly late: number;
  readonly dbAccesses: number;
  readonly state: 'open' | 'started' | 'authenticated' | 'prepared' | 'closed';
  readonly txId: string | null;
  readonly kind: 'load' | 'unload' | null;
  readonly amount: number | null;
}

/** A message received: its connection and the patent step of the center's mode it was. */
export interface StepAnswer {
  readonly connectionId: string;
  readonly step: string;
}

export interface Unsettled extends Prepared {
  readonly connectionId: string;
}

export interface Prepared {
  readonly txId: string;
  readonly chargeId: string;
  readonly kind: 'load' | 'unload';
  readonly amount: number;
}

export interface EMoneyCenterBackend extends Backend {
  configure(r: CenterRequest<'configure'>): Promise<Outcome<CenterConfig>>;
  registerKeys(r: CenterRequest<'registerKeys'>): Promise<Outcome<{ readonly count: number }>>;
  start(r?: CenterRequest<'start'>): Promise<Outcome<{ readonly readyAt: number }>>;
  status(r?: CenterRequest<'status'>): Promise<Outcome<CenterStatus>>;
  hello(r: CenterRequest<'hello'>): Promise<Outcome<StepAnswer>>;
  receive(r: CenterRequest<'receive'>): Promise<Outcome<readonly CenterMessage[]>>;
  txn(r: CenterRequest<'txn'>): Promise<Outcome<StepAnswer>>;
  authenticated(
    r: CenterRequest<'authenticated'>,
  ): Promise<Outcome<{ readonly verdict: 'OK' } | { readonly verdict: 'NAK'; readonly reason: NakReason }>>;
  unsettled(r: CenterRequest<'unsettled'>): Promise<Outcome<readonly Unsettled[]>>;
  prepare(r: CenterRequest<'prepare'>): Promise<Outcome<Prepared>>;
  complete(r: CenterRequest<'complete'>): Promise<Outcome<{ readonly balanceAfter: number }>>;
  fail(r: CenterRequest<'fail'>): Promise<Outcome<{ readonly released: boolean }>>;
  captured(r: CenterRequest<'captured'>): Promise<Outcome<{ readonly capturedAt: number }>>;
  applyChanges(r: CenterRequest<'applyChanges'>): Promise<Outcome<{ readonly dbSeq: number }>>;
  connections(r?: CenterRequest<'connections'>): Promise<Outcome<readonly ConnectionRow[]>>;
  cached(r: CenterRequest<'cached'>): Promise<Outcome<CacheEntry | null>>;
  flushOutbox(r?: CenterRequest<'flushOutbox'>): Promise<Outcome<{ readonly delivered: number }>>;
}

export type CacheEntry =
  | {
      readonly mediumId: string;
      readonly status: 'stolen' | 'captured' | 'expired' | 'expiring';
      readonly expiresOn: number | null;
    }
  | { readonly terminalId: string; readonly status: 'allowed' };

declare module '../backend' {
  interface KindInterfaces {
    'emoney-center': EMoneyCenterBackend;
  }
}

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

const CONNECTION_COLUMNS =
  'connectionId, mediumId, terminalId, cacheMode, tHello, tAck, tStart, tEnd, verdict, nakReason, late, dbAccesses, state, txId, kind, amount';

interface ConnRow extends ConnectionRow {
  readonly mediumOk: number | null;
  readonly terminalOk: number | null;
  readonly idm: string | null;
  readonly userAccount: string | null;
}

/** The patent steps of each mode (flows.md 6.2): the verdict from the cache, a late verdict from the DB. */
const STEP: Record<
  CacheMode,
  { hello: string; ack: string; nak: string; late: string; txn: string; start: string }
> = {
  none: { hello: '0004', ack: '0004', nak: '0004', late: '0004', txn: '0004', start: '0004' },
  both: { hello: 'S2', ack: 'S6', nak: 'S9', late: 'S9', txn: 'S7', start: 'S8' },
  medium: { hello: 'S2', ack: 'S3', nak: 'S3', late: 'S7*', txn: 'S6', start: 'S7' },
  terminal: { hello: 'S2', ack: 'S3', nak: 'S3', late: 'S5', txn: 'S6', start: 'S7' },
};

export class SqliteEMoneyCenter extends SqliteBackend implements EMoneyCenterBackend {
  readonly kind = 'emoney-center';

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, EMONEY_CENTER_API);
    this.resume();
  }

  /**
   * Re-schedules what an instance opened from its file was waiting for (flows.md 7.9): the initial load
   * or the next interval reload, and every connection's pending DB query at its completion time.
   */
  private resume(): void {
    const state = this.setting('state');
    if (state === 'loading') this.schedule(Number(this.setting('readyAt')), () => this.load());
    if (state === 'ready')
      this.schedule(Number(this.setting('loadedAt')) + this.config().refreshIntervalMs, () => this.load());
    for (const c of this.db
      .prepare(
        "SELECT connectionId, pendingQuery, pendingAt FROM connections WHERE pendingQuery IS NOT NULL AND state <> 'closed' ORDER BY pendingAt, connectionId",
      )
      .all() as { connectionId: string; pendingQuery: 'terminal' | 'medium'; pendingAt: number }[])
      this.schedule(c.pendingAt, () =>
        c.pendingQuery === 'terminal'
          ? this.terminalQueried(c.connectionId)
          : this.mediumQueried(c.connectionId),
      );
  }

  /** Starts a connection's DB query: it completes after the configured query time. */
  private query(connectionId: string, which: 'terminal' | 'medium'): void {
    const c = this.config();
    const at = this.clock.now() + (which === 'terminal' ? c.dbTerminalMs : c.dbMediumMs);
    this.db
      .prepare('UPDATE connections SET pendingQuery = ?, pendingAt = ? WHERE connectionId = ?')
      .run(which, at, connectionId);
    this.schedule(at, () =>
      which === 'terminal' ? this.terminalQueried(connectionId) : this.mediumQueried(connectionId),
    );
  }

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

  registerKeys(request: CenterRequest<'registerKeys'>): Promise<Outcome<{ readonly count: number }>> {
    const r = this.checked<CenterRequest<'registerKeys'>>('registerKeys', request);
    return Promise.resolve(
      this.run('registerKeys', r, () => {
        for (const k of r.keys) {
          this.db
            .prepare('INSERT OR REPLACE INTO keys (systemCode, node, version) VALUES (?, ?, ?)')
            .run(r.systemCode, k.node, k.version);
          this.secrets.put(`key:${r.systemCode}:${k.node}`, hexToBytes(k.master));
        }
        return { count: r.keys.length };
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

  hello(request: CenterRequest<'hello'>): Promise<Outcome<StepAnswer>> {
    const r = this.checked<CenterRequest<'hello'>>('hello', request);
    const o = this.run('hello', r, () => {
      if (this.setting('state') !== 'ready')
        refuse('E_NOT_READY', 'S2', 'the validity cache is not loaded yet; try again later');
      if (r.sentAt > this.clock.now()) refuse('E_BAD_STATE', 'S2', `HELLO sent at ${r.sentAt}, after now`);
      if (this.conn(r.connectionId)) refuse('E_DUPLICATE', 'S2', `connection ${r.connectionId} exists`);
      const mode = this.config().cacheMode;
      this.db
        .prepare(
          `INSERT INTO connections (connectionId, mediumId, terminalId, cacheMode, tHello, verdict, state)
           VALUES (?, ?, ?, ?, ?, 'pending', 'open')`,
        )
        .run(r.connectionId, r.mediumId, r.terminalId, mode, r.sentAt);
      const step = STEP[mode].nak;
      if (mode === 'both') {
        const m = this.cachedMedium(r.mediumId);
        if (m) return this.nak(r.connectionId, m, false, step);
        if (!this.cachedTerminal(r.terminalId))
          return this.nak(r.connectionId, 'TERMINAL_UNREGISTERED', false, step);
        this.mark(r.connectionId, 'mediumOk');
        this.mark(r.connectionId, 'terminalOk');
        this.ack(r.connectionId);
        return 'ack';
      }
      if (mode === 'medium') {
        const m = this.cachedMedium(r.mediumId);
        if (m) return this.nak(r.connectionId, m, false, step);
        this.mark(r.connectionId, 'mediumOk');
        this.ack(r.connectionId);
        return 'query-terminal';
      }
      if (mode === 'terminal') {
        if (!this.cachedTerminal(r.terminalId))
          return this.nak(r.connectionId, 'TERMINAL_UNREGISTERED', false, step);
        this.mark(r.connectionId, 'terminalOk');
        this.ack(r.connectionId);
        return 'query-medium';
      }
      return 'query-terminal';
    });
    if (!o.ok) return Promise.resolve(o);
    const c = this.config();
    const id = r.connectionId;
    if (o.result === 'query-terminal') this.query(id, 'terminal');
    if (o.result === 'query-medium') this.query(id, 'medium');
    return Promise.resolve({ ok: true, result: { connectionId: id, step: STEP[c.cacheMode].hello } });
  }

  receive(request: CenterRequest<'receive'>): Promise<Outcome<readonly CenterMessage[]>> {
    const r = this.checked<CenterRequest<'receive'>>('receive', request);
    return Promise.resolve(
      this.run('receive', r, () => {
        if (!this.conn(r.connectionId)) refuse('E_NOT_FOUND', '—', `no connection ${r.connectionId}`);
        return (
          this.db
            .prepare(
              'SELECT seq, body, sentAt, deliverAt FROM messages WHERE connectionId = ? AND seq > ? ORDER BY seq',
            )
            .all(r.connectionId, r.after) as {
            seq: number;
            body: string;
            sentAt: number;
            deliverAt: number;
          }[]
        ).map(
          (m) =>
            ({
              seq: m.seq,
              ...(JSON.parse(m.body) as object),
              sentAt: m.sentAt,
              deliverAt: m.deliverAt,
            }) as CenterMessage,
        );
      }),
    );
  }

  txn(request: CenterRequest<'txn'>): Promise<Outcome<StepAnswer>> {
    const r = this.checked<CenterRequest<'txn'>>('txn', request);
    return Promise.resolve(
      this.run('txn', r, () => {
        const step = STEP[this.config().cacheMode].txn;
        const c = this.open(r.connectionId, step);
        if (c.verdict !== 'ACK') refuse('E_BAD_STATE', step, `TXN before ACK on ${r.connectionId}`);
        if (c.txId !== null)
          refuse('E_DUPLICATE', step, `connection ${r.connectionId} already has TXN ${c.txId}`);
        if (r.sentAt > this.clock.now()) refuse('E_BAD_STATE', step, `TXN sent at ${r.sentAt}, after now`);
        if (this.db.prepare('SELECT 1 FROM connections WHERE txId = ?').get(r.txId))
          refuse('E_TXID_CONFLICT', step, `txId ${r.txId} belongs to another connection`);
        this.db
          .prepare('UPDATE connections SET txId = ?, kind = ?, amount = ? WHERE connectionId = ?')
          .run(r.txId, r.kind, r.amount, r.connectionId);
        this.maybeStart(r.connectionId);
        return { connectionId: r.connectionId, step: STEP[c.cacheMode].txn };
      }),
    );
  }

  async authenticated(
    request: CenterRequest<'authenticated'>,
  ): Promise<Outcome<{ readonly verdict: 'OK' } | { readonly verdict: 'NAK'; readonly reason: NakReason }>> {
    const r = this.checked<CenterRequest<'authenticated'>>('authenticated', request);
    const c0 = this.conn(r.connectionId);
    if (!c0 || c0.state !== 'started')
      return {
        ok: false,
        code: 'E_BAD_STATE',
        step: 'T1',
        message: `connection ${r.connectionId} is not started`,
      };
    // The binding lookup (IDm and user account of the HELLO medium): after START, not a validity query.
    const info = await this.peers.peer('center-db', this.config().db).queryMedium({ mediumId: c0.mediumId });
    if (!info.ok) return info;
    return this.run('authenticated', r, () => {
      const c = this.conn(r.connectionId)!;
      if (c.state !== 'started') refuse('E_BAD_STATE', 'T1', `connection ${r.connectionId} is ${c.state}`);
      const witness = this.db
        .prepare('SELECT idm FROM auth_witness WHERE at >= ? ORDER BY seq DESC LIMIT 1')
        .get(c.tStart!) as { idm: string } | undefined;
      const medium: MediumInfo | null = info.result;
      if (this.mode === 'hardened' && (!medium || !witness || witness.idm !== medium.idm)) {
        this.nak(r.connectionId, 'MEDIUM_MISMATCH', true, 'T1');
        return { verdict: 'NAK' as const, reason: 'MEDIUM_MISMATCH' as const };
      }
      if (!medium) {
        this.nak(r.connectionId, 'MEDIUM_MISMATCH', true, 'T1');
        return { verdict: 'NAK' as const, reason: 'MEDIUM_MISMATCH' as const };
      }
      this.db
        .prepare(
          "UPDATE connections SET state = 'authenticated', idm = ?, userAccount = ? WHERE connectionId = ?",
        )
        .run(witness?.idm ?? null, medium.userAccount, r.connectionId);
      return { verdict: 'OK' as const };
    });
  }

  unsettled(request: CenterRequest<'unsettled'>): Promise<Outcome<readonly Unsettled[]>> {
    const r = this.checked<CenterRequest<'unsettled'>>('unsettled', request);
    return Promise.resolve(
      this.run('unsettled', r, () => {
        const c = this.conn(r.connectionId);
        if (!c || c.state !== 'authenticated')
          refuse('E_BAD_STATE', 'T2', `connection ${r.connectionId} is not authenticated`);
        return (
          this.db
            .prepare(
              "SELECT connectionId, txId, kind, amount FROM connections WHERE mediumId = ? AND state = 'prepared' AND connectionId <> ? ORDER BY tHello, connectionId",
            )
            .all(c.mediumId, r.connectionId) as {
            connectionId: string;
            txId: string;
            kind: 'load' | 'unload';
            amount: number;
          }[]
        ).map((u) => ({ ...u, chargeId: u.txId.slice(0, 16) }));
      }),
    );
  }

  async prepare(request: CenterRequest<'prepare'>): Promise<Outcome<Prepared>> {
    const r = this.checked<CenterRequest<'prepare'>>('prepare', request);
    const c = this.conn(r.connectionId);
    if (!c || c.state !== 'authenticated')
      return {
        ok: false,
        code: 'E_BAD_STATE',
        step: 'T2',
        message: `connection ${r.connectionId} is not authenticated`,
      };
    const cfg = this.config();
    const p: Prepared = { txId: c.txId!, chargeId: c.txId!.slice(0, 16), kind: c.kind!, amount: c.amount! };
    if (p.kind === 'load') {
      const hold = await this.peers.peer('bank', cfg.bank).holdFunds({
        txId: p.txId,
        accountNo: c.userAccount!,
        amount: p.amount,
        peer: this.id,
        step: 'T2',
      });
      if (!hold.ok) {
        const code = hold.code === 'E_FUNDS' || hold.code === 'E_INSUFFICIENT_FUNDS' ? 'E_FUNDS' : hold.code;
        this.run('prepare', r, () => this.done(r.connectionId, code, null));
        return { ok: false, code, step: 'T2', message: hold.message };
      }
    }
    const o = this.run('prepare', r, () => {
      this.db
        .prepare(
          'INSERT INTO transactions (txId, connectionId, kind, amount, chargeId, status) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(p.txId, r.connectionId, p.kind, p.amount, p.chargeId, p.kind === 'load' ? 'held' : 'writing');
      this.db.prepare("UPDATE connections SET state = 'prepared' WHERE connectionId = ?").run(r.connectionId);
      return p;
    });
    if (p.kind === 'load') await this.record(c, 'held');
    return o;
  }

  async complete(request: CenterRequest<'complete'>): Promise<Outcome<{ readonly balanceAfter: number }>> {
    const r = this.checked<CenterRequest<'complete'>>('complete', request);
    const cfg = this.config();
    // Keyed by the connection: a retried or duplicated complete (same balance) gets the stored
    // answer and books nothing twice (flows.md 1.4); the outbox delivery below is idempotent too.
    const o = this.run(
      'complete',
      r,
      () => {
        const c = this.conn(r.connectionId);
        if (!c || c.state !== 'prepared')
          refuse('E_BAD_STATE', 'T2', `connection ${r.connectionId} is not prepared`);
        const a = c.amount!;
        const load = c.kind === 'load';
        post(
          this.db,
          c.txId!,
          load
            ? [
                [`clearing:${cfg.bank}`, a],
                [`liab:float:${this.id}`, -a],
              ]
            : [
                [`liab:float:${this.id}`, a],
                [`clearing:${cfg.bank}`, -a],
              ],
          this.clock.now(),
        );
        const seq = this.enqueue(
          {
            txId: c.txId!,
            peer: cfg.bank,
            topic: load ? 'commitHold' : 'receiveFromPeer',
            clearingAmount: load ? -a : a,
          },
          { txId: c.txId, accountNo: c.userAccount, amount: a },
        );
        this.db.prepare("UPDATE transactions SET status = 'completed' WHERE txId = ?").run(c.txId);
        this.done(r.connectionId, 'OK', r.balanceAfter);
        return { seq, c };
      },
      `complete:${r.connectionId}`,
    );
    if (!o.ok) return o;
    const { c } = o.result;
    // Not delivered: the item stays in the outbox (C4) until flushOutbox (or the next reload) reaches the bank.
    await this.deliverOutbox();
    await this.record(c, 'completed');
    return { ok: true, result: { balanceAfter: r.balanceAfter } };
  }

  async fail(request: CenterRequest<'fail'>): Promise<Outcome<{ readonly released: boolean }>> {
    const r = this.checked<CenterRequest<'fail'>>('fail', request);
    const c = this.conn(r.connectionId);
    if (!c || c.state !== 'prepared')
      return {
        ok: false,
        code: 'E_BAD_STATE',
        step: 'T2',
        message: `connection ${r.connectionId} is not prepared`,
      };
    let released = false;
    if (c.kind === 'load') {
      const rel = await this.peers.peer('bank', this.config().bank).releaseHold({ txId: c.txId! });
      if (!rel.ok) return rel;
      released = true;
    }
    const o = this.run('fail', r, () => {
      this.db.prepare("UPDATE transactions SET status = 'refused' WHERE txId = ?").run(c.txId);
      this.done(r.connectionId, `E_CARD_REFUSED ${r.status}`, null);
      return { released };
    });
    await this.record(c, 'refused');
    return o;
  }

  async captured(request: CenterRequest<'captured'>): Promise<Outcome<{ readonly capturedAt: number }>> {
    const r = this.checked<CenterRequest<'captured'>>('captured', request);
    const c = this.conn(r.connectionId);
    if (!c || c.mediumId !== r.mediumId)
      return {
        ok: false,
        code: 'E_NOT_FOUND',
        step: '—',
        message: `no connection ${r.connectionId} for medium ${r.mediumId}`,
      };
    if (c.verdict !== 'NAK' || !['MEDIUM_STOLEN', 'MEDIUM_EXPIRED'].includes(c.nakReason ?? ''))
      return {
        ok: false,
        code: 'E_BAD_STATE',
        step: '—',
        message: `capture follows a medium-invalid NAK only; connection ${r.connectionId} had ${c.nakReason ?? c.verdict}`,
      };
    const m = await this.peers
      .peer('center-db', this.config().db)
      .setCaptured({ mediumId: r.mediumId, terminalId: c.terminalId });
    if (!m.ok) return m;
    return { ok: true, result: { capturedAt: m.result.capturedAt! } };
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

  connections(request: CenterRequest<'connections'> = {}): Promise<Outcome<readonly ConnectionRow[]>> {
    const r = this.checked<CenterRequest<'connections'>>('connections', request);
    return Promise.resolve(
      this.run('connections', r, () =>
        r.connectionId === undefined
          ? (this.db
              .prepare(`SELECT ${CONNECTION_COLUMNS} FROM connections ORDER BY tHello, connectionId`)
              .all() as ConnectionRow[])
          : (this.db
              .prepare(`SELECT ${CONNECTION_COLUMNS} FROM connections WHERE connectionId = ?`)
              .all(r.connectionId) as ConnectionRow[]),
      ),
    );
  }

  async flushOutbox(
    request: CenterRequest<'flushOutbox'> = {},
  ): Promise<Outcome<{ readonly delivered: number }>> {
    this.checked<CenterRequest<'flushOutbox'>>('flushOutbox', request);
    return { ok: true, result: { delivered: await this.deliverOutbox() } };
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

  /**
   * The center's key holder (in-process only; a fixture serves it at /keyholder/*): the load and unload
   * masters, diversified per card; every successful authentication is witnessed with its IDm (T1).
   */
  keyHolder(random: RandomBytes): KeyHolder {
    const holder = new LocalKeyHolder(random);
    for (const k of this.db.prepare('SELECT systemCode, node, version FROM keys').all() as {
      systemCode: number;
      node: number;
      version: number;
    }[])
      holder.set(k.systemCode, k.node, {
        version: k.version,
        master: this.secrets.get(`key:${k.systemCode}:${k.node}`)!,
      });
    const witness = (idm: Uint8Array): void => {
      this.db
        .prepare('INSERT INTO auth_witness (idm, at) VALUES (?, ?)')
        .run(bytesToHex(idm), this.clock.now());
    };
    return {
      async authenticate(request: AuthRequest): Promise<CryptogramSession> {
        const s = await holder.authenticate(request);
        return {
          respond: (c) => s.respond(c),
          confirm: async (c) => {
            const ok = await s.confirm(c);
            if (ok) witness(request.idm);
            return ok;
          },
          seal: (a, b) => s.seal(a, b),
          open: (a, e) => s.open(a, e),
          close: () => s.close(),
        };
      },
    };
  }

  /** Every master held (for the internet hook's key registry; never served). */
  masters(): Uint8Array[] {
    return this.secrets
      .names()
      .filter((n) => n.startsWith('key:'))
      .map((n) => this.secrets.get(n)!);
  }

  // — the store section [8] —

  /**
   * Loads the cache from the database (subscribing to the push feed the first time) and schedules the
   * next reload. A database that cannot be reached leaves the cache as it was (not ready at start-up)
   * and the load is tried again one interval later; the failure is kept as `lastLoadError`.
   */
  private async load(): Promise<void> {
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

  private fill(x: CacheExtract, mode: CacheMode, horizonDay: number): void {
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

  private applyChange(ch: DbChange): void {
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

  private statusNow(): CenterStatus {
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
  private cachedMedium(mediumId: string): NakReason | null {
    const m = this.db
      .prepare('SELECT status, expiresOn FROM cache_media WHERE mediumId = ?')
      .get(mediumId) as { status: string; expiresOn: number | null } | undefined;
    if (!m) return null;
    if (m.status === 'stolen' || m.status === 'captured') return 'MEDIUM_STOLEN';
    if (m.status === 'expired') return 'MEDIUM_EXPIRED';
    return m.expiresOn !== null && m.expiresOn <= this.clock.today() ? 'MEDIUM_EXPIRED' : null;
  }

  private cachedTerminal(terminalId: string): boolean {
    return (
      this.db.prepare('SELECT 1 FROM cache_terminals WHERE terminalId = ?').get(terminalId) !== undefined
    );
  }

  private static judgeMedium(m: MediumInfo | null, today: number): NakReason | null {
    if (!m) return 'MEDIUM_MISMATCH';
    if (m.stolenAt !== null || m.capturedAt !== null) return 'MEDIUM_STOLEN';
    return m.expiresOn <= today ? 'MEDIUM_EXPIRED' : null;
  }

  private static judgeTerminal(t: TerminalInfo | null): boolean {
    return t !== null && t.active;
  }

  /** The DB terminal query of a connection has completed (its time charged): ACK, late NAK or next query. */
  private async terminalQueried(connectionId: string): Promise<void> {
    const c = this.conn(connectionId);
    if (!c || c.state === 'closed') return;
    const t = await this.peers
      .peer('center-db', this.config().db)
      .queryTerminal({ terminalId: c.terminalId });
    const valid = t.ok && SqliteEMoneyCenter.judgeTerminal(t.result);
    const next = this.db.transaction(() => {
      this.db
        .prepare(
          'UPDATE connections SET dbAccesses = dbAccesses + 1, pendingQuery = NULL, pendingAt = NULL WHERE connectionId = ?',
        )
        .run(connectionId);
      const now = this.conn(connectionId)!;
      if (now.state === 'closed') return false;
      if (!valid) {
        this.nak(connectionId, 'TERMINAL_UNREGISTERED', now.verdict === 'ACK', STEP[now.cacheMode].late);
        return false;
      }
      this.mark(connectionId, 'terminalOk');
      if (now.cacheMode === 'none') return true;
      this.maybeStart(connectionId);
      return false;
    })();
    if (next) this.query(connectionId, 'medium');
  }

  private async mediumQueried(connectionId: string): Promise<void> {
    const c = this.conn(connectionId);
    if (!c || c.state === 'closed') return;
    const m = await this.peers.peer('center-db', this.config().db).queryMedium({ mediumId: c.mediumId });
    const reason = m.ok ? SqliteEMoneyCenter.judgeMedium(m.result, this.clock.today()) : 'MEDIUM_MISMATCH';
    this.db.transaction(() => {
      this.db
        .prepare(
          'UPDATE connections SET dbAccesses = dbAccesses + 1, pendingQuery = NULL, pendingAt = NULL WHERE connectionId = ?',
        )
        .run(connectionId);
      const now = this.conn(connectionId)!;
      if (now.state === 'closed') return;
      if (reason) {
        this.nak(connectionId, reason, now.verdict === 'ACK', STEP[now.cacheMode].late);
        return;
      }
      this.mark(connectionId, 'mediumOk');
      if (now.cacheMode === 'none') this.ack(connectionId);
      else this.maybeStart(connectionId);
    })();
  }

  // — the transaction processor [11] —

  private maybeStart(connectionId: string): void {
    const c = this.conn(connectionId)!;
    if (
      c.state !== 'open' ||
      c.verdict !== 'ACK' ||
      c.txId === null ||
      c.mediumOk !== 1 ||
      c.terminalOk !== 1
    )
      return;
    this.db
      .prepare("UPDATE connections SET state = 'started', tStart = ? WHERE connectionId = ?")
      .run(this.clock.now(), connectionId);
    this.send(connectionId, { type: 'START', txId: c.txId, step: STEP[c.cacheMode].start });
  }

  private ack(connectionId: string): void {
    this.db
      .prepare("UPDATE connections SET verdict = 'ACK', tAck = ? WHERE connectionId = ?")
      .run(this.clock.now(), connectionId);
    this.send(connectionId, { type: 'ACK', step: STEP[this.config().cacheMode].ack });
  }

  /** NAK: sent at once, and it closes the connection. */
  private nak(connectionId: string, reason: NakReason, late: boolean, step: string): 'nak' {
    const capture = this.config().capture && (reason === 'MEDIUM_STOLEN' || reason === 'MEDIUM_EXPIRED');
    const now = this.clock.now();
    this.db
      .prepare(
        `UPDATE connections SET verdict = 'NAK', nakReason = ?, late = ?, state = 'closed', tEnd = ?,
         tAck = COALESCE(tAck, ?) WHERE connectionId = ?`,
      )
      .run(reason, late ? 1 : 0, now, now, connectionId);
    this.send(connectionId, { type: 'NAK', reason, late, capture, step });
    return 'nak';
  }

  private done(connectionId: string, result: string, balanceAfter: number | null): void {
    this.db
      .prepare("UPDATE connections SET state = 'closed', tEnd = ? WHERE connectionId = ?")
      .run(this.clock.now(), connectionId);
    this.send(connectionId, { type: 'DONE', result, balanceAfter });
  }

  private send(connectionId: string, body: object): void {
    const now = this.clock.now();
    this.db
      .prepare('INSERT INTO messages (connectionId, body, sentAt, deliverAt) VALUES (?, ?, ?, ?)')
      .run(connectionId, JSON.stringify(body), now, now + this.config().lineMs);
  }

  private mark(connectionId: string, which: 'mediumOk' | 'terminalOk'): void {
    this.db.prepare(`UPDATE connections SET ${which} = 1 WHERE connectionId = ?`).run(connectionId);
  }

  private open(connectionId: string, step: string): ConnRow {
    const c = this.conn(connectionId);
    if (!c) refuse('E_NOT_FOUND', step, `no connection ${connectionId}`);
    if (c.state === 'closed')
      refuse('E_BAD_STATE', step, `connection ${connectionId} is closed (${c.nakReason ?? 'done'})`);
    return c;
  }

  /** Transaction data [12] at the center database (best effort: the center's own row is the record). */
  private async record(c: ConnRow, status: 'held' | 'completed' | 'refused'): Promise<void> {
    try {
      await this.peers.peer('center-db', this.config().db).recordTransaction({
        txId: c.txId!,
        mediumId: c.mediumId,
        terminalId: c.terminalId,
        kind: c.kind!,
        amount: c.amount!,
        status,
      });
    } catch {
      // Best effort: the center's own transactions row is the record; [12] is informational.
    }
  }

  /**
   * Sends every undelivered bank transfer of the outbox (commitHold of a load, receiveFromPeer of an
   * unload; both idempotent at the bank by txId); an unreachable bank leaves them in flight (C4).
   */
  private async deliverOutbox(): Promise<number> {
    const bank = this.peers.peer('bank', this.config().bank);
    let n = 0;
    for (const item of this.db
      .prepare('SELECT seq, topic, payload FROM outbox WHERE deliveredAt IS NULL ORDER BY seq')
      .all() as { seq: number; topic: string; payload: string }[]) {
      const p = JSON.parse(item.payload) as { txId: string; accountNo: string; amount: number };
      try {
        // Again while the link is lost: the bank answers a retry of the same txId from its table.
        const moved = await deliverToPeer<Outcome<unknown>>(() =>
          item.topic === 'commitHold'
            ? bank.commitHold({ txId: p.txId })
            : bank.receiveFromPeer({
                txId: p.txId,
                accountNo: p.accountNo,
                amount: p.amount,
                peer: this.id,
                step: 'T2',
              }),
        );
        if (moved.ok) {
          this.db.transaction(() => this.delivered(item.seq))();
          n++;
        }
      } catch {
        // The bank is unreachable: the item stays in flight.
      }
    }
    return n;
  }

  private conn(connectionId: string): ConnRow | undefined {
    return this.db.prepare('SELECT * FROM connections WHERE connectionId = ?').get(connectionId) as
      ConnRow | undefined;
  }

  private config(): CenterConfig {
    const v = this.setting('config');
    if (v === undefined) refuse('E_BAD_STATE', '—', `center ${this.id} is not configured`);
    return JSON.parse(v) as CenterConfig;
  }

  private setting(name: string): string | undefined {
    return (
      this.db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined
    )?.value;
  }

  private put(name: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      )
      .run(name, value);
  }
}
