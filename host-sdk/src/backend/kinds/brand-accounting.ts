// F7 accounting of the brand holder [147] (flows.md 5.3), inside one brand transaction:
//   charge(I)  = Σ payments with I's cards − Σ proxy loads the brand holder collected for I;
//   payable(M) = Σ payments at M − fee(M), fee(M) = ⌊Σ payments at M · feeBps / 10000⌋;
//   cash loads at third-party centers settle centrally (loadSettlement: central): center C pays what
//   it collected, and issuer I pays charge(I) − Σ center loads of I's cards.
// Net position = receivable − payable per participant; they sum to 0 by construction and the sum is
// checked. Transfers are clearing pairs between the brand and each participant back-end (booked here,
// the peer's side sent through the outbox); merchants that are not back-ends are paid to ext:merchant.
import { refuse } from '../outcome';
import { post, type Leg } from '../ledger';
import type { Db } from '../store';
import type { InFlightItem } from '../backend';
import { derivedTxId } from './brand-common';

export interface PeriodPosition {
  readonly participantId: string;
  readonly role: 'issuer' | 'merchant' | 'center' | 'brand';
  /** Issuers: charge(I). */
  readonly charge: number;
  /** Merchants: payable(M). */
  readonly payable: number;
  /** Merchants: fee(M); the brand: Σ fees. */
  readonly fees: number;
  readonly net: number;
}

export interface PeriodReport {
  readonly periodId: string;
  readonly positions: readonly PeriodPosition[];
  readonly sum: number;
}

export interface AccountingContext {
  readonly self: string;
  readonly periodId: string;
  readonly now: number;
  kindOf(id: string): string | undefined;
  enqueue(item: Omit<InFlightItem, 'holder' | 'floatIssuer' | 'floatAmount'>, payload: unknown): number;
}

const add = (m: Map<string, number>, k: string, v: number): void => {
  m.set(k, (m.get(k) ?? 0) + v);
};

