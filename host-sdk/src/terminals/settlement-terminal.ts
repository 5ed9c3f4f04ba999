// `SettlementTerminal`, the client of seed 002 (flows.md 4.1: R/W [21], PC [22], browser [23] and
// interface program [24]; flows.md 1.1 calls the role `SettlementClient`, a name the card applet's
// host client in ../applets/settlement-client.ts already has). It relays the SMD's card commands as
// opaque APDUs and never holds KC or a session key; it verifies SIG1-SIG5 against the bureau's root,
// binds the amount (the header's orderNo, amount and billHash against its own BILL), and gates the
// debit and the top-up on the user's consent. `relay` hooks let a scenario play the untrusted PC or a
// man in the middle (alter a message, flip card bits, lose an answer). A card that left the field
// (link-lost) is tapped again (./card-retap.ts): the top-up's history read restarts from SELECT (the
// SMD opens a new card session under the same topUpId), and the log reads that settle a lost SPC or
// VALUE UPDATE answer authenticate again, so nothing the card did is left unread. Over 600 lines: the
// top-up flow with its lost-answer recovery is the seam for a module of its own; not split yet.
import { sha256 } from '@noble/hashes/sha2.js';
import { SETTLEMENT } from '@mica/apdu-specs/apdu/emoney-settlement';
import { buildCommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import type { Outcome } from '../backend/outcome';
import type { CardStep, SettlementBackend, SettlementHeader, Acn, Receipt } from '../backend/kinds/smd';
import { acnHash } from '../backend/kinds/smd';
import type { StoreBackend } from '../backend/kinds/store';
import type { Clock } from '../platform/clock';
import { decodeBill, billHash, type Bill, type BillEncoding } from '../settlement/bill';
import { verifySignature, type SigKind } from '../settlement/signatures';
import type { RetryPolicy } from '../transport/retry';
import { TransportError, type Transport } from '../transport/transport';
import { CardLeftField, defaultRetapPolicy, isCardLeft, retapped } from './card-retap';
import { swText, type TerminalReporter } from './events';
import type { TerminalStore } from './terminal-store';

/** What the user is asked (Figs. 15, 18, 19, 28-30). */
export interface ConsentScreen {
  readonly step: 'ST6' | 'ST15' | 'ST105' | 'ST109' | '(5)';
  readonly orderNo?: string;
  readonly amount: number;
  readonly balance?: number;
}

export type ConsentGate = (screen: ConsentScreen) => boolean;

/** The untrusted legs, for scenarios: each hook may return its input unchanged. */
export interface RelayHooks {
  /** A back-end message on its way to the client (internet leg). */
  fromBackend?<T>(stage: string, message: T): T;
  /** A command on its way to the card. */
  toCard?(stage: string, apdu: Uint8Array): Uint8Array;
  /** The card's answer on its way back; undefined = lost. */
  fromCard?(stage: string, answer: Uint8Array): Uint8Array | undefined;
}

export interface SettlementTerminalOptions {
  readonly store: TerminalStore;
  readonly card: Transport;
  readonly aid: Uint8Array;
  readonly smd: { readonly id: string; readonly api: SettlementBackend };
  /** The bureau's root certificate the client trusts. */
  readonly root: Uint8Array;
  readonly clock: Clock;
  readonly consent: ConsentGate;
  readonly relay?: RelayHooks;
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

export interface PurchaseDone {
  readonly ok: true;
  readonly orderNo: string;
  readonly settlementId: string;
  readonly acn: Acn;
  readonly receipt: Receipt;
  /** Signatures the client verified, in order. */
  readonly verified: readonly SigKind[];
  readonly receiptVia: 'store' | 'smd';
  readonly download: string;
}

export interface PurchaseRequest {
  readonly shop: { readonly id: string; readonly api: StoreBackend };
  readonly items: {
    readonly sku: string;
    readonly name: string;
    readonly price: number;
    readonly qty: number;
  }[];
  readonly embodiment: 'first' | 'second';
  readonly encoding: BillEncoding;
  readonly route: 'both' | 'client' | 'smd';
  readonly memberStoreId?: string;
  /** The txId's last 8 bytes (the first 8 are the orderNo): 16 hex digits. */
  readonly nonce: string;
  /** Called once the ACN is verified, before the client asks the store to complete. */
  readonly onAcn?: (acn: Acn) => Promise<void>;
}

export interface TopUpRequest {
  readonly topUpId: string;
  readonly amount: number;
  readonly creditId: string;
  readonly creditNo: string;
  readonly expiry: number;
  readonly pin: string;
}

export interface TopUpDone {
  readonly ok: true;
  readonly topUpId: string;
  readonly newBalance: number;
  readonly logRecords: number;
}

/** The purchase's state the client keeps while it runs. */
interface Purchase {
  orderNo?: string;
  bill?: Bill;
  billBytes?: Uint8Array;
  settlementId?: string;
  cardId?: string;
  balance?: number;
  /** SPC commands forwarded to the card. */
  spcForwarded: number;
  verified: SigKind[];
}

/** Sends of one request to the SMD while the link is lost. */
const SEND_ATTEMPTS = 3;

/**
 * Sends a request to the SMD again while the link is lost (a lost request or a lost response look the
 * same here). Every request sent this way is one the SMD answers idempotently: by its txId (begin*), by
 * the card answer it carries (its idempotency table returns the stored outcome: the same next card
 * command, nothing booked twice), or by state (recover* reopen the same session). `onLost` runs at
 * the first lost link (a card value the SMD may not have booked is held in flight, C4); after the last
 * attempt the lost link propagates and what is held stays.
 */
async function retried<T>(send: () => Promise<T>, onLost?: () => void): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await send();
    } catch (e) {
      if (!(e instanceof TransportError) || i >= SEND_ATTEMPTS) throw e;
      if (i === 1) onLost?.();
    }
  }
}

