// ChargeTerminal (flows.md 3.1: card terminal [3], home PC [10], phone [60]): the VALUE purchase of
// Fig. 7 (P1-P10) with the credit applet and the credit company server, and the charge-up of Fig. 8
// (Q1-Q9) with the e-money server, whose key holder authors the amount change that this terminal only
// relays. Every step is reported (TerminalEvent) and kept in the terminal's operation log; a card
// result the e-money server has not booked yet waits in the terminal's outbox (C4). A card that left
// the field (link-lost) is tapped again (./card-retap.ts): Q1 reads it again, and a delivery restarts
// its session from Polling with the same charge ID, which the card refuses as DUPLICATE_CHARGE_ID if
// the first write reached it, so the value is booked once (never a new charge ID, flows.md 1.4).
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { ApduClient } from '../apdu/apdu-client';
import { CreditClient } from '../applets/credit-client';
import type { Mode } from '../backend/backend';
import { deliverToPeer } from '../backend/link-retry';
import type { BillingRow, CreditBackend } from '../backend/kinds/credit';
import type { Delivery, EMoneyBackend, Quote, Receipt } from '../backend/kinds/emoney';
import { FelicaClient } from '../felica/client';
import { AuthenticationError, SecureFelicaSession } from '../felica/secure-session';
import type { KeyHolder } from '../keys/key-holder';
import type { Clock } from '../platform/clock';
import type { Rng } from '../platform/rng';
import { newTxId } from '../platform/tx-id';
import type { RetryPolicy } from '../transport/retry';
import { TransportError, type Transport } from '../transport/transport';
import { defaultRetapPolicy, isCardLeft, markingCardLoss, retapped, sameCardPolled } from './card-retap';
import {
  directPurseBlock,
  executionIdOf,
  flags,
  logBlock,
  parseLogBlock,
  parsePurse,
  readOpen,
  relativePurseBlock,
  type EmoneyCardLayout,
  type LogEntry,
} from './emoney-card';
import { swText, type TerminalEvent, type TerminalReporter } from './events';
import type { TerminalStore } from './terminal-store';

export interface ChargeTerminalOptions {
  readonly store: TerminalStore;
  readonly card: Transport;
  readonly creditAid: Uint8Array;
  readonly layout: EmoneyCardLayout;
  readonly credit: { readonly id: string; readonly api: CreditBackend };
  readonly emoney: { readonly id: string; readonly api: EMoneyBackend; readonly keys: KeyHolder };
  /** The world's mode: the PIN result is a plain value (faithful) or the card's proof (hardened). */
  readonly mode: Mode;
  /** The system's amount change for additions (flows.md 3.3): relative add, or overwrite. */
  readonly amountChange: 'add' | 'overwrite';
  readonly rng: Rng;
  readonly clock: Clock;
  /** The log record's origin byte: this terminal's index. */
  readonly origin: number;
  readonly report?: TerminalReporter;
  /** How often a card that left the field is tapped again (default: defaultRetapPolicy, one re-tap). */
  readonly retap?: RetryPolicy;
}

export type Refusal = {
  readonly ok: false;
  readonly code: string;
  readonly step: string;
  readonly message: string;
};

/** What the terminal sent the credit company (P7): a retry sends it again unchanged. */
export interface PurchaseRequest {
  readonly txId: string;
  readonly creditCardNo: string;
  /** Absent in the credit-no identification variants (flows.md 3.3). */
  readonly emoneyNo?: string;
  readonly amount: number;
  readonly auth: { readonly result?: 'verified' | 'failed'; readonly nonce?: string; readonly mac?: string };
}

export type PurchaseResult = ({ readonly ok: true; readonly billing: BillingRow } | Refusal) & {
  readonly request?: PurchaseRequest;
};

export type ChargeUpResult =
  | { readonly outcome: 'completed'; readonly receipts: readonly Receipt[] }
  | { readonly outcome: 'declined'; readonly quote: Quote }
  | { readonly outcome: 'refused'; readonly refusal: Refusal }
  | { readonly outcome: 'card-refused'; readonly status: string; readonly delivery: Delivery }
  | { readonly outcome: 'no-answer'; readonly delivery: Delivery };

/** One delivery's outcome at the card. */
type Delivered =
  | { readonly kind: 'completed'; readonly receipt: Receipt }
  | { readonly kind: 'card-refused'; readonly status: string }
  | { readonly kind: 'no-answer' };