export function runAccounting(db: Db, c: AccountingContext): PeriodReport {
  if (db.prepare('SELECT 1 FROM periods WHERE periodId = ?').get(c.periodId))
    refuse('E_DUPLICATE', 'F7', `period ${c.periodId} is already settled`);
  const payments = db
    .prepare('SELECT merchantId, issuerId, amount FROM payments WHERE periodId IS NULL')
    .all() as { merchantId: string; issuerId: string; amount: number }[];
  const proxies = db
    .prepare("SELECT issuerId, amount FROM proxy_loads WHERE periodId IS NULL AND status = 'loaded'")
    .all() as { issuerId: string; amount: number }[];
  const centerLoads = (
    db
      .prepare("SELECT via, issuerId, amount FROM load_notices WHERE periodId IS NULL AND funding = 'cash'")
      .all() as { via: string; issuerId: string; amount: number }[]
  ).filter((l) => c.kindOf(l.via) === 'center');

  const paid = new Map<string, number>(); // per issuer
  const atMerchant = new Map<string, number>();
  const proxy = new Map<string, number>();
  const loadsOfIssuer = new Map<string, number>();
  const loadsAtCenter = new Map<string, Map<string, number>>();
  for (const p of payments) {
    add(paid, p.issuerId, p.amount);
    add(atMerchant, p.merchantId, p.amount);
  }
  for (const p of proxies) add(proxy, p.issuerId, p.amount);
  for (const l of centerLoads) {
    add(loadsOfIssuer, l.issuerId, l.amount);
    const m = loadsAtCenter.get(l.via) ?? new Map<string, number>();
    add(m, l.issuerId, l.amount);
    loadsAtCenter.set(l.via, m);
  }

  const positions: PeriodPosition[] = [];
  const issuers = [...new Set([...paid.keys(), ...proxy.keys(), ...loadsOfIssuer.keys()])].sort();
  const fee = (m: string, amount: number): number => {
    const bps = (
      db.prepare('SELECT feeBps FROM participants WHERE id = ?').get(m) as { feeBps: number } | undefined
    )?.feeBps;
    return Math.floor((amount * (bps ?? 0)) / 10_000);
  };

  // Centers pay the cash they collected; the float they booked moves to the brand.
  for (const center of [...loadsAtCenter.keys()].sort()) {
    const perIssuer = loadsAtCenter.get(center)!;
    const total = [...perIssuer.values()].reduce((s, x) => s + x, 0);
    const txId = derivedTxId(`${c.self}:${c.periodId}:${center}`);
    const legs: Leg[] = [[`clearing:${center}`, total]];
    for (const [issuer, amount] of [...perIssuer].sort()) legs.push([`liab:float:${issuer}`, -amount]);
    post(db, txId, legs, c.now);
    c.enqueue(
      { txId, peer: center, topic: 'service-center.settle', clearingAmount: -total },
      {
        txId,
        periodId: c.periodId,
        amounts: [...perIssuer].sort().map(([issuerId, amount]) => ({ issuerId, amount })),
      },
    );
    positions.push({ participantId: center, role: 'center', charge: 0, payable: 0, fees: 0, net: -total });
  }

  for (const issuer of issuers) {
    const charge = (paid.get(issuer) ?? 0) - (proxy.get(issuer) ?? 0);
    const settle = charge - (loadsOfIssuer.get(issuer) ?? 0);
    if (settle !== 0) {
      const txId = derivedTxId(`${c.self}:${c.periodId}:${issuer}`);
      post(
        db,
        txId,
        [
          [`clearing:${issuer}`, settle],
          [`liab:float:${issuer}`, -settle],
        ],
        c.now,
      );
      c.enqueue(
        { txId, peer: issuer, topic: 'issuer.settle', clearingAmount: -settle },
        { txId, periodId: c.periodId, amount: settle },
      );
    }
    positions.push({ participantId: issuer, role: 'issuer', charge, payable: 0, fees: 0, net: -settle });
  }

  let fees = 0;
  for (const merchant of [...atMerchant.keys()].sort()) {
    const total = atMerchant.get(merchant)!;
    const f = fee(merchant, total);
    const payable = total - f;
    fees += f;
    const txId = derivedTxId(`${c.self}:${c.periodId}:${merchant}`);
    const backend = c.kindOf(merchant) === 'cybershop';
    const legs: Leg[] = [[`liab:merchant:${merchant}`, total]];
    if (f > 0) legs.push(['rev:fees', -f]);
    if (payable > 0) legs.push([backend ? `clearing:${merchant}` : `ext:merchant:${merchant}`, -payable]);
    if (legs.length >= 2) post(db, txId, legs, c.now);
    if (backend && payable > 0)
      c.enqueue(
        { txId, peer: merchant, topic: 'cybershop.settle', clearingAmount: payable },
        { txId, periodId: c.periodId, amount: payable },
      );
    positions.push({ participantId: merchant, role: 'merchant', charge: 0, payable, fees: f, net: payable });
  }

  const others = positions.reduce((s, p) => s + p.net, 0);
  positions.push({ participantId: c.self, role: 'brand', charge: 0, payable: 0, fees, net: -others });
  const totalProxy = [...proxy.values()].reduce((s, x) => s + x, 0);
  if (-others !== fees - totalProxy)
    throw new Error(
      `accounting: the brand's net ${-others} is not Σ fees ${fees} − Σ proxy loads ${totalProxy}`,
    );

  const insert = db.prepare(
    'INSERT INTO periods (periodId, participantId, role, charge, payable, fees, net) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  for (const p of positions)
    insert.run(c.periodId, p.participantId, p.role, p.charge, p.payable, p.fees, p.net);
  db.prepare('UPDATE payments SET periodId = ? WHERE periodId IS NULL').run(c.periodId);
  db.prepare("UPDATE proxy_loads SET periodId = ? WHERE periodId IS NULL AND status = 'loaded'").run(
    c.periodId,
  );
  db.prepare('UPDATE load_notices SET periodId = ? WHERE periodId IS NULL').run(c.periodId);
  return { periodId: c.periodId, positions, sum: positions.reduce((s, p) => s + p.net, 0) };
}