const refusal = (code: string, step: string, message: string): Refusal => ({
  ok: false,
  code,
  step,
  message,
});

function isRefusal(r: unknown): r is Refusal {
  return typeof r === 'object' && r !== null && (r as { ok?: unknown }).ok === false;
}

export class SettlementTerminal {
  /** The last purchase's state (for checks: was the SPC forwarded, which signatures verified). */
  last: Purchase = { spcForwarded: 0, verified: [] };

  constructor(private readonly o: SettlementTerminalOptions) {}

  private async report(
    step: string,
    from: string,
    to: string,
    summary: string,
    card?: { command: string; status: string },
  ) {
    this.o.store.log(
      step,
      to === 'client' ? from : to,
      summary,
      card ? `${card.command} → ${card.status}` : undefined,
    );
    await this.o.report?.({ step, from, to, summary, ...(card ? { card } : {}) });
  }

  private fromBackend<T>(stage: string, message: T): T {
    return this.o.relay?.fromBackend ? this.o.relay.fromBackend(stage, message) : message;
  }

  /** The card left the field (its link was lost): the next exchange selects the applet again first. */
  private reselect = false;
  /** The card left the field since the current card session (`retapping`) began. */
  private cardLeft = false;

  /**
   * One exchange with the card through the relay; undefined when the answer is lost: the relay dropped
   * it, or the card left the field before answering (link-lost). The command may have run (a debit, a
   * top-up), so a lost answer takes the flow's lost-answer recovery; the card, back in the field and
   * powered again, gets a SELECT before the next command.
   */
  private async exchange(stage: string, apdu: Uint8Array): Promise<Uint8Array | undefined> {
    const sent = this.o.relay?.toCard ? this.o.relay.toCard(stage, apdu) : apdu;
    let answer: Uint8Array;
    try {
      if (this.reselect) {
        this.reselect = false;
        await this.o.card.apdu(selectApdu(this.o.aid));
      }
      answer = await this.o.card.apdu(sent);
    } catch (e) {
      if (!(e instanceof TransportError) || e.kind !== 'link-lost') throw e;
      this.reselect = true;
      this.cardLeft = true;
      return undefined;
    }
    return this.o.relay?.fromCard ? this.o.relay.fromCard(stage, answer) : answer;
  }

  /**
   * Runs a card session of a flow (`tap` 0, then 1, … per re-tap) again from its beginning when it
   * ended refused after the card left the field, while the re-tap policy allows; past it the session's
   * refusal stands (and what the flow holds in flight stays held, C4). Only refusals count: a session
   * that recovered from the card leaving on its own is done.
   */
  private async retapping<T>(session: (tap: number) => Promise<T | Refusal>): Promise<T | Refusal> {
    let refused: Refusal | undefined;
    try {
      return await retapped(this.o.retap ?? defaultRetapPolicy, async (tap) => {
        this.cardLeft = false;
        const r = await session(tap);
        if (isRefusal(r) && this.cardLeft) {
          refused = r;
          await this.report(r.step, 'client', 'card', `the card left the field (${r.code}): tap again`);
          throw new CardLeftField(`${r.step}: ${r.message}`);
        }
        return r;
      });
    } catch (e) {
      if (isCardLeft(e) && refused) return refused;
      throw e;
    }
  }

