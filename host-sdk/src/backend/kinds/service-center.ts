// The `service-center` back-end of seed 003 (flows.md 5.1-5.3): the bank center [181], the MMK center
// [19] or the POS center [17] (`role`), each its own key holder over the key packages the brand holder
// sealed to it, with its registered terminals. Loads at its terminals (F1): the cash check (S8-S9,
// E_CASH_MISMATCH) or the issuer's funding check, then, on the MAC-verified card write, a cash load
// is booked ext:cash against liab:float:<issuer> (the center learned first) and noticed to the issuer
// (S13); a bank-funded load is in flight until the issuer has collected it. Payments at its terminals
// (F5): the debit is in flight (C4) until the brand holder has booked it (S114), per-tx or batched.
import type { LocalKeyHolder, RandomBytes } from '../../keys/local-key-holder';
import { post } from '../ledger';
import { refuse, type Outcome } from '../outcome';
import { amount, int, list, object, oneOf, optional, str, txId, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';
import {
  BatchScheduler,
  HELD_KEYS_MIGRATION,
  boxPublicKey,
  cardId,
  channelName,
  deliverRows,
  heldKeys,
  heldMasters,
  installBrandPackage,
  keyHolderOf,
  notification,
  peerId,
  sealedPackage,
  setSetting,
  setting,
  step,
  undelivered,
  type HeldKeyRow,
  type OutboxRow,
} from './brand-common';

export const CENTER_ROLES = ['bank', 'mmk', 'pos'] as const;
export type CenterRole = (typeof CENTER_ROLES)[number];

const terminalId = str({ max: 64, pattern: /^[\w.-]+$/, describe: 'a terminal ID' });

export const SERVICE_CENTER_API = {
  auditView: object({}),
  setUp: object({ role: oneOf(CENTER_ROLES), brandId: peerId, notification }),
  installKeyPackage: object({ package: sealedPackage }),
  heldKeys: object({}),
  registerTerminal: object({ terminalId, merchantId: optional(peerId) }),
  terminals: object({}),
  /** S8-S9: cash must equal the request; bank funding goes to the issuer (and its institute). */
  authorizeLoad: object({
    txId,
    terminalId,
    cardId,
    issuerId: peerId,
    amount,
    funding: oneOf(['cash', 'bank'] as const),
    cashIn: optional(int(0, 0xffffffff)),
    step,
  }),
  /** S12-S13: the MAC-verified card write of an authorized load. */
  recordLoad: object({ txId, channel: channelName }),
  /** S113-S114: a MAC-verified debit at one of its terminals. */
  recordPayment: object({ txId, terminalId, cardId, issuerId: peerId, amount }),
  transactions: object({}),
  settle: object({
    txId,
    periodId: str({ max: 32 }),
    amounts: list(object({ issuerId: peerId, amount }), 64),
  }),
  flushNotices: object({}),
} as const;

export type ServiceCenterRequest<M extends keyof typeof SERVICE_CENTER_API> = Infer<
  (typeof SERVICE_CENTER_API)[M]
>;

export interface CenterTransaction {
  readonly txId: string;
  readonly kind: 'load' | 'payment';
  readonly terminalId: string;
  readonly cardId: string;
  readonly issuerId: string;
  readonly amount: number;
  readonly funding: 'cash' | 'bank' | null;
  readonly channel: string | null;
  readonly status: 'authorized' | 'loaded' | 'paid';
  readonly at: number;
}

export interface ServiceCenterBackend extends Backend {
  setUp(
    r: ServiceCenterRequest<'setUp'>,
  ): Promise<Outcome<{ readonly role: CenterRole; readonly boxKey: string }>>;
  installKeyPackage(r: ServiceCenterRequest<'installKeyPackage'>): Promise<Outcome<readonly HeldKeyRow[]>>;
  heldKeys(r: ServiceCenterRequest<'heldKeys'>): Promise<Outcome<readonly HeldKeyRow[]>>;
  registerTerminal(
    r: ServiceCenterRequest<'registerTerminal'>,
  ): Promise<Outcome<{ readonly terminalId: string; readonly merchantId: string | null }>>;
  terminals(
    r: ServiceCenterRequest<'terminals'>,
  ): Promise<Outcome<readonly { readonly terminalId: string; readonly merchantId: string | null }[]>>;
  authorizeLoad(r: ServiceCenterRequest<'authorizeLoad'>): Promise<Outcome<CenterTransaction>>;
  recordLoad(r: ServiceCenterRequest<'recordLoad'>): Promise<Outcome<CenterTransaction>>;
  recordPayment(r: ServiceCenterRequest<'recordPayment'>): Promise<Outcome<CenterTransaction>>;
  transactions(r: ServiceCenterRequest<'transactions'>): Promise<Outcome<readonly CenterTransaction[]>>;
  settle(r: ServiceCenterRequest<'settle'>): Promise<Outcome<{ readonly settled: number }>>;
  flushNotices(r: ServiceCenterRequest<'flushNotices'>): Promise<Outcome<{ readonly delivered: number }>>;
}

declare module '../backend' {
  interface KindInterfaces {
    'service-center': ServiceCenterBackend;
  }
}

const MIGRATIONS = [
  `${HELD_KEYS_MIGRATION}
   CREATE TABLE terminals (terminalId TEXT PRIMARY KEY, merchantId TEXT);
   CREATE TABLE transactions (txId TEXT PRIMARY KEY, kind TEXT NOT NULL, terminalId TEXT NOT NULL, cardId TEXT NOT NULL,
     issuerId TEXT NOT NULL, amount INTEGER NOT NULL, funding TEXT, channel TEXT, status TEXT NOT NULL, at INTEGER NOT NULL);`,
];

export class SqliteServiceCenter extends SqliteBackend implements ServiceCenterBackend {
  readonly kind = 'service-center';
  private readonly batch: BatchScheduler;

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, SERVICE_CENTER_API);
    this.batch = new BatchScheduler(
      { now: () => this.clock.now(), schedule: (at, task) => this.schedule(at, task) },
      () => this.deliver(true),
    );
    this.scheduleBatch();
  }

  setUp(
    request: ServiceCenterRequest<'setUp'>,
  ): Promise<Outcome<{ readonly role: CenterRole; readonly boxKey: string }>> {
    const r = this.checked<ServiceCenterRequest<'setUp'>>('setUp', request);
    return Promise.resolve(
      this.run('setUp', r, () => {
        const role = setting(this.db, 'role');
        if (role !== undefined && role !== r.role)
          refuse('E_BAD_STATE', 'F0.1', `center ${this.id} is already a ${role} center`);
        setSetting(this.db, 'role', r.role);
        setSetting(this.db, 'brandId', r.brandId);
        setSetting(this.db, 'notification', r.notification ?? 'per-tx');
        if (setting(this.db, 'batchOrigin') === undefined)
          setSetting(this.db, 'batchOrigin', String(this.clock.now()));
        return { role: r.role, boxKey: boxPublicKey(this.secrets, this.rng) };
      }),
    );
  }

  installKeyPackage(
    request: ServiceCenterRequest<'installKeyPackage'>,
  ): Promise<Outcome<readonly HeldKeyRow[]>> {
    const r = this.checked<ServiceCenterRequest<'installKeyPackage'>>('installKeyPackage', request);
    return Promise.resolve(
      this.run('installKeyPackage', r, () =>
        installBrandPackage(this.db, this.secrets, this.id, this.brandId(), r.package, this.clock.now()),
      ),
    );
  }

  heldKeys(request: ServiceCenterRequest<'heldKeys'>): Promise<Outcome<readonly HeldKeyRow[]>> {
    const r = this.checked<ServiceCenterRequest<'heldKeys'>>('heldKeys', request);
    return Promise.resolve(this.run('heldKeys', r, () => heldKeys(this.db)));
  }

  registerTerminal(
    request: ServiceCenterRequest<'registerTerminal'>,
  ): Promise<Outcome<{ readonly terminalId: string; readonly merchantId: string | null }>> {
    const r = this.checked<ServiceCenterRequest<'registerTerminal'>>('registerTerminal', request);
    return Promise.resolve(
      this.run('registerTerminal', r, () => {
        if (this.terminal(r.terminalId))
          refuse('E_DUPLICATE', 'F0.1', `terminal ${r.terminalId} is registered`);
        this.db
          .prepare('INSERT INTO terminals (terminalId, merchantId) VALUES (?, ?)')
          .run(r.terminalId, r.merchantId ?? null);
        return this.terminal(r.terminalId)!;
      }),
    );
  }

  terminals(
    request: ServiceCenterRequest<'terminals'>,
  ): Promise<Outcome<readonly { readonly terminalId: string; readonly merchantId: string | null }[]>> {
    const r = this.checked<ServiceCenterRequest<'terminals'>>('terminals', request);
    return Promise.resolve(
      this.run(
        'terminals',
        r,
        () =>
          this.db.prepare('SELECT terminalId, merchantId FROM terminals ORDER BY terminalId').all() as {
            terminalId: string;
            merchantId: string | null;
          }[],
      ),
    );
  }

  async authorizeLoad(request: ServiceCenterRequest<'authorizeLoad'>): Promise<Outcome<CenterTransaction>> {
    const r = this.checked<ServiceCenterRequest<'authorizeLoad'>>('authorizeLoad', request);
    const where = r.step ?? 'S9';
    const prior = this.tx(r.txId);
    if (!prior) {
      const pre = this.run('authorizeLoad', r, () => {
        this.role();
        if (!this.terminal(r.terminalId))
          refuse('E_UNAUTHORIZED', where, `terminal ${r.terminalId} is not registered with ${this.id}`);
        if (r.funding === 'cash' && r.cashIn !== r.amount)
          refuse(
            'E_CASH_MISMATCH',
            where,
            `cash handed in (${r.cashIn ?? 0}) is not the requested ${r.amount}`,
          );
        return true;
      });
      if (!pre.ok) return pre;
      if (r.funding === 'bank') {
        const ok = await this.peers
          .peer('issuer', r.issuerId)
          .approveLoad({ txId: r.txId, cardId: r.cardId, amount: r.amount, funding: 'bank', step: where });
        if (!ok.ok) return ok;
      }
    }
    return this.run('authorizeLoad', r, () => {
      if (!prior)
        this.db
          .prepare(
            "INSERT INTO transactions (txId, kind, terminalId, cardId, issuerId, amount, funding, channel, status, at) VALUES (?, 'load', ?, ?, ?, ?, ?, NULL, 'authorized', ?)",
          )
          .run(r.txId, r.terminalId, r.cardId, r.issuerId, r.amount, r.funding, this.clock.now());
      const t = this.tx(r.txId)!;
      if (t.kind !== 'load' || t.cardId !== r.cardId || t.amount !== r.amount || t.issuerId !== r.issuerId)
        refuse('E_TXID_CONFLICT', where, `txId ${r.txId} was used for another transaction`);
      return t;
    });
  }

  async recordLoad(request: ServiceCenterRequest<'recordLoad'>): Promise<Outcome<CenterTransaction>> {
    const r = this.checked<ServiceCenterRequest<'recordLoad'>>('recordLoad', request);
    const o = this.run(
      'recordLoad',
      r,
      () => {
        const t = this.tx(r.txId);
        if (!t || t.kind !== 'load') refuse('E_NOT_FOUND', 'S12', `no authorized load ${r.txId}`);
        if (t.status !== 'authorized') refuse('E_BAD_STATE', 'S12', `load ${r.txId} is ${t.status}`);
        if (t.funding === 'cash')
          post(
            this.db,
            r.txId,
            [
              ['ext:cash', t.amount],
              [`liab:float:${t.issuerId}`, -t.amount],
            ],
            this.clock.now(),
          );
        this.db
          .prepare("UPDATE transactions SET status = 'loaded', channel = ? WHERE txId = ?")
          .run(r.channel, r.txId);
        // S13: to the issuer [168] (which notices the brand holder). A bank-funded load is booked by
        // the issuer when it collects: until then the card's new value is in flight here.
        const payload = {
          txId: r.txId,
          cardId: t.cardId,
          channel: r.channel,
          amount: t.amount,
          via: this.id,
          funding: t.funding!,
        };
        if (t.funding === 'bank')
          this.enqueue(
            {
              txId: r.txId,
              peer: t.issuerId,
              topic: 'issuer.recordLoad',
              clearingAmount: 0,
              floatIssuer: t.issuerId,
              floatAmount: t.amount,
            },
            payload,
          );
        else
          this.enqueue(
            { txId: r.txId, peer: t.issuerId, topic: 'issuer.recordLoad', clearingAmount: 0 },
            payload,
          );
        return this.tx(r.txId)!;
      },
      r.txId,
    );
    await this.deliver(false);
    this.scheduleBatch();
    return o;
  }

  async recordPayment(request: ServiceCenterRequest<'recordPayment'>): Promise<Outcome<CenterTransaction>> {
    const r = this.checked<ServiceCenterRequest<'recordPayment'>>('recordPayment', request);
    const o = this.run(
      'recordPayment',
      r,
      () => {
        const term = this.terminal(r.terminalId);
        if (!term)
          refuse('E_UNAUTHORIZED', 'S113', `terminal ${r.terminalId} is not registered with ${this.id}`);
        this.db
          .prepare(
            "INSERT INTO transactions (txId, kind, terminalId, cardId, issuerId, amount, funding, channel, status, at) VALUES (?, 'payment', ?, ?, ?, ?, NULL, NULL, 'paid', ?)",
          )
          .run(r.txId, r.terminalId, r.cardId, r.issuerId, r.amount, this.clock.now());
        // S114: the brand holder books the debit; until it has, the card's lower value is in flight.
        this.enqueue(
          {
            txId: r.txId,
            peer: this.brandId(),
            topic: 'brand.recordPayment',
            clearingAmount: 0,
            floatIssuer: r.issuerId,
            floatAmount: -r.amount,
          },
          {
            txId: r.txId,
            merchantId: term.merchantId ?? this.id,
            issuerId: r.issuerId,
            cardId: r.cardId,
            amount: r.amount,
            terminalId: r.terminalId,
            via: this.id,
          },
        );
        return this.tx(r.txId)!;
      },
      r.txId,
    );
    await this.deliver(false);
    this.scheduleBatch();
    return o;
  }

  transactions(
    request: ServiceCenterRequest<'transactions'>,
  ): Promise<Outcome<readonly CenterTransaction[]>> {
    const r = this.checked<ServiceCenterRequest<'transactions'>>('transactions', request);
    return Promise.resolve(
      this.run('transactions', r, () =>
        (this.db.prepare('SELECT txId FROM transactions ORDER BY rowid').all() as { txId: string }[]).map(
          (t) => this.tx(t.txId)!,
        ),
      ),
    );
  }

  settle(request: ServiceCenterRequest<'settle'>): Promise<Outcome<{ readonly settled: number }>> {
    const r = this.checked<ServiceCenterRequest<'settle'>>('settle', request);
    return Promise.resolve(
      this.run(
        'settle',
        r,
        () => {
          const total = r.amounts.reduce((s, a) => s + a.amount, 0);
          if (total === 0) refuse('E_BAD_STATE', 'F7', 'nothing to settle');
          post(
            this.db,
            r.txId,
            [
              ...r.amounts.map((a) => [`liab:float:${a.issuerId}`, a.amount] as const),
              [`clearing:${this.brandId()}`, -total] as const,
            ],
            this.clock.now(),
          );
          return { settled: total };
        },
        r.txId,
      ),
    );
  }

  async flushNotices(
    request: ServiceCenterRequest<'flushNotices'> = {},
  ): Promise<Outcome<{ readonly delivered: number }>> {
    this.checked<ServiceCenterRequest<'flushNotices'>>('flushNotices', request);
    return { ok: true, result: { delivered: await this.deliver(true) } };
  }

  /** The center's key holder (in-process: served to its terminals at /keyholder/*). */
  keyHolder(random: RandomBytes): LocalKeyHolder {
    return keyHolderOf(this.db, this.secrets, random);
  }

  masters(): Uint8Array[] {
    return heldMasters(this.db, this.secrets);
  }

  private role(): CenterRole {
    const r = setting(this.db, 'role');
    if (r === undefined) refuse('E_NOT_READY', 'F0.1', `center ${this.id} is not set up (call setUp)`);
    return r as CenterRole;
  }

  private brandId(): string {
    this.role();
    return setting(this.db, 'brandId')!;
  }

  private terminal(id: string): { terminalId: string; merchantId: string | null } | undefined {
    return this.db.prepare('SELECT terminalId, merchantId FROM terminals WHERE terminalId = ?').get(id) as
      { terminalId: string; merchantId: string | null } | undefined;
  }

  private tx(id: string): CenterTransaction | undefined {
    return this.db.prepare('SELECT * FROM transactions WHERE txId = ?').get(id) as
      CenterTransaction | undefined;
  }

  private async deliver(all: boolean): Promise<number> {
    const batch = setting(this.db, 'notification') === 'batch';
    const rows = undelivered(this.db).filter((x) => all || !batch || x.topic !== 'brand.recordPayment');
    return deliverRows(
      rows,
      (row) => this.send(row),
      (seq) => this.delivered(seq),
    );
  }

  private send(row: OutboxRow): Promise<{ readonly ok: boolean }> {
    const payload = JSON.parse(row.payload) as unknown;
    if (row.topic === 'issuer.recordLoad')
      return this.peers.peer('issuer', row.peer).recordLoad(payload as never);
    if (row.topic === 'brand.recordPayment')
      return this.peers.peer('brand', row.peer).recordPayment(payload as never);
    return Promise.resolve({ ok: false });
  }

  private scheduleBatch(): void {
    if (setting(this.db, 'notification') !== 'batch' || undelivered(this.db).length === 0) return;
    this.batch.ensure(Number(setting(this.db, 'batchOrigin') ?? this.clock.now()));
  }
}
