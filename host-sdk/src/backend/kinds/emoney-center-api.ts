// The `emoney-center` back-end's API (flows.md 6, seed 004): the cache modes, the defaults of 6.3, the
// request schemas, the messages and answers, and the EMoneyCenterBackend interface. The instance is
// SqliteEMoneyCenter (./emoney-center.ts), built in layers: ./emoney-center-cache.ts (set-up, the
// validity cache and its refresh), ./emoney-center-sessions.ts (the ACK/NAK sessions) and
// ./emoney-center.ts (load and unload).
import type { Outcome } from '../outcome';
import { amount, bool, hex, int, list, object, oneOf, optional, str, txId, type Infer } from '../schema';
import type { Backend } from '../backend';

export const CACHE_MODES = ['none', 'both', 'medium', 'terminal'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];
export type NakReason = 'MEDIUM_STOLEN' | 'MEDIUM_EXPIRED' | 'TERMINAL_UNREGISTERED' | 'MEDIUM_MISMATCH';

/** flows.md 6.3 defaults (project numbers). */
export const CENTER_DEFAULTS = Object.freeze({
  lineMs: 50,
  dbTerminalMs: 80,
  dbMediumMs: 600,
  /** The initial cache load (a project number: until it completes, E_NOT_READY). */
  loadMs: 1000,
  refreshIntervalMs: 3_600_000,
  push: true,
  capture: false,
});

/** flows.md 6.3: bytes per cache entry. */
export const MEDIUM_ENTRY_BYTES = 13;
export const TERMINAL_ENTRY_BYTES = 8;

const backendId = str({ max: 64, pattern: /^[\w.-]+$/, describe: 'a back-end id' });
const connectionId = hex(8);
const ms = int(0, 366 * 86_400_000);

const change = object({
  seq: int(1),
  table: oneOf(['media', 'terminals'] as const),
  id: hex(8),
  at: int(),
  expiresOn: optional(int(0, 0xffff)),
  reason: optional(oneOf(['stolen', 'captured'] as const)),
  active: optional(bool),
});

export const EMONEY_CENTER_API = {
  auditView: object({}),
  configure: object({
    db: backendId,
    bank: backendId,
    cacheMode: oneOf(CACHE_MODES),
    lineMs: optional(ms),
    dbTerminalMs: optional(ms),
    dbMediumMs: optional(ms),
    loadMs: optional(ms),
    refreshIntervalMs: optional(int(1, 366 * 86_400_000)),
    push: optional(bool),
    capture: optional(bool),
  }),
  /** The load and unload keys (masters, diversified per card), on the dedicated channel. */
  registerKeys: object({
    systemCode: int(0, 0xffff),
    keys: list(object({ node: int(0, 0xffff), version: int(0, 0xffff), master: hex(16) }), 16),
  }),
  /** Starts the initial cache load (ready loadMs later), the interval refresh and the push feed. */
  start: object({}),
  status: object({}),
  /** S2: HELLO {connectionId, mediumId, terminalId}; `sentAt` is when the terminal sent it. */
  hello: object({ connectionId, mediumId: hex(8), terminalId: hex(8), sentAt: int() }),
  /** What the center has sent on a connection after message `after` (seq). */
  receive: object({ connectionId, after: int() }),
  /** TXN {txId, kind, amount}. */
  txn: object({ connectionId, txId, kind: oneOf(['load', 'unload'] as const), amount, sentAt: int() }),
  /** T1: the key holder authenticated the card through the relay; (H) binds it to the HELLO medium. */
  authenticated: object({ connectionId }),
  /**
   * Earlier writes to this connection's medium whose outcome is still unknown (no valid answer, the
   * card gone): the terminal reads the log in this session and settles each with complete or fail.
   */
  unsettled: object({ connectionId }),
  /** T2 begins: (load) the bank holds the amount; answers the charge ID the card write carries. */
  prepare: object({ connectionId }),
  /** T2 ends: the MAC-verified write and confirming read; books and moves the money, DONE. */
  complete: object({ connectionId, balanceAfter: int(0, 0xffffffff) }),
  /** T2 refused by the card (MAC-verified): the hold is released, DONE with the refusal. */
  fail: object({ connectionId, status: str({ max: 32 }) }),
  /** CAPTURED {mediumId}: the terminal kept the card after a medium-invalid NAK. */
  captured: object({ connectionId, mediumId: hex(8) }),
  /** The push feed of the center database. */
  applyChanges: object({ changes: list(change, 5000) }),
  connections: object({ connectionId: optional(connectionId) }),
  /** Sends the bank transfers still in the outbox (also tried at every reload). */
  flushOutbox: object({}),
  /** What the cache holds for a medium or a terminal (null: no entry). */
  cached: object({ mediumId: optional(hex(8)), terminalId: optional(hex(8)) }),
} as const;

export type CenterRequest<M extends keyof typeof EMONEY_CENTER_API> = Infer<(typeof EMONEY_CENTER_API)[M]>;

