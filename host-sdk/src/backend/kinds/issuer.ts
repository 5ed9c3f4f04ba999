// The `issuer` back-end of seed 003 (flows.md 5.1-5.3): an issuer [2] with its security server and
// key holder [161/162] (the key packages of its own area, received sealed from the brand holder), user
// management [163/164], and accounting and loading DB [167/168]. It signs permissions for third-party
// centers (F0.4), decides whether a load is acceptable (S8-S9, S32-S33, S62-S63, asking its
// institute), records loads and collects bank-funded ones: clearing:<bank> against
// liab:float:<issuer>, the bank's side through the outbox. Loads are noticed to the brand holder.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { LocalKeyHolder, RandomBytes } from '../../keys/local-key-holder';
import { post } from '../ledger';
import { refuse, type Outcome } from '../outcome';
import { amount, int, object, oneOf, optional, str, txId, type Infer } from '../schema';
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
  keyName,
  notification,
  peerId,
  sealedPackage,
  setSetting,
  setting,
  signedAmount,
  step,
  undelivered,
  type HeldKeyRow,
  type OutboxRow,
} from './brand-common';
import { permissionMessage } from './brand';
import type { BankRequest } from './bank';

export const ISSUER_API = {
  auditView: object({}),
  setUp: object({ brandId: peerId, areaCode: int(0x800, 0xf800), notification }),
  installKeyPackage: object({ package: sealedPackage }),
  heldKeys: object({}),
  registerUser: object({
    cardId,
    name: str({ max: 128 }),
    address: optional(str({ max: 256 })),
    bankId: optional(peerId),
    accountNo: optional(str({ max: 32 })),
    institute: optional(str({ max: 64 })),
  }),
  user: object({ cardId }),
  signPermission: object({ recipientId: peerId, keyName }),
  approveLoad: object({
    txId,
    cardId,
    amount,
    funding: oneOf(['cash', 'bank'] as const),
    bankId: optional(peerId),
    accountNo: optional(str({ max: 32 })),
    step,
  }),
  recordLoad: object({
    txId,
    cardId,
    channel: channelName,
    amount,
    via: peerId,
    funding: oneOf(['cash', 'bank'] as const),
  }),
  settle: object({ txId, periodId: str({ max: 32 }), amount: signedAmount }),
  loads: object({}),
  flushNotices: object({}),
} as const;

export type IssuerRequest<M extends keyof typeof ISSUER_API> = Infer<(typeof ISSUER_API)[M]>;

export interface IssuerIdentity {
  readonly issuerId: string;
  readonly areaCode: number;
  /** Ed25519 public key (permissions). */
  readonly signKey: string;
  /** X25519 public key (key packages). */
  readonly boxKey: string;
}

export interface IssuerUserView {
  readonly cardId: string;
  readonly name: string;
  readonly address: string | null;
  readonly bankId: string | null;
  readonly accountNo: string | null;
  readonly institute: string | null;
}

export interface IssuerLoadRow {
  readonly txId: string;
  readonly cardId: string;
  readonly channel: string;
  readonly amount: number;
  readonly via: string;
  readonly funding: 'cash' | 'bank';
  readonly at: number;
}

export interface SignedPermission {
  readonly issuerId: string;
  readonly recipientId: string;
  readonly keyName: string;
  readonly grantedAt: number;
  readonly signature: string;
}

export interface IssuerBackend extends Backend {
  setUp(r: IssuerRequest<'setUp'>): Promise<Outcome<IssuerIdentity>>;
  installKeyPackage(r: IssuerRequest<'installKeyPackage'>): Promise<Outcome<readonly HeldKeyRow[]>>;
  heldKeys(r: IssuerRequest<'heldKeys'>): Promise<Outcome<readonly HeldKeyRow[]>>;
  registerUser(r: IssuerRequest<'registerUser'>): Promise<Outcome<IssuerUserView>>;
  user(r: IssuerRequest<'user'>): Promise<Outcome<IssuerUserView>>;
  signPermission(r: IssuerRequest<'signPermission'>): Promise<Outcome<SignedPermission>>;
  approveLoad(r: IssuerRequest<'approveLoad'>): Promise<Outcome<{ readonly approved: true }>>;
  recordLoad(r: IssuerRequest<'recordLoad'>): Promise<Outcome<IssuerLoadRow>>;
  settle(r: IssuerRequest<'settle'>): Promise<Outcome<{ readonly float: number }>>;
  loads(r: IssuerRequest<'loads'>): Promise<Outcome<readonly IssuerLoadRow[]>>;
  flushNotices(r: IssuerRequest<'flushNotices'>): Promise<Outcome<{ readonly delivered: number }>>;
}

