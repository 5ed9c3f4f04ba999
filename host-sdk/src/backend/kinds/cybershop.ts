// The `cybershop` back-end of seed 003 (flows.md 5.1, F6): sales management and the inventory/sales DB
// [191/192] behind a web server [193]. It has no key tables at all: the brand holder's key holder
// [145] verifies the card and authors the debit; the cybershop only approves the sale (S135-S136:
// E_SALES_NOT_APPROVED unless the order, card, amount and stock agree) and updates [192] once the
// brand holder reports the MAC-verified debit (S139-S140). At accounting, the brand holder pays it
// through clearing:<brand> against rev:sales.
import { post } from '../ledger';
import { refuse, type Outcome } from '../outcome';
import { amount, int, list, object, str, txId, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';
import { cardId, peerId, setSetting, setting, signedAmount } from './brand-common';

const sku = str({ max: 32, pattern: /^[\w-]+$/, describe: 'a SKU (letters, digits, _ or -)' });
const orderId = str({ max: 32, pattern: /^[\w-]+$/, describe: 'an order ID (letters, digits, _ or -)' });

export const CYBERSHOP_API = {
  auditView: object({}),
  setUp: object({ brandId: peerId }),
  addStock: object({ sku, name: str({ max: 128 }), price: amount, stock: int(1, 1_000_000) }),
  inventory: object({}),
  /** S121-S129: the shopper's order from the screen [193]. */
  placeOrder: object({ orderId, cardId, items: list(object({ sku, qty: int(1, 1000) }), 32) }),
  /** S135-S136: the sales approval request {cybershopId, orderId, cardId, amount}. */
  approveSale: object({ cybershopId: peerId, orderId, cardId, amount }),
  /** S139-S140: the brand holder reports the MAC-verified debit; [192] is updated. */
  completeSale: object({ orderId, txId }),
  orders: object({}),
  settle: object({ txId, periodId: str({ max: 32 }), amount: signedAmount }),
} as const;

export type CybershopRequest<M extends keyof typeof CYBERSHOP_API> = Infer<(typeof CYBERSHOP_API)[M]>;

export interface InventoryRow {
  readonly sku: string;
  readonly name: string;
  readonly price: number;
  readonly stock: number;
}

export interface OrderRow {
  readonly orderId: string;
  readonly cardId: string;
  readonly items: readonly { readonly sku: string; readonly qty: number }[];
  readonly amount: number;
  readonly status: 'placed' | 'approved' | 'paid';
  readonly txId: string | null;
}

export interface CybershopBackend extends Backend {
  setUp(r: CybershopRequest<'setUp'>): Promise<Outcome<{ readonly brandId: string }>>;
  addStock(r: CybershopRequest<'addStock'>): Promise<Outcome<InventoryRow>>;
  inventory(r: CybershopRequest<'inventory'>): Promise<Outcome<readonly InventoryRow[]>>;
  placeOrder(r: CybershopRequest<'placeOrder'>): Promise<Outcome<OrderRow>>;
  approveSale(r: CybershopRequest<'approveSale'>): Promise<Outcome<OrderRow>>;
  completeSale(r: CybershopRequest<'completeSale'>): Promise<Outcome<OrderRow>>;
  orders(r: CybershopRequest<'orders'>): Promise<Outcome<readonly OrderRow[]>>;
  settle(r: CybershopRequest<'settle'>): Promise<Outcome<{ readonly received: number }>>;
}

declare module '../backend' {
  interface KindInterfaces {
    cybershop: CybershopBackend;
  }
}

const MIGRATIONS = [
  `CREATE TABLE inventory (sku TEXT PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL, stock INTEGER NOT NULL);
   CREATE TABLE orders (orderId TEXT PRIMARY KEY, cardId TEXT NOT NULL, items TEXT NOT NULL, amount INTEGER NOT NULL,
     status TEXT NOT NULL, txId TEXT);
   CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
];

export class SqliteCybershop extends SqliteBackend implements CybershopBackend {
  readonly kind = 'cybershop';

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, CYBERSHOP_API);
  }

  setUp(request: CybershopRequest<'setUp'>): Promise<Outcome<{ readonly brandId: string }>> {
    const r = this.checked<CybershopRequest<'setUp'>>('setUp', request);
    return Promise.resolve(
      this.run('setUp', r, () => {
        setSetting(this.db, 'brandId', r.brandId);
        return { brandId: r.brandId };
      }),
    );
  }

  addStock(request: CybershopRequest<'addStock'>): Promise<Outcome<InventoryRow>> {
    const r = this.checked<CybershopRequest<'addStock'>>('addStock', request);
    return Promise.resolve(
      this.run('addStock', r, () => {
        const have = this.item(r.sku);
        if (have && (have.price !== r.price || have.name !== r.name))
          refuse('E_BAD_STATE', '—', `${r.sku} is listed as ${have.name} at ${have.price}`);
        this.db
          .prepare(
            'INSERT INTO inventory (sku, name, price, stock) VALUES (?, ?, ?, ?) ON CONFLICT (sku) DO UPDATE SET stock = stock + excluded.stock',
          )
          .run(r.sku, r.name, r.price, r.stock);
        return this.item(r.sku)!;
      }),
    );
  }

  inventory(request: CybershopRequest<'inventory'>): Promise<Outcome<readonly InventoryRow[]>> {
    const r = this.checked<CybershopRequest<'inventory'>>('inventory', request);
    return Promise.resolve(
      this.run(
        'inventory',
        r,
        () => this.db.prepare('SELECT * FROM inventory ORDER BY sku').all() as InventoryRow[],
      ),
    );
  }

  placeOrder(request: CybershopRequest<'placeOrder'>): Promise<Outcome<OrderRow>> {
    const r = this.checked<CybershopRequest<'placeOrder'>>('placeOrder', request);
    return Promise.resolve(
      this.run('placeOrder', r, () => {
        if (this.order(r.orderId)) refuse('E_DUPLICATE', 'S128', `order ${r.orderId} exists`);
        if (r.items.length === 0) refuse('E_BAD_STATE', 'S128', 'an order needs at least one item');
        let total = 0;
        for (const i of r.items) {
          const it = this.item(i.sku);
          if (!it) refuse('E_NOT_FOUND', 'S128', `no item ${i.sku}`);
          total += it.price * i.qty;
        }
        this.db
          .prepare(
            "INSERT INTO orders (orderId, cardId, items, amount, status, txId) VALUES (?, ?, ?, ?, 'placed', NULL)",
          )
          .run(r.orderId, r.cardId, JSON.stringify(r.items), total);
        return this.order(r.orderId)!;
      }),
    );
  }

  approveSale(request: CybershopRequest<'approveSale'>): Promise<Outcome<OrderRow>> {
    const r = this.checked<CybershopRequest<'approveSale'>>('approveSale', request);
    return Promise.resolve(
      this.run('approveSale', r, () => {
        const no = (why: string): never => refuse('E_SALES_NOT_APPROVED', 'S136', why);
        if (r.cybershopId !== this.id) no(`the request names cybershop ${r.cybershopId}, not ${this.id}`);
        const o = this.order(r.orderId);
        if (!o) return no(`no order ${r.orderId}`);
        if (o.status === 'approved' && o.cardId === r.cardId && o.amount === r.amount) return o;
        if (o.status !== 'placed') no(`order ${r.orderId} is ${o.status}`);
        if (o.cardId !== r.cardId) no(`order ${r.orderId} was placed for another card`);
        if (o.amount !== r.amount) no(`order ${r.orderId} amounts to ${o.amount}, not ${r.amount}`);
        for (const i of o.items) {
          const it = this.item(i.sku)!;
          if (it.stock < i.qty) no(`${i.sku}: ${it.stock} in stock, ${i.qty} ordered`);
        }
        this.db.prepare("UPDATE orders SET status = 'approved' WHERE orderId = ?").run(r.orderId);
        return this.order(r.orderId)!;
      }),
    );
  }

  completeSale(request: CybershopRequest<'completeSale'>): Promise<Outcome<OrderRow>> {
    const r = this.checked<CybershopRequest<'completeSale'>>('completeSale', request);
    return Promise.resolve(
      this.run('completeSale', r, () => {
        const o = this.order(r.orderId);
        if (!o) refuse('E_NOT_FOUND', 'S139', `no order ${r.orderId}`);
        if (o.status === 'paid' && o.txId === r.txId) return o;
        if (o.status !== 'approved') refuse('E_BAD_STATE', 'S139', `order ${r.orderId} is ${o.status}`);
        const take = this.db.prepare('UPDATE inventory SET stock = stock - ? WHERE sku = ? AND stock >= ?');
        for (const i of o.items)
          if (take.run(i.qty, i.sku, i.qty).changes !== 1) refuse('E_BAD_STATE', 'S140', `${i.sku} ran out`);
        this.db
          .prepare("UPDATE orders SET status = 'paid', txId = ? WHERE orderId = ?")
          .run(r.txId, r.orderId);
        return this.order(r.orderId)!;
      }),
    );
  }

  orders(request: CybershopRequest<'orders'>): Promise<Outcome<readonly OrderRow[]>> {
    const r = this.checked<CybershopRequest<'orders'>>('orders', request);
    return Promise.resolve(
      this.run('orders', r, () =>
        (this.db.prepare('SELECT orderId FROM orders ORDER BY rowid').all() as { orderId: string }[]).map(
          (o) => this.order(o.orderId)!,
        ),
      ),
    );
  }

  settle(request: CybershopRequest<'settle'>): Promise<Outcome<{ readonly received: number }>> {
    const r = this.checked<CybershopRequest<'settle'>>('settle', request);
    return Promise.resolve(
      this.run(
        'settle',
        r,
        () => {
          const brand = setting(this.db, 'brandId');
          if (brand === undefined) refuse('E_NOT_READY', 'F7', `cybershop ${this.id} is not set up`);
          if (r.amount <= 0) refuse('E_BAD_STATE', 'F7', 'the brand holder pays a positive amount');
          post(
            this.db,
            r.txId,
            [
              [`clearing:${brand}`, r.amount],
              ['rev:sales', -r.amount],
            ],
            this.clock.now(),
          );
          return { received: r.amount };
        },
        r.txId,
      ),
    );
  }

  /** Every table and row of the store, for the scan that shows a cybershop holds no keys (in-process only). */
  storeContents(): { readonly tables: readonly string[]; readonly rows: string } {
    const tables = (
      this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
        name: string;
      }[]
    ).map((t) => t.name);
    return {
      tables,
      rows: tables.map((t) => JSON.stringify(this.db.prepare(`SELECT * FROM "${t}"`).all())).join('\n'),
    };
  }

  private item(id: string): InventoryRow | undefined {
    return this.db.prepare('SELECT * FROM inventory WHERE sku = ?').get(id) as InventoryRow | undefined;
  }

  private order(id: string): OrderRow | undefined {
    const o = this.db.prepare('SELECT * FROM orders WHERE orderId = ?').get(id) as
      (Omit<OrderRow, 'items'> & { items: string }) | undefined;
    return o ? { ...o, items: JSON.parse(o.items) as OrderRow['items'] } : undefined;
  }
}
