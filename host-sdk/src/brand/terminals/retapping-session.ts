// A seed 003 value session that outlives a card leaving the field (README "Decisions": re-tap; the
// mechanism of ../../terminals/card-retap.ts): a card operation that ends with the card away runs
// again after the same card is polled and a new session opened ((b), (b′)), while the terminal's
// re-tap policy allows. The value write is sent again unchanged (same charge ID and execution ID),
// and the card's duplicate refusal of it means the write of the tap before applied.
import type { Mode } from '../../backend/backend';
import type { FelicaClient } from '../../felica/client';
import type { KeyHolder } from '../../keys/key-holder';
import { retapped, sameCardPolled } from '../../terminals/card-retap';
import type { RetryPolicy } from '../../transport/retry';
import { BRAND_SYSTEM_CODE, type ServiceKeyName } from '../card-layout';
import { ValueSession, type CardOp, type DetectedCard, type WriteSent } from '../card-ops';

export class RetappingSession {
  private constructor(
    private session: ValueSession,
    /** The same card polled again and a new session opened on it ((b), (b′) after a re-tap). */
    private readonly retapOpen: () => Promise<CardOp<ValueSession>>,
    private readonly policy: RetryPolicy,
  ) {}

  /** (b), (b′) on `client` (its card link marked by markingCardLoss), tapped again as `policy` allows. */
  static async open(
    client: FelicaClient,
    holder: KeyHolder,
    card: DetectedCard,
    keyName: ServiceKeyName,
    steps: { readonly info: string; readonly verdict: string },
    policy: RetryPolicy,
  ): Promise<CardOp<RetappingSession>> {
    const open = (): Promise<CardOp<ValueSession>> => ValueSession.open(client, holder, card, keyName, steps);
    const retapOpen = async (): Promise<CardOp<ValueSession>> => {
      await sameCardPolled(client, BRAND_SYSTEM_CODE, card.idm);
      return open();
    };
    const s = await retapped(policy, (tap) => (tap > 0 ? retapOpen() : open()));
    if (!s.ok) return s;
    return { ...s, value: new RetappingSession(s.value, retapOpen, policy) };
  }

  /**
   * Runs `op` (tap 0), and again (tap 1, 2, …) in a new session on the same card each time the card
   * left the field, as the policy allows; past it the card's CardLeftField propagates.
   */
  run<T>(op: (session: ValueSession, tap: number) => Promise<CardOp<T>>): Promise<CardOp<T>> {
    return retapped(this.policy, async (tap) => {
      if (tap > 0) {
        await this.session.close().catch(() => undefined);
        const s = await this.retapOpen();
        if (!s.ok) return s;
        this.session = s.value;
      }
      return op(this.session, tap);
    });
  }

  balance(step: string): Promise<CardOp<number>> {
    return this.run((s) => s.balance(step));
  }

  /** (d): after a re-tap the same write again; its duplicate refusal means the tap before applied it. */
  writeValue(
    mode: Mode,
    kind: 'add' | 'subtract',
    amount: number,
    txId: string,
    day: number,
    step: string,
  ): Promise<CardOp<true>> {
    const sent: WriteSent = {};
    return this.run((s) => s.writeValue(mode, kind, amount, txId, day, step, sent));
  }

  /** (e) (F): after a re-tap the same log write again (DUPLICATE_CHARGE_ID: it reached the card). */
  writeLog(
    kind: 'add' | 'subtract',
    amount: number,
    txId: string,
    day: number,
    step: string,
  ): Promise<CardOp<true>> {
    return this.run((s, tap) => s.writeLog(kind, amount, txId, day, step, tap > 0));
  }

  /** (e) (H): the log read back. */
  readLog(txId: string, step: string): Promise<CardOp<boolean>> {
    return this.run((s) => s.readLog(txId, step));
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