/** The part of a Delivery the card write needs (a recovered one is rebuilt from the charges). */
export type DeliveryOrder = Pick<Delivery, 'deliveryId' | 'chargeId' | 'emoneyNo' | 'total' | 'mode'>;

export class ChargeTerminal {
  readonly id: string;
  private readonly felica: FelicaClient;
  private readonly credit: CreditClient;
  private readonly retap: RetryPolicy;

  constructor(private readonly o: ChargeTerminalOptions) {
    this.id = o.store.id;
    // The card's link-lost (the card left the field) is told from a back-end's: only it is re-tapped.
    const card = markingCardLoss(o.card);
    this.felica = new FelicaClient(card);
    this.credit = new CreditClient(new ApduClient(card), o.creditAid);
    this.retap = o.retap ?? defaultRetapPolicy;
  }

  private async event(e: Omit<TerminalEvent, 'from'> & { from?: string }): Promise<void> {
    const full: TerminalEvent = { from: this.id, ...e };
    this.o.store.log(
      full.step,
      full.from === this.id ? full.to : full.from,
      full.summary,
      full.card && `${full.card.command} → ${full.card.status}`,
    );
    await this.o.report?.(full);
  }

  /**
   * P1-P10: the VALUE purchase. The PIN goes only to the card (VERIFY); the server gets the result
   * (faithful) or the card's MAC over its nonce, the amount and the card number (hardened).
   */
  async purchaseValue(p: {
    pin: string;
    amount: number;
    emoneyNo?: string;
    txId?: string;
    /** false: the credit-no identification variants; P6 is skipped and no e-money number is sent. */
    identify?: boolean;
  }): Promise<PurchaseResult> {
    const credit = this.o.credit;
    const sel = await this.credit.select();
    await this.event({
      step: 'P1',
      to: 'card',
      summary: 'credit card on R/W [6]',
      card: { command: 'SELECT credit', status: swText(sel.sw) },
    });
    if (!sel.ok)
      return { ok: false, code: 'E_CARD_REFUSED', step: 'P1', message: `SELECT answered ${swText(sel.sw)}` };
    let nonce: Uint8Array | undefined;
    if (this.o.mode === 'hardened') {
      const n = await credit.api.beginPurchase({ terminalId: this.id });
      if (!n.ok) return { ok: false, code: n.code, step: n.step, message: n.message };
      nonce = hexToBytes(n.result.nonce);
      await this.event({ step: 'P1', to: credit.id, summary: `beginPurchase → nonce ${n.result.nonce}` });
    }
    const v = await this.credit.verify(p.pin);
    await this.event({
      step: 'P2',
      to: 'card',
      summary: `PIN (${'•'.repeat(p.pin.length)}) to the card only`,
      card: { command: 'VERIFY', status: swText(v.sw) },
    });
    let mac: string | undefined;
    if (nonce && v.ok) {
      const proof = await this.credit.pinProof(nonce, p.amount);
      await this.event({
        step: 'P4',
        to: 'card',
        summary: `proof over nonce ‖ ¥${p.amount} ‖ card number`,
        card: { command: 'INTERNAL AUTHENTICATE', status: proof.ok ? '9000' : swText(proof.sw) },
      });
      if (proof.ok) mac = bytesToHex(proof.mac);
    }
    const data = await this.credit.readCardData();
    await this.event({
      step: 'P5',
      to: 'card',
      summary: data.ok
        ? `card number ${data.card.cardNo}, expiry ${data.card.expiry}`
        : 'card data unreadable',
      card: { command: 'READ BINARY', status: data.ok ? '9000' : swText(data.sw) },
    });
    if (!data.ok)
      return {
        ok: false,
        code: 'E_CARD_REFUSED',
        step: 'P5',
        message: `READ BINARY answered ${swText(data.sw)}`,
      };
    let emoneyNo = p.emoneyNo;
    if (emoneyNo === undefined && p.identify !== false) {
      const open = await readOpen(this.felica, this.o.layout);
      emoneyNo = open.emoneyNo;
      await this.event({
        step: 'P6',
        to: 'card',
        summary: `e-money card on R/W [7]: ${emoneyNo}`,
        card: { command: 'Polling; Read Without Encryption', status: 'SF 00 00' },
      });
    }
    const auth =
      this.o.mode === 'faithful'
        ? { result: v.ok ? ('verified' as const) : ('failed' as const) }
        : { nonce: bytesToHex(nonce!), ...(mac !== undefined ? { mac } : {}) };
    const txId = p.txId ?? newTxId(this.o.rng);
    return this.submitPurchase({
      txId,
      creditCardNo: data.card.cardNo,
      ...(emoneyNo !== undefined ? { emoneyNo } : {}),
      amount: p.amount,
      auth,
    });
  }

