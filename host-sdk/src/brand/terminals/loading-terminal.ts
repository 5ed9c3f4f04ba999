// The loading terminal [13] of a bank center, or the MMK kiosk [20] (flows.md 5.3 F1): it holds no
// keys; the center's key holder authors every authenticated command and the terminal relays them.
// S1-S3 detect and menu, S4 (b), S5-S7 (b′) at the center, S8-S9 funding (cash equal to the request,
// or the issuer's institute), S10-S11 (d), S12-S13 the result to the center (and on to the issuer and
// the brand holder), S14-S15 (e); any refusal goes to S16-S17 with nothing written.
import type { Mode } from '../../backend/backend';
import type { ServiceCenterBackend } from '../../backend/kinds/service-center';
import { deliverToPeer } from '../../backend/link-retry';
import { accepted, type Outcome } from '../../backend/outcome';
import type { FelicaClient } from '../../felica/client';
import type { KeyHolder } from '../../keys/key-holder';
import type { Clock } from '../../platform/clock';
import type { Rng } from '../../platform/rng';
import type { RetryPolicy } from '../../transport/retry';
import { newTxId } from '../../platform/tx-id';
import type { ServiceKeyName } from '../card-layout';
import type { CardOp } from '../card-ops';
import { BrandTerminal } from './brand-terminal';

export interface LoadingTerminalOptions {
  readonly terminalId: string;
  readonly centerId: string;
  readonly center: ServiceCenterBackend;
  /** The center's key holder, reached remotely (the terminal holds no keys). */
  readonly keyHolder: KeyHolder;
  readonly client: FelicaClient;
  readonly issuers: readonly { readonly issuerId: string; readonly area: number }[];
  readonly mode: Mode;
  readonly clock: Clock;
  readonly rng: Rng;
  /** How often a card that left the field is tapped again (default: defaultRetapPolicy, one re-tap). */
  readonly retap?: RetryPolicy;
}

export interface LoadRequest {
  readonly keyName: ServiceKeyName;
  readonly amount: number;
  readonly funding: 'cash' | 'bank';
  readonly cashIn?: number;
  /** Replaces the center's key holder for this load (a forged key package, for the negative checks). */
  readonly keyHolder?: KeyHolder;
  /** Runs between (d) and (e): the card may leave the field there (tearing, flows.md 5.5). */
  readonly betweenWrites?: () => Promise<void>;
  readonly txId?: string;
}

export interface LoadResult {
  readonly txId: string;
  readonly cardId: string;
  readonly issuerId: string;
  readonly logged: boolean;
}

export class LoadingTerminal extends BrandTerminal {
  constructor(private readonly o: LoadingTerminalOptions) {
    super(o.terminalId, o.clock, undefined, o.retap);
    this.insert(o.client);
  }

  async load(q: LoadRequest): Promise<Outcome<LoadResult>> {
    const me = this.terminalId;
    const center = this.o.centerId;
    const txId = q.txId ?? newTxId(this.o.rng);
    const stop = <T>(r: CardOp<T> | Outcome<unknown>, error = 'S16'): Outcome<never> => {
      if (r.ok) throw new Error('stop() on success');
      this.say(error, me, 'user', `error shown: ${r.code} (${r.message}); nothing written`);
      this.record(txId, `load ${q.keyName} ${q.amount}`, r.code);
      return r;
    };
    const card = await this.detectCard(this.o.issuers, 'S1');
    if (!card.ok) return stop(card);
    this.say(
      'S1-S3',
      me,
      'card',
      `card ${card.value.cardId} (${card.value.issuerId}); menu: load ¥${q.amount} through ${q.keyName} by ${q.funding}`,
      card.card,
    );
    const s = await this.openSession(q.keyHolder ?? this.o.keyHolder, card.value, q.keyName, {
      info: 'S4',
      verdict: 'S7',
    });
    if (!s.ok) return stop(s);
    this.say(
      'S4-S7',
      me,
      center,
      `authentication information relayed; the center's key holder verified the card`,
      s.card,
    );
    const session = s.value;
    try {
      const auth = await this.o.center.authorizeLoad({
        txId,
        terminalId: me,
        cardId: card.value.cardId,
        issuerId: card.value.issuerId,
        amount: q.amount,
        funding: q.funding,
        ...(q.cashIn !== undefined ? { cashIn: q.cashIn } : {}),
        step: 'S9',
      });
      if (!auth.ok) return stop(auth);
      this.say('S8-S9', me, center, `funding accepted (${q.funding})`);
      const w = await session.writeValue(this.o.mode, 'add', q.amount, txId, this.o.clock.today(), 'S11');
      if (!w.ok) return stop(w);
      this.say(
        'S10-S11',
        center,
        'card',
        `add ¥${q.amount} through ${q.keyName}, charge ID ${txId.slice(0, 16)}`,
        w.card,
      );
      // Again while the link is lost: the center answers a retry of the same txId from its table.
      const rec = await deliverToPeer(() => this.o.center.recordLoad({ txId, channel: q.keyName }));
      if (!rec.ok) return stop(rec);
      this.say(
        'S12-S13',
        me,
        center,
        `result to the center; on to issuer ${card.value.issuerId} [168] and the brand holder`,
      );
      await q.betweenWrites?.();
      let logged: boolean;
      if (this.o.mode === 'faithful') {
        const l = await session
          .writeLog('add', q.amount, txId, this.o.clock.today(), 'S15')
          .catch(
            (e: Error) =>
              ({ ok: false, code: 'E_CARD_REFUSED', message: e.message, card: 'Write (log) → -' }) as const,
          );
        logged = l.ok;
        this.say('S14-S15', center, 'card', logged ? 'log record written' : 'log write failed', l.card);
      } else {
        const l = await session
          .readLog(txId, 'S15')
          .catch(
            (e: Error) =>
              ({ ok: false, code: 'E_CARD_REFUSED', message: e.message, card: 'Read (log) → -' }) as const,
          );
        logged = l.ok && l.value;
        this.say(
          'S14-S15',
          center,
          'card',
          `log read back as proof: ${logged ? 'charge ID present' : 'missing'}`,
          l.card,
        );
      }
      this.record(txId, `load ${q.keyName} ${q.amount}`, logged ? 'OK' : 'OK_NO_LOG');
      return accepted({ txId, cardId: card.value.cardId, issuerId: card.value.issuerId, logged });
    } finally {
      await session.close().catch(() => undefined);
    }
  }
}
