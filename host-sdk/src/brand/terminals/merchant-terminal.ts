// Merchant terminals (flows.md 5.3 F4, F5): a stand-alone terminal [18-1] verifies locally with the
// keys in its flash [42] and sends the result to the brand holder through its outbox (S91: per-tx at
// once, or batched); a terminal under a POS or MMK center [18-2] holds no keys, relays to the
// center's key holder and reports to the center (S113), which reports to the brand holder (S114).
// (c) refuses a payment the purse cannot cover (E_INSUFFICIENT_VALUE) before anything is written.
import type { Mode } from '../../backend/backend';
import { deliverToPeer } from '../../backend/link-retry';
import type { BrandHolderBackend } from '../../backend/kinds/brand';
import type { ServiceCenterBackend } from '../../backend/kinds/service-center';
import { accepted, refused, type Outcome } from '../../backend/outcome';
import type { FelicaClient } from '../../felica/client';
import type { KeyHolder } from '../../keys/key-holder';
import type { Clock } from '../../platform/clock';
import type { Rng } from '../../platform/rng';
import type { RetryPolicy } from '../../transport/retry';
import { newTxId } from '../../platform/tx-id';
import type { ServiceKeyName } from '../card-layout';
import type { CardOp } from '../card-ops';
import { BrandTerminal } from './brand-terminal';

export type MerchantLink =
  | {
      readonly kind: 'stand-alone';
      readonly brandId: string;
      readonly brand: BrandHolderBackend;
      readonly notification: 'per-tx' | 'batch';
    }
  | { readonly kind: 'center'; readonly centerId: string; readonly center: ServiceCenterBackend };

export interface MerchantTerminalOptions {
  readonly terminalId: string;
  readonly merchantId: string;
  /** Stand-alone: the key holder of its flash; under a center: the center's, reached remotely. */
  readonly keyHolder: KeyHolder;
  /** The merchant keys this terminal (or its center) holds; payments use the first. */
  readonly keys: readonly ServiceKeyName[];
  readonly link: MerchantLink;
  readonly client: FelicaClient;
  readonly issuers: readonly { readonly issuerId: string; readonly area: number }[];
  readonly mode: Mode;
  readonly clock: Clock;
  readonly rng: Rng;
  /** How often a card that left the field is tapped again (default: defaultRetapPolicy, one re-tap). */
  readonly retap?: RetryPolicy;
}

export class MerchantTerminal extends BrandTerminal {
  constructor(private readonly o: MerchantTerminalOptions) {
    super(o.terminalId, o.clock, undefined, o.retap);
    this.insert(o.client);
  }

  async pay(
    amount: number,
    txId = newTxId(this.o.rng),
  ): Promise<Outcome<{ txId: string; cardId: string; balanceAfter: number }>> {
    const me = this.terminalId;
    const verifier = this.o.link.kind === 'center' ? this.o.link.centerId : `${me} (flash)`;
    const stand = this.o.link.kind === 'stand-alone';
    const stop = <T>(r: CardOp<T> | Outcome<unknown>): Outcome<never> => {
      if (r.ok) throw new Error('stop() on success');
      this.say(
        stand ? 'S94' : 'S117-S118',
        me,
        'user',
        `error shown: ${r.code} (${r.message}); nothing written`,
      );
      this.record(txId, `pay ${amount}`, r.code);
      return r;
    };
    const card = await this.detectCard(this.o.issuers, stand ? 'S81' : 'S101');
    if (!card.ok) return stop(card);
    const keyName = this.o.keys[0];
    if (keyName === undefined)
      return stop(refused('E_NO_KEY', stand ? 'S84' : 'S104', `${me} holds no merchant key`));
    this.say(
      stand ? 'S81-S84' : 'S101-S104',
      me,
      'card',
      `card ${card.value.cardId}: pay ¥${amount} through ${keyName}`,
      card.card,
    );
    const s = await this.openSession(this.o.keyHolder, card.value, keyName, {
      info: stand ? 'S84' : 'S104',
      verdict: stand ? 'S86' : 'S107',
    });
    if (!s.ok) return stop(s);
    this.say(
      stand ? 'S85-S86' : 'S105-S108',
      me,
      verifier,
      'the card verified (mutual authentication)',
      s.card,
    );
    const session = s.value;
    try {
      const b = await session.balance(stand ? 'S87' : 'S109');
      if (!b.ok) return stop(b);
      if (b.value < amount)
        return stop(
          refused(
            'E_INSUFFICIENT_VALUE',
            stand ? 'S88' : 'S110',
            `the purse holds ¥${b.value}, less than ¥${amount}`,
          ),
        );
      this.say(stand ? 'S87-S88' : 'S109', verifier, 'card', `balance ¥${b.value} covers ¥${amount}`, b.card);
      const w = await session.writeValue(
        this.o.mode,
        'subtract',
        amount,
        txId,
        this.o.clock.today(),
        stand ? 'S90' : 'S112',
      );
      if (!w.ok) return stop(w);
      this.say(
        stand ? 'S89-S90' : 'S110-S112',
        verifier,
        'card',
        `subtract ¥${amount}, charge ID ${txId.slice(0, 16)}`,
        w.card,
      );
      const notice = {
        txId,
        merchantId: this.o.merchantId,
        issuerId: card.value.issuerId,
        cardId: card.value.cardId,
        amount,
        terminalId: me,
        via: me,
      };
      if (this.o.link.kind === 'stand-alone') {
        this.queue(txId, this.o.link.brandId, 'brand.recordPayment', notice, card.value.issuerId, -amount);
        const sent = this.o.link.notification === 'per-tx' ? await this.flush() : 0;
        this.say(
          'S91',
          me,
          this.o.link.brandId,
          sent ? 'result to the brand holder' : 'result queued for the batch (in flight)',
        );
      } else {
        // Again while the link is lost: the center answers a retry of the same txId from its table.
        const center = this.o.link.center;
        const r = await deliverToPeer(() =>
          center.recordPayment({
            txId,
            terminalId: me,
            cardId: card.value.cardId,
            issuerId: card.value.issuerId,
            amount,
          }),
        );
        if (!r.ok) return stop(r);
        this.say('S113-S114', me, this.o.link.centerId, 'result to the center, on to the brand holder');
      }
      if (this.o.mode === 'faithful') {
        const l = await session.writeLog(
          'subtract',
          amount,
          txId,
          this.o.clock.today(),
          stand ? 'S93' : 'S116',
        );
        this.say(stand ? 'S92-S93' : 'S115-S116', verifier, 'card', 'log record written', l.card);
      } else {
        const l = await session.readLog(txId, stand ? 'S93' : 'S116');
        this.say(stand ? 'S92-S93' : 'S115-S116', verifier, 'card', 'log read back as proof', l.card);
      }
      this.record(txId, `pay ${amount}`, 'OK');
      return accepted({ txId, cardId: card.value.cardId, balanceAfter: b.value - amount });
    } finally {
      await session.close().catch(() => undefined);
    }
  }

  /** Sends the queued results to the brand holder (per-tx: after each payment; batch: when the batch runs). */
  async flush(): Promise<number> {
    if (this.o.link.kind !== 'stand-alone') return 0;
    let n = 0;
    for (const row of this.pendingNotices()) {
      const link = this.o.link;
      // Again while the link is lost: the brand holder answers a retry of the same txId from its table.
      const o = await deliverToPeer(() => link.brand.recordPayment(JSON.parse(row.payload) as never)).catch(
        () => ({ ok: false }),
      );
      if (!o.ok) continue;
      this.markDelivered(row.seq);
      n++;
    }
    return n;
  }
}