  /** P7-P10 alone: what the terminal sends the credit company (also a retry under the same txId). */
  async submitPurchase(r: PurchaseRequest): Promise<PurchaseResult> {
    const credit = this.o.credit;
    // Again while the link is lost (to the credit company, or its link to the e-money server): the
    // credit company resumes the purchase it booked under this txId, or answers from its table.
    const answer = await deliverToPeer(() =>
      credit.api.purchaseValue({ ...r, terminalId: this.id, emoneyId: this.o.emoney.id }),
    );
    await this.event({
      step: 'P7',
      to: credit.id,
      summary: `purchaseValue ¥${r.amount} for ${r.emoneyNo ?? `card ${r.creditCardNo}`} → ${answer.ok ? 'billed' : `${answer.code} [${answer.step}]`}`,
    });
    return answer.ok
      ? { ok: true, billing: answer.result, request: r }
      : { ok: false, code: answer.code, step: answer.step, message: answer.message, request: r };
  }

  /**
   * Q1-Q9: the charge-up. Deliveries left `delivering` for this card (a lost answer) are resolved
   * first; then inquire, YES/NO, confirm, the amount change written and MAC-verified, completion.
   */
  async chargeUp(p: { password: string; confirm: (quote: Quote) => boolean }): Promise<ChargeUpResult> {
    const em = this.o.emoney;
    const open = await retapped(this.retap, () => readOpen(this.felica, this.o.layout));
    await this.event({
      step: 'Q1',
      to: 'card',
      summary: `e-money number ${open.emoneyNo}, balance ¥${open.purse.balance}`,
      card: { command: 'Polling; Read Without Encryption', status: 'SF 00 00' },
    });
    const receipts: Receipt[] = [];
    for (const d of await this.openDeliveries(open.emoneyNo)) {
      const r = await this.deliver(d, open.idm);
      if (r.kind === 'completed') receipts.push(r.receipt);
    }
    const q = await em.api.inquire({ emoneyNo: open.emoneyNo, password: p.password, terminalId: this.id });
    await this.event({
      step: 'Q2',
      to: em.id,
      summary: `inquire ${open.emoneyNo} → ${q.ok ? `¥${q.result.available} in ${q.result.chargeIds.length} charge(s)` : `${q.code} [${q.step}]`}`,
    });
    if (!q.ok) {
      if (q.code === 'E_NOTHING_PENDING' && receipts.length > 0) return { outcome: 'completed', receipts };
      return { outcome: 'refused', refusal: { ok: false, code: q.code, step: q.step, message: q.message } };
    }
    const yes = p.confirm(q.result);
    await this.event({
      step: 'Q4',
      to: this.id,
      from: 'user',
      summary: yes ? `YES [83] to ¥${q.result.available}` : 'NO [84]: the charges stay pending',
    });
    if (!yes) return { outcome: 'declined', quote: q.result };
    const c = await em.api.confirm({
      quoteId: q.result.quoteId,
      txId: newTxId(this.o.rng),
      terminalId: this.id,
      mode: this.o.amountChange,
    });
    await this.event({
      step: 'Q5',
      to: em.id,
      summary: c.ok
        ? `confirm → delivery ${c.result.deliveryId} (charge ID ${c.result.chargeId}), ${this.o.amountChange} ¥${c.result.total}`
        : `confirm → ${c.code} [${c.step}]`,
    });
    if (!c.ok)
      return { outcome: 'refused', refusal: { ok: false, code: c.code, step: c.step, message: c.message } };
    const r = await this.deliver(c.result, open.idm);
    if (r.kind === 'completed') return { outcome: 'completed', receipts: [...receipts, r.receipt] };
    if (r.kind === 'card-refused') return { outcome: 'card-refused', status: r.status, delivery: c.result };
    return { outcome: 'no-answer', delivery: c.result };
  }

