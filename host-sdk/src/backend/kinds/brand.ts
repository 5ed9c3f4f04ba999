// The `brand` back-end of seed 003 (flows.md 5.1-5.3): the brand holder [1]. Over 600 lines: its
// seams are the key registry and distribution, loads and payments, and accounting; not split yet. It generates and keeps
// every key of the brand [145/146] (system, root area, one area key and purse key P per issuer, and
// the service keys A-M per issuer area), records participants and agreements [142], customers [144],
// issuer-signed permissions, distributes sealed key packages under the rules of F0.4-F0.6, runs proxy
// loading [148], records payments, and settles periods [147]. Ledger: payments book
// liab:float:<issuer> against liab:merchant:<merchant>; proxy loads book clearing:<bank> against
// liab:float:<issuer>; accounting moves the float to the issuers and centers and pays the merchants.
import { ed25519 } from '@noble/curves/ed25519.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { SYSTEM_NODE } from '@mica/apdu-specs/node-code';
import {
  BRAND_SYSTEM_CODE,
  MASTER_KEY_BYTES,
  ROOT_AREA_CODE,
  SERVICE_KEYS,
  issuerAreaLayout,
  isCybershopKey,
  isLoadingKey,
  isMerchantKey,
} from '../../brand/card-layout';
import { sealKeyPackage, type KeyEntry, type SealedKeyPackage } from '../../brand/key-package';
import { LocalKeyHolder, type RandomBytes } from '../../keys/local-key-holder';
import { post } from '../ledger';
import { refuse, type Outcome } from '../outcome';
import { amount, hex, int, list, object, oneOf, optional, str, txId, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';
import {
  cardId,
  deliverRows,
  keyName,
  notification,
  peerId,
  setSetting,
  setting,
  undelivered,
  BatchScheduler,
  type OutboxRow,
} from './brand-common';
import type { BankRequest } from './bank';
import { runAccounting, type PeriodReport } from './brand-accounting';

export const PARTICIPANT_KINDS = ['issuer', 'merchant', 'center', 'cybershop'] as const;

export const BRAND_API = {
  auditView: object({}),
  /** Generates the system and root-area keys (once) and sets the notification mode of proxy-load notices. */
  setUp: object({ notification }),
  registerParticipant: object({
    id: peerId,
    kind: oneOf(PARTICIPANT_KINDS),
    name: str({ max: 128 }),
    address: optional(str({ max: 256 })),
    settlementAccount: optional(str({ max: 64 })),
    /** Agreement terms; a merchant or center without them gets no merchant keys (E_NO_AGREEMENT). */
    agreement: optional(str({ max: 256 })),
    feeBps: optional(int(0, 10_000)),
    /** Issuers: the area code on the card. */
    areaCode: optional(int(0x800, 0xf800)),
    /** Issuers: Ed25519 public key that signs permissions. */
    signKey: optional(hex(32)),
    /** X25519 public key that key packages are sealed to. */
    boxKey: optional(hex(32)),
  }),
  recordCustomer: object({
    cardId,
    issuerId: peerId,
    name: str({ max: 128 }),
    address: optional(str({ max: 256 })),
    institute: optional(str({ max: 64 })),
  }),
  recordPermission: object({
    issuerId: peerId,
    recipientId: peerId,
    keyName,
    grantedAt: int(),
    signature: hex(64),
  }),
  revokePermission: object({ issuerId: peerId, recipientId: peerId, keyName }),
  distributeKey: object({
    recipientId: peerId,
    keyName,
    /** Issuer areas to include (default: every issuer). */
    issuerIds: optional(list(peerId, 64)),
    channel: oneOf(['dedicated', 'media', 'internet'] as const),
  }),
  keyRegistry: object({}),
  participant: object({ id: peerId }),
  customer: object({ cardId }),
  /** A load at a center or an issuer, for the accounting (no money moves here). */
  noticeLoad: object({
    txId,
    issuerId: peerId,
    via: peerId,
    cardId,
    amount,
    channel: str({ max: 1, pattern: /^[A-E]$/ }),
    funding: oneOf(['cash', 'bank'] as const),
  }),
  /** F3 S62-S63: asks the issuer whether the proxy load is acceptable (it may ask its institute). */
  beginProxyLoad: object({
    txId,
    issuerId: peerId,
    cardId,
    amount,
    bankId: peerId,
    accountNo: str({ max: 32 }),
  }),
  /** F3 S66-S68: after the MAC-verified card write; collects from the bank, books the float, notifies. */
  recordProxyLoad: object({ txId }),
  /** S91 / S114 / S141: a MAC-verified card debit at a merchant. */
  recordPayment: object({
    txId,
    merchantId: peerId,
    issuerId: peerId,
    cardId,
    amount,
    terminalId: str({ max: 64 }),
    via: str({ max: 64 }),
  }),
  payments: object({}),
  proxyLoads: object({}),
  loadNotices: object({}),
  /** F7: settles everything not yet settled as period `periodId`. */
  runAccounting: object({ periodId: str({ max: 32, pattern: /^[\w-]+$/ }) }),
  period: object({ periodId: str({ max: 32, pattern: /^[\w-]+$/ }) }),
  flushNotices: object({}),
} as const;

export type BrandRequest<M extends keyof typeof BRAND_API> = Infer<(typeof BRAND_API)[M]>;

export interface ParticipantView {
  readonly id: string;
  readonly kind: (typeof PARTICIPANT_KINDS)[number];
  readonly name: string;
  readonly address: string | null;
  readonly settlementAccount: string | null;
  readonly agreement: string | null;
  readonly feeBps: number;
  readonly areaCode: number | null;
  readonly signKey: string | null;
  readonly boxKey: string | null;
  readonly keyIds: readonly string[];
}

export interface KeyRegistryRow {
  readonly keyName: string;
  readonly issuerId: string;
  readonly nodes: readonly number[];
  readonly version: number;
  readonly distributions: readonly { recipientId: string; at: number; channel: string }[];
}

export interface PaymentRow {
  readonly txId: string;
  readonly merchantId: string;
  readonly issuerId: string;
  readonly cardId: string;
  readonly amount: number;
  readonly at: number;
  readonly terminalId: string;
  readonly via: string;
  readonly periodId: string | null;
}

export interface ProxyLoadRow {
  readonly txId: string;
  readonly issuerId: string;
  readonly cardId: string;
  readonly amount: number;
  readonly channel: string;
  readonly at: number;
  readonly status: 'approved' | 'loaded';
  readonly notified: boolean;
  readonly periodId: string | null;
}

export interface LoadNoticeRow {
  readonly txId: string;
  readonly issuerId: string;
  readonly via: string;
  readonly cardId: string;
  readonly amount: number;
  readonly channel: string;
  readonly funding: 'cash' | 'bank';
  readonly at: number;
  readonly periodId: string | null;
}

export interface BrandHolderBackend extends Backend {
  setUp(r: BrandRequest<'setUp'>): Promise<Outcome<{ readonly systemCode: number }>>;
  registerParticipant(r: BrandRequest<'registerParticipant'>): Promise<Outcome<ParticipantView>>;
  recordCustomer(r: BrandRequest<'recordCustomer'>): Promise<Outcome<{ readonly cardId: string }>>;
  recordPermission(r: BrandRequest<'recordPermission'>): Promise<Outcome<{ readonly recorded: true }>>;
  revokePermission(r: BrandRequest<'revokePermission'>): Promise<Outcome<{ readonly revoked: true }>>;
  distributeKey(r: BrandRequest<'distributeKey'>): Promise<Outcome<SealedKeyPackage>>;
  keyRegistry(r: BrandRequest<'keyRegistry'>): Promise<Outcome<readonly KeyRegistryRow[]>>;
  participant(r: BrandRequest<'participant'>): Promise<Outcome<ParticipantView>>;
  customer(
    r: BrandRequest<'customer'>,
  ): Promise<Outcome<{ readonly cardId: string; readonly issuerId: string; readonly name: string }>>;
  noticeLoad(r: BrandRequest<'noticeLoad'>): Promise<Outcome<LoadNoticeRow>>;
  beginProxyLoad(r: BrandRequest<'beginProxyLoad'>): Promise<Outcome<ProxyLoadRow>>;
  recordProxyLoad(r: BrandRequest<'recordProxyLoad'>): Promise<Outcome<ProxyLoadRow>>;
  recordPayment(r: BrandRequest<'recordPayment'>): Promise<Outcome<PaymentRow>>;
  payments(r: BrandRequest<'payments'>): Promise<Outcome<readonly PaymentRow[]>>;
  proxyLoads(r: BrandRequest<'proxyLoads'>): Promise<Outcome<readonly ProxyLoadRow[]>>;
  loadNotices(r: BrandRequest<'loadNotices'>): Promise<Outcome<readonly LoadNoticeRow[]>>;
  runAccounting(r: BrandRequest<'runAccounting'>): Promise<Outcome<PeriodReport>>;
  period(r: BrandRequest<'period'>): Promise<Outcome<PeriodReport>>;
  flushNotices(r: BrandRequest<'flushNotices'>): Promise<Outcome<{ readonly delivered: number }>>;
}

declare module '../backend' {
  interface KindInterfaces {
    brand: BrandHolderBackend;
  }
}

const MIGRATIONS = [
  `CREATE TABLE participants (id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, address TEXT,
     settlementAccount TEXT, agreement TEXT, feeBps INTEGER NOT NULL, areaCode INTEGER UNIQUE, signKey TEXT,
     boxKey TEXT, keyIds TEXT NOT NULL);
   CREATE TABLE customers (cardId TEXT PRIMARY KEY, issuerId TEXT NOT NULL REFERENCES participants, name TEXT NOT NULL,
     address TEXT, institute TEXT);
   CREATE TABLE keys (keyName TEXT NOT NULL, issuerId TEXT NOT NULL, nodes TEXT NOT NULL, version INTEGER NOT NULL,
     distributions TEXT NOT NULL, PRIMARY KEY (keyName, issuerId));
   CREATE TABLE permissions (issuerId TEXT NOT NULL, recipientId TEXT NOT NULL, keyName TEXT NOT NULL,
     grantedAt INTEGER NOT NULL, revokedAt INTEGER, signature TEXT NOT NULL, PRIMARY KEY (issuerId, recipientId, keyName));
   CREATE TABLE proxy_loads (txId TEXT PRIMARY KEY, issuerId TEXT NOT NULL, cardId TEXT NOT NULL, amount INTEGER NOT NULL,
     channel TEXT NOT NULL, at INTEGER NOT NULL, status TEXT NOT NULL, notified INTEGER NOT NULL, periodId TEXT,
     bankId TEXT NOT NULL, accountNo TEXT NOT NULL);
   CREATE TABLE payments (txId TEXT PRIMARY KEY, merchantId TEXT NOT NULL, issuerId TEXT NOT NULL, cardId TEXT NOT NULL,
     amount INTEGER NOT NULL, at INTEGER NOT NULL, terminalId TEXT NOT NULL, via TEXT NOT NULL, periodId TEXT);
   CREATE TABLE load_notices (txId TEXT PRIMARY KEY, issuerId TEXT NOT NULL, via TEXT NOT NULL, cardId TEXT NOT NULL,
     amount INTEGER NOT NULL, channel TEXT NOT NULL, funding TEXT NOT NULL, at INTEGER NOT NULL, periodId TEXT);
   CREATE TABLE periods (periodId TEXT NOT NULL, participantId TEXT NOT NULL, role TEXT NOT NULL, charge INTEGER NOT NULL,
     payable INTEGER NOT NULL, fees INTEGER NOT NULL, net INTEGER NOT NULL, PRIMARY KEY (periodId, participantId));
   CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
];

/** The message an issuer signs to permit `recipientId` to hold `keyName` of its area (F0.4). */
export function permissionMessage(p: {
  issuerId: string;
  recipientId: string;
  keyName: string;
  grantedAt: number;
}): Uint8Array {
  return utf8ToBytes(`mica-permission-v1:${p.issuerId}:${p.recipientId}:${p.keyName}:${p.grantedAt}`);
}

interface ParticipantRow extends Omit<ParticipantView, 'keyIds'> {
  readonly keyIds: string;
}

export class SqliteBrand extends SqliteBackend implements BrandHolderBackend {
  readonly kind = 'brand';

  private readonly batch: BatchScheduler;

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, BRAND_API);
    this.batch = new BatchScheduler(
      { now: () => this.clock.now(), schedule: (at, task) => this.schedule(at, task) },
      () => this.deliver(true),
    );
    this.scheduleBatch();
  }

  setUp(request: BrandRequest<'setUp'>): Promise<Outcome<{ readonly systemCode: number }>> {
    const r = this.checked<BrandRequest<'setUp'>>('setUp', request);
    const o = this.run('setUp', r, () => {
      if (!this.keyRow('system', this.id)) this.generate('system', this.id, [SYSTEM_NODE]);
      if (!this.keyRow('root', this.id)) this.generate('root', this.id, [ROOT_AREA_CODE]);
      setSetting(this.db, 'notification', r.notification ?? 'per-tx');
      if (setting(this.db, 'batchOrigin') === undefined)
        setSetting(this.db, 'batchOrigin', String(this.clock.now()));
      return { systemCode: BRAND_SYSTEM_CODE };
    });
    return Promise.resolve(o);
  }

  registerParticipant(request: BrandRequest<'registerParticipant'>): Promise<Outcome<ParticipantView>> {
    const r = this.checked<BrandRequest<'registerParticipant'>>('registerParticipant', request);
    return Promise.resolve(
      this.run('registerParticipant', r, () => {
        if (this.participantRow(r.id))
          refuse('E_DUPLICATE', 'F0.1', `participant ${r.id} is already recorded`);
        if (r.kind === 'issuer') {
          if (r.areaCode === undefined || r.signKey === undefined || r.boxKey === undefined)
            refuse('E_BAD_STATE', 'F0.1', 'an issuer needs areaCode, signKey and boxKey');
          issuerAreaLayout(r.areaCode);
          const clash = this.db.prepare('SELECT id FROM participants WHERE areaCode = ?').get(r.areaCode) as
            { id: string } | undefined;
          if (clash) refuse('E_DUPLICATE', 'F0.1', `area ${r.areaCode.toString(16)} belongs to ${clash.id}`);
        } else if (r.areaCode !== undefined) refuse('E_BAD_STATE', 'F0.1', 'only issuers have an area');
        this.db
          .prepare(
            'INSERT INTO participants (id, kind, name, address, settlementAccount, agreement, feeBps, areaCode, signKey, boxKey, keyIds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(
            r.id,
            r.kind,
            r.name,
            r.address ?? null,
            r.settlementAccount ?? null,
            r.agreement ?? null,
            r.feeBps ?? 0,
            r.areaCode ?? null,
            r.signKey ?? null,
            r.boxKey ?? null,
            '[]',
          );
        if (r.kind === 'issuer') {
          // F0.1: one area key per issuer, the issuer's purse key P (purse + log), and A-M for its area.
          const l = issuerAreaLayout(r.areaCode!);
          this.generate('area', r.id, [l.area]);
          this.generate('P', r.id, [l.purse, l.log]);
          for (const k of SERVICE_KEYS) this.generate(k, r.id, [l.services[k].purse, l.services[k].log]);
        }
        return this.participantView(r.id);
      }),
    );
  }

  recordCustomer(request: BrandRequest<'recordCustomer'>): Promise<Outcome<{ readonly cardId: string }>> {
    const r = this.checked<BrandRequest<'recordCustomer'>>('recordCustomer', request);
    return Promise.resolve(
      this.run('recordCustomer', r, () => {
        this.issuer(r.issuerId, 'F0.3');
        this.db
          .prepare(
            'INSERT INTO customers (cardId, issuerId, name, address, institute) VALUES (?, ?, ?, ?, ?) ON CONFLICT (cardId) DO UPDATE SET issuerId = excluded.issuerId, name = excluded.name, address = excluded.address, institute = excluded.institute',
          )
          .run(r.cardId, r.issuerId, r.name, r.address ?? null, r.institute ?? null);
        return { cardId: r.cardId };
      }),
    );
  }

  recordPermission(request: BrandRequest<'recordPermission'>): Promise<Outcome<{ readonly recorded: true }>> {
    const r = this.checked<BrandRequest<'recordPermission'>>('recordPermission', request);
    return Promise.resolve(
      this.run('recordPermission', r, () => {
        const issuer = this.issuer(r.issuerId, 'F0.4');
        this.participant_(r.recipientId, 'F0.4');
        if (!isLoadingKey(r.keyName))
          refuse('E_BAD_STATE', 'F0.4', `permissions are for loading keys A-E, not ${r.keyName}`);
        let valid = false;
        try {
          valid = ed25519.verify(hexToBytes(r.signature), permissionMessage(r), hexToBytes(issuer.signKey!));
        } catch {
          valid = false;
        }
        if (!valid)
          refuse('E_NO_ISSUER_PERMISSION', 'F0.4', `the permission is not signed by issuer ${r.issuerId}`);
        this.db
          .prepare(
            'INSERT INTO permissions (issuerId, recipientId, keyName, grantedAt, revokedAt, signature) VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT (issuerId, recipientId, keyName) DO UPDATE SET grantedAt = excluded.grantedAt, revokedAt = NULL, signature = excluded.signature',
          )
          .run(r.issuerId, r.recipientId, r.keyName, r.grantedAt, r.signature);
        return { recorded: true as const };
      }),
    );
  }

  revokePermission(request: BrandRequest<'revokePermission'>): Promise<Outcome<{ readonly revoked: true }>> {
    const r = this.checked<BrandRequest<'revokePermission'>>('revokePermission', request);
    return Promise.resolve(
      this.run('revokePermission', r, () => {
        const c = this.db
          .prepare(
            'UPDATE permissions SET revokedAt = ? WHERE issuerId = ? AND recipientId = ? AND keyName = ? AND revokedAt IS NULL',
          )
          .run(this.clock.now(), r.issuerId, r.recipientId, r.keyName);
        if (c.changes === 0) refuse('E_NOT_FOUND', 'F0.4', 'no such permission in force');
        return { revoked: true as const };
      }),
    );
  }

  /**
   * F0.2-F0.7: a sealed package of `keyName` for the issuer areas asked for. Refusals: internet
   * (E_KEY_ON_INTERNET), K-M or any key to a cybershop (E_KEYS_NEVER_TO_CYBERSHOP), a loading key
   * without the issuer's permission (E_NO_ISSUER_PERMISSION), a merchant key without an agreement
   * (E_NO_AGREEMENT). An issuer receives the keys of its own area only.
   */
  distributeKey(request: BrandRequest<'distributeKey'>): Promise<Outcome<SealedKeyPackage>> {
    const r = this.checked<BrandRequest<'distributeKey'>>('distributeKey', request);
    return Promise.resolve(
      this.run('distributeKey', r, () => {
        if (r.channel === 'internet')
          refuse('E_KEY_ON_INTERNET', 'F0.2', 'key packages travel only over dedicated lines or media');
        const to = this.participant_(r.recipientId, 'F0.2');
        if (r.keyName === 'system' || r.keyName === 'root')
          refuse('E_BAD_STATE', 'F0.1', `the ${r.keyName} key stays with the brand holder`);
        if (isCybershopKey(r.keyName))
          refuse('E_KEYS_NEVER_TO_CYBERSHOP', 'F0.6', `${r.keyName} is recorded but never distributed`);
        if (to.kind === 'cybershop')
          refuse('E_KEYS_NEVER_TO_CYBERSHOP', 'F0.6', `a cybershop (${to.id}) holds no keys`);
        if (!to.boxKey) refuse('E_BAD_STATE', 'F0.2', `${to.id} has no box key to seal a package to`);
        const issuers = r.issuerIds ?? this.issuerIds();
        if (issuers.length === 0) refuse('E_NOT_FOUND', 'F0.2', 'no issuer area to distribute');
        for (const i of issuers) this.issuer(i, 'F0.2');
        if (to.kind === 'issuer') {
          const foreign = issuers.find((i) => i !== to.id);
          if (foreign !== undefined)
            refuse(
              'E_NO_ISSUER_PERMISSION',
              'F0.2',
              `issuer ${to.id} may not hold keys of ${foreign}'s area`,
            );
        } else if (r.keyName === 'area' || r.keyName === 'P') {
          refuse('E_NO_ISSUER_PERMISSION', 'F0.2', `the ${r.keyName} key goes only to its issuer`);
        } else if (isLoadingKey(r.keyName)) {
          for (const i of issuers) {
            const p = this.db
              .prepare(
                'SELECT 1 FROM permissions WHERE issuerId = ? AND recipientId = ? AND keyName = ? AND revokedAt IS NULL',
              )
              .get(i, to.id, r.keyName);
            if (!p)
              refuse(
                'E_NO_ISSUER_PERMISSION',
                'F0.4',
                `issuer ${i} has not permitted ${to.id} to hold loading key ${r.keyName}`,
              );
          }
        } else if (isMerchantKey(r.keyName)) {
          if (!to.agreement)
            refuse('E_NO_AGREEMENT', 'F0.5', `${to.id} has no merchant agreement for key ${r.keyName}`);
        }
        const entries: KeyEntry[] = [];
        const dist = this.db.prepare('UPDATE keys SET distributions = ? WHERE keyName = ? AND issuerId = ?');
        for (const i of issuers) {
          const row = this.keyRow(r.keyName, i);
          if (!row) refuse('E_NO_KEY', 'F0.2', `no key ${r.keyName} for ${i}'s area`);
          for (const node of row.nodes)
            entries.push({
              issuerId: i,
              node,
              version: row.version,
              master: bytesToHex(this.master(i, node)),
            });
          dist.run(
            JSON.stringify([
              ...row.distributions,
              { recipientId: to.id, at: this.clock.now(), channel: r.channel },
            ]),
            r.keyName,
            i,
          );
        }
        const keyIds = new Set([...to.keyIds, ...issuers.map((i) => `${r.keyName}@${i}`)]);
        this.db
          .prepare('UPDATE participants SET keyIds = ? WHERE id = ?')
          .run(JSON.stringify([...keyIds].sort()), to.id);
        const pkg = sealKeyPackage(
          { keyName: r.keyName, recipientId: to.id, entries },
          this.id,
          hexToBytes(to.boxKey),
          this.rng,
        );
        for (const e of entries) hexToBytes(e.master).fill(0);
        return pkg;
      }),
    );
  }

  keyRegistry(request: BrandRequest<'keyRegistry'>): Promise<Outcome<readonly KeyRegistryRow[]>> {
    const r = this.checked<BrandRequest<'keyRegistry'>>('keyRegistry', request);
    return Promise.resolve(
      this.run('keyRegistry', r, () =>
        (
          this.db.prepare('SELECT keyName, issuerId FROM keys ORDER BY issuerId, keyName').all() as {
            keyName: string;
            issuerId: string;
          }[]
        ).map((k) => this.keyRow(k.keyName, k.issuerId)!),
      ),
    );
  }

  participant(request: BrandRequest<'participant'>): Promise<Outcome<ParticipantView>> {
    const r = this.checked<BrandRequest<'participant'>>('participant', request);
    return Promise.resolve(this.run('participant', r, () => this.participant_(r.id, '—')));
  }

  customer(
    request: BrandRequest<'customer'>,
  ): Promise<Outcome<{ readonly cardId: string; readonly issuerId: string; readonly name: string }>> {
    const r = this.checked<BrandRequest<'customer'>>('customer', request);
    return Promise.resolve(
      this.run('customer', r, () => {
        const c = this.db
          .prepare('SELECT cardId, issuerId, name FROM customers WHERE cardId = ?')
          .get(r.cardId) as { cardId: string; issuerId: string; name: string } | undefined;
        if (!c) refuse('E_NOT_FOUND', '—', `no customer with card ${r.cardId}`);
        return c;
      }),
    );
  }

  noticeLoad(request: BrandRequest<'noticeLoad'>): Promise<Outcome<LoadNoticeRow>> {
    const r = this.checked<BrandRequest<'noticeLoad'>>('noticeLoad', request);
    return Promise.resolve(
      this.run(
        'noticeLoad',
        r,
        () => {
          this.issuer(r.issuerId, 'S13');
          this.db
            .prepare(
              'INSERT INTO load_notices (txId, issuerId, via, cardId, amount, channel, funding, at, periodId) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)',
            )
            .run(r.txId, r.issuerId, r.via, r.cardId, r.amount, r.channel, r.funding, this.clock.now());
          return this.loadNotice(r.txId);
        },
        r.txId,
      ),
    );
  }

  async beginProxyLoad(request: BrandRequest<'beginProxyLoad'>): Promise<Outcome<ProxyLoadRow>> {
    const r = this.checked<BrandRequest<'beginProxyLoad'>>('beginProxyLoad', request);
    const have = this.db.prepare('SELECT txId FROM proxy_loads WHERE txId = ?').get(r.txId);
    if (!have) {
      // S62-S63: the issuer decides (and may ask its institute); a refusal passes through unchanged.
      const ok = await this.peers.peer('issuer', r.issuerId).approveLoad({
        txId: r.txId,
        cardId: r.cardId,
        amount: r.amount,
        funding: 'bank',
        bankId: r.bankId,
        accountNo: r.accountNo,
        step: 'S63',
      });
      if (!ok.ok) return ok;
    }
    return this.run('beginProxyLoad', r, () => {
      if (!have)
        this.db
          .prepare(
            "INSERT INTO proxy_loads (txId, issuerId, cardId, amount, channel, at, status, notified, periodId, bankId, accountNo) VALUES (?, ?, ?, ?, 'E', ?, 'approved', 0, NULL, ?, ?)",
          )
          .run(r.txId, r.issuerId, r.cardId, r.amount, this.clock.now(), r.bankId, r.accountNo);
      const row = this.proxyLoad(r.txId);
      if (row.issuerId !== r.issuerId || row.cardId !== r.cardId || row.amount !== r.amount)
        refuse('E_TXID_CONFLICT', 'S62', `txId ${r.txId} was used for another proxy load`);
      return row;
    });
  }

  async recordProxyLoad(request: BrandRequest<'recordProxyLoad'>): Promise<Outcome<ProxyLoadRow>> {
    const r = this.checked<BrandRequest<'recordProxyLoad'>>('recordProxyLoad', request);
    const o = this.run(
      'recordProxyLoad',
      r,
      () => {
        const p = this.db
          .prepare(
            'SELECT issuerId, cardId, amount, status, bankId, accountNo FROM proxy_loads WHERE txId = ?',
          )
          .get(r.txId) as
          | {
              issuerId: string;
              cardId: string;
              amount: number;
              status: string;
              bankId: string;
              accountNo: string;
            }
          | undefined;
        if (!p) refuse('E_NOT_FOUND', 'S66', `no proxy load ${r.txId}`);
        if (p.status !== 'approved') refuse('E_BAD_STATE', 'S66', `proxy load ${r.txId} is ${p.status}`);
        // The brand holder learned the card result first (its key holder verified the MAC): it books.
        post(
          this.db,
          r.txId,
          [
            [`clearing:${p.bankId}`, p.amount],
            [`liab:float:${p.issuerId}`, -p.amount],
          ],
          this.clock.now(),
        );
        this.enqueue(
          { txId: r.txId, peer: p.bankId, topic: 'bank.payToPeer', clearingAmount: -p.amount },
          { txId: r.txId, accountNo: p.accountNo, amount: p.amount, peer: this.id, step: 'S66' },
        );
        this.enqueue(
          { txId: r.txId, peer: p.issuerId, topic: 'issuer.recordLoad', clearingAmount: 0 },
          {
            txId: r.txId,
            cardId: p.cardId,
            channel: 'E',
            amount: p.amount,
            via: this.id,
            funding: 'bank',
          },
        );
        this.db.prepare("UPDATE proxy_loads SET status = 'loaded' WHERE txId = ?").run(r.txId);
        return this.proxyLoad(r.txId);
      },
      r.txId,
    );
    await this.deliver(false);
    this.scheduleBatch();
    return o.ok ? { ok: true, result: this.proxyLoad(r.txId) } : o;
  }

  recordPayment(request: BrandRequest<'recordPayment'>): Promise<Outcome<PaymentRow>> {
    const r = this.checked<BrandRequest<'recordPayment'>>('recordPayment', request);
    return Promise.resolve(
      this.run(
        'recordPayment',
        r,
        () => {
          this.issuer(r.issuerId, 'S91');
          this.participant_(r.merchantId, 'S91');
          post(
            this.db,
            r.txId,
            [
              [`liab:float:${r.issuerId}`, r.amount],
              [`liab:merchant:${r.merchantId}`, -r.amount],
            ],
            this.clock.now(),
          );
          this.db
            .prepare(
              'INSERT INTO payments (txId, merchantId, issuerId, cardId, amount, at, terminalId, via, periodId) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)',
            )
            .run(r.txId, r.merchantId, r.issuerId, r.cardId, r.amount, this.clock.now(), r.terminalId, r.via);
          return this.payment(r.txId);
        },
        r.txId,
      ),
    );
  }

  payments(request: BrandRequest<'payments'>): Promise<Outcome<readonly PaymentRow[]>> {
    const r = this.checked<BrandRequest<'payments'>>('payments', request);
    return Promise.resolve(
      this.run('payments', r, () =>
        (this.db.prepare('SELECT txId FROM payments ORDER BY rowid').all() as { txId: string }[]).map((p) =>
          this.payment(p.txId),
        ),
      ),
    );
  }

  proxyLoads(request: BrandRequest<'proxyLoads'>): Promise<Outcome<readonly ProxyLoadRow[]>> {
    const r = this.checked<BrandRequest<'proxyLoads'>>('proxyLoads', request);
    return Promise.resolve(
      this.run('proxyLoads', r, () =>
        (this.db.prepare('SELECT txId FROM proxy_loads ORDER BY rowid').all() as { txId: string }[]).map(
          (p) => this.proxyLoad(p.txId),
        ),
      ),
    );
  }

  loadNotices(request: BrandRequest<'loadNotices'>): Promise<Outcome<readonly LoadNoticeRow[]>> {
    const r = this.checked<BrandRequest<'loadNotices'>>('loadNotices', request);
    return Promise.resolve(
      this.run('loadNotices', r, () =>
        (this.db.prepare('SELECT txId FROM load_notices ORDER BY rowid').all() as { txId: string }[]).map(
          (p) => this.loadNotice(p.txId),
        ),
      ),
    );
  }

  async runAccounting(request: BrandRequest<'runAccounting'>): Promise<Outcome<PeriodReport>> {
    const r = this.checked<BrandRequest<'runAccounting'>>('runAccounting', request);
    const o = this.run('runAccounting', r, () =>
      runAccounting(this.db, {
        self: this.id,
        periodId: r.periodId,
        now: this.clock.now(),
        kindOf: (id) => this.participantRow(id)?.kind,
        enqueue: (item, payload) => this.enqueue(item, payload),
      }),
    );
    await this.deliver(false);
    return o;
  }

  period(request: BrandRequest<'period'>): Promise<Outcome<PeriodReport>> {
    const r = this.checked<BrandRequest<'period'>>('period', request);
    return Promise.resolve(
      this.run('period', r, () => {
        const rows = this.db
          .prepare(
            'SELECT participantId, role, charge, payable, fees, net FROM periods WHERE periodId = ? ORDER BY rowid',
          )
          .all(r.periodId) as PeriodReport['positions'][number][];
        if (rows.length === 0) refuse('E_NOT_FOUND', 'F7', `no period ${r.periodId}`);
        return { periodId: r.periodId, positions: rows, sum: rows.reduce((s, x) => s + x.net, 0) };
      }),
    );
  }

  async flushNotices(
    request: BrandRequest<'flushNotices'> = {},
  ): Promise<Outcome<{ readonly delivered: number }>> {
    this.checked<BrandRequest<'flushNotices'>>('flushNotices', request);
    return { ok: true, result: { delivered: await this.deliver(true) } };
  }

  /** The brand holder's key holder [145]: every key of the brand (issuance, proxy loading, cybershops). */
  keyHolder(random: RandomBytes): LocalKeyHolder {
    const holder = new LocalKeyHolder(random);
    for (const k of this.db.prepare('SELECT keyName, issuerId FROM keys').all() as {
      keyName: string;
      issuerId: string;
    }[]) {
      const row = this.keyRow(k.keyName, k.issuerId)!;
      for (const node of row.nodes)
        holder.set(BRAND_SYSTEM_CODE, node, { version: row.version, master: this.master(k.issuerId, node) });
    }
    return holder;
  }

  /** Every master key (for the internet hook's registry; in-process only, never served). */
  masters(): Uint8Array[] {
    return this.secrets
      .names()
      .filter((n) => n.startsWith('master:'))
      .map((n) => this.secrets.get(n)!);
  }

  private master(issuerId: string, node: number): Uint8Array {
    const m = this.secrets.get(`master:${issuerId}:${node}`);
    if (!m) throw new RangeError(`no master for node ${node.toString(16)} of ${issuerId}`);
    return m;
  }

  private generate(name: string, issuerId: string, nodes: readonly number[]): void {
    for (const node of nodes)
      this.secrets.put(`master:${issuerId}:${node}`, this.rng.bytes(MASTER_KEY_BYTES));
    this.db
      .prepare('INSERT INTO keys (keyName, issuerId, nodes, version, distributions) VALUES (?, ?, ?, 1, ?)')
      .run(name, issuerId, JSON.stringify(nodes), '[]');
  }

  private keyRow(name: string, issuerId: string): KeyRegistryRow | undefined {
    const k = this.db
      .prepare(
        'SELECT keyName, issuerId, nodes, version, distributions FROM keys WHERE keyName = ? AND issuerId = ?',
      )
      .get(name, issuerId) as
      | { keyName: string; issuerId: string; nodes: string; version: number; distributions: string }
      | undefined;
    if (!k) return undefined;
    return {
      ...k,
      nodes: JSON.parse(k.nodes) as number[],
      distributions: JSON.parse(k.distributions) as KeyRegistryRow['distributions'],
    };
  }

  private issuerIds(): string[] {
    return (
      this.db.prepare("SELECT id FROM participants WHERE kind = 'issuer' ORDER BY areaCode").all() as {
        id: string;
      }[]
    ).map((x) => x.id);
  }

  private participantRow(id: string): ParticipantRow | undefined {
    return this.db.prepare('SELECT * FROM participants WHERE id = ?').get(id) as ParticipantRow | undefined;
  }

  private participantView(id: string): ParticipantView {
    const p = this.participantRow(id)!;
    return { ...p, keyIds: JSON.parse(p.keyIds) as string[] };
  }

  private participant_(id: string, step: string): ParticipantView {
    if (!this.participantRow(id))
      refuse('E_NOT_FOUND', step, `${id} is not a participant of brand ${this.id}`);
    return this.participantView(id);
  }

  private issuer(id: string, step: string): ParticipantView {
    const p = this.participant_(id, step);
    if (p.kind !== 'issuer') refuse('E_NOT_FOUND', step, `${id} is a ${p.kind}, not an issuer`);
    return p;
  }

  private payment(txId: string): PaymentRow {
    return this.db.prepare('SELECT * FROM payments WHERE txId = ?').get(txId) as PaymentRow;
  }

  private proxyLoad(txId: string): ProxyLoadRow {
    const p = this.db
      .prepare(
        'SELECT txId, issuerId, cardId, amount, channel, at, status, notified, periodId FROM proxy_loads WHERE txId = ?',
      )
      .get(txId) as (Omit<ProxyLoadRow, 'notified'> & { notified: number }) | undefined;
    if (!p) refuse('E_NOT_FOUND', '—', `no proxy load ${txId}`);
    return { ...p, notified: p.notified === 1 };
  }

  private loadNotice(txId: string): LoadNoticeRow {
    return this.db.prepare('SELECT * FROM load_notices WHERE txId = ?').get(txId) as LoadNoticeRow;
  }

  /** Delivers the outbox: money transfers always; notices too unless batched (`all` flushes the batch). */
  private async deliver(all: boolean): Promise<number> {
    const batch = setting(this.db, 'notification') === 'batch';
    const rows = undelivered(this.db).filter(
      (x) => all || !batch || !x.topic.startsWith('issuer.recordLoad'),
    );
    return deliverRows(
      rows,
      (row) => this.send(row),
      (seq) => {
        this.delivered(seq);
        const t = rows.find((x) => x.seq === seq)!;
        if (t.topic === 'issuer.recordLoad')
          this.db.prepare('UPDATE proxy_loads SET notified = 1 WHERE txId = ?').run(t.txId);
      },
    );
  }

  private send(row: OutboxRow): Promise<{ readonly ok: boolean }> {
    const payload = JSON.parse(row.payload) as Record<string, unknown>;
    switch (row.topic) {
      case 'bank.payToPeer':
        return this.peers.peer('bank', row.peer).payToPeer(payload as BankRequest<'payToPeer'>);
      case 'issuer.recordLoad':
        return this.peers.peer('issuer', row.peer).recordLoad(payload as never);
      case 'issuer.settle':
        return this.peers.peer('issuer', row.peer).settle(payload as never);
      case 'service-center.settle':
        return this.peers.peer('service-center', row.peer).settle(payload as never);
      case 'cybershop.settle':
        return this.peers.peer('cybershop', row.peer).settle(payload as never);
      default:
        return Promise.resolve({ ok: false });
    }
  }

  /** In batch mode, a batch runs at the next interval boundary while notices wait (C4 in flight). */
  private scheduleBatch(): void {
    if (setting(this.db, 'notification') !== 'batch') return;
    if (undelivered(this.db).length === 0) return;
    this.batch.ensure(Number(setting(this.db, 'batchOrigin') ?? this.clock.now()));
  }
}