  /** The card line of a value command, reported once the SMD has booked (or refused) its answer. */
  private async reportCard(step: string, name: string, answer: Uint8Array | undefined): Promise<void> {
    const status = answer ? swText(sw(answer)) : 'lost';
    await this.report(step, 'client', 'card', `relay ${name} for smd`, { command: name, status });
  }

  private async cardStep(
    step: string,
    name: string,
    apdu: Uint8Array,
    to = 'smd',
  ): Promise<Uint8Array | undefined> {
    const answer = await this.exchange(step, apdu);
    const status = answer
      ? swText(((answer[answer.length - 2]! << 8) | answer[answer.length - 1]!) >>> 0)
      : 'lost';
    await this.report(step, 'client', 'card', `relay ${name} for ${to}`, { command: name, status });
    return answer;
  }

  private async selectAndRead(step: string): Promise<{ cardId: string; balance: number } | Refusal> {
    const sel = await this.exchange(step, selectApdu(this.o.aid));
    if (!sel || sw(sel) !== 0x9000)
      return refusal('E_CARD_REFUSED', step, 'the settlement applet is not on the card');
    const gd = await this.exchange(
      step,
      buildCommandApdu(SETTLEMENT.cla, SETTLEMENT.insGetData, 0, 0, undefined, 256),
    );
    if (!gd || sw(gd) !== 0x9000 || gd.length !== 14)
      return refusal('E_CARD_REFUSED', step, 'GET DATA failed');
    const cardId = bytesToHex(gd.subarray(0, 8));
    const balance = new DataView(gd.buffer, gd.byteOffset).getUint32(8);
    await this.report(step, 'client', 'card', `card ${cardId}, balance ${balance}`, {
      command: 'SELECT; GET DATA',
      status: '9000',
    });
    return { cardId, balance };
  }

  private check(
    kind: SigKind,
    payload: unknown,
    signature: string,
    certificate: string,
    role: 'store' | 'smd',
    subjectId: string,
  ): string | undefined {
    const bad = verifySignature(kind, payload, signature, {
      certificate,
      roots: [this.o.root],
      role,
      subjectId,
      now: this.o.clock.now(),
    });
    if (!bad) this.last.verified.push(kind);
    return bad;
  }

  /** ST6 / ST15 / ST109 declines and client-side refusals end the order as abandoned. */
  private async abandon(shop: StoreBackend, step: string): Promise<void> {
    const no = this.last.orderNo;
    if (!no) return;
    if (this.last.settlementId) await this.o.smd.api.abandon({ orderNo: no });
    await shop.abandon({ orderNo: no });
    await this.report(step, 'client', 'store', `order ${no} abandoned`);
  }

  /** AUTHENTICATE 1 and 2 through the client: the SMD's commands, the card's answers. */
  private async authenticate(
    ref: string,
    first: CardStep,
    step: string,
  ): Promise<Outcome<CardStep> | Refusal> {
    const a1 = await this.cardStep(step, 'AUTHENTICATE 1', hexToBytes(first.command));
    if (!a1) return refusal('E_CARD_AUTH_FAILED', step, 'no answer to AUTHENTICATE 1');
    const second = await retried(() => this.o.smd.api.authChallenge({ ref, response: bytesToHex(a1) }));
    if (!second.ok) return second;
    const a2 = await this.cardStep(step, 'AUTHENTICATE 2', hexToBytes(second.result.command));
    if (!a2) return refusal('E_CARD_AUTH_FAILED', step, 'no answer to AUTHENTICATE 2');
    return retried(() => this.o.smd.api.authConfirm({ ref, response: bytesToHex(a2) }));
  }