  /**
   * Deliveries of this card still `delivering` (Q9), rebuilt from its charges. The query is a read, so
   * it is asked again while the link is lost: it is what resolves a write whose answer was lost, and a
   * recovery that gave up on one lost answer would leave that value on the card unbooked (C3).
   */
  private async openDeliveries(emoneyNo: string): Promise<DeliveryOrder[]> {
    const all = await deliverToPeer(() => this.o.emoney.api.charges({ emoneyNo }));
    if (!all.ok) return [];
    const byId = new Map<string, number>();
    for (const ch of all.result)
      if (ch.status === 'delivering' && ch.deliveryId)
        byId.set(ch.deliveryId, (byId.get(ch.deliveryId) ?? 0) + ch.amount);
    return [...byId].map(([deliveryId, total]) => ({
      deliveryId,
      chargeId: deliveryId.slice(0, 16),
      emoneyNo,
      total,
      mode: this.o.amountChange,
    }));
  }

  /**
   * Q5-Q9 for one delivery: the key holder authenticates through this terminal, the amount change
   * (purse + log record with the delivery's charge ID) is one secure Write, and only a MAC-verified
   * answer counts: success or a duplicate → Read (secure) of purse and log, then completeDelivery;
   * another refusal → failDelivery; no valid answer → the charges stay delivering. A card that left
   * the field is polled again and the session restarts (the same write: a duplicate if it applied);
   * past the re-tap policy the charges stay delivering, and a value the card applied stays held (C4).
   */
  async deliver(
    d: DeliveryOrder,
    idm: Uint8Array,
    /** Overwrite mode: a balance and execution ID read earlier (not in this session) to build on. */
    basis?: { readonly balance: number; readonly executionId: number },
  ): Promise<Delivered> {
    // The outbox item of a value the card applied, kept over re-taps: held once, released once.
    const held: { seq?: number } = {};
    try {
      return await retapped(this.retap, async (tap) =>
        this.deliverSession(
          d,
          tap === 0 ? idm : await sameCardPolled(this.felica, this.o.layout.systemCode, idm),
          held,
          basis,
        ),
      );
    } catch (e) {
      if (!isCardLeft(e)) throw e;
      await this.event({
        step: 'Q5',
        to: 'card',
        summary: `the card stayed out of the field: charge ID ${d.chargeId} stays delivering${held.seq !== undefined ? ', its value held in flight' : ''}`,
        card: { command: 'Polling', status: 'no answer' },
      });
      return { kind: 'no-answer' };
    }
  }

