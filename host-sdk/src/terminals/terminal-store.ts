// A terminal's own SQLite store (flows.md 1.1: "Each keeps a small SQLite store (terminal ID,
// operation log, result outbox) under the same rules as a back-end"): one file per terminal (or
// ':memory:'), migrations by user_version, the platform outbox table for results a back-end has not
// booked yet (C4: listed as in-flight), and the operation log (the data storage [44] of seed 001).
import type { AuditView, InFlightItem } from '../backend/backend';
import { openStore, type Db } from '../backend/store';
import type { Clock } from '../platform/clock';

const MIGRATIONS = [
  `CREATE TABLE terminal (id TEXT PRIMARY KEY, role TEXT NOT NULL, createdAt INTEGER NOT NULL);
   CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, step TEXT NOT NULL,
     peer TEXT NOT NULL, summary TEXT NOT NULL, card TEXT);`,
];

export interface LogRow {
  readonly seq: number;
  readonly at: number;
  readonly step: string;
  readonly peer: string;
  readonly summary: string;
  readonly card: string | null;
}

export interface OutboxItem {
  readonly txId: string;
  readonly peer: string;
  readonly topic: string;
  readonly payload: unknown;
  /** What the peer's float will change by once it books this result (C3). */
  readonly floatIssuer: string;
  readonly floatAmount: number;
}

export class TerminalStore {
  private readonly db: Db;

  /** Opens (creating) the store of terminal `id`; a store of another terminal is refused. */
  constructor(
    path: string,
    readonly id: string,
    readonly role: string,
    private readonly clock: Clock,
  ) {
    if (!/^[\w.-]{1,64}$/.test(id))
      throw new RangeError(`terminal id must be 1-64 of [A-Za-z0-9_.-], got "${id}"`);
    this.db = openStore(path, MIGRATIONS);
    const have = this.db.prepare('SELECT id FROM terminal').get() as { id: string } | undefined;
    if (have && have.id !== id) {
      this.db.close();
      throw new RangeError(`${path} is the store of terminal ${have.id}, not ${id}`);
    }
    if (!have)
      this.db
        .prepare('INSERT INTO terminal (id, role, createdAt) VALUES (?, ?, ?)')
        .run(id, role, clock.now());
  }

  log(step: string, peer: string, summary: string, card?: string): void {
    this.db
      .prepare('INSERT INTO log (at, step, peer, summary, card) VALUES (?, ?, ?, ?, ?)')
      .run(this.clock.now(), step, peer, summary, card ?? null);
  }

  entries(): LogRow[] {
    return this.db
      .prepare('SELECT seq, at, step, peer, summary, card FROM log ORDER BY seq')
      .all() as LogRow[];
  }

  /** Keeps a card result a back-end has not booked yet; returns its sequence number. */
  hold(item: OutboxItem): number {
    const r = this.db
      .prepare(
        'INSERT INTO outbox (txId, peer, topic, payload, clearingAmount, floatIssuer, floatAmount, createdAt) VALUES (?, ?, ?, ?, 0, ?, ?, ?)',
      )
      .run(
        item.txId,
        item.peer,
        item.topic,
        JSON.stringify(item.payload),
        item.floatIssuer,
        item.floatAmount,
        this.clock.now(),
      );
    return Number(r.lastInsertRowid);
  }

  /** The back-end has booked it. */
  release(seq: number): void {
    this.db.prepare('UPDATE outbox SET deliveredAt = ? WHERE seq = ?').run(this.clock.now(), seq);
  }

  pending(): (OutboxItem & { readonly seq: number })[] {
    return (
      this.db
        .prepare(
          'SELECT seq, txId, peer, topic, payload, floatIssuer, floatAmount FROM outbox WHERE deliveredAt IS NULL ORDER BY seq',
        )
        .all() as {
        seq: number;
        txId: string;
        peer: string;
        topic: string;
        payload: string;
        floatIssuer: string;
        floatAmount: number;
      }[]
    ).map((r) => ({ ...r, payload: JSON.parse(r.payload) as unknown }));
  }

  /** The terminal as the audit sees it: no ledger, its outbox items in flight (C4). */
  auditView(): AuditView {
    const inFlight: InFlightItem[] = this.pending().map((p) => ({
      txId: p.txId,
      holder: this.id,
      peer: p.peer,
      topic: p.topic,
      clearingAmount: 0,
      floatIssuer: p.floatIssuer,
      floatAmount: p.floatAmount,
    }));
    return { id: this.id, kind: 'terminal', entries: [], inFlight };
  }

  close(): void {
    this.db.close();
  }
}
