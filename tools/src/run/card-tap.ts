// A recorder's view of every card of a run (`RunOptions.cardTap`): each opening of a card target (at
// first use, and again after a power cycle or a removal) and each exchange as it reached the card.
// The tearing campaign records the flows with it and replays them on cards of its own.

/** Which card: the fixture's label and the card's name in it. */
export interface CardAt {
  readonly fixture: string;
  readonly card: string;
}

export interface CardTap {
  /** The card target was opened: `target` as given to openTarget, `seed` of its random source. */
  opened(at: CardAt, target: string, seed: bigint): void;
  /**
   * One exchange: the command bytes (a copy) and the answer; null is silence, undefined an exchange
   * that threw (the transport's error, e.g. an unpowered card's link-lost).
   */
  exchange(
    at: CardAt,
    iface: 'felica' | 'apdu',
    command: Uint8Array,
    answer: Uint8Array | null | undefined,
  ): void;
}

/** Sends through `send` and reports the exchange to `tap`. */
export async function tapped<T extends Uint8Array | null>(
  tap: CardTap,
  at: CardAt,
  iface: 'felica' | 'apdu',
  command: Uint8Array,
  send: () => Promise<T>,
): Promise<T> {
  const copy = command.slice();
  let answer: T;
  try {
    answer = await send();
  } catch (e) {
    tap.exchange(at, iface, copy, undefined);
    throw e;
  }
  tap.exchange(at, iface, copy, answer === null ? null : answer.slice());
  return answer;
}
