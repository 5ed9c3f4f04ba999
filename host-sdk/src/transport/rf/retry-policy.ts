// The rf: reader's retry policy (rf.md §9.1, §9.2), injected into the transport: how many attempts an
// exchange gets, and which FeliCa commands must never be sent twice.
import type { ExchangeOutcome } from '@mica/card-os/rf/timeline';

export interface RfRetryQuestion {
  readonly tech: 'a' | 'b' | 'f';
  /** felica: a FeliCa command; iso-dep: an ISO-DEP block (the retry is R(NAK)/R(ACK)); activation: ISO 14443-3. */
  readonly layer: 'felica' | 'iso-dep' | 'activation';
  /** The reader's frame (FeliCa: LEN ‖ code ‖ …). */
  readonly command: Uint8Array;
  /** Attempts made so far (1 after the first). */
  readonly attempts: number;
  readonly outcome: ExchangeOutcome;
}

export interface RfRetryPolicy {
  /** Whether the reader tries again after an attempt ended with `outcome`. */
  retry(q: RfRetryQuestion): boolean;
}

/**
 * FeliCa commands the transport never re-sends (rf.md §9.1, security.md §5): Authentication1/2, secure
 * Read/Write and the issuance commands 80h–88h. Their failure reaches the client instead.
 */
export function neverResent(code: number): boolean {
  return code === 0x10 || code === 0x12 || code === 0x14 || code === 0x16 || (code >= 0x80 && code <= 0x88);
}

/** At most `retries` retries (so retries + 1 attempts) per exchange; secure FeliCa commands never. */
export function defaultRfRetryPolicy(retries = 2): RfRetryPolicy {
  if (!Number.isInteger(retries) || retries < 0)
    throw new RangeError(`retries must be an integer ≥ 0, got ${retries}`);
  return {
    retry(q) {
      if (q.outcome === 'ok' || q.outcome === 'protocol-error') return false;
      if (q.layer === 'felica' && neverResent(q.command[1] ?? 0)) return false;
      return q.attempts <= retries;
    },
  };
}
