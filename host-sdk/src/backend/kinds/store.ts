// The `store` back-end of seed 002 (flows.md 4.1-4.2): the store device [4] (network server [40], mall
// [41], member store [42]). It prices the commodity (ST1-ST4), issues the order number and the BILL
// signed with SIG1 under its Ed25519 key K_SHOP,S (certified by the bureau, role store), accepts the
// SMD's ACN once SIG3 verifies (clearing:<smd> → rev:sales), and answers the completion request with a
// receipt signed with SIG4, sent to the client and/or the SMD by the receipt route; the download
// unlocks only once the client confirms the verified receipt. A mall issues order numbers and signs
// SIG1 for its member stores (it is then the merchant of record).
import { certifyWithBureau } from './bureau';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { canonicalJson } from '../canonical-json';
import { post } from '../ledger';
import { accepted, refuse, type Outcome } from '../outcome';
import { amount, hex, int, list, object, oneOf, optional, str, txId, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';
import { billHash, encodeBill, itemsDigest, type Bill } from '../../settlement/bill';
import { sign, verifySignature } from '../../settlement/signatures';
import { acnHash, type Acn, type Receipt } from './smd';

const peerId = str({ max: 24, pattern: /^[\w.-]+$/, describe: 'a back-end id of 1-24 characters' });
const orderNo = str({
  min: 8,
  max: 8,
  pattern: /^[\x21-\x7e]{8}$/,
  describe: '8 printable ASCII characters',
});
const item = object({
  sku: str({ max: 32, pattern: /^[\w-]+$/, describe: 'a SKU' }),
  name: str({ max: 64 }),
  price: amount,
  qty: int(1, 1000),
});
const acnSchema = object({
  settlementId: txId,
  orderNo,
  amount,
  billHash: hex(32),
  newBalance: int(0, 0xffffffff),
  completedAt: int(),
});

export const STORE_API = {
  auditView: object({}),
  setUp: object({
    bureauId: peerId,
    /** Two characters that start every order number this store (or mall) issues. */
    orderPrefix: str({ min: 2, max: 2, pattern: /^[A-Z0-9]{2}$/, describe: '2 capital letters or digits' }),
    mall: optional(oneOf(['yes', 'no'] as const)),
  }),
  identity: object({}),
  /** A mall registers a member store it bills for. */
  addMember: object({ storeId: peerId }),
  /** ST3 (Fig. 13): the estimate of the chosen commodity. */
  estimate: object({ items: list(item, 32) }),
  /** ST5 (4): the order number and the BILL with SIG1 (a mall: for `memberStoreId`). */
  bill: object({
    items: list(item, 32),
    smdId: peerId,
    encoding: oneOf(['json', 'binary'] as const),
    memberStoreId: optional(peerId),
    /** How long the BILL is valid (default 900 s). */
    validFor: optional(int(1, 86_400)),
  }),
  /** (6)-(8): the SMD's ACN with SIG3. */
  acceptAcn: object({ acn: acnSchema, sig3: hex(64), certificate: hex() }),
  /** (9)-(11): the client asks to complete; the receipt with SIG4 goes by `route`. */
  complete: object({ orderNo, route: oneOf(['both', 'client', 'smd'] as const) }),
  /** The client verified SIG4: the download unlocks. */
  confirmReceipt: object({ orderNo }),
  download: object({ orderNo }),
  /** ST6 / ST16: the user declined. */
  abandon: object({ orderNo }),
  order: object({ orderNo }),
} as const;

export type StoreRequest<M extends keyof typeof STORE_API> = Infer<(typeof STORE_API)[M]>;

export interface BilledOrder {
  readonly orderNo: string;
  readonly bill: string;
  readonly encoding: 'json' | 'binary';
  readonly billHash: string;
  readonly sig1: string;
  readonly certificate: string;
  readonly amount: number;
}

export interface OrderView {
  readonly orderNo: string;
  readonly storeId: string;
  readonly smdId: string;
  readonly amount: number;
  readonly itemsDigest: string;
  readonly billHash: string;
  readonly status: 'billed' | 'paid' | 'receipted' | 'abandoned';
  readonly acn: Acn | null;
  readonly receipt: Receipt | null;
  readonly downloadUnlocked: boolean;
}

export interface StoreBackend extends Backend {
  setUp(r: StoreRequest<'setUp'>): Promise<Outcome<{ readonly certificate: string }>>;
  identity(
    r: StoreRequest<'identity'>,
  ): Promise<Outcome<{ readonly certificate: string; readonly root: string }>>;
  addMember(r: StoreRequest<'addMember'>): Promise<Outcome<{ readonly storeId: string }>>;
  estimate(
    r: StoreRequest<'estimate'>,
  ): Promise<Outcome<{ readonly amount: number; readonly itemsDigest: string }>>;
  bill(r: StoreRequest<'bill'>): Promise<Outcome<BilledOrder>>;
  acceptAcn(r: StoreRequest<'acceptAcn'>): Promise<Outcome<OrderView>>;
  complete(r: StoreRequest<'complete'>): Promise<
    Outcome<{
      readonly receipt: Receipt;
      readonly sig4: string;
      readonly certificate: string;
      readonly sentToSmd: boolean;
    }>
  >;
  confirmReceipt(r: StoreRequest<'confirmReceipt'>): Promise<Outcome<OrderView>>;
  download(
    r: StoreRequest<'download'>,
  ): Promise<Outcome<{ readonly orderNo: string; readonly content: string }>>;
  abandon(r: StoreRequest<'abandon'>): Promise<Outcome<OrderView>>;
  order(r: StoreRequest<'order'>): Promise<Outcome<OrderView>>;
}

declare module '../backend' {
  interface KindInterfaces {
    store: StoreBackend;
  }
}

const MIGRATIONS = [
  `CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE members (storeId TEXT PRIMARY KEY);
   CREATE TABLE orders (orderNo TEXT PRIMARY KEY, storeId TEXT NOT NULL, smdId TEXT NOT NULL, items TEXT NOT NULL,
     itemsDigest TEXT NOT NULL, amount INTEGER NOT NULL, bill TEXT NOT NULL, encoding TEXT NOT NULL, billHash TEXT NOT NULL,
     sig1 TEXT NOT NULL, status TEXT NOT NULL, acn TEXT, createdAt INTEGER NOT NULL);
   CREATE TABLE receipts (orderNo TEXT PRIMARY KEY REFERENCES orders, receipt TEXT NOT NULL, sig4 TEXT NOT NULL,
     downloadUnlocked INTEGER NOT NULL DEFAULT 0);`,
];

const SIGNING_KEY = 'shop-signing-key';
const DEFAULT_VALIDITY_S = 900;

type OrderRow = Omit<OrderView, 'acn' | 'receipt' | 'downloadUnlocked'> & { acn: string | null };

export class SqliteStore extends SqliteBackend implements StoreBackend {
  readonly kind = 'store';

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, STORE_API);
  }

  async setUp(request: StoreRequest<'setUp'>): Promise<Outcome<{ readonly certificate: string }>> {
    const r = this.checked<StoreRequest<'setUp'>>('setUp', request);
    const key = this.rng.bytes(32);
    const cert = await certifyWithBureau(this.peers, r.bureauId, this.id, 'store', key);
    if (!cert.ok) return cert;
    return this.run('setUp', r, () => {
      if (this.setting('certificate')) refuse('E_BAD_STATE', '—', `store ${this.id} is already set up`);
      this.secrets.put(SIGNING_KEY, key);
      key.fill(0);
      for (const [k, v] of Object.entries({
        orderPrefix: r.orderPrefix,
        mall: r.mall ?? 'no',
        serial: '0',
        root: cert.result.root,
        certificate: cert.result.certificate,
      }))
        this.db.prepare('INSERT INTO settings (name, value) VALUES (?, ?)').run(k, v);
      return { certificate: cert.result.certificate };
    });
  }

  identity(
    request: StoreRequest<'identity'>,
  ): Promise<Outcome<{ readonly certificate: string; readonly root: string }>> {
    const r = this.checked<StoreRequest<'identity'>>('identity', request);
    return Promise.resolve(
      this.run('identity', r, () => ({ certificate: this.must('certificate'), root: this.must('root') })),
    );
  }

  addMember(request: StoreRequest<'addMember'>): Promise<Outcome<{ readonly storeId: string }>> {
    const r = this.checked<StoreRequest<'addMember'>>('addMember', request);
    return Promise.resolve(
      this.run('addMember', r, () => {
        if (this.must('mall') !== 'yes') refuse('E_BAD_STATE', '—', `${this.id} is not a mall`);
        this.db.prepare('INSERT INTO members (storeId) VALUES (?) ON CONFLICT DO NOTHING').run(r.storeId);
        return { storeId: r.storeId };
      }),
    );
  }

  estimate(
    request: StoreRequest<'estimate'>,
  ): Promise<Outcome<{ readonly amount: number; readonly itemsDigest: string }>> {
    const r = this.checked<StoreRequest<'estimate'>>('estimate', request);
    return Promise.resolve(this.run('estimate', r, () => priced(r.items)));
  }

  bill(request: StoreRequest<'bill'>): Promise<Outcome<BilledOrder>> {
    const r = this.checked<StoreRequest<'bill'>>('bill', request);
    return Promise.resolve(
      this.run('bill', r, () => {
        if (r.memberStoreId !== undefined) {
          if (this.must('mall') !== 'yes') refuse('E_BAD_STATE', 'ST5', `${this.id} is not a mall`);
          if (!this.db.prepare('SELECT 1 FROM members WHERE storeId = ?').get(r.memberStoreId))
            refuse('E_NOT_FOUND', 'ST5', `${r.memberStoreId} is not a member store of ${this.id}`);
        }
        const { amount: total, itemsDigest: digest } = priced(r.items);
        const serial = Number(this.must('serial')) + 1;
        if (serial > 999_999) refuse('E_BAD_STATE', 'ST5', 'order numbers are exhausted');
        this.db.prepare("UPDATE settings SET value = ? WHERE name = 'serial'").run(String(serial));
        const no = `${this.must('orderPrefix')}${String(serial).padStart(6, '0')}`;
        const now = Math.floor(this.clock.now() / 1000);
        const bill: Bill = {
          v: 1,
          storeId: r.memberStoreId ?? this.id,
          ...(r.memberStoreId !== undefined ? { mallId: this.id } : {}),
          orderNo: no,
          amount: total,
          currency: 'JPY',
          itemsDigest: digest,
          issuedAt: now,
          expiresAt: now + (r.validFor ?? DEFAULT_VALIDITY_S),
          smdId: r.smdId,
        };
        const bytes = encodeBill(bill, r.encoding);
        const hash = bytesToHex(billHash(bytes));
        const key = this.signingKey();
        const sig1 = sign('SIG1', { billHash: hash, encoding: r.encoding }, key);
        key.fill(0);
        this.db
          .prepare(
            "INSERT INTO orders (orderNo, storeId, smdId, items, itemsDigest, amount, bill, encoding, billHash, sig1, status, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'billed', ?)",
          )
          .run(
            no,
            bill.storeId,
            r.smdId,
            canonicalJson(r.items),
            digest,
            total,
            bytesToHex(bytes),
            r.encoding,
            hash,
            sig1,
            this.clock.now(),
          );
        return {
          orderNo: no,
          bill: bytesToHex(bytes),
          encoding: r.encoding,
          billHash: hash,
          sig1,
          certificate: this.must('certificate'),
          amount: total,
        };
      }),
    );
  }

  acceptAcn(request: StoreRequest<'acceptAcn'>): Promise<Outcome<OrderView>> {
    const r = this.checked<StoreRequest<'acceptAcn'>>('acceptAcn', request);
    return Promise.resolve(
      this.run('acceptAcn', r, () => {
        const o = this.orderRow(r.acn.orderNo, '(7)');
        if (o.status !== 'billed') {
          if (o.acn && JSON.parse(o.acn) && acnHash(JSON.parse(o.acn) as Acn) === acnHash(r.acn))
            return this.view(o.orderNo);
          refuse('E_BAD_STATE', '(7)', `order ${o.orderNo} is ${o.status}`);
        }
        const bad = verifySignature('SIG3', r.acn, r.sig3, {
          certificate: r.certificate,
          roots: [hexToBytes(this.must('root'))],
          role: 'smd',
          subjectId: o.smdId,
          now: this.clock.now(),
        });
        if (bad) refuse('E_BAD_STATE', '(7)', `SIG3: ${bad}`);
        if (r.acn.amount !== o.amount || r.acn.billHash !== o.billHash)
          refuse(
            'E_AMOUNT_MISMATCH',
            '(7)',
            `the ACN {${r.acn.amount}, ${r.acn.billHash}} is not the BILL of ${o.orderNo}`,
          );
        post(
          this.db,
          r.acn.settlementId,
          [
            [`clearing:${o.smdId}`, o.amount],
            ['rev:sales', -o.amount],
          ],
          this.clock.now(),
        );
        this.db
          .prepare("UPDATE orders SET status = 'paid', acn = ? WHERE orderNo = ?")
          .run(canonicalJson(r.acn), o.orderNo);
        return this.view(o.orderNo);
      }),
    );
  }

  async complete(request: StoreRequest<'complete'>): Promise<
    Outcome<{
      readonly receipt: Receipt;
      readonly sig4: string;
      readonly certificate: string;
      readonly sentToSmd: boolean;
    }>
  > {
    const r = this.checked<StoreRequest<'complete'>>('complete', request);
    const made = this.run('complete', r, () => {
      const o = this.orderRow(r.orderNo, '(9)');
      const have = this.db.prepare('SELECT receipt, sig4 FROM receipts WHERE orderNo = ?').get(r.orderNo) as
        { receipt: string; sig4: string } | undefined;
      if (have) return { receipt: JSON.parse(have.receipt) as Receipt, sig4: have.sig4, smdId: o.smdId };
      if (o.status !== 'paid' || !o.acn)
        refuse('E_BAD_STATE', '(9)', `order ${o.orderNo} is ${o.status}, not paid`);
      const receipt: Receipt = {
        orderNo: o.orderNo,
        acnHash: acnHash(JSON.parse(o.acn) as Acn),
        storeId: this.id,
        issuedAt: Math.floor(this.clock.now() / 1000),
      };
      const key = this.signingKey();
      const sig4 = sign('SIG4', receipt, key);
      key.fill(0);
      this.db
        .prepare('INSERT INTO receipts (orderNo, receipt, sig4) VALUES (?, ?, ?)')
        .run(o.orderNo, canonicalJson(receipt), sig4);
      this.db.prepare("UPDATE orders SET status = 'receipted' WHERE orderNo = ?").run(o.orderNo);
      return { receipt, sig4, smdId: o.smdId };
    });
    if (!made.ok) return made;
    const certificate = this.must('certificate');
    let sentToSmd = false;
    if (r.route !== 'client') {
      const sent = await this.peers
        .peer('smd', made.result.smdId)
        .acceptReceipt({ receipt: made.result.receipt, sig4: made.result.sig4, certificate });
      if (!sent.ok) return sent;
      sentToSmd = true;
    }
    return accepted({ receipt: made.result.receipt, sig4: made.result.sig4, certificate, sentToSmd });
  }

  confirmReceipt(request: StoreRequest<'confirmReceipt'>): Promise<Outcome<OrderView>> {
    const r = this.checked<StoreRequest<'confirmReceipt'>>('confirmReceipt', request);
    return Promise.resolve(
      this.run('confirmReceipt', r, () => {
        const o = this.orderRow(r.orderNo, '(11)');
        if (o.status !== 'receipted') refuse('E_BAD_STATE', '(11)', `order ${o.orderNo} has no receipt`);
        this.db.prepare('UPDATE receipts SET downloadUnlocked = 1 WHERE orderNo = ?').run(r.orderNo);
        return this.view(r.orderNo);
      }),
    );
  }

  download(
    request: StoreRequest<'download'>,
  ): Promise<Outcome<{ readonly orderNo: string; readonly content: string }>> {
    const r = this.checked<StoreRequest<'download'>>('download', request);
    return Promise.resolve(
      this.run('download', r, () => {
        const v = this.view(this.orderRow(r.orderNo, '(11)').orderNo);
        if (!v.downloadUnlocked)
          refuse('E_BAD_STATE', '(11)', `the download of ${r.orderNo} is locked until the receipt`);
        return { orderNo: r.orderNo, content: `items ${v.itemsDigest}` };
      }),
    );
  }

  abandon(request: StoreRequest<'abandon'>): Promise<Outcome<OrderView>> {
    const r = this.checked<StoreRequest<'abandon'>>('abandon', request);
    return Promise.resolve(
      this.run('abandon', r, () => {
        const o = this.orderRow(r.orderNo, 'ST6');
        if (o.status !== 'billed') refuse('E_BAD_STATE', 'ST6', `order ${o.orderNo} is ${o.status}`);
        this.db.prepare("UPDATE orders SET status = 'abandoned' WHERE orderNo = ?").run(o.orderNo);
        return this.view(o.orderNo);
      }),
    );
  }

  order(request: StoreRequest<'order'>): Promise<Outcome<OrderView>> {
    const r = this.checked<StoreRequest<'order'>>('order', request);
    return Promise.resolve(this.run('order', r, () => this.view(this.orderRow(r.orderNo, '—').orderNo)));
  }

  private setting(name: string): string | undefined {
    return (
      this.db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined
    )?.value;
  }

  private must(name: string): string {
    const v = this.setting(name);
    if (v === undefined) refuse('E_NOT_READY', '—', `store ${this.id} is not set up (no ${name})`);
    return v;
  }

  private signingKey(): Uint8Array {
    const k = this.secrets.get(SIGNING_KEY);
    if (!k) refuse('E_NOT_READY', '—', `store ${this.id} has no signing key`);
    return k;
  }

  private orderRow(no: string, step: string): OrderRow {
    const o = this.db
      .prepare(
        'SELECT orderNo, storeId, smdId, amount, itemsDigest, billHash, status, acn FROM orders WHERE orderNo = ?',
      )
      .get(no) as OrderRow | undefined;
    if (!o) refuse('E_NOT_FOUND', step, `no order ${no} at ${this.id}`);
    return o;
  }

  private view(no: string): OrderView {
    const o = this.orderRow(no, '—');
    const rc = this.db.prepare('SELECT receipt, downloadUnlocked FROM receipts WHERE orderNo = ?').get(no) as
      { receipt: string; downloadUnlocked: number } | undefined;
    return {
      ...o,
      acn: o.acn ? (JSON.parse(o.acn) as Acn) : null,
      receipt: rc ? (JSON.parse(rc.receipt) as Receipt) : null,
      downloadUnlocked: rc?.downloadUnlocked === 1,
    };
  }
}

function priced(items: readonly { readonly sku: string; readonly price: number; readonly qty: number }[]): {
  amount: number;
  itemsDigest: string;
} {
  if (items.length === 0) refuse('E_BAD_STATE', 'ST3', 'an estimate needs at least one item');
  const total = items.reduce((t, i) => t + i.price * i.qty, 0);
  if (total > 0xffffffff) refuse('E_BAD_STATE', 'ST3', `the total ${total} is above 2^32 - 1`);
  return { amount: total, itemsDigest: itemsDigest(items) };
}
