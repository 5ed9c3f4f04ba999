// The shopper's PC [14] with its reader [15] (flows.md 5.3 F2, F3, F6): everything it sends goes over
// the internet channel, through the hook that refuses key material (E_KEY_ON_INTERNET); only card
// cryptograms and requests cross. F2 loads through issuer 2-2's key holder [161] (key D), F3 through
// the brand holder's [145] (proxy key E), and F6 pays a cybershop, whose requests the brand holder's
// key holder verifies and authors (keys K-M) after the cybershop approved the sale.
import type { BrandHolderBackend } from '../../backend/kinds/brand';
import type { CybershopBackend } from '../../backend/kinds/cybershop';
import type { IssuerBackend } from '../../backend/kinds/issuer';
import { deliverToPeer } from '../../backend/link-retry';
import { accepted, refused, type Outcome } from '../../backend/outcome';
import type { Mode } from '../../backend/backend';
import type { FelicaClient } from '../../felica/client';
import type { AuthRequest, CryptogramSession, KeyHolder } from '../../keys/key-holder';
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { Clock } from '../../platform/clock';
import type { Rng } from '../../platform/rng';
import type { RetryPolicy } from '../../transport/retry';
import { newTxId } from '../../platform/tx-id';
import type { ServiceKeyName } from '../card-layout';
import type { CardOp } from '../card-ops';
import { KeyOnInternetError, type ChannelHook } from '../channels';
import { BrandTerminal } from './brand-terminal';
import type { RetappingSession } from './retapping-session';

export interface ShopperPcOptions {
  readonly terminalId: string;
  readonly client: FelicaClient;
  readonly hook: ChannelHook;
  readonly issuers: readonly { readonly issuerId: string; readonly area: number }[];
  readonly mode: Mode;
  readonly clock: Clock;
  readonly rng: Rng;
  /** How often a card that left the field is tapped again (default: defaultRetapPolicy, one re-tap). */
  readonly retap?: RetryPolicy;
}

/** A back-end's key holder seen from the PC: every call and answer crosses the internet hook. */
export function overInternet(hook: ChannelHook, from: string, to: string, holder: KeyHolder): KeyHolder {
  const hex = (b: Uint8Array): string => bytesToHex(b);
  const pass = <T>(summary: string, payload: T): T => hook.send('internet', from, to, summary, payload);
  const back = <T>(summary: string, payload: T): T => hook.send('internet', to, from, summary, payload);
  return {
    async authenticate(req: AuthRequest): Promise<CryptogramSession> {
      pass('keyholder authenticate', { ...req, idm: hex(req.idm) });
      const s = await holder.authenticate(req);
      return {
        respond: async (c) => back('readerResponse', await s.respond(pass('cardChallenge', c))),
        confirm: async (c) => back('verdict', await s.confirm(pass('cardResponse', c))),
        seal: async (clear, secret) => back('sealed command', await s.seal(pass('clear', clear), secret)),
        open: async (answer, from2) =>
          back('opened answer', await s.open(pass('card answer', answer), from2)),
        close: () => s.close(),
      };
    },
  };
}

export class ShopperPc extends BrandTerminal {
  constructor(private readonly o: ShopperPcOptions) {
    super(o.terminalId, o.clock, undefined, o.retap);
    this.insert(o.client);
  }

  /** Sends `payload` to `to` over the internet (the hook checks it). */
  private net<T>(to: string, summary: string, payload: T): T {
    return this.o.hook.send('internet', this.terminalId, to, summary, payload);
  }

  /** Tries to send a key package over the internet: the hook refuses it. */
  sendOverInternet(to: string, payload: unknown): Outcome<true> {
    try {
      this.net(to, 'forced key package', payload);
      return accepted(true);
    } catch (e) {
      if (!(e instanceof KeyOnInternetError)) throw e;
      this.say('F0.2', this.terminalId, to, `refused by the internet hook: ${e.message}`);
      return refused('E_KEY_ON_INTERNET', 'F0.2', e.message);
    }
  }

  private stop<T>(r: CardOp<T> | Outcome<unknown>, step: string, txId: string, op: string): Outcome<never> {
    if (r.ok) throw new Error('stop() on success');
    this.say(step, this.terminalId, 'user', `error shown: ${r.code} (${r.message}); nothing written`);
    this.record(txId, op, r.code);
    return r;
  }

  private async session(
    holder: KeyHolder,
    keyName: ServiceKeyName,
    to: string,
    steps: { info: string; verdict: string; detect: string },
  ) {
    const card = await this.detectCard(this.o.issuers, steps.detect);
    if (!card.ok) return { card };
    const s = await this.openSession(
      overInternet(this.o.hook, this.terminalId, to, holder),
      card.value,
      keyName,
      steps,
    );
    return { card, s };
  }

