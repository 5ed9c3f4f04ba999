// The `center-db` back-end (flows.md 6.1, seed 004): the center database [6] behind the LAN [5] — medium
// information [13], terminal information [14], transaction data [12], the change feed that pushes
// every change of [13] and [14] to the subscribed center computers (the change call returns only after
// each has applied it, flows.md 6.3), and a count of accesses per query kind (the metrics of 6.3).
// Query latency is not here: the center charges its configured DB times on the virtual clock.
import { refuse, type Outcome } from '../outcome';
import { amount, bool, hex, int, list, object, oneOf, optional, str, txId, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';

const mediumId = hex(8);
const terminalId = hex(8);
const centerId = str({ max: 64, pattern: /^[\w.-]+$/, describe: 'a back-end id' });
const accountNo = str({ max: 32, pattern: /^[\w-]+$/, describe: 'an account number' });
/** Days since 2000-01-01 JST (the clock's today()). */
const day = int(0, 0xffff);

const mediumRow = object({ mediumId, idm: hex(8), userAccount: accountNo, expiresOn: day });
const terminalRow = object({
  terminalId,
  ownerKind: oneOf(['store', 'user'] as const),
  ownerId: str({ max: 64 }),
});

export const CENTER_DB_API = {
  auditView: object({}),
  registerMedia: object({ media: list(mediumRow, 5000) }),
  registerTerminals: object({ terminals: list(terminalRow, 5000) }),
  /** A medium reported stolen (stolenAt = now); pushed. */
  reportStolen: object({ mediumId }),
  /** Many media reported stolen in one request (e.g. loading a population); pushed. */
  reportStolenBatch: object({ mediumIds: list(mediumId, 5000) }),
  /** A medium kept by a terminal after a medium-invalid NAK (capturedAt = now); pushed. */
  setCaptured: object({ mediumId, terminalId }),
  setTerminalActive: object({ terminalId, active: bool }),
  /** The center computer subscribes to (or leaves) the push feed. */
  subscribe: object({ centerId, push: bool }),
  /** Terminal information [14] of one terminal (a 'terminal' access). */
  queryTerminal: object({ terminalId }),
  /** Medium information [13] of one medium (a 'medium' access). */
  queryMedium: object({ mediumId }),
  /** The cache extract (an 'extract' access): deny-list, media expiring by `horizonDay`, allow-list. */
  extract: object({ horizonDay: day }),
  /** Transaction data [12]: the center records each load and unload and its outcome. */
  recordTransaction: object({
    txId,
    mediumId,
    terminalId,
    kind: oneOf(['load', 'unload'] as const),
    amount,
    status: oneOf(['held', 'completed', 'released', 'refused'] as const),
  }),
  transactions: object({ mediumId: optional(mediumId) }),
  accessCounts: object({}),
} as const;

export type CenterDbRequest<M extends keyof typeof CENTER_DB_API> = Infer<(typeof CENTER_DB_API)[M]>;

export interface MediumInfo {
  readonly mediumId: string;
  readonly idm: string;
  readonly userAccount: string;
  readonly expiresOn: number;
  readonly stolenAt: number | null;
  readonly capturedAt: number | null;
}

export interface TerminalInfo {
  readonly terminalId: string;
  readonly ownerKind: 'store' | 'user';
  readonly ownerId: string;
  readonly active: boolean;
}

/**
 * One change of [13] or [14] as pushed, with what a cache needs of the row after it: a medium's
 * expiry and deny reason (absent: not denied), a terminal's active flag.
 */
export interface DbChange {
  readonly seq: number;
  readonly table: 'media' | 'terminals';
  readonly id: string;
  readonly at: number;
  readonly expiresOn?: number;
  readonly reason?: 'stolen' | 'captured';
  readonly active?: boolean;
}

export interface CacheExtract {
  readonly dbSeq: number;
  readonly today: number;
  readonly deny: readonly { mediumId: string; reason: 'stolen' | 'captured' | 'expired' }[];
  readonly expiring: readonly { mediumId: string; expiresOn: number }[];
  readonly allow: readonly string[];
}

export interface CenterTransaction {
  readonly txId: string;
  readonly mediumId: string;
  readonly terminalId: string;
  readonly kind: 'load' | 'unload';
  readonly amount: number;
  readonly status: string;
  readonly at: number;
}

export interface CenterDatabaseBackend extends Backend {
  registerMedia(r: CenterDbRequest<'registerMedia'>): Promise<Outcome<{ readonly count: number }>>;
  registerTerminals(r: CenterDbRequest<'registerTerminals'>): Promise<Outcome<{ readonly count: number }>>;
  reportStolen(r: CenterDbRequest<'reportStolen'>): Promise<Outcome<MediumInfo>>;
  reportStolenBatch(r: CenterDbRequest<'reportStolenBatch'>): Promise<Outcome<{ readonly count: number }>>;
  setCaptured(r: CenterDbRequest<'setCaptured'>): Promise<Outcome<MediumInfo>>;
  setTerminalActive(r: CenterDbRequest<'setTerminalActive'>): Promise<Outcome<TerminalInfo>>;
  subscribe(r: CenterDbRequest<'subscribe'>): Promise<Outcome<{ readonly dbSeq: number }>>;
  queryTerminal(r: CenterDbRequest<'queryTerminal'>): Promise<Outcome<TerminalInfo | null>>;
  queryMedium(r: CenterDbRequest<'queryMedium'>): Promise<Outcome<MediumInfo | null>>;
  extract(r: CenterDbRequest<'extract'>): Promise<Outcome<CacheExtract>>;
  recordTransaction(r: CenterDbRequest<'recordTransaction'>): Promise<Outcome<CenterTransaction>>;
  transactions(r: CenterDbRequest<'transactions'>): Promise<Outcome<readonly CenterTransaction[]>>;
  accessCounts(r?: CenterDbRequest<'accessCounts'>): Promise<Outcome<Readonly<Record<string, number>>>>;
}

declare module '../backend' {
  interface KindInterfaces {
    'center-db': CenterDatabaseBackend;
  }
}

const MIGRATIONS = [
  `CREATE TABLE media (mediumId TEXT PRIMARY KEY, idm TEXT NOT NULL UNIQUE, userAccount TEXT NOT NULL,
     expiresOn INTEGER NOT NULL, stolenAt INTEGER, capturedAt INTEGER);
   CREATE INDEX media_expiry ON media (expiresOn);
   CREATE TABLE terminals (terminalId TEXT PRIMARY KEY, ownerKind TEXT NOT NULL, ownerId TEXT NOT NULL,
     active INTEGER NOT NULL);
   CREATE TABLE transactions (txId TEXT PRIMARY KEY, mediumId TEXT NOT NULL, terminalId TEXT NOT NULL,
     kind TEXT NOT NULL, amount INTEGER NOT NULL, status TEXT NOT NULL, at INTEGER NOT NULL);
   CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, id TEXT NOT NULL,
     at INTEGER NOT NULL);
   CREATE TABLE access_count (kind TEXT PRIMARY KEY, n INTEGER NOT NULL);
   CREATE TABLE subscribers (centerId TEXT PRIMARY KEY);`,
];

interface MediumRow {
  mediumId: string;
  idm: string;
  userAccount: string;
  expiresOn: number;
  stolenAt: number | null;
  capturedAt: number | null;
}

export class SqliteCenterDatabase extends SqliteBackend implements CenterDatabaseBackend {
  readonly kind = 'center-db';

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, CENTER_DB_API);
  }

  async registerMedia(
    request: CenterDbRequest<'registerMedia'>,
  ): Promise<Outcome<{ readonly count: number }>> {
    const r = this.checked<CenterDbRequest<'registerMedia'>>('registerMedia', request);
    const o = this.run('registerMedia', r, () => {
      const insert = this.db.prepare(
        'INSERT INTO media (mediumId, idm, userAccount, expiresOn) VALUES (?, ?, ?, ?)',
      );
      const byId = this.db.prepare('SELECT 1 FROM media WHERE mediumId = ?');
      const byIdm = this.db.prepare('SELECT mediumId FROM media WHERE idm = ?');
      const change = this.db.prepare("INSERT INTO changes (tbl, id, at) VALUES ('media', ?, ?)");
      const now = this.clock.now();
      const seqs: number[] = [];
      for (const m of r.media) {
        // The keys' constraints find a duplicate; only then are the two looked up to name it (looking
        // them up before every insert was a third of a 20,000-medium population's load).
        try {
          insert.run(m.mediumId, m.idm, m.userAccount, m.expiresOn);
        } catch (e) {
          if (byId.get(m.mediumId)) refuse('E_DUPLICATE', '—', `medium ${m.mediumId} is registered`);
          const other = byIdm.get(m.idm) as { mediumId: string } | undefined;
          if (other) refuse('E_DUPLICATE', '—', `IDm ${m.idm} is registered under medium ${other.mediumId}`);
          throw e;
        }
        seqs.push(Number(change.run(m.mediumId, now).lastInsertRowid));
      }
      return { count: r.media.length, seqs };
    });
    if (!o.ok) return o;
    await this.push(o.result.seqs);
    return { ok: true, result: { count: o.result.count } };
  }

  async registerTerminals(
    request: CenterDbRequest<'registerTerminals'>,
  ): Promise<Outcome<{ readonly count: number }>> {
    const r = this.checked<CenterDbRequest<'registerTerminals'>>('registerTerminals', request);
    const o = this.run('registerTerminals', r, () => {
      const insert = this.db.prepare(
        'INSERT INTO terminals (terminalId, ownerKind, ownerId, active) VALUES (?, ?, ?, 1)',
      );
      const seqs: number[] = [];
      for (const t of r.terminals) {
        if (this.terminal(t.terminalId)) refuse('E_DUPLICATE', '—', `terminal ${t.terminalId} is registered`);
        insert.run(t.terminalId, t.ownerKind, t.ownerId);
        seqs.push(this.change('terminals', t.terminalId));
      }
      return { count: r.terminals.length, seqs };
    });
    if (!o.ok) return o;
    await this.push(o.result.seqs);
    return { ok: true, result: { count: o.result.count } };
  }

  reportStolen(request: CenterDbRequest<'reportStolen'>): Promise<Outcome<MediumInfo>> {
    const r = this.checked<CenterDbRequest<'reportStolen'>>('reportStolen', request);
    return this.changeMedium('reportStolen', r, r.mediumId, 'stolenAt');
  }

  async reportStolenBatch(
    request: CenterDbRequest<'reportStolenBatch'>,
  ): Promise<Outcome<{ readonly count: number }>> {
    const r = this.checked<CenterDbRequest<'reportStolenBatch'>>('reportStolenBatch', request);
    const o = this.run('reportStolenBatch', r, () => {
      const seqs: number[] = [];
      const mark = this.db.prepare('UPDATE media SET stolenAt = ? WHERE mediumId = ? AND stolenAt IS NULL');
      for (const id of r.mediumIds) {
        if (!this.medium(id)) refuse('E_NOT_FOUND', '—', `no medium ${id} in the center database`);
        mark.run(this.clock.now(), id);
        seqs.push(this.change('media', id));
      }
      return { count: r.mediumIds.length, seqs };
    });
    if (!o.ok) return o;
    await this.push(o.result.seqs);
    return { ok: true, result: { count: o.result.count } };
  }

  setCaptured(request: CenterDbRequest<'setCaptured'>): Promise<Outcome<MediumInfo>> {
    const r = this.checked<CenterDbRequest<'setCaptured'>>('setCaptured', request);
    if (!this.terminal(r.terminalId))
      return Promise.resolve({
        ok: false,
        code: 'E_NOT_FOUND',
        step: '—',
        message: `terminal ${r.terminalId} is not registered; it cannot capture a medium`,
      });
    return this.changeMedium('setCaptured', r, r.mediumId, 'capturedAt');
  }

  async setTerminalActive(request: CenterDbRequest<'setTerminalActive'>): Promise<Outcome<TerminalInfo>> {
    const r = this.checked<CenterDbRequest<'setTerminalActive'>>('setTerminalActive', request);
    const o = this.run('setTerminalActive', r, () => {
      if (!this.terminal(r.terminalId)) refuse('E_NOT_FOUND', '—', `no terminal ${r.terminalId}`);
      this.db
        .prepare('UPDATE terminals SET active = ? WHERE terminalId = ?')
        .run(r.active ? 1 : 0, r.terminalId);
      return { seq: this.change('terminals', r.terminalId), row: this.terminal(r.terminalId)! };
    });
    if (!o.ok) return o;
    await this.push([o.result.seq]);
    return { ok: true, result: o.result.row };
  }

  subscribe(request: CenterDbRequest<'subscribe'>): Promise<Outcome<{ readonly dbSeq: number }>> {
    const r = this.checked<CenterDbRequest<'subscribe'>>('subscribe', request);
    return Promise.resolve(
      this.run('subscribe', r, () => {
        if (r.push)
          this.db.prepare('INSERT OR IGNORE INTO subscribers (centerId) VALUES (?)').run(r.centerId);
        else this.db.prepare('DELETE FROM subscribers WHERE centerId = ?').run(r.centerId);
        return { dbSeq: this.seq() };
      }),
    );
  }

  queryTerminal(request: CenterDbRequest<'queryTerminal'>): Promise<Outcome<TerminalInfo | null>> {
    const r = this.checked<CenterDbRequest<'queryTerminal'>>('queryTerminal', request);
    return Promise.resolve(
      this.run('queryTerminal', r, () => {
        this.count('terminal');
        return this.terminal(r.terminalId) ?? null;
      }),
    );
  }

  queryMedium(request: CenterDbRequest<'queryMedium'>): Promise<Outcome<MediumInfo | null>> {
    const r = this.checked<CenterDbRequest<'queryMedium'>>('queryMedium', request);
    return Promise.resolve(
      this.run('queryMedium', r, () => {
        this.count('medium');
        return this.medium(r.mediumId) ?? null;
      }),
    );
  }

  extract(request: CenterDbRequest<'extract'>): Promise<Outcome<CacheExtract>> {
    const r = this.checked<CenterDbRequest<'extract'>>('extract', request);
    return Promise.resolve(
      this.run('extract', r, () => {
        this.count('extract');
        const today = this.clock.today();
        const deny = (
          this.db
            .prepare(
              'SELECT mediumId, stolenAt, capturedAt FROM media WHERE stolenAt IS NOT NULL OR capturedAt IS NOT NULL OR expiresOn <= ? ORDER BY mediumId',
            )
            .all(today) as { mediumId: string; stolenAt: number | null; capturedAt: number | null }[]
        ).map((m) => ({
          mediumId: m.mediumId,
          reason: (m.stolenAt !== null ? 'stolen' : m.capturedAt !== null ? 'captured' : 'expired') as
            'stolen' | 'captured' | 'expired',
        }));
        const expiring = this.db
          .prepare(
            'SELECT mediumId, expiresOn FROM media WHERE stolenAt IS NULL AND capturedAt IS NULL AND expiresOn > ? AND expiresOn <= ? ORDER BY mediumId',
          )
          .all(today, r.horizonDay) as { mediumId: string; expiresOn: number }[];
        const allow = (
          this.db.prepare('SELECT terminalId FROM terminals WHERE active = 1 ORDER BY terminalId').all() as {
            terminalId: string;
          }[]
        ).map((t) => t.terminalId);
        return { dbSeq: this.seq(), today, deny, expiring, allow };
      }),
    );
  }

  recordTransaction(request: CenterDbRequest<'recordTransaction'>): Promise<Outcome<CenterTransaction>> {
    const r = this.checked<CenterDbRequest<'recordTransaction'>>('recordTransaction', request);
    return Promise.resolve(
      this.run('recordTransaction', r, () => {
        const have = this.tx(r.txId);
        if (have && (have.mediumId !== r.mediumId || have.kind !== r.kind || have.amount !== r.amount))
          refuse('E_TXID_CONFLICT', '—', `transaction ${r.txId} is recorded for another request`);
        this.db
          .prepare(
            `INSERT INTO transactions (txId, mediumId, terminalId, kind, amount, status, at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (txId) DO UPDATE SET status = excluded.status, at = excluded.at`,
          )
          .run(r.txId, r.mediumId, r.terminalId, r.kind, r.amount, r.status, this.clock.now());
        return this.tx(r.txId)!;
      }),
    );
  }

  transactions(request: CenterDbRequest<'transactions'>): Promise<Outcome<readonly CenterTransaction[]>> {
    const r = this.checked<CenterDbRequest<'transactions'>>('transactions', request);
    return Promise.resolve(
      this.run('transactions', r, () =>
        r.mediumId === undefined
          ? (this.db.prepare('SELECT * FROM transactions ORDER BY at, txId').all() as CenterTransaction[])
          : (this.db
              .prepare('SELECT * FROM transactions WHERE mediumId = ? ORDER BY at, txId')
              .all(r.mediumId) as CenterTransaction[]),
      ),
    );
  }

  accessCounts(
    request: CenterDbRequest<'accessCounts'> = {},
  ): Promise<Outcome<Readonly<Record<string, number>>>> {
    const r = this.checked<CenterDbRequest<'accessCounts'>>('accessCounts', request);
    return Promise.resolve(
      this.run('accessCounts', r, () =>
        Object.fromEntries(
          (
            this.db.prepare('SELECT kind, n FROM access_count ORDER BY kind').all() as {
              kind: string;
              n: number;
            }[]
          ).map((x) => [x.kind, x.n]),
        ),
      ),
    );
  }

  private async changeMedium(
    method: string,
    request: unknown,
    id: string,
    column: 'stolenAt' | 'capturedAt',
  ): Promise<Outcome<MediumInfo>> {
    const o = this.run(method, request, () => {
      const m = this.medium(id);
      if (!m) refuse('E_NOT_FOUND', '—', `no medium ${id} in the center database`);
      if (m[column] === null)
        this.db.prepare(`UPDATE media SET ${column} = ? WHERE mediumId = ?`).run(this.clock.now(), id);
      return { seq: this.change('media', id), row: this.medium(id)! };
    });
    if (!o.ok) return o;
    await this.push([o.result.seq]);
    return { ok: true, result: o.result.row };
  }

  /** Pushes changes to every subscriber and waits until each has applied them (flows.md 6.3). */
  private async push(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    const subscribers = this.db.prepare('SELECT centerId FROM subscribers ORDER BY centerId').all() as {
      centerId: string;
    }[];
    if (subscribers.length === 0) return;
    const changes = seqs.map((s) => this.changeRow(s));
    for (const { centerId } of subscribers) {
      const center = this.peers.peer('emoney-center', centerId);
      // A center that cannot apply the push catches up at its next interval refresh (dbSeq).
      await center.applyChanges({ changes });
    }
  }

  private changeRow(seq: number): DbChange {
    const c = this.db.prepare('SELECT seq, tbl, id, at FROM changes WHERE seq = ?').get(seq) as {
      seq: number;
      tbl: 'media' | 'terminals';
      id: string;
      at: number;
    };
    const base = { seq: c.seq, table: c.tbl, id: c.id, at: c.at };
    if (c.tbl === 'terminals') return { ...base, active: this.terminal(c.id)!.active };
    const m = this.medium(c.id)!;
    const reason = m.stolenAt !== null ? 'stolen' : m.capturedAt !== null ? 'captured' : undefined;
    return { ...base, expiresOn: m.expiresOn, ...(reason ? { reason } : {}) };
  }

  private change(table: 'media' | 'terminals', id: string): number {
    return Number(
      this.db.prepare('INSERT INTO changes (tbl, id, at) VALUES (?, ?, ?)').run(table, id, this.clock.now())
        .lastInsertRowid,
    );
  }

  private seq(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM changes').get() as { s: number }).s;
  }

  private count(kind: string): void {
    this.db
      .prepare('INSERT INTO access_count (kind, n) VALUES (?, 1) ON CONFLICT (kind) DO UPDATE SET n = n + 1')
      .run(kind);
  }

  private medium(id: string): MediumInfo | undefined {
    return this.db.prepare('SELECT * FROM media WHERE mediumId = ?').get(id) as MediumRow | undefined;
  }

  private terminal(id: string): TerminalInfo | undefined {
    const t = this.db.prepare('SELECT * FROM terminals WHERE terminalId = ?').get(id) as
      { terminalId: string; ownerKind: 'store' | 'user'; ownerId: string; active: number } | undefined;
    return t && { ...t, active: t.active === 1 };
  }

  private tx(txId: string): CenterTransaction | undefined {
    return this.db.prepare('SELECT * FROM transactions WHERE txId = ?').get(txId) as
      CenterTransaction | undefined;
  }
}
