// Delivery of an idempotent request (one with a txId, flows.md 1.4) to a peer back-end whose link
// fails: the same request is sent again while the link is lost (a lost request never reached the
// peer; a lost response reached it, and the retry is answered from its idempotency table). After the
// last attempt the lost link propagates and the sender's outbox item stays in flight (C4) until its
// own reconciliation (the next run of the step that booked it) delivers it with the same txId.
import { TransportError } from '../transport/transport';

/** Attempts in all, the first included. */
export const PEER_DELIVERY_ATTEMPTS = 3;

/** Sends `send()` again on a TransportError, up to `attempts` tries; any other error propagates at once. */
export async function deliverToPeer<T>(
  send: () => Promise<T>,
  attempts: number = PEER_DELIVERY_ATTEMPTS,
): Promise<T> {
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new RangeError(`attempts must be an integer ≥ 1, got ${attempts}`);
  for (let i = 1; ; i++) {
    try {
      return await send();
    } catch (e) {
      if (!(e instanceof TransportError) || i >= attempts) throw e;
    }
  }
}
