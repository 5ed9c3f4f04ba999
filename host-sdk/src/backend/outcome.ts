// What every back-end method answers (flows.md 1.2): a value, not an exception, in the shape the HTTP
// answer carries unchanged: {ok: true, result} or {ok: false, code, step, message}. `expectOk` throws
// only when asked.
import type { ResultCode } from '../platform/result-codes';

export interface Accepted<T> {
  readonly ok: true;
  readonly result: T;
}

export interface Refused {
  readonly ok: false;
  readonly code: ResultCode;
  /** The patent step (or "—" for platform rules) where the request was refused. */
  readonly step: string;
  readonly message: string;
}

export type Outcome<T> = Accepted<T> | Refused;

export function accepted<T>(result: T): Accepted<T> {
  return { ok: true, result };
}

export function refused(code: ResultCode, step: string, message: string): Refused {
  return { ok: false, code, step, message };
}

export class RefusedError extends Error {
  override readonly name = 'RefusedError';
  constructor(readonly refusal: Refused) {
    super(`${refusal.code} at step ${refusal.step}: ${refusal.message}`);
  }
}

/** Thrown inside a back-end transaction to roll it back and answer the refusal. */
export function refuse(code: ResultCode, step: string, message: string): never {
  throw new RefusedError(refused(code, step, message));
}

export function expectOk<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new RefusedError(outcome);
  return outcome.result;
}
