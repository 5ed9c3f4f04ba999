// MerchantTerminal (flows.md 3.1: store e-money terminal [80]; R2): a payment is a decrement Write
// with a charge ID, authorised by the terminal's own key holder for the subtract service and the log
// (it cannot add value). The MAC-verified result waits in the terminal's outbox until the e-money
// server has booked it (recordPayment: float → the merchant). A card that left the field (link-lost)
// is tapped again (./card-retap.ts): the same card polled again, a new session, the same write under
// the same charge ID, which the card refuses as DUPLICATE_CHARGE_ID if the first one reached it.
import type { EMoneyBackend } from '../backend/kinds/emoney';
import { deliverToPeer } from '../backend/link-retry';
import { FelicaClient } from '../felica/client';
import { SecureFelicaSession } from '../felica/secure-session';
import type { KeyHolder } from '../keys/key-holder';
import type { Clock } from '../platform/clock';
import type { Rng } from '../platform/rng';
import { newTxId } from '../platform/tx-id';
import type { RetryPolicy } from '../transport/retry';
import type { Transport } from '../transport/transport';
import { defaultRetapPolicy, markingCardLoss, retapped, sameCardPolled } from './card-retap';
import {
  executionIdOf,
  flags,
  logBlock,
  readOpen,
  relativePurseBlock,
  type EmoneyCardLayout,
} from './emoney-card';
import type { TerminalReporter } from './events';
import type { TerminalStore } from './terminal-store';

export interface MerchantTerminalOptions {
  readonly store: TerminalStore;
  readonly card: Transport;
  readonly layout: EmoneyCardLayout;
  /** The merchant's name in the e-money ledger (ext:merchant:<name>). */
  readonly merchant: string;
  readonly emoney: { readonly id: string; readonly api: EMoneyBackend };
  /** Holds the subtract-service and log keys only. */
  readonly keys: KeyHolder;
  readonly rng: Rng;
  readonly clock: Clock;
  readonly origin: number;
  readonly report?: TerminalReporter;
  /** How often a card that left the field is tapped again (default: defaultRetapPolicy, one re-tap). */
  readonly retap?: RetryPolicy;
}

export type PaymentResult =
  | { readonly ok: true; readonly txId: string; readonly balanceBefore: number }
  | { readonly ok: false; readonly code: string; readonly status: string };

export class MerchantTerminal {
  readonly id: string;
  private readonly felica: FelicaClient;
  private readonly retap: RetryPolicy;

  constructor(private readonly o: MerchantTerminalOptions) {
    this.id = o.store.id;
    this.felica = new FelicaClient(markingCardLoss(o.card));
    this.retap = o.retap ?? defaultRetapPolicy;
  }

  private async event(
    step: string,
    to: string,
    summary: string,
    card?: { command: string; status: string },
  ): Promise<void> {
    this.o.store.log(step, to, summary, card && `${card.command} → ${card.status}`);
    await this.o.report?.({ step, from: this.id, to, summary, ...(card ? { card } : {}) });
  }

  /** R2: subtract `amount` from the card in the field; SF2 01 (insufficient) changes nothing. */
  async pay(amount: number, txId = newTxId(this.o.rng)): Promise<PaymentResult> {
    const { layout } = this.o;
    const open = await retapped(this.retap, () => readOpen(this.felica, layout));
    await this.event('R1', 'card', `balance ¥${open.purse.balance} on ${open.emoneyNo}`, {
      command: 'Read Without Encryption',
      status: 'SF 00 00',
    });
    const chargeId = txId.slice(0, 16);
    let retap = false;
    // Past the re-tap policy the card's link-lost propagates, as before the re-tap.
    const w = await retapped(this.retap, async (tap) => {
      retap = tap > 0;
      const idm = retap ? await sameCardPolled(this.felica, layout.systemCode, open.idm) : open.idm;
      const session = await SecureFelicaSession.open(this.felica, this.o.keys, {
        idm,
        systemCode: layout.systemCode,
        suite: layout.suite,
        areas: [],
        services: [layout.purseSubtract, layout.log],
      });
      try {
        return await session.write(
          [layout.purseSubtract, layout.log],
          [
            { serviceIndex: 0, block: 0 },
            { serviceIndex: 1, block: 0 },
          ],
          [
            relativePurseBlock(amount, executionIdOf(chargeId)),
            logBlock({
              chargeId,
              amount,
              kind: 'subtract',
              day: this.o.clock.today(),
              origin: this.o.origin,
            }),
          ],
        );
      } finally {
        await session.close();
      }
    });
    // After a re-tap, DUPLICATE_CHARGE_ID: the write of the tap before reached the card.
    const applied = w.ok || (retap && w.sf2 === 0xe1);
    // The value left the card but is not booked yet: it waits in this terminal's outbox (C4).
    const seq = applied
      ? this.o.store.hold({
          txId,
          peer: this.o.emoney.id,
          topic: 'recordPayment',
          payload: { txId },
          floatIssuer: this.o.emoney.id,
          floatAmount: -amount,
        })
      : 0;
    await this.event('R2', 'card', `pay ¥${amount}, charge ID ${chargeId}`, {
      command: 'Write (secure)',
      status: flags(w),
    });
    if (!applied)
      return {
        ok: false,
        code: w.sf2 === 0x01 ? 'E_INSUFFICIENT_VALUE' : 'E_CARD_REFUSED',
        status: flags(w),
      };
    // Again while the link is lost: the e-money server answers a retry of the same txId from its table.
    const r = await deliverToPeer(() =>
      this.o.emoney.api.recordPayment({
        txId,
        emoneyNo: open.emoneyNo,
        amount,
        merchant: this.o.merchant,
        terminalId: this.id,
      }),
    );
    if (r.ok) this.o.store.release(seq);
    await this.event('R2', this.o.emoney.id, `recordPayment ¥${amount} → ${r.ok ? 'booked' : r.code}`);
    return { ok: true, txId, balanceBefore: open.purse.balance };
  }
}
