// The terminals' re-tap (README "Decisions"): a card that left the field (its link-lost) restarts the
// card session from its beginning, once by default; a back-end's link-lost or a card that stays but
// does not answer (timeout) is never a re-tap.
import { describe, expect, it } from 'vitest';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import {
  CARD_RETAPS,
  CardLeftField,
  defaultRetapPolicy,
  isCardLeft,
  markingCardLoss,
  retapped,
  sameCardPolled,
} from '@mica/host-sdk/terminals/card-retap';
import { retryPolicy } from '@mica/host-sdk/transport/retry';
import { TransportError, type Transport } from '@mica/host-sdk/transport/transport';

/** A card link that fails its first `failures` exchanges with `kind`, then answers 9000. */
function flakyCard(failures: number, kind: TransportError['kind']): Transport & { calls: number } {
  const t = {
    calls: 0,
    description: 'flaky (test)',
    felica(): Promise<Uint8Array | null> {
      return ++t.calls <= failures
        ? Promise.reject(new TransportError(kind, `felica ${kind} (test)`))
        : Promise.resolve(Uint8Array.of(0x02, 0x01));
    },
    apdu(): Promise<Uint8Array> {
      return ++t.calls <= failures
        ? Promise.reject(new TransportError(kind, `apdu ${kind} (test)`))
        : Promise.resolve(Uint8Array.of(0x90, 0x00));
    },
    close: () => Promise.resolve(),
  };
  return t;
}

describe('markingCardLoss', () => {
  it("turns the card link's link-lost into CardLeftField, and nothing else", async () => {
    const left = markingCardLoss(flakyCard(1, 'link-lost'));
    const e = await left.apdu(Uint8Array.of(0)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CardLeftField);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as TransportError).kind).toBe('link-lost');
    expect((e as Error).message).toBe('apdu link-lost (test)');
    await expect(left.apdu(Uint8Array.of(0))).resolves.toEqual(Uint8Array.of(0x90, 0x00));
    const silent = markingCardLoss(flakyCard(1, 'timeout'));
    const t = await silent.felica(Uint8Array.of(0)).catch((x: unknown) => x);
    expect(t).toBeInstanceOf(TransportError);
    expect(isCardLeft(t)).toBe(false);
  });
});

describe('retapped', () => {
  const left = () => new CardLeftField('the card left the field (test)');

  it('restarts the session once by default when the card left the field, then completes', async () => {
    expect(CARD_RETAPS).toBe(1);
    const taps: number[] = [];
    const r = await retapped(defaultRetapPolicy, (tap) => {
      taps.push(tap);
      return tap === 0 ? Promise.reject(left()) : Promise.resolve('done');
    });
    expect(r).toBe('done');
    expect(taps).toEqual([0, 1]);
  });

  it('lets the CardLeftField propagate when the card leaves more often than the policy allows', async () => {
    const taps: number[] = [];
    const run = retapped(defaultRetapPolicy, (tap) => (taps.push(tap), Promise.reject(left())));
    await expect(run).rejects.toBeInstanceOf(CardLeftField);
    expect(taps).toEqual([0, 1]);
    const three: number[] = [];
    const policy = retryPolicy({ attempts: 3, delayMs: 0, kinds: ['link-lost'] });
    await expect(retapped(policy, (tap) => (three.push(tap), Promise.reject(left())))).rejects.toBeInstanceOf(
      CardLeftField,
    );
    expect(three).toEqual([0, 1, 2]);
  });

  it("never re-taps a back-end's lost link, a timeout or a programming error", async () => {
    for (const e of [
      new TransportError('link-lost', 'smd/smd1/authConfirm: the response was lost (test)'),
      new TransportError('timeout', 'no answer from the card (test)'),
      new TypeError('bug (test)'),
    ]) {
      let n = 0;
      await expect(retapped(defaultRetapPolicy, () => (n++, Promise.reject(e)))).rejects.toBe(e);
      expect(n).toBe(1);
    }
  });
});

describe('sameCardPolled', () => {
  /** A field holding the card `idm`: Polling answers LEN 01 ‖ IDm ‖ PMm (18 bytes). */
  const field = (idm: number[]): FelicaClient =>
    new FelicaClient({
      description: 'field (test)',
      felica: () => Promise.resolve(Uint8Array.of(18, 0x01, ...idm, ...Array<number>(8).fill(0))),
      apdu: () => Promise.reject(new TransportError('protocol', 'no APDUs (test)')),
      close: () => Promise.resolve(),
    });
  const card = [0x02, 0xfe, 0, 0, 0, 0, 0x02, 0x01];
  const other = [0x02, 0xfe, 0, 0, 0, 0, 0x02, 0x02];

  it("gives the re-tapped card's IDm when it is the card of the session", async () => {
    await expect(sameCardPolled(field(card), 0x12fc, Uint8Array.from(card))).resolves.toEqual(
      Uint8Array.from(card),
    );
  });

  it('takes another card in the field for the card still away (CardLeftField)', async () => {
    const e = await sameCardPolled(field(other), 0x12fc, Uint8Array.from(card)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CardLeftField);
    expect((e as Error).message).toBe(
      'another card (IDm 02fe000000000202) is in the field, not 02fe000000000201',
    );
  });
});