  /** A purchase, first or second embodiment (flows.md 4.2 rows 1-18). */
  async purchase(p: PurchaseRequest): Promise<PurchaseDone | Refusal> {
    this.last = { spcForwarded: 0, verified: [] };
    const shop = p.shop.api;
    const est = await shop.estimate({ items: p.items });
    if (!est.ok) return est;
    await this.report('ST3', p.shop.id, 'client', `estimate ${est.result.amount} (Fig. 13)`);
    const billed = await shop.bill({
      items: p.items,
      smdId: this.o.smd.id,
      encoding: p.encoding,
      ...(p.memberStoreId !== undefined ? { memberStoreId: p.memberStoreId } : {}),
    });
    if (!billed.ok) return billed;
    const b = this.fromBackend('ST5', billed.result);
    this.last.orderNo = b.orderNo;
    let bill: Bill;
    try {
      bill = decodeBill(hexToBytes(b.bill), b.encoding);
    } catch (e) {
      return refusal('E_SIG1_INVALID', 'ST5', `the BILL does not parse: ${(e as Error).message}`);
    }
    this.last.bill = bill;
    this.last.billBytes = hexToBytes(b.bill);
    await this.report(
      p.embodiment === 'first' ? 'ST5' : 'ST101',
      p.shop.id,
      'client',
      `BILL ${b.orderNo} ${bill.amount} JPY with SIG1 (${p.encoding})`,
    );
    const ownHash = bytesToHex(billHash(this.last.billBytes));
    if (p.embodiment === 'first') {
      if (!this.o.consent({ step: 'ST6', orderNo: bill.orderNo, amount: bill.amount })) {
        await this.report('ST6', 'user', 'client', `declines the sum ${bill.amount} (Fig. 15)`);
        await this.abandon(shop, 'ST6');
        return refusal('DECLINED', 'ST6', 'the user declined the sum');
      }
      await this.report('ST7', 'user', 'client', 'consents; place card (Fig. 16)');
    }
    const card = await this.selectAndRead(p.embodiment === 'first' ? 'ST8' : 'ST104');
    if ('ok' in card) return card;
    this.last.cardId = card.cardId;
    this.last.balance = card.balance;
    if (
      p.embodiment === 'second' &&
      !this.o.consent({ step: 'ST105', orderNo: bill.orderNo, amount: bill.amount, balance: card.balance })
    ) {
      await this.report('ST105', 'user', 'client', 'declines');
      await this.abandon(shop, 'ST105');
      return refusal('DECLINED', 'ST105', 'the user declined');
    }
    const settlementId = `${bytesToHex(new TextEncoder().encode(bill.orderNo))}${p.nonce}`;
    const begun = await retried(() =>
      this.o.smd.api.beginSettlement({
        txId: settlementId,
        embodiment: p.embodiment,
        bill: b.bill,
        encoding: b.encoding,
        sig1: b.sig1,
        certificate: b.certificate,
        cardId: card.cardId,
        ...(p.embodiment === 'second' ? { balance: card.balance } : {}),
      }),
    );
    if (!begun.ok) {
      await this.report(begun.step, 'smd', 'client', `${begun.code}: ${begun.message}`);
      return begun;
    }
    this.last.settlementId = settlementId;
    await this.report(
      p.embodiment === 'first' ? 'ST9' : 'ST107',
      'smd',
      'client',
      `SIG1 verified; settlement ${settlementId.slice(0, 16)}…`,
    );
    const authed = await this.authenticate(
      settlementId,
      begun.result,
      p.embodiment === 'first' ? 'ST10' : 'ST108',
    );
    if (!authed.ok) return authed;
    let spc: CardStep;
    if (p.embodiment === 'first') {
      const brc = this.fromBackend('ST12', authed.result);
      const bad = this.check(
        'SIG2',
        { settlementId, step: brc.step, command: brc.command },
        brc.sig2 ?? '',
        brc.certificate ?? '',
        'smd',
        this.o.smd.id,
      );
      if (bad) {
        await this.report('ST12', 'smd', 'client', `E_SIG2_INVALID: ${bad}; nothing forwarded`);
        await this.abandon(shop, 'ST12');
        return refusal('E_SIG2_INVALID', 'ST12', bad);
      }
      const bi = await this.cardStep('ST12', 'SECURE COMMAND (BRC)', hexToBytes(brc.command));
      if (!bi) return refusal('E_CARD_REFUSED', 'ST13', 'no answer to BRC');
      const info = await retried(() =>
        this.o.smd.api.balanceInfo({ settlementId, response: bytesToHex(bi) }),
      );
      if (!info.ok) {
        await this.report(info.step, 'smd', 'client', `${info.code}: ${info.message}`);
        return info;
      }
      spc = this.fromBackend('ST14', info.result);
      const bad2 = this.check(
        'SIG2',
        { settlementId, step: spc.step, command: spc.command, header: spc.header, balance: spc.balance },
        spc.sig2 ?? '',
        spc.certificate ?? '',
        'smd',
        this.o.smd.id,
      );
      if (bad2) {
        await this.report('ST15', 'smd', 'client', `E_SIG2_INVALID: ${bad2}; the SPC is not forwarded`);
        await this.abandon(shop, 'ST15');
        return refusal('E_SIG2_INVALID', 'ST15', bad2);
      }
    } else {
      spc = this.fromBackend('ST109', authed.result);
    }
    const step = p.embodiment === 'first' ? 'ST15' : 'ST109';
    const mismatch = headerMismatch(spc.header, bill, ownHash, this.o.smd.id);
    if (mismatch) {
      await this.report(step, 'smd', 'client', `E_AMOUNT_MISMATCH: ${mismatch}; the SPC is not forwarded`);
      await this.abandon(shop, step);
      return refusal('E_AMOUNT_MISMATCH', step, mismatch);
    }
    await this.report(
      step,
      'smd',
      'client',
      `header ${spc.header!.orderNo} ${spc.header!.amount} JPY, balance ${spc.balance ?? card.balance}${spc.sig2 ? ' with SIG2' : ' (unsigned)'} (Fig. 18)`,
    );
    if (
      !this.o.consent({
        step,
        orderNo: bill.orderNo,
        amount: bill.amount,
        balance: spc.balance ?? card.balance,
      })
    ) {
      await this.report(step, 'user', 'client', 'declines the payment');
      await this.abandon(shop, step);
      return refusal('DECLINED', step, 'the user declined the payment');
    }
    const done = await this.debit(settlementId, spc, p.embodiment === 'first' ? 'ST16' : 'ST110');
    if (!done.ok) return done;
    const acn = done.result;
    const bad3 = this.check('SIG3', acn.acn, acn.sig3, acn.certificate, 'smd', this.o.smd.id);
    if (bad3) return refusal('E_SIG3_INVALID', 'ST20', bad3);
    if (acn.acn.amount !== bill.amount || acn.acn.orderNo !== bill.orderNo || acn.acn.billHash !== ownHash)
      return refusal(
        'E_AMOUNT_MISMATCH',
        'ST20',
        `the ACN {${acn.acn.orderNo}, ${acn.acn.amount}} is not the BILL`,
      );
    await this.report(
      p.embodiment === 'first' ? 'ST20' : 'ST112',
      'smd',
      'client',
      `ACN with SIG3: debited ${acn.acn.amount}, balance ${acn.acn.newBalance} (Fig. 20)${acn.storeAccepted ? '; the store has it too' : ''}`,
    );
    await p.onAcn?.(acn.acn);
    return this.finish(p, shop, settlementId, acn.acn);
  }

