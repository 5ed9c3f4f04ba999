// The `emoney-center` back-end (flows.md 6, seed 004), the kind's entry point: the center computer
// [4] — the store section [8] keeps the validity cache (deny-list, expiry horizon, allow-list)
// extracted from the center database [6] at start-up, every refresh interval and on every pushed
// change; the judging section [9] answers a terminal's HELLO with ACK or NAK per cache mode (none,
// both, medium, terminal: 6.2), charging the configured line and DB times on the virtual clock; the
// transaction processor [11] sends START once every check has passed and TXN has arrived, binds the
// card at T1 (hardened), holds, commits or releases the user's money at the bank around the card
// write of T2, and books the float. It is the key holder for load and unload (keyHolder(): in-process
// only, served by the fixture). The terminal reads what the center sent with `receive`: each message
// carries its send time and the time the line delivers it (sent + lineMs).
//
// The instance is built in layers: ./emoney-center-api.ts (schemas, messages, EMoneyCenterBackend),
// ./emoney-center-cache.ts (set-up, the validity cache and its refresh), ./emoney-center-sessions.ts
// (the ACK/NAK sessions, TXN and START); this module adds load and unload (T1 binding, the hold at
// the bank, the float, the outbox) and the key holder.
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import type { AuthRequest, CryptogramSession, KeyHolder } from '../../keys/key-holder';
import { LocalKeyHolder, type RandomBytes } from '../../keys/local-key-holder';
import { post } from '../ledger';
import { deliverToPeer } from '../link-retry';
import { refuse, type Outcome } from '../outcome';
import type { BackendContext } from '../backend';
import type { MediumInfo } from './center-db';
import type { CenterRequest, EMoneyCenterBackend, NakReason, Prepared, Unsettled } from './emoney-center-api';
import { CenterSessions, type ConnRow } from './emoney-center-sessions';

export * from './emoney-center-api';

export class SqliteEMoneyCenter extends CenterSessions implements EMoneyCenterBackend {
  readonly kind = 'emoney-center';

  constructor(context: BackendContext) {
    super(context);
    this.resume();
  }

  /**
   * Re-schedules what an instance opened from its file was waiting for (flows.md 7.9): the initial load
   * or the next interval reload, and every connection's pending DB query at its completion time.
   */
  protected resume(): void {
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

  async flushOutbox(
    request: CenterRequest<'flushOutbox'> = {},
  ): Promise<Outcome<{ readonly delivered: number }>> {
    this.checked<CenterRequest<'flushOutbox'>>('flushOutbox', request);
    return { ok: true, result: { delivered: await this.deliverOutbox() } };
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

  /** Transaction data [12] at the center database (best effort: the center's own row is the record). */
  protected async record(c: ConnRow, status: 'held' | 'completed' | 'refused'): Promise<void> {
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
  protected async deliverOutbox(): Promise<number> {
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
}
