// What the seed 003 terminals share (flows.md 1.1): a terminal ID, a small SQLite store (operation
// log and result outbox, under the rules of a back-end store), the transcript lines of the last
// operation, and an audit view of the outbox: a card debit whose notice has not reached the brand
// holder is in flight (C4). A card that leaves the field is tapped again (README "Decisions": re-tap).
import type { AuditView, InFlightItem } from '../../backend/backend';
import { openStore, type Db } from '../../backend/store';
import type { Clock } from '../../platform/clock';
import { FelicaClient } from '../../felica/client';
import type { KeyHolder } from '../../keys/key-holder';
import { defaultRetapPolicy, markingCardLoss, retapped } from '../../terminals/card-retap';
import type { RetryPolicy } from '../../transport/retry';
import type { ServiceKeyName } from '../card-layout';
import { detect, type CardOp, type DetectedCard } from '../card-ops';
import { RetappingSession } from './retapping-session';

export interface TerminalStep {
  readonly step: string;
  readonly from: string;
  readonly to: string;
  readonly summary: string;
  readonly card?: { readonly command: string; readonly status: string };
}

const MIGRATION = `
  CREATE TABLE operations (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, txId TEXT, op TEXT NOT NULL,
    result TEXT NOT NULL);
  CREATE TABLE notices (seq INTEGER PRIMARY KEY AUTOINCREMENT, txId TEXT NOT NULL, peer TEXT NOT NULL, topic TEXT NOT NULL,
    payload TEXT NOT NULL, floatIssuer TEXT, floatAmount INTEGER NOT NULL, createdAt INTEGER NOT NULL, deliveredAt INTEGER);`;

export abstract class BrandTerminal {
  protected readonly db: Db;
  /** The card in the field (a terminal serves one card at a time), its link-lost a CardLeftField. */
  protected client!: FelicaClient;
  private lines: TerminalStep[] = [];

  constructor(
    readonly terminalId: string,
    protected readonly clock: Clock,
    path = ':memory:',
    /** How often a card that left the field is tapped again (default: one re-tap). */
    protected readonly retap: RetryPolicy = defaultRetapPolicy,
  ) {
    this.db = openStore(path, [MIGRATION]);
  }

  /** A card enters the field. */
  insert(client: FelicaClient): this {
    this.client = new FelicaClient(markingCardLoss(client.transport));
    return this;
  }

  /** (a), from its beginning again when the card left the field (as the re-tap policy allows). */
  protected detectCard(
    issuers: readonly { readonly issuerId: string; readonly area: number }[],
    step: string,
  ): Promise<CardOp<DetectedCard>> {
    return retapped(this.retap, () => detect(this.client, issuers, step));
  }

  /** (b), (b′): a value session whose card operations are tapped again when the card left the field. */
  protected openSession(
    holder: KeyHolder,
    card: DetectedCard,
    keyName: ServiceKeyName,
    steps: { readonly info: string; readonly verdict: string },
  ): Promise<CardOp<RetappingSession>> {
    return RetappingSession.open(this.client, holder, card, keyName, steps, this.retap);
  }

  /** The transcript lines since the last call. */
  takeSteps(): TerminalStep[] {
    const out = this.lines;
    this.lines = [];
    return out;
  }

  operations(): { at: number; txId: string | null; op: string; result: string }[] {
    return this.db.prepare('SELECT at, txId, op, result FROM operations ORDER BY seq').all() as {
      at: number;
      txId: string | null;
      op: string;
      result: string;
    }[];
  }

  /** The terminal's undelivered notices as a C4 view (no ledger of its own). */
  auditView(): AuditView {
    const inFlight = (
      this.db
        .prepare(
          'SELECT txId, peer, topic, floatIssuer, floatAmount FROM notices WHERE deliveredAt IS NULL ORDER BY seq',
        )
        .all() as Omit<InFlightItem, 'holder' | 'clearingAmount'>[]
    ).map((r) => ({ ...r, holder: this.terminalId, clearingAmount: 0 }));
    return { id: this.terminalId, kind: 'terminal', entries: [], inFlight };
  }

  /** Every byte the store holds (the scan that shows a terminal keeps no keys). */
  storeContents(): string {
    const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string;
    }[];
    return tables.map((t) => JSON.stringify(this.db.prepare(`SELECT * FROM "${t.name}"`).all())).join('\n');
  }

  close(): void {
    this.db.close();
  }

  protected say(step: string, from: string, to: string, summary: string, card?: string): void {
    const c = card?.split(' → ');
    this.lines.push({
      step,
      from,
      to,
      summary,
      ...(c && c.length === 2 ? { card: { command: c[0]!, status: c[1]! } } : {}),
    });
  }

  protected record(txId: string | null, op: string, result: string): void {
    this.db
      .prepare('INSERT INTO operations (at, txId, op, result) VALUES (?, ?, ?, ?)')
      .run(this.clock.now(), txId, op, result);
  }

  protected queue(
    txId: string,
    peer: string,
    topic: string,
    payload: unknown,
    floatIssuer: string,
    floatAmount: number,
  ): number {
    const r = this.db
      .prepare(
        'INSERT INTO notices (txId, peer, topic, payload, floatIssuer, floatAmount, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(txId, peer, topic, JSON.stringify(payload), floatIssuer, floatAmount, this.clock.now());
    return Number(r.lastInsertRowid);
  }

  protected pendingNotices(): { seq: number; txId: string; peer: string; topic: string; payload: string }[] {
    return this.db
      .prepare('SELECT seq, txId, peer, topic, payload FROM notices WHERE deliveredAt IS NULL ORDER BY seq')
      .all() as { seq: number; txId: string; peer: string; topic: string; payload: string }[];
  }

  protected markDelivered(seq: number): void {
    this.db.prepare('UPDATE notices SET deliveredAt = ? WHERE seq = ?').run(this.clock.now(), seq);
  }
}