  /** ST16-ST19: forward the SPC; a lost PCN is recovered by re-authenticating and reading the log. */
  private async debit(
    settlementId: string,
    spc: CardStep,
    step: string,
  ): Promise<
    { ok: true; result: { acn: Acn; sig3: string; certificate: string; storeAccepted: boolean } } | Refusal
  > {
    let command = spc.command;
    let sending: 'spc' | 'log' = 'spc';
    // A lost answer to the SPC: the card may have debited what nobody has booked yet (C4), until the
    // log read settles it.
    let held: number | undefined;
    for (let round = 0; round < 4; round++) {
      if (sending === 'spc') this.last.spcForwarded++;
      const name = sending === 'spc' ? 'SECURE COMMAND (SPC)' : 'SECURE COMMAND (READ LOG)';
      const stage = sending === 'spc' ? step : 'ST19';
      const answer = await this.exchange(stage, hexToBytes(command));
      const hold = (topic: string): void => {
        if (sending === 'spc' && held === undefined)
          held = this.o.store.hold({
            txId: settlementId,
            peer: this.o.smd.id,
            topic,
            payload: { orderNo: spc.header?.orderNo },
            floatIssuer: this.o.smd.id,
            floatAmount: -(spc.header?.amount ?? 0),
          });
      };
      if (!answer) {
        hold('spc-answer-lost');
        await this.reportCard(stage, name, undefined);
        await this.report('ST19', 'client', 'smd', 'the answer was lost: re-authenticate and read the log');
        const authed = await this.retapping(async () => {
          const again = await retried(() => this.o.smd.api.recoverSettlement({ settlementId }));
          if (!again.ok) return again;
          return this.authenticate(settlementId, again.result, 'ST19');
        });
        if (!authed.ok) return authed;
        command = authed.result.command;
        sending = 'log';
        continue;
      }
      // The PCN (or the log) on its way to the SMD: a lost link leaves a debit nobody booked (C4) until
      // the same request, sent again, reaches the SMD.
      const response = bytesToHex(answer);
      const r = await retried(
        () =>
          sending === 'spc'
            ? this.o.smd.api.completeSettlement({ settlementId, response })
            : this.o.smd.api.reconcileSettlement({ settlementId, response }),
        () => hold('pcn-unbooked'),
      );
      // The SMD has accounted for the card's answer: booked it (the ACN, or suspense for a PCN
      // mismatch) or heard that the card refused the debit. Only a log read still to come keeps it held.
      const settled = r.ok ? r.result.kind === 'acn' : sending === 'spc' || r.code === 'E_PCN_MISMATCH';
      if (settled && held !== undefined) {
        this.o.store.release(held);
        held = undefined;
      }
      await this.reportCard(stage, name, answer);
      if (!r.ok) {
        await this.report(r.step, 'smd', 'client', `${r.code}: ${r.message}`);
        return r;
      }
      if (r.result.kind === 'acn') return { ok: true, result: r.result };
      // After an SPC: the card holds the charge ID already, read the log. After a log without it: the same SPC again.
      sending = sending === 'spc' ? 'log' : 'spc';
      command = r.result.command;
      await this.report(
        'ST19',
        'smd',
        'client',
        sending === 'log'
          ? 'the card holds this charge ID: read the log'
          : 'not in the log: the same SPC again',
      );
    }
    return refusal('E_CARD_REFUSED', 'ST19', 'the settlement did not complete');
  }

