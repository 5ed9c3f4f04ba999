// Retry policies, injected into whatever may retry (connecting a transport, an idempotent HTTP
// request); nothing in the SDK hard-codes a retry. A policy only decides; the caller waits and retries.
import type { TransportError } from './transport';

export interface RetryPolicy {
  /**
   * Called after attempt number `attempt` (1 = the first try) failed with `error`: the delay in ms
   * before the next attempt, or null to give up and let the error propagate.
   */
  nextDelay(error: TransportError, attempt: number): number | null;
}

/** Never retries: the default everywhere. */
export const noRetry: RetryPolicy = Object.freeze({ nextDelay: () => null });

export interface RetryOptions {
  /** Attempts in all, the first included (at least 1). */
  readonly attempts: number;
  /** Delay before the second attempt, ms. */
  readonly delayMs: number;
  /** Factor applied to the delay after each further failure (1 = fixed delay). */
  readonly factor?: number;
  /** Upper bound of a single delay, ms. */
  readonly maxDelayMs?: number;
  /** Error kinds worth another attempt (default: link-lost, timeout, transmission). */
  readonly kinds?: readonly TransportError['kind'][];
}

/** Up to `attempts` tries with a fixed or exponentially growing delay, for the listed error kinds. */
export function retryPolicy(options: RetryOptions): RetryPolicy {
  const { attempts, delayMs, factor = 1, maxDelayMs = Number.POSITIVE_INFINITY } = options;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new RangeError(`attempts must be an integer ≥ 1, got ${attempts}`);
  if (!(delayMs >= 0)) throw new RangeError(`delayMs must be ≥ 0, got ${delayMs}`);
  if (!(factor >= 1)) throw new RangeError(`factor must be ≥ 1, got ${factor}`);
  const kinds = new Set(options.kinds ?? ['link-lost', 'timeout', 'transmission']);
  return Object.freeze({
    nextDelay(error: TransportError, attempt: number): number | null {
      if (attempt >= attempts || !kinds.has(error.kind)) return null;
      return Math.min(maxDelayMs, delayMs * factor ** (attempt - 1));
    },
  });
}

/** Waits between attempts; injected so tests (and virtual-time runs) need no real timers. */
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it succeeds or the policy gives up; only TransportErrors are retried. */
export async function withRetry<T>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  sleep: Sleep = realSleep,
  isRetryable: (e: unknown) => e is TransportError = isTransportError,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isRetryable(e)) throw e;
      const delay = policy.nextDelay(e, n);
      if (delay === null) throw e;
      await sleep(delay);
    }
  }
}

function isTransportError(e: unknown): e is TransportError {
  return e instanceof Error && e.name === 'TransportError' && 'kind' in e;
}
