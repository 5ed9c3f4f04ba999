// The `emoney-center` back-end's judging section [9] and the sessions of its transaction processor
// [11] (flows.md 6.2): a terminal's HELLO answered with ACK or NAK per cache mode (none, both, medium,
// terminal) from the cache or, charging the configured DB times on the virtual clock, from the center
// database's queries; TXN; START once every check has passed and TXN has arrived; the messages the
// terminal reads with `receive` (each with its send time and the time the line delivers it). Builds on
// ./emoney-center-cache.ts; load and unload (./emoney-center.ts) complete the instance.
import { refuse, type Outcome } from '../outcome';
import type { MediumInfo, TerminalInfo } from './center-db';
import type {
  CacheMode,
  CenterMessage,
  CenterRequest,
  ConnectionRow,
  NakReason,
  StepAnswer,
} from './emoney-center-api';
import { CenterCache } from './emoney-center-cache';

const CONNECTION_COLUMNS =
  'connectionId, mediumId, terminalId, cacheMode, tHello, tAck, tStart, tEnd, verdict, nakReason, late, dbAccesses, state, txId, kind, amount';

export interface ConnRow extends ConnectionRow {
  readonly mediumOk: number | null;
  readonly terminalOk: number | null;
  readonly idm: string | null;
  readonly userAccount: string | null;
}

/** The patent steps of each mode (flows.md 6.2): the verdict from the cache, a late verdict from the DB. */
export const STEP: Record<
  CacheMode,
  { hello: string; ack: string; nak: string; late: string; txn: string; start: string }
> = {
  none: { hello: '0004', ack: '0004', nak: '0004', late: '0004', txn: '0004', start: '0004' },
  both: { hello: 'S2', ack: 'S6', nak: 'S9', late: 'S9', txn: 'S7', start: 'S8' },
  medium: { hello: 'S2', ack: 'S3', nak: 'S3', late: 'S7*', txn: 'S6', start: 'S7' },
  terminal: { hello: 'S2', ack: 'S3', nak: 'S3', late: 'S5', txn: 'S6', start: 'S7' },
};

export abstract class CenterSessions extends CenterCache {
  /** Starts a connection's DB query: it completes after the configured query time. */
  protected query(connectionId: string, which: 'terminal' | 'medium'): void {
    const c = this.config();
    const at = this.clock.now() + (which === 'terminal' ? c.dbTerminalMs : c.dbMediumMs);
    this.db
      .prepare('UPDATE connections SET pendingQuery = ?, pendingAt = ? WHERE connectionId = ?')
      .run(which, at, connectionId);
    this.schedule(at, () =>
      which === 'terminal' ? this.terminalQueried(connectionId) : this.mediumQueried(connectionId),
    );
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

  protected static judgeMedium(m: MediumInfo | null, today: number): NakReason | null {
    if (!m) return 'MEDIUM_MISMATCH';
    if (m.stolenAt !== null || m.capturedAt !== null) return 'MEDIUM_STOLEN';
    return m.expiresOn <= today ? 'MEDIUM_EXPIRED' : null;
  }

  protected static judgeTerminal(t: TerminalInfo | null): boolean {
    return t !== null && t.active;
  }

  /** The DB terminal query of a connection has completed (its time charged): ACK, late NAK or next query. */
  protected async terminalQueried(connectionId: string): Promise<void> {
    const c = this.conn(connectionId);
    if (!c || c.state === 'closed') return;
    const t = await this.peers
      .peer('center-db', this.config().db)
      .queryTerminal({ terminalId: c.terminalId });
    const valid = t.ok && CenterSessions.judgeTerminal(t.result);
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

  protected async mediumQueried(connectionId: string): Promise<void> {
    const c = this.conn(connectionId);
    if (!c || c.state === 'closed') return;
    const m = await this.peers.peer('center-db', this.config().db).queryMedium({ mediumId: c.mediumId });
    const reason = m.ok ? CenterSessions.judgeMedium(m.result, this.clock.today()) : 'MEDIUM_MISMATCH';
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

  protected maybeStart(connectionId: string): void {
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

  protected ack(connectionId: string): void {
    this.db
      .prepare("UPDATE connections SET verdict = 'ACK', tAck = ? WHERE connectionId = ?")
      .run(this.clock.now(), connectionId);
    this.send(connectionId, { type: 'ACK', step: STEP[this.config().cacheMode].ack });
  }

  /** NAK: sent at once, and it closes the connection. */
  protected nak(connectionId: string, reason: NakReason, late: boolean, step: string): 'nak' {
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

  protected done(connectionId: string, result: string, balanceAfter: number | null): void {
    this.db
      .prepare("UPDATE connections SET state = 'closed', tEnd = ? WHERE connectionId = ?")
      .run(this.clock.now(), connectionId);
    this.send(connectionId, { type: 'DONE', result, balanceAfter });
  }

  protected send(connectionId: string, body: object): void {
    const now = this.clock.now();
    this.db
      .prepare('INSERT INTO messages (connectionId, body, sentAt, deliverAt) VALUES (?, ?, ?, ?)')
      .run(connectionId, JSON.stringify(body), now, now + this.config().lineMs);
  }

  protected mark(connectionId: string, which: 'mediumOk' | 'terminalOk'): void {
    this.db.prepare(`UPDATE connections SET ${which} = 1 WHERE connectionId = ?`).run(connectionId);
  }

  protected open(connectionId: string, step: string): ConnRow {
    const c = this.conn(connectionId);
    if (!c) refuse('E_NOT_FOUND', step, `no connection ${connectionId}`);
    if (c.state === 'closed')
      refuse('E_BAD_STATE', step, `connection ${connectionId} is closed (${c.nakReason ?? 'done'})`);
    return c;
  }

  protected conn(connectionId: string): ConnRow | undefined {
    return this.db.prepare('SELECT * FROM connections WHERE connectionId = ?').get(connectionId) as
      ConnRow | undefined;
  }
}