  /** One card session of `deliver`; a CardLeftField from the card ends it for a re-tap. */
  private async deliverSession(
    d: DeliveryOrder,
    idm: Uint8Array,
    held: { seq?: number },
    basis?: { readonly balance: number; readonly executionId: number },
  ): Promise<Delivered> {
    const { layout, emoney: em } = this.o;
    const purseService = d.mode === 'add' ? layout.purseAdd : layout.purse;
    let session: SecureFelicaSession;
    try {
      session = await SecureFelicaSession.open(this.felica, em.keys, {
        idm,
        systemCode: layout.systemCode,
        suite: layout.suite,
        areas: [],
        services: [purseService, layout.log],
      });
    } catch (e) {
      if (!(e instanceof AuthenticationError || e instanceof TransportError)) throw e;
      await this.event({
        step: 'Q5',
        to: 'card',
        summary: `authentication failed: ${e.message}`,
        card: {
          command: 'Authentication1/2',
          status:
            e instanceof AuthenticationError ? `SF ${e.sf1.toString(16)} ${e.sf2.toString(16)}` : 'no answer',
        },
      });
      if (isCardLeft(e)) throw e;
      return { kind: 'no-answer' };
    }
    try {
      await this.event({
        step: 'Q5',
        to: 'card',
        summary: `${em.id}'s key holder authenticates on ${hex4(purseService)} + log ${hex4(layout.log)}`,
        card: { command: 'Authentication1/2', status: 'SF 00 00' },
      });
      let executionId = executionIdOf(d.chargeId);
      let purse: Uint8Array;
      if (d.mode === 'overwrite' && basis) {
        purse = directPurseBlock(basis.balance + d.total, basis.executionId + 1);
      } else if (d.mode === 'overwrite') {
        const read = await session.read([purseService], [{ serviceIndex: 0, block: 0 }]);
        const state = parsePurse(read.expectOk()[0]!);
        await this.event({
          step: 'Q5',
          to: 'card',
          summary: `balance ¥${state.balance}, execution ID ${state.executionId}`,
          card: { command: 'Read (secure)', status: flags(read) },
        });
        purse = directPurseBlock(state.balance + d.total, state.executionId + 1);
      } else purse = relativePurseBlock(d.total, executionId);
      const log = logBlock({
        chargeId: d.chargeId,
        amount: d.total,
        kind: d.mode,
        day: this.o.clock.today(),
        origin: this.o.origin,
      });
      for (let attempt = 0; ; attempt++) {
        let w;
        try {
          w = await session.write(
            [purseService, layout.log],
            [
              { serviceIndex: 0, block: 0 },
              { serviceIndex: 1, block: 0 },
            ],
            [purse, log],
          );
        } catch (e) {
          if (!(e instanceof TransportError)) throw e;
          await this.event({
            step: 'Q6',
            to: 'card',
            summary: isCardLeft(e)
              ? `amount change ¥${d.total}, charge ID ${d.chargeId}: the card left the field, tap again`
              : `amount change ¥${d.total}, charge ID ${d.chargeId}: no valid answer, the charges stay delivering`,
            card: { command: 'Write (secure)', status: 'no answer' },
          });
          if (isCardLeft(e)) throw e;
          return { kind: 'no-answer' };
        }
        // Applied now, or earlier (DUPLICATE_CHARGE_ID): the value is on the card but not booked yet;
        // it waits in this terminal's outbox (C4) until completeDelivery.
        const applied = w.ok || w.sf2 === 0xe1;
        if (applied && held.seq === undefined)
          held.seq = this.o.store.hold({
            txId: d.deliveryId,
            peer: em.id,
            topic: 'completeDelivery',
            payload: { deliveryId: d.deliveryId },
            floatIssuer: em.id,
            floatAmount: d.total,
          });
        await this.event({
          step: 'Q6',
          to: 'card',
          summary: `amount change ${d.mode} ¥${d.total}, charge ID ${d.chargeId}`,
          card: { command: 'Write (secure)', status: flags(w) },
        });
        if (applied) break;
        if (w.sf2 === 0xe4 && attempt === 0 && d.mode === 'add') {
          executionId = (executionId + 1) & 0xffff; // eeprom.md 4.5: the same write, execution ID + 1
          purse = relativePurseBlock(d.total, executionId);
          continue;
        }
        const status = flags(w);
        const f = await em.api.failDelivery({ deliveryId: d.deliveryId, status });
        await this.event({
          step: 'Q9',
          to: em.id,
          summary: `card refused (${status}, MAC verified): failDelivery → ${f.ok ? 'charges pending again' : f.code}`,
        });
        return { kind: 'card-refused', status };
      }
      const read = await session.read(
        [purseService, layout.log],
        [
          { serviceIndex: 0, block: 0 },
          ...Array.from({ length: layout.logBlocks }, (_, i) => ({ serviceIndex: 1, block: i })),
        ],
      );
      const blocks = read.expectOk();
      const state = parsePurse(blocks[0]!);
      const entries = blocks
        .slice(1)
        .map(parseLogBlock)
        .filter((e): e is LogEntry => e !== null);
      const found = entries.some((e) => e.chargeId === d.chargeId);
      await this.event({
        step: 'Q8',
        to: 'card',
        summary: `balance ¥${state.balance}; charge ID ${d.chargeId} ${found ? 'is' : 'is not'} in the log`,
        card: { command: 'Read (secure)', status: flags(read) },
      });
      if (!found) {
        this.release(held);
        return { kind: 'no-answer' };
      }
      // Again while the link is lost: a completed delivery answers with its stored receipt.
      const done = await deliverToPeer(() =>
        em.api.completeDelivery({
          deliveryId: d.deliveryId,
          balanceAfter: state.balance,
          executionId: state.executionId,
        }),
      );
      if (!done.ok) {
        await this.event({
          step: 'Q8',
          to: em.id,
          summary: `completeDelivery → ${done.code} [${done.step}]`,
        });
        return { kind: 'no-answer' };
      }
      this.release(held);
      await this.event({
        step: 'Q8',
        to: em.id,
        summary: `completeDelivery → receipt: charged up with ¥${done.result.amount}, balance ¥${done.result.balanceAfter}`,
      });
      return { kind: 'completed', receipt: done.result };
    } finally {
      await session.close();
    }
  }

  private release(held: { seq?: number }): void {
    if (held.seq === undefined) return;
    this.o.store.release(held.seq);
    delete held.seq;
  }
}

function hex4(code: number): string {
  return code.toString(16).padStart(4, '0');
}
