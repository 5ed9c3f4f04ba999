// The conservation audit of flows.md 1.3 over the audit views of every back-end (in-process through
// World.audit, or over HTTP through `mica backend audit`):
//   C1 every ledger balances, in total and per txId;
//   C2 for each pair (A, B) and txId, A's clearing:B legs + B's clearing:A legs (+ in-flight items) = 0;
//   C3 for each issuer, Σ liab:float:<issuer> over all back-ends = Σ purse balances of its cards
//      (+ in-flight float items); a card without a balance makes C3 unverifiable, never a pass;
//   C4 the in-flight items (booked on one side only), listed with txId and amount.
import type { AuditView, InFlightItem } from './backend';

export interface CardPurse {
  readonly cardId: string;
  /** The back-end whose liab:float backs this card's value. */
  readonly issuer: string;
  /** null: the card image is unavailable. */
  readonly balance: number | null;
}

export type CheckStatus = 'pass' | 'fail' | 'unverifiable';

export interface AuditCheck {
  readonly id: 'C1' | 'C2' | 'C3' | 'C4';
  readonly status: CheckStatus;
  readonly problems: readonly string[];
}

export interface AuditReport {
  readonly ok: boolean;
  readonly checks: readonly AuditCheck[];
  readonly inFlight: readonly InFlightItem[];
}

export function audit(views: readonly AuditView[], cards: readonly CardPurse[] = []): AuditReport {
  const ids = new Set(views.map((v) => v.id));
  const inFlight = views.flatMap((v) => v.inFlight);

  const c1: string[] = [];
  for (const v of views) {
    const perTx = new Map<string, number>();
    for (const e of v.entries) perTx.set(e.txId, (perTx.get(e.txId) ?? 0) + e.amount);
    for (const [tx, sum] of perTx) if (sum !== 0) c1.push(`${v.id}: the legs of ${tx} sum to ${sum}`);
  }

  // C2: Σ per (unordered pair, txId) of A's clearing:B and B's clearing:A legs, with in-flight items.
  const pairs = new Map<string, number>();
  const add = (a: string, b: string, tx: string, amount: number): void => {
    const key = `${[a, b].sort().join(' ↔ ')} ${tx}`;
    pairs.set(key, (pairs.get(key) ?? 0) + amount);
  };
  const c2: string[] = [];
  for (const v of views)
    for (const e of v.entries) {
      if (!e.account.startsWith('clearing:')) continue;
      const peer = e.account.slice('clearing:'.length);
      if (!ids.has(peer)) {
        c2.push(`${v.id}: ${e.account} in ${e.txId} names no back-end of this world`);
        continue;
      }
      add(v.id, peer, e.txId, e.amount);
    }
  for (const i of inFlight) if (i.clearingAmount !== 0) add(i.holder, i.peer, i.txId, i.clearingAmount);
  for (const [key, sum] of pairs) if (sum !== 0) c2.push(`${key}: clearing legs sum to ${sum}`);

  // C3: float per issuer (a liability: the negated sum of its legs) against the cards.
  const float = new Map<string, number>();
  for (const v of views)
    for (const e of v.entries)
      if (e.account.startsWith('liab:float:')) {
        const issuer = e.account.slice('liab:float:'.length);
        float.set(issuer, (float.get(issuer) ?? 0) - e.amount);
      }
  const purse = new Map<string, number>();
  for (const i of inFlight)
    if (i.floatIssuer !== null && i.floatAmount !== 0)
      purse.set(i.floatIssuer, (purse.get(i.floatIssuer) ?? 0) - i.floatAmount);
  const unknown: string[] = [];
  const blind = new Set<string>();
  for (const c of cards) {
    if (c.balance === null) {
      unknown.push(`card ${c.cardId} (${c.issuer}) is unavailable`);
      blind.add(c.issuer);
    } else purse.set(c.issuer, (purse.get(c.issuer) ?? 0) + c.balance);
  }
  const c3: string[] = [];
  for (const issuer of new Set([...float.keys(), ...purse.keys()])) {
    if (blind.has(issuer)) continue; // unverifiable, never a pass (nor a fail on partial sums)
    const f = float.get(issuer) ?? 0;
    const p = purse.get(issuer) ?? 0;
    if (f !== p) c3.push(`issuer ${issuer}: float ${f} but the cards (with in-flight items) hold ${p}`);
  }

  const checks: AuditCheck[] = [
    { id: 'C1', status: c1.length ? 'fail' : 'pass', problems: c1 },
    { id: 'C2', status: c2.length ? 'fail' : 'pass', problems: c2 },
    {
      id: 'C3',
      status: c3.length ? 'fail' : unknown.length ? 'unverifiable' : 'pass',
      problems: [...c3, ...unknown],
    },
    { id: 'C4', status: 'pass', problems: [] },
  ];
  return { ok: checks.every((c) => c.status === 'pass'), checks, inFlight };
}

/** One line per check, then one per in-flight item (CLI and test output). */
export function formatAudit(report: AuditReport): string[] {
  const lines = report.checks.map(
    (c) => `${c.id} ${c.status.toUpperCase()}${c.problems.length ? `: ${c.problems.join('; ')}` : ''}`,
  );
  for (const i of report.inFlight)
    lines.push(
      `  in flight: ${i.holder} → ${i.peer} ${i.topic} txId ${i.txId} clearing ${i.clearingAmount}${i.floatIssuer ? ` float ${i.floatIssuer} ${i.floatAmount}` : ''}`,
    );
  return lines;
}