export interface CenterConfig {
  readonly db: string;
  readonly bank: string;
  readonly cacheMode: CacheMode;
  readonly lineMs: number;
  readonly dbTerminalMs: number;
  readonly dbMediumMs: number;
  readonly loadMs: number;
  readonly refreshIntervalMs: number;
  readonly push: boolean;
  readonly capture: boolean;
}

export interface CenterStatus {
  readonly state: 'configured' | 'loading' | 'ready';
  readonly cacheMode: CacheMode;
  readonly loadedAt: number | null;
  readonly loads: number;
  readonly dbSeq: number;
  readonly mediumEntries: number;
  readonly terminalEntries: number;
  /** 13 B per medium entry, 8 B per terminal entry (flows.md 6.3). */
  readonly bytes: number;
}

export type CenterMessage =
  | {
      readonly seq: number;
      readonly type: 'ACK';
      readonly step: string;
      readonly sentAt: number;
      readonly deliverAt: number;
    }
  | {
      readonly seq: number;
      readonly type: 'NAK';
      readonly reason: NakReason;
      readonly late: boolean;
      /** The terminal keeps the card (capture on, a medium-invalid verdict). */
      readonly capture: boolean;
      /** The patent step that judged (S3, S7*, T1, …). */
      readonly step: string;
      readonly sentAt: number;
      readonly deliverAt: number;
    }
  | {
      readonly seq: number;
      readonly type: 'START';
      readonly step: string;
      readonly txId: string;
      readonly sentAt: number;
      readonly deliverAt: number;
    }
  | {
      readonly seq: number;
      readonly type: 'DONE';
      readonly result: string;
      readonly balanceAfter: number | null;
      readonly sentAt: number;
      readonly deliverAt: number;
    };

export interface ConnectionRow {
  readonly connectionId: string;
  readonly mediumId: string;
  readonly terminalId: string;
  readonly cacheMode: CacheMode;
  readonly tHello: number;
  readonly tAck: number | null;
  readonly tStart: number | null;
  readonly tEnd: number | null;
  readonly verdict: 'pending' | 'ACK' | 'NAK';
  readonly nakReason: NakReason | null;
  readonly late: number;
  readonly dbAccesses: number;
  readonly state: 'open' | 'started' | 'authenticated' | 'prepared' | 'closed';
  readonly txId: string | null;
  readonly kind: 'load' | 'unload' | null;
  readonly amount: number | null;
}

/** A message received: its connection and the patent step of the center's mode it was. */
export interface StepAnswer {
  readonly connectionId: string;
  readonly step: string;
}

export interface Unsettled extends Prepared {
  readonly connectionId: string;
}

export interface Prepared {
  readonly txId: string;
  readonly chargeId: string;
  readonly kind: 'load' | 'unload';
  readonly amount: number;
}

export interface EMoneyCenterBackend extends Backend {
  configure(r: CenterRequest<'configure'>): Promise<Outcome<CenterConfig>>;
  registerKeys(r: CenterRequest<'registerKeys'>): Promise<Outcome<{ readonly count: number }>>;
  start(r?: CenterRequest<'start'>): Promise<Outcome<{ readonly readyAt: number }>>;
  status(r?: CenterRequest<'status'>): Promise<Outcome<CenterStatus>>;
  hello(r: CenterRequest<'hello'>): Promise<Outcome<StepAnswer>>;
  receive(r: CenterRequest<'receive'>): Promise<Outcome<readonly CenterMessage[]>>;
  txn(r: CenterRequest<'txn'>): Promise<Outcome<StepAnswer>>;
  authenticated(
    r: CenterRequest<'authenticated'>,
  ): Promise<Outcome<{ readonly verdict: 'OK' } | { readonly verdict: 'NAK'; readonly reason: NakReason }>>;
  unsettled(r: CenterRequest<'unsettled'>): Promise<Outcome<readonly Unsettled[]>>;
  prepare(r: CenterRequest<'prepare'>): Promise<Outcome<Prepared>>;
  complete(r: CenterRequest<'complete'>): Promise<Outcome<{ readonly balanceAfter: number }>>;
  fail(r: CenterRequest<'fail'>): Promise<Outcome<{ readonly released: boolean }>>;
  captured(r: CenterRequest<'captured'>): Promise<Outcome<{ readonly capturedAt: number }>>;
  applyChanges(r: CenterRequest<'applyChanges'>): Promise<Outcome<{ readonly dbSeq: number }>>;
  connections(r?: CenterRequest<'connections'>): Promise<Outcome<readonly ConnectionRow[]>>;
  cached(r: CenterRequest<'cached'>): Promise<Outcome<CacheEntry | null>>;
  flushOutbox(r?: CenterRequest<'flushOutbox'>): Promise<Outcome<{ readonly delivered: number }>>;
}

export type CacheEntry =
  | {
      readonly mediumId: string;
      readonly status: 'stolen' | 'captured' | 'expired' | 'expiring';
      readonly expiresOn: number | null;
    }
  | { readonly terminalId: string; readonly status: 'allowed' };

declare module '../backend' {
  interface KindInterfaces {
    'emoney-center': EMoneyCenterBackend;
  }
}