declare module '../backend' {
  interface KindInterfaces {
    issuer: IssuerBackend;
  }
}

const MIGRATIONS = [
  `${HELD_KEYS_MIGRATION}
   CREATE TABLE users (cardId TEXT PRIMARY KEY, name TEXT NOT NULL, address TEXT, bankId TEXT, accountNo TEXT, institute TEXT);
   CREATE TABLE loads (txId TEXT PRIMARY KEY, cardId TEXT NOT NULL, channel TEXT NOT NULL, amount INTEGER NOT NULL,
     via TEXT NOT NULL, funding TEXT NOT NULL, at INTEGER NOT NULL);`,
];

const SIGN = 'sign-key';

export class SqliteIssuer extends SqliteBackend implements IssuerBackend {
  readonly kind = 'issuer';
  private readonly batch: BatchScheduler;

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, ISSUER_API);
    this.batch = new BatchScheduler(
      { now: () => this.clock.now(), schedule: (at, task) => this.schedule(at, task) },
      () => this.deliver(true),
    );
    this.scheduleBatch();
  }

  setUp(request: IssuerRequest<'setUp'>): Promise<Outcome<IssuerIdentity>> {
    const r = this.checked<IssuerRequest<'setUp'>>('setUp', request);
    return Promise.resolve(
      this.run('setUp', r, () => {
        const area = setting(this.db, 'areaCode');
        if (area !== undefined && Number(area) !== r.areaCode)
          refuse('E_BAD_STATE', 'F0.1', `issuer ${this.id} already has area ${Number(area).toString(16)}`);
        setSetting(this.db, 'brandId', r.brandId);
        setSetting(this.db, 'areaCode', String(r.areaCode));
        setSetting(this.db, 'notification', r.notification ?? 'per-tx');
        if (setting(this.db, 'batchOrigin') === undefined)
          setSetting(this.db, 'batchOrigin', String(this.clock.now()));
        return this.identity();
      }),
    );
  }

  installKeyPackage(request: IssuerRequest<'installKeyPackage'>): Promise<Outcome<readonly HeldKeyRow[]>> {
    const r = this.checked<IssuerRequest<'installKeyPackage'>>('installKeyPackage', request);
    return Promise.resolve(
      this.run('installKeyPackage', r, () =>
        installBrandPackage(this.db, this.secrets, this.id, this.brandId(), r.package, this.clock.now()),
      ),
    );
  }

  heldKeys(request: IssuerRequest<'heldKeys'>): Promise<Outcome<readonly HeldKeyRow[]>> {
    const r = this.checked<IssuerRequest<'heldKeys'>>('heldKeys', request);
    return Promise.resolve(this.run('heldKeys', r, () => heldKeys(this.db)));
  }

  registerUser(request: IssuerRequest<'registerUser'>): Promise<Outcome<IssuerUserView>> {
    const r = this.checked<IssuerRequest<'registerUser'>>('registerUser', request);
    return Promise.resolve(
      this.run('registerUser', r, () => {
        if (this.userRow(r.cardId)) refuse('E_DUPLICATE', 'F0.3', `card ${r.cardId} already has a user`);
        if ((r.bankId === undefined) !== (r.accountNo === undefined))
          refuse('E_BAD_STATE', 'F0.3', 'give both bankId and accountNo, or neither');
        this.db
          .prepare(
            'INSERT INTO users (cardId, name, address, bankId, accountNo, institute) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(
            r.cardId,
            r.name,
            r.address ?? null,
            r.bankId ?? null,
            r.accountNo ?? null,
            r.institute ?? null,
          );
        return this.userRow(r.cardId)!;
      }),
    );
  }

  user(request: IssuerRequest<'user'>): Promise<Outcome<IssuerUserView>> {
    const r = this.checked<IssuerRequest<'user'>>('user', request);
    return Promise.resolve(this.run('user', r, () => this.userOf(r.cardId, '—')));
  }

  signPermission(request: IssuerRequest<'signPermission'>): Promise<Outcome<SignedPermission>> {
    const r = this.checked<IssuerRequest<'signPermission'>>('signPermission', request);
    return Promise.resolve(
      this.run('signPermission', r, () => {
        const p = {
          issuerId: this.id,
          recipientId: r.recipientId,
          keyName: r.keyName,
          grantedAt: this.clock.now(),
        };
        const signature = bytesToHex(ed25519.sign(permissionMessage(p), this.signKey()));
        return { ...p, signature };
      }),
    );
  }

  async approveLoad(request: IssuerRequest<'approveLoad'>): Promise<Outcome<{ readonly approved: true }>> {
    const r = this.checked<IssuerRequest<'approveLoad'>>('approveLoad', request);
    const where = r.step ?? 'S9';
    const user = this.userRow(r.cardId);
    if (!user)
      return this.run('approveLoad', r, () =>
        refuse('E_NOT_FOUND', where, `card ${r.cardId} has no user at ${this.id}`),
      );
    if (r.funding === 'bank') {
      const bankId = r.bankId ?? user.bankId;
      const accountNo = r.accountNo ?? user.accountNo;
      if (bankId === null || accountNo === null)
        return this.run('approveLoad', r, () =>
          refuse('E_FUNDING_REFUSED', where, `card ${r.cardId} has no settlement account`),
        );
      // The institute check (read only: the money moves when the load is recorded).
      const account = await this.peers.peer('bank', bankId).account({ accountNo });
      if (!account.ok || account.result.balance < r.amount)
        return this.run('approveLoad', r, () =>
          refuse(
            'E_FUNDING_REFUSED',
            where,
            account.ok
              ? `account ${accountNo} at ${bankId} holds ${account.result.balance}, less than ${r.amount}`
              : `institute ${bankId} refused: ${account.message}`,
          ),
        );
    }
    return this.run('approveLoad', r, () => ({ approved: true as const }));
  }

  async recordLoad(request: IssuerRequest<'recordLoad'>): Promise<Outcome<IssuerLoadRow>> {
    const r = this.checked<IssuerRequest<'recordLoad'>>('recordLoad', request);
    const brand = this.brandId();
    const o = this.run(
      'recordLoad',
      r,
      () => {
        const user = this.userOf(r.cardId, 'S13');
        // Bank-funded loads are collected by the issuer (center → issuer → institute), except proxy
        // loads, which the brand holder collected and booked.
        if (r.funding === 'bank' && r.via !== brand) {
          if (user.bankId === null || user.accountNo === null)
            refuse('E_FUNDING_REFUSED', 'S36', `card ${r.cardId} has no settlement account`);
          post(
            this.db,
            r.txId,
            [
              [`clearing:${user.bankId}`, r.amount],
              [`liab:float:${this.id}`, -r.amount],
            ],
            this.clock.now(),
          );
          this.enqueue(
            { txId: r.txId, peer: user.bankId, topic: 'bank.payToPeer', clearingAmount: -r.amount },
            { txId: r.txId, accountNo: user.accountNo, amount: r.amount, peer: this.id, step: 'S36' },
          );
        }
        this.db
          .prepare(
            'INSERT INTO loads (txId, cardId, channel, amount, via, funding, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          )
          .run(r.txId, r.cardId, r.channel, r.amount, r.via, r.funding, this.clock.now());
        if (r.via !== brand)
          this.enqueue(
            { txId: r.txId, peer: brand, topic: 'brand.noticeLoad', clearingAmount: 0 },
            {
              txId: r.txId,
              issuerId: this.id,
              via: r.via,
              cardId: r.cardId,
              amount: r.amount,
              channel: r.channel,
              funding: r.funding,
            },
          );
        return this.load(r.txId);
      },
      r.txId,
    );
    await this.deliver(false);
    this.scheduleBatch();
    return o;
  }

  settle(request: IssuerRequest<'settle'>): Promise<Outcome<{ readonly float: number }>> {
    const r = this.checked<IssuerRequest<'settle'>>('settle', request);
    return Promise.resolve(
      this.run(
        'settle',
        r,
        () => {
          if (r.amount === 0) refuse('E_BAD_STATE', 'F7', 'a settlement moves a non-zero amount');
          post(
            this.db,
            r.txId,
            [
              [`liab:float:${this.id}`, r.amount],
              [`clearing:${this.brandId()}`, -r.amount],
            ],
            this.clock.now(),
          );
          const f = this.db
            .prepare('SELECT COALESCE(SUM(amount), 0) AS s FROM ledger WHERE account = ?')
            .get(`liab:float:${this.id}`) as { s: number };
          return { float: -f.s };
        },
        r.txId,
      ),
    );
  }

  loads(request: IssuerRequest<'loads'>): Promise<Outcome<readonly IssuerLoadRow[]>> {
    const r = this.checked<IssuerRequest<'loads'>>('loads', request);
    return Promise.resolve(
      this.run('loads', r, () =>
        (this.db.prepare('SELECT txId FROM loads ORDER BY rowid').all() as { txId: string }[]).map((l) =>
          this.load(l.txId),
        ),
      ),
    );
  }

  async flushNotices(
    request: IssuerRequest<'flushNotices'> = {},
  ): Promise<Outcome<{ readonly delivered: number }>> {
    this.checked<IssuerRequest<'flushNotices'>>('flushNotices', request);
    return { ok: true, result: { delivered: await this.deliver(true) } };
  }

  /** The issuer's key holder [161] (in-process: served to its terminals at /keyholder/*). */
  keyHolder(random: RandomBytes): LocalKeyHolder {
    return keyHolderOf(this.db, this.secrets, random);
  }

  masters(): Uint8Array[] {
    return heldMasters(this.db, this.secrets);
  }

  get areaCode(): number {
    return Number(setting(this.db, 'areaCode'));
  }

  private identity(): IssuerIdentity {
    return {
      issuerId: this.id,
      areaCode: Number(setting(this.db, 'areaCode')),
      signKey: bytesToHex(ed25519.getPublicKey(this.signKey())),
      boxKey: boxPublicKey(this.secrets, this.rng),
    };
  }

  private signKey(): Uint8Array {
    let k = this.secrets.get(SIGN);
    if (!k) {
      k = this.rng.bytes(32);
      this.secrets.put(SIGN, k);
    }
    return k;
  }

  private brandId(): string {
    const b = setting(this.db, 'brandId');
    if (b === undefined) refuse('E_NOT_READY', 'F0.1', `issuer ${this.id} is not set up (call setUp)`);
    return b;
  }

  private userRow(id: string): IssuerUserView | undefined {
    return this.db.prepare('SELECT * FROM users WHERE cardId = ?').get(id) as IssuerUserView | undefined;
  }

  private userOf(id: string, where: string): IssuerUserView {
    const u = this.userRow(id);
    if (!u) refuse('E_NOT_FOUND', where, `card ${id} has no user at ${this.id}`);
    return u;
  }

  private load(txId: string): IssuerLoadRow {
    return this.db.prepare('SELECT * FROM loads WHERE txId = ?').get(txId) as IssuerLoadRow;
  }

  private async deliver(all: boolean): Promise<number> {
    const batch = setting(this.db, 'notification') === 'batch';
    const rows = undelivered(this.db).filter((x) => all || !batch || x.topic !== 'brand.noticeLoad');
    return deliverRows(
      rows,
      (row) => this.send(row),
      (seq) => this.delivered(seq),
    );
  }

  private send(row: OutboxRow): Promise<{ readonly ok: boolean }> {
    const payload = JSON.parse(row.payload) as unknown;
    if (row.topic === 'bank.payToPeer')
      return this.peers.peer('bank', row.peer).payToPeer(payload as BankRequest<'payToPeer'>);
    if (row.topic === 'brand.noticeLoad')
      return this.peers.peer('brand', row.peer).noticeLoad(payload as never);
    return Promise.resolve({ ok: false });
  }

  private scheduleBatch(): void {
    if (setting(this.db, 'notification') !== 'batch' || undelivered(this.db).length === 0) return;
    this.batch.ensure(Number(setting(this.db, 'batchOrigin') ?? this.clock.now()));
  }
}
