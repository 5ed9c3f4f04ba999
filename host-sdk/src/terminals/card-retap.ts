// A card that left the field mid-session (README "Decisions": re-tap): a terminal does what a reader
// does when the card comes back, polls again and restarts the session from its beginning (select,
// mutual authentication, the flow's own recovery under the same charge IDs and txIds), at most as
// often as its re-tap policy allows: the injected RetryPolicy of ../transport/retry.ts, over
// link-lost only. Only the card's own link counts: a back-end link lost is a TransportError of kind
// link-lost too, and that is the back-end retry's business (deliverToPeer), never a re-tap.
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { FelicaClient } from '../felica/client';
import { realSleep, retryPolicy, withRetry, type RetryPolicy, type Sleep } from '../transport/retry';
import { TransportError, type Transport } from '../transport/transport';

/** Re-taps after the card first left: one is enough for a card put back at once. */
export const CARD_RETAPS = 1;

/** The terminals' default: 1 + CARD_RETAPS sessions in all, for a card that left the field (link-lost). */
export const defaultRetapPolicy: RetryPolicy = retryPolicy({
  attempts: 1 + CARD_RETAPS,
  delayMs: 0,
  kinds: ['link-lost'],
});

/** The card link reported link-lost: the card left the field (it may have run the command). */
export class CardLeftField extends TransportError {
  readonly cardLeft = true;
  constructor(message: string) {
    super('link-lost', message);
  }
}

export function isCardLeft(e: unknown): e is CardLeftField {
  return e instanceof CardLeftField;
}

/** The card link with its link-lost turned into CardLeftField, so a flow tells it from a back-end's. */
export function markingCardLoss(card: Transport): Transport {
  const marked = <T>(exchange: () => Promise<T>): Promise<T> =>
    exchange().catch((e: unknown) => {
      if (e instanceof TransportError && e.kind === 'link-lost' && !isCardLeft(e))
        throw new CardLeftField(e.message);
      throw e;
    });
  const t: Transport = {
    description: card.description,
    felica: (frame) => marked(() => card.felica(frame)),
    apdu: (command) => marked(() => card.apdu(command)),
    close: () => card.close(),
  };
  const atr = card.atr?.bind(card);
  return atr ? { ...t, atr: () => marked(atr) } : t;
}

/**
 * The re-tap's Polling: the IDm of the card back in the field, which must be the card of the session
 * before (another card is no card of this session: as if it stayed away, a CardLeftField).
 */
export async function sameCardPolled(
  felica: FelicaClient,
  systemCode: number,
  idm: Uint8Array,
): Promise<Uint8Array> {
  const polled = (await felica.polling(systemCode)).idm;
  if (bytesToHex(polled) !== bytesToHex(idm))
    throw new CardLeftField(
      `another card (IDm ${bytesToHex(polled)}) is in the field, not ${bytesToHex(idm)}`,
    );
  return polled;
}

/** A zero delay (the harness puts the card back at once) without a timer; others wait. */
const retapSleep: Sleep = (ms) => (ms === 0 ? Promise.resolve() : realSleep(ms));

/**
 * Runs `session(tap)` (tap 0 the first time, then 1, 2, … for each re-tap) again from its beginning
 * each time it ends with the card out of the field (CardLeftField), while `policy` allows; after that
 * the CardLeftField propagates. Any other error propagates at once.
 */
export function retapped<T>(
  policy: RetryPolicy,
  session: (tap: number) => Promise<T>,
  sleep: Sleep = retapSleep,
): Promise<T> {
  let tap = 0;
  return withRetry(policy, () => session(tap++), sleep, isCardLeft);
}