  /** F2: internet loading through an issuer's web server [171] and key holder [161] (key D). */
  async internetLoad(q: {
    readonly issuerId: string;
    readonly issuer: IssuerBackend;
    readonly keyHolder: KeyHolder;
    readonly amount: number;
    readonly keyName?: ServiceKeyName;
  }): Promise<Outcome<{ txId: string; cardId: string }>> {
    const txId = newTxId(this.o.rng);
    const op = `internet load ${q.amount}`;
    const keyName = q.keyName ?? 'D';
    const { card, s } = await this.session(q.keyHolder, keyName, q.issuerId, {
      detect: 'S21',
      info: 'S27',
      verdict: 'S31',
    });
    if (!card.ok) return this.stop(card, 'S41-S42', txId, op);
    if (!s!.ok) return this.stop(s!, 'S41-S42', txId, op);
    this.say(
      'S21-S31',
      this.terminalId,
      q.issuerId,
      `card ${card.value.cardId}: request, response and command relayed; the issuer's key holder verified`,
      s!.card,
    );
    const session = s!.value;
    try {
      const ok = await q.issuer.approveLoad(
        this.net(q.issuerId, 'approveLoad', {
          txId,
          cardId: card.value.cardId,
          amount: q.amount,
          funding: 'bank' as const,
          step: 'S33',
        }),
      );
      if (!ok.ok) return this.stop(ok, 'S41-S42', txId, op);
      this.say('S32-S33', q.issuerId, 'institute', 'funding accepted by the institute');
      const w = await session.writeValue(this.o.mode, 'add', q.amount, txId, this.o.clock.today(), 'S35');
      if (!w.ok) return this.stop(w, 'S41-S42', txId, op);
      this.say('S34-S35', q.issuerId, 'card', `add ¥${q.amount} through ${keyName}`, w.card);
      const record = this.net(q.issuerId, 'recordLoad', {
        txId,
        cardId: card.value.cardId,
        channel: keyName,
        amount: q.amount,
        via: q.issuerId,
        funding: 'bank' as const,
      });
      // Again while the link is lost: the issuer answers a retry of the same txId from its table.
      const rec = await deliverToPeer(() => q.issuer.recordLoad(record));
      if (!rec.ok) return this.stop(rec, 'S41-S42', txId, op);
      this.say(
        'S36-S38',
        q.issuerId,
        'brand',
        'recorded in [168], collected from the institute, noticed to the brand holder',
      );
      await this.logStep(session, 'add', q.amount, txId, 'S39-S40', q.issuerId);
      this.record(txId, op, 'OK');
      return accepted({ txId, cardId: card.value.cardId });
    } finally {
      await session.close().catch(() => undefined);
    }
  }

  /** F3: proxy loading for an issuer without internet service, by the brand holder (key E). */
  async proxyLoad(q: {
    readonly brandId: string;
    readonly brand: BrandHolderBackend;
    readonly keyHolder: KeyHolder;
    readonly amount: number;
    readonly bankId: string;
    readonly accountNo: string;
  }): Promise<Outcome<{ txId: string; cardId: string }>> {
    const txId = newTxId(this.o.rng);
    const op = `proxy load ${q.amount}`;
    const { card, s } = await this.session(q.keyHolder, 'E', q.brandId, {
      detect: 'S51',
      info: 'S57',
      verdict: 'S61',
    });
    if (!card.ok) return this.stop(card, 'S71-S72', txId, op);
    if (!s!.ok) return this.stop(s!, 'S71-S72', txId, op);
    this.say(
      'S51-S61',
      this.terminalId,
      q.brandId,
      `card ${card.value.cardId}: relayed through [150]; the brand holder's key holder verified`,
      s!.card,
    );
    const session = s!.value;
    try {
      const ok = await q.brand.beginProxyLoad(
        this.net(q.brandId, 'beginProxyLoad', {
          txId,
          issuerId: card.value.issuerId,
          cardId: card.value.cardId,
          amount: q.amount,
          bankId: q.bankId,
          accountNo: q.accountNo,
        }),
      );
      if (!ok.ok) return this.stop(ok, 'S71-S72', txId, op);
      this.say('S62-S63', q.brandId, card.value.issuerId, 'the issuer accepts the load');
      const w = await session.writeValue(this.o.mode, 'add', q.amount, txId, this.o.clock.today(), 'S65');
      if (!w.ok) return this.stop(w, 'S71-S72', txId, op);
      this.say('S64-S65', q.brandId, 'card', `add ¥${q.amount} through E`, w.card);
      // The card holds the value now: the record is sent again while the link is lost (same txId).
      const record = this.net(q.brandId, 'recordProxyLoad', { txId });
      const rec = await deliverToPeer(() => q.brand.recordProxyLoad(record));
      if (!rec.ok) return this.stop(rec, 'S71-S72', txId, op);
      this.say('S66-S68', q.brandId, card.value.issuerId, 'recorded in [148]; notice to the issuer');
      await this.logStep(session, 'add', q.amount, txId, 'S69-S70', q.brandId);
      this.record(txId, op, 'OK');
      return accepted({ txId, cardId: card.value.cardId });
    } finally {
      await session.close().catch(() => undefined);
    }
  }

