// The card's authentication state (RAM only, gone at power-off): the authenticated node list, the
// 3-pass state, and the secure channel with its counter.
import type { BlockCipher } from '@mica/apdu-specs/crypto/block-cipher';
import type { AccessKeyLease } from '@mica/apdu-specs/secure/access-key-cache';
import type { SecureChannel } from '@mica/apdu-specs/secure/channel';
import type { Suite } from '@mica/apdu-specs/secure/suite';

export interface AuthSession {
  readonly system: number;
  /** Area codes (FFFFh = the system) and service codes, in command order. */
  readonly areas: readonly number[];
  readonly services: readonly number[];
  readonly suite: Suite;
  readonly accessKey: Uint8Array;
  readonly cipher: BlockCipher;
  /** The card's cached access key and context (CardContext.accessKeys), released with the session. */
  readonly lease: AccessKeyLease;
  readonly rndB: Uint8Array;
  readonly cardChallenge: Uint8Array;
  /** Set by a successful Authentication2. */
  channel: SecureChannel | undefined;
  ctr: number;
}

/**
 * Wipes the session keys and random numbers; the access key goes back to the card's cache, which
 * wipes it at power-off.
 */
export function dropSession(s: AuthSession | undefined): void {
  if (!s) return;
  s.lease.release();
  s.channel?.dispose();
  s.rndB.fill(0);
  s.channel = undefined;
}