  private async finish(
    p: PurchaseRequest,
    shop: StoreBackend,
    settlementId: string,
    acn: Acn,
  ): Promise<PurchaseDone | Refusal> {
    const orderNo = acn.orderNo;
    const completed = await shop.complete({ orderNo, route: p.route });
    if (!completed.ok) return completed;
    await this.report(
      '(9)',
      'client',
      p.shop.id,
      `complete ${orderNo}; receipt with SIG4 → ${p.route === 'both' ? 'client and SMD' : p.route === 'smd' ? 'SMD' : 'client'}`,
    );
    let rc = {
      receipt: completed.result.receipt,
      sig4: completed.result.sig4,
      certificate: completed.result.certificate,
    };
    let via: 'store' | 'smd' = 'store';
    if (p.route === 'smd') {
      const fromSmd = await this.o.smd.api.receipt({ orderNo });
      if (!fromSmd.ok) return fromSmd;
      rc = fromSmd.result;
      via = 'smd';
      await this.report('(11)', 'smd', 'client', `receipt ${orderNo} relayed by the SMD`);
    }
    const merchant = this.last.bill!.mallId ?? this.last.bill!.storeId;
    const bad = this.check('SIG4', rc.receipt, rc.sig4, rc.certificate, 'store', merchant);
    if (bad) return refusal('E_SIG4_INVALID', '(10)', bad);
    if (rc.receipt.acnHash !== acnHash(acn))
      return refusal('E_SIG4_INVALID', '(10)', 'the receipt names another ACN');
    const unlocked = await shop.confirmReceipt({ orderNo });
    if (!unlocked.ok) return unlocked;
    const dl = await shop.download({ orderNo });
    if (!dl.ok) return dl;
    await this.report('(11)', p.shop.id, 'client', `SIG4 verified; download unlocked`);
    return {
      ok: true,
      orderNo,
      settlementId,
      acn,
      receipt: rc.receipt,
      verified: [...this.last.verified],
      receiptVia: via,
      download: dl.result.content,
    };
  }

