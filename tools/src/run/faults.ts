// Back-end faults injected at the one seam every message of a scenario passes (issue 9, item 5): the
// fixture's monitored back-end calls (terminals and back-ends on the `internet` channel) and its card
// exchanges. A FaultPlan numbers those points in the order they happen (a run is deterministic for a
// seed, so point n of a faulted run is point n of the clean run) and injects one fault at one point.
import type { AuditView } from '@mica/host-sdk/backend/backend';
import { TransportError } from '@mica/host-sdk/transport/transport';

/** What can go wrong at a back-end call. */
export const BACKEND_FAULTS = ['lost-request', 'lost-response', 'duplicate', 'restart'] as const;
/** What can go wrong at a card exchange. */
export const CARD_FAULTS = ['card-removed'] as const;
export type BackendFault = (typeof BACKEND_FAULTS)[number];
export type CardFault = (typeof CARD_FAULTS)[number];
export type FaultKind = BackendFault | CardFault;

export function isBackendFault(k: FaultKind): k is BackendFault {
  return (BACKEND_FAULTS as readonly string[]).includes(k);
}

/** The seam's view of one back-end call: the fixture, `<kind>/<id>`, the method and its request. */
export interface BackendCall {
  readonly fixture: string;
  readonly channel: string;
  readonly method: string;
  readonly request: unknown;
}

/** What the fixture gives the injector to act on a back-end call. */
export interface BackendActions {
  /** Delivers the request once (to the instance live at that moment). */
  send(request: unknown): Promise<unknown>;
  /** Closes the target instance and reopens it from its SQLite file. */
  restart(): void;
}

/** What the fixture gives the injector to act on a card exchange. */
export interface CardActions {
  /** Takes the card out of the field (powered off) and puts it back (powered on again). */
  removeAndReturn(): Promise<void>;
}

/** The hooks a fixture calls; every fixture of a run shares one injector (`RunOptions.faults`). */
export interface FaultInjector {
  backendCall(call: BackendCall, actions: BackendActions): Promise<unknown>;
  cardExchange<T>(
    fixture: string,
    card: string,
    exchange: () => Promise<T>,
    actions: CardActions,
  ): Promise<T>;
  /** Every fixture's final audit views, as it closes. */
  closing(fixture: string, views: readonly AuditView[]): void;
  /**
   * Runs the runner's own card reads (the audit's purses, the --json card state): their exchanges are
   * neither fault points nor counted, since a card removed while the runner reads is no step of a flow.
   */
  asRunner<T>(read: () => Promise<T>): Promise<T>;
}

/** One fault at one point: `index` counts back-end calls (for a back-end fault) or card exchanges. */
export interface FaultPoint {
  readonly kind: FaultKind;
  readonly index: number;
}

export interface FaultPlanOptions {
  /**
   * A deliberately broken back-end for the campaign's own test: the duplicated copy of a request
   * carries a fresh txId, as if the back-end did not recognise the retry (idempotency ignored).
   */
  readonly ignoreIdempotency?: boolean;
}

/** Injects `point` (or nothing: the clean run, counting the points) and records what it saw. */
export class FaultPlan implements FaultInjector {
  backendCalls = 0;
  cardExchanges = 0;
  /** Where the fault went in: "<fixture> <channel>/<method>" or "<fixture> card <name>". */
  injectedAt: string | undefined;
  /** Per fixture: account balances per back-end (`<id>` → account → sum) at the end of the run. */
  readonly balances = new Map<string, Record<string, Record<string, number>>>();
  /** Every back-end call in order: "<fixture> <kind>/<id>/<method>". */
  readonly calls: string[] = [];
  /** The indices of the back-end calls whose request carried a txId (money-moving, flows.md 1.4). */
  readonly txIdCalls: number[] = [];
  /** The txId of the duplicated request when it carried one (a money-moving request, flows.md 1.4). */
  duplicatedTxId: string | undefined;
  /** The in-flight items (C4) the final views list, over every fixture. */
  inFlight = 0;

  private runnerReads = 0;

  constructor(
    readonly point: FaultPoint | undefined,
    private readonly options: FaultPlanOptions = {},
  ) {}

  async backendCall(call: BackendCall, actions: BackendActions): Promise<unknown> {
    const n = this.backendCalls++;
    this.calls.push(`${call.fixture} ${call.channel}/${call.method}`);
    if (txIdOf(call.request) !== undefined) this.txIdCalls.push(n);
    const p = this.point;
    if (!p || p.index !== n || !isBackendFault(p.kind)) return actions.send(call.request);
    this.injectedAt = `${call.fixture} ${call.channel}/${call.method}`;
    const lost = (what: string): TransportError =>
      new TransportError(
        'link-lost',
        `${call.channel}/${call.method}: the ${what} was lost (injected fault)`,
      );
    switch (p.kind) {
      case 'lost-request':
        throw lost('request');
      case 'lost-response':
        await actions.send(call.request);
        throw lost('response');
      case 'duplicate': {
        const r = call.request;
        const txId = txIdOf(r);
        this.duplicatedTxId = txId;
        await actions.send(r);
        if (this.options.ignoreIdempotency && txId !== undefined)
          return actions.send({ ...(r as object), txId: `${txId}-again` });
        return actions.send(r);
      }
      case 'restart':
        actions.restart();
        return actions.send(call.request);
    }
  }

  async cardExchange<T>(
    fixture: string,
    card: string,
    exchange: () => Promise<T>,
    actions: CardActions,
  ): Promise<T> {
    if (this.runnerReads > 0) return exchange();
    const n = this.cardExchanges++;
    const p = this.point;
    if (!p || p.index !== n || p.kind !== 'card-removed') return exchange();
    this.injectedAt = `${fixture} card ${card}`;
    // The command reached the card (it may have written), the answer did not reach the terminal.
    await exchange();
    await actions.removeAndReturn();
    throw new TransportError('link-lost', `card ${card} left the field before answering (injected fault)`);
  }

  async asRunner<T>(read: () => Promise<T>): Promise<T> {
    this.runnerReads++;
    try {
      return await read();
    } finally {
      this.runnerReads--;
    }
  }

  closing(fixture: string, views: readonly AuditView[]): void {
    const out: Record<string, Record<string, number>> = {};
    for (const v of views) {
      const accounts: Record<string, number> = {};
      for (const e of v.entries) accounts[e.account] = (accounts[e.account] ?? 0) + e.amount;
      out[v.id] = Object.fromEntries(Object.entries(accounts).filter(([, a]) => a !== 0));
      this.inFlight += v.inFlight.length;
    }
    this.balances.set(fixture, out);
  }
}

function txIdOf(request: unknown): string | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const t = (request as { txId?: unknown }).txId;
  return typeof t === 'string' ? t : undefined;
}