  /** F6: a cybershop purchase; the brand holder verifies and debits only after the sales approval. */
  async cybershopPurchase(q: {
    readonly shopId: string;
    readonly shop: CybershopBackend;
    readonly brandId: string;
    readonly brand: BrandHolderBackend;
    readonly keyHolder: KeyHolder;
    readonly orderId: string;
    readonly items: readonly { readonly sku: string; readonly qty: number }[];
    /** What the PC claims the amount is (the approval checks it against the order). */
    readonly amount?: number;
    readonly keyName?: ServiceKeyName;
  }): Promise<Outcome<{ txId: string; cardId: string; amount: number }>> {
    const txId = newTxId(this.o.rng);
    const op = `cybershop ${q.orderId}`;
    const keyName = q.keyName ?? 'K';
    const card0 = await this.detectCard(this.o.issuers, 'S125');
    if (!card0.ok) return this.stop(card0, 'S144-S145', txId, op);
    const order = await q.shop.placeOrder(
      this.net(q.shopId, 'placeOrder', {
        orderId: q.orderId,
        cardId: card0.value.cardId,
        items: [...q.items],
      }),
    );
    if (!order.ok) return this.stop(order, 'S144-S145', txId, op);
    this.say(
      'S121-S124',
      this.terminalId,
      q.shopId,
      `order ${q.orderId} for ¥${order.result.amount} from the screen [193]`,
    );
    const amount = q.amount ?? order.result.amount;
    const { card, s } = await this.session(q.keyHolder, keyName, q.brandId, {
      detect: 'S125',
      info: 'S127',
      verdict: 'S132',
    });
    if (!card.ok) return this.stop(card, 'S144-S145', txId, op);
    if (!s!.ok) return this.stop(s!, 'S144-S145', txId, op);
    this.say(
      'S125-S134',
      q.shopId,
      q.brandId,
      'authentication information forwarded; the brand holder verified: valid',
      s!.card,
    );
    const session = s!.value;
    try {
      const b = await session.balance('S135');
      if (!b.ok) return this.stop(b, 'S144-S145', txId, op);
      if (b.value < amount)
        return this.stop(
          refused('E_INSUFFICIENT_VALUE', 'S136', `the purse holds ¥${b.value}, less than ¥${amount}`),
          'S144-S145',
          txId,
          op,
        );
      const approval = await q.shop.approveSale(
        this.net(q.shopId, 'approveSale', {
          cybershopId: q.shopId,
          orderId: q.orderId,
          cardId: card.value.cardId,
          amount,
        }),
      );
      if (!approval.ok) return this.stop(approval, 'S144-S145', txId, op);
      this.say(
        'S135-S136',
        q.brandId,
        q.shopId,
        `balance ¥${b.value}; sales approval for order ${q.orderId}`,
        b.card,
      );
      const w = await session.writeValue(this.o.mode, 'subtract', amount, txId, this.o.clock.today(), 'S138');
      if (!w.ok) return this.stop(w, 'S144-S145', txId, op);
      this.say('S137-S138', q.brandId, 'card', `subtract ¥${amount} through ${keyName}`, w.card);
      // The card is debited now: the completion is sent again while the link is lost (same txId).
      const sale = this.net(q.shopId, 'completeSale', { orderId: q.orderId, txId });
      const done = await deliverToPeer(() => q.shop.completeSale(sale));
      if (!done.ok) return this.stop(done, 'S144-S145', txId, op);
      this.say('S139-S140', q.brandId, q.shopId, '[192] updated: order paid, stock taken');
      const payment = this.net(q.brandId, 'recordPayment', {
        txId,
        merchantId: q.shopId,
        issuerId: card.value.issuerId,
        cardId: card.value.cardId,
        amount,
        terminalId: this.terminalId,
        via: q.shopId,
      });
      // Again while the link is lost: the brand holder answers a retry of the same txId from its table.
      const pay = await deliverToPeer(() => q.brand.recordPayment(payment));
      if (!pay.ok) return this.stop(pay, 'S144-S145', txId, op);
      this.say('S141', q.shopId, q.brandId, 'notice to the brand holder: payment recorded');
      await this.logStep(session, 'subtract', amount, txId, 'S142-S143', q.brandId);
      this.record(txId, op, 'OK');
      return accepted({ txId, cardId: card.value.cardId, amount });
    } finally {
      await session.close().catch(() => undefined);
    }
  }

  private async logStep(
    session: RetappingSession,
    kind: 'add' | 'subtract',
    amount: number,
    txId: string,
    step: string,
    by: string,
  ): Promise<void> {
    if (this.o.mode === 'faithful') {
      const l = await session.writeLog(kind, amount, txId, this.o.clock.today(), step);
      this.say(step, by, 'card', 'log record written', l.card);
    } else {
      const l = await session.readLog(txId, step);
      this.say(step, by, 'card', 'log read back as proof', l.card);
    }
  }
}