  /** Top-up (flows.md 4.2 rows 19-22). */
  async topUp(t: TopUpRequest): Promise<TopUpDone | Refusal> {
    // A card that left before the history reached [32]: tapped again, the session restarts at SELECT.
    let begun = false;
    const card = await this.retapping(async () => {
      const r = await this.topUpHistory(t, begun);
      begun ||= r.begun;
      return r.outcome;
    });
    if ('ok' in card) return card;
    if (!this.o.consent({ step: '(5)', amount: t.amount, balance: card.balance })) {
      await this.report('(5)', 'user', 'client', 'declines the top-up');
      return refusal('DECLINED', '(5)', 'the user declined the top-up');
    }
    const req = await this.o.smd.api.requestTopUp({
      topUpId: t.topUpId,
      amount: t.amount,
      creditId: t.creditId,
      creditNo: t.creditNo,
      expiry: t.expiry,
      pin: t.pin,
    });
    if (!req.ok) {
      await this.report(req.step, 'smd', 'client', `${req.code}: ${req.message}`);
      return req;
    }
    await this.report(
      '(6)',
      'client',
      'smd',
      `top-up ${t.amount} JPY, credit ${t.creditNo.slice(-4).padStart(t.creditNo.length, '*')} approved (Figs. 28-30)`,
    );
    const msg = this.fromBackend('(7)', req.result);
    const blobHash = bytesToHex(sha256(hexToBytes(msg.command)));
    const bad =
      blobHash !== msg.blobHash
        ? 'the blob is not the one SIG5 names'
        : this.check(
            'SIG5',
            { topUpId: t.topUpId, cardId: card.cardId, amount: t.amount, blobHash: msg.blobHash },
            msg.sig5,
            msg.certificate ?? '',
            'smd',
            this.o.smd.id,
          );
    if (bad) {
      await this.report('(7)', 'smd', 'client', `E_SIG5_INVALID: ${bad}; nothing forwarded`);
      return refusal('E_SIG5_INVALID', '(7)', bad);
    }
    const applied = await this.exchange('(7)', hexToBytes(msg.command));
    if (!applied) return this.recoverTopUp(t, card.cardId);
    // The card's answer on its way to the SMD: while the link is lost the value is on the card only (C4).
    let held: number | undefined;
    const done = await retried(
      () => this.o.smd.api.completeTopUp({ topUpId: t.topUpId, response: bytesToHex(applied) }),
      () => (held = this.valueHeld(t, card.cardId, 'value-update-unbooked')),
    );
    if (held !== undefined) this.o.store.release(held);
    await this.reportCard('(7)', 'SECURE COMMAND (VALUE UPDATE)', applied);
    if (!done.ok) {
      await this.report(done.step, 'smd', 'client', `${done.code}: ${done.message}`);
      return done;
    }
    await this.report('(8)', 'smd', 'client', `top-up applied: balance ${done.result.newBalance} (Fig. 31)`);
    const log = await this.cardStep('(9)', 'SECURE COMMAND (READ LOG)', hexToBytes(done.result.command));
    if (!log) return refusal('E_CARD_REFUSED', '(9)', 'no answer to READ LOG');
    const kept = await retried(() =>
      this.o.smd.api.topUpLog({ topUpId: t.topUpId, response: bytesToHex(log) }),
    );
    if (!kept.ok) return kept;
    await this.report(
      '(9)',
      'smd',
      'client',
      `card log stored in [32] (${kept.result.records} records); top page (Fig. 32)`,
    );
    return {
      ok: true,
      topUpId: t.topUpId,
      newBalance: done.result.newBalance,
      logRecords: kept.result.records,
    };
  }

  /**
   * (3)-(4): SELECT and GET DATA, the SMD's card session (beginTopUp; once begun, recoverTopUp opens a
   * new one under the same topUpId), then the card's log read into [32] before anything moves.
   */
  private async topUpHistory(
    t: TopUpRequest,
    begun: boolean,
  ): Promise<{ begun: boolean; outcome: { cardId: string; balance: number } | Refusal }> {
    const card = await this.selectAndRead('(3)');
    if ('ok' in card) return { begun, outcome: card };
    const first = await retried(() =>
      begun
        ? this.o.smd.api.recoverTopUp({ topUpId: t.topUpId })
        : this.o.smd.api.beginTopUp({
            txId: t.topUpId,
            cardId: card.cardId,
            balance: card.balance,
          }),
    );
    if (!first.ok) return { begun, outcome: first };
    await this.report(
      '(3)',
      'client',
      'smd',
      `card ${card.cardId}, balance ${card.balance}${begun ? ' (tapped again)' : ''}`,
    );
    const authed = await this.authenticate(t.topUpId, first.result, '(3)');
    if (!authed.ok) return { begun: true, outcome: authed };
    const history = await this.cardStep(
      '(4)',
      'SECURE COMMAND (READ LOG)',
      hexToBytes(authed.result.command),
    );
    if (!history) return { begun: true, outcome: refusal('E_CARD_REFUSED', '(4)', 'no answer to READ LOG') };
    const stored = await retried(() =>
      this.o.smd.api.topUpHistory({ topUpId: t.topUpId, response: bytesToHex(history) }),
    );
    if (!stored.ok) return { begun: true, outcome: stored };
    await this.report(
      '(4)',
      'smd',
      'client',
      `history of ${stored.result.records} records stored in [32] (Figs. 25-27)`,
    );
    return { begun: true, outcome: card };
  }

  /** A top-up's value the card may hold and the SMD has not booked (in flight, C4). */
  private valueHeld(t: TopUpRequest, cardId: string, topic: string): number {
    return this.o.store.hold({
      txId: t.topUpId,
      peer: this.o.smd.id,
      topic,
      payload: { cardId },
      floatIssuer: this.o.smd.id,
      floatAmount: t.amount,
    });
  }

  /**
   * (7) the answer to VALUE UPDATE was lost: the card may hold the value nobody booked (held in the
   * outbox as in flight, C4) until the SMD re-authenticates and reads the log (flows.md 4.2 row 22).
   */
  private async recoverTopUp(t: TopUpRequest, cardId: string): Promise<TopUpDone | Refusal> {
    const held = this.valueHeld(t, cardId, 'value-update-answer-lost');
    await this.reportCard('(7)', 'SECURE COMMAND (VALUE UPDATE)', undefined);
    // A card that left again before its log was read: tapped again, a new session reads it.
    const read = await this.retapping(async () => {
      const again = await retried(() => this.o.smd.api.recoverTopUp({ topUpId: t.topUpId }));
      if (!again.ok) return again;
      const authed = await this.authenticate(t.topUpId, again.result, '(9)');
      if (!authed.ok) return authed;
      const log = await this.exchange('(9)', hexToBytes(authed.result.command));
      if (!log) return refusal('E_CARD_REFUSED', '(9)', 'no answer to READ LOG');
      return { log };
    });
    if ('ok' in read) return read;
    const { log } = read;
    const kept = await retried(() =>
      this.o.smd.api.topUpLog({ topUpId: t.topUpId, response: bytesToHex(log) }),
    );
    if (kept.ok) this.o.store.release(held);
    await this.reportCard('(9)', 'SECURE COMMAND (READ LOG)', log);
    if (!kept.ok) return kept;
    await this.report(
      '(9)',
      'smd',
      'client',
      kept.result.applied
        ? 'the log shows the top-up: booked and captured'
        : 'not in the log: the authorization is reversed',
    );
    if (!kept.result.applied)
      return refusal('E_CARD_REFUSED', '(9)', 'the top-up was not applied; the authorization is reversed');
    const now = await this.selectAndRead('(9)');
    if ('ok' in now) return now;
    return { ok: true, topUpId: t.topUpId, newBalance: now.balance, logRecords: kept.result.records };
  }
}

function selectApdu(aid: Uint8Array): Uint8Array {
  return buildCommandApdu(0x00, 0xa4, 0x04, 0x00, aid, 256);
}

function sw(answer: Uint8Array): number {
  return ((answer[answer.length - 2]! << 8) | answer[answer.length - 1]!) >>> 0;
}

/** The amount binding (ST15 / ST109): the header must name this BILL exactly. */
function headerMismatch(
  h: SettlementHeader | undefined,
  bill: Bill,
  ownHash: string,
  smdId: string,
): string | undefined {
  if (!h) return 'the SPC came without a header';
  if (h.orderNo !== bill.orderNo) return `header orderNo ${h.orderNo} is not the BILL's ${bill.orderNo}`;
  if (h.amount !== bill.amount) return `header amount ${h.amount} is not the BILL's ${bill.amount}`;
  if (h.billHash !== ownHash) return 'header billHash is not the hash of the BILL';
  if (h.smdId !== smdId) return `header names smd ${h.smdId}`;
  return undefined;
}
