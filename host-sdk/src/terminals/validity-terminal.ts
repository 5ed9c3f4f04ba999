// ValidityTerminal (flows.md 6.1-6.2, seed 004: terminal [3] with R/W [3A] and communication part
// [3B] on line [2]): reads the medium ID (S1), sends HELLO, waits for ACK or NAK, sends TXN after its
// think time, and writes nothing to the card before START. After START the center's key holder
// authenticates through this terminal (T1), the center holds the user's money for a load, the card
// write of purse and log (one secure Write with the charge ID) follows, then a confirming Read (secure)
// (T2), and DONE (T3). Messages to the center take the line's one-way time on the virtual clock; the
// terminal reads what the center sent with `receive` and takes each message at the time the line
// delivers it. With capture on, a medium-invalid NAK makes the terminal keep the card and send CAPTURED.
// A card that leaves the field during the read that follows the write is tapped again (./card-retap.ts):
// polled again (the same IDm), authenticated again and read again, so the write's outcome is known in
// this session; past the re-tap policy the session ends no-answer, a value the card applied stays
// held, and the log read at the card's next contact (settle) books it with that held item.
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { EMoneyCenterBackend, CenterMessage, NakReason } from '../backend/kinds/emoney-center';
import { deliverToPeer } from '../backend/link-retry';
import { FelicaClient } from '../felica/client';
import type { StatusResult } from '../felica/responses';
import { AuthenticationError, SecureFelicaSession } from '../felica/secure-session';
import type { KeyHolder } from '../keys/key-holder';
import type { Clock } from '../platform/clock';
import type { Rng } from '../platform/rng';
import { newTxId } from '../platform/tx-id';
import type { RetryPolicy } from '../transport/retry';
import { TransportError, type Transport } from '../transport/transport';
import { defaultRetapPolicy, markingCardLoss, retapped, sameCardPolled } from './card-retap';
import {
  executionIdOf,
  flags,
  logBlock,
  parseLogBlock,
  parsePurse,
  relativePurseBlock,
  type EmoneyCardLayout,
  type LogEntry,
} from './emoney-card';
import type { TerminalReporter } from './events';
import type { TerminalStore } from './terminal-store';

export interface ValidityTerminalOptions {
  /** The store's id is the terminal ID (8 bytes of hex). */
  readonly store: TerminalStore;
  readonly card: Transport;
  /** `number` is the ID service (the medium ID: its first 8 bytes); purseAdd loads, purseSubtract unloads. */
  readonly layout: EmoneyCardLayout;
  readonly center: { readonly id: string; readonly api: EMoneyCenterBackend; readonly keys: KeyHolder };
  readonly clock: Clock;
  /** Moves the shared virtual clock (in-process, or POST /v1/_clock/advance). */
  readonly advanceTo: (ms: number) => Promise<void>;
  /** One-way line time (flows.md 6.3: 50 ms). */
  readonly lineMs: number;
  /** ACK → TXN (flows.md 6.3: 300 ms). */
  readonly thinkMs: number;
  readonly rng: Rng;
  readonly origin: number;
  readonly report?: TerminalReporter;
  /** Gives up waiting for the center after this long (virtual ms; default 60 s). */
  readonly patienceMs?: number;
  /** Re-taps of a card that left the field during the read after the write (default: CARD_RETAPS). */
  readonly retap?: RetryPolicy;
}

export interface SessionRequest {
  readonly kind: 'load' | 'unload';
  readonly amount: number;
  /** A rogue terminal's HELLO names this medium instead of the card's (the spoofing attack). */
  readonly claimMediumId?: string;
  readonly txId?: string;
}

export type SessionOutcome = 'done' | 'nak' | 'not-ready' | 'refused' | 'no-answer';

export interface SessionResult {
  readonly outcome: SessionOutcome;
  readonly connectionId: string;
  /** The medium ID named in HELLO. */
  readonly mediumId: string;
  /** HELLO sent (terminal clock). */
  readonly tHello: number;
  /** HELLO sent → ACK or NAK received, ms; null when the center never answered (not ready). */
  readonly timeToAck: number | null;
  readonly verdict: 'ACK' | 'NAK' | null;
  readonly nak?: {
    readonly reason: NakReason;
    readonly late: boolean;
    readonly step: string;
    readonly at: number;
  };
  /** When TXN was sent (null: never). */
  readonly txnSentAt: number | null;
  readonly startAt: number | null;
  readonly captured: boolean;
  readonly code?: string;
  readonly balanceAfter?: number;
  readonly txId?: string;
}

export class ValidityTerminal {
  readonly id: string;
  private readonly felica: FelicaClient;
  private readonly retap: RetryPolicy;

  constructor(private readonly o: ValidityTerminalOptions) {
    if (!/^[0-9a-f]{16}$/.test(o.store.id))
      throw new RangeError(`a validity terminal's ID must be 8 bytes of lowercase hex, got "${o.store.id}"`);
    this.id = o.store.id;
    this.felica = new FelicaClient(markingCardLoss(o.card));
    this.retap = o.retap ?? defaultRetapPolicy;
  }

  /** T1: the center's key holder authenticates to the card `idm` for `service` and the log. */
  private openSession(idm: Uint8Array, service: number): Promise<SecureFelicaSession> {
    const { layout, center } = this.o;
    return SecureFelicaSession.open(this.felica, center.keys, {
      idm,
      systemCode: layout.systemCode,
      suite: layout.suite,
      areas: [],
      services: [service, layout.log],
    });
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

  /** S1-S9 (or the mode's steps) and T1-T3 for one card in the field. */
  async session(request: SessionRequest): Promise<SessionResult> {
    const { layout, center, clock } = this.o;
    // S1: the card is inserted and its ID read without a key.
    const { idm } = await this.felica.polling(layout.systemCode);
    const [idBlock] = (
      await this.felica.readWithoutEncryption(idm, [layout.number], [{ serviceIndex: 0, block: 0 }])
    ).expectOk();
    const cardMedium = bytesToHex(idBlock!.subarray(0, 8));
    const mediumId = request.claimMediumId ?? cardMedium;
    await this.event('S1', 'card', `medium ID ${cardMedium} read`, {
      command: 'Read Without Encryption',
      status: 'SF 00 00',
    });
    const connectionId = bytesToHex(this.o.rng.bytes(8));
    const tHello = clock.now();
    const base = { connectionId, mediumId, tHello, captured: false } as const;
    await this.o.advanceTo(tHello + this.o.lineMs);
    const hello = await center.api.hello({ connectionId, mediumId, terminalId: this.id, sentAt: tHello });
    await this.event(
      hello.ok ? hello.result.step : hello.step,
      center.id,
      `HELLO ${connectionId}: medium ${mediumId}${mediumId !== cardMedium ? ' (not the card in the field)' : ''}, terminal ${this.id} → ${hello.ok ? 'received' : hello.code}`,
    );
    if (!hello.ok)
      return {
        ...base,
        outcome: 'not-ready',
        timeToAck: null,
        verdict: null,
        txnSentAt: null,
        startAt: null,
        code: hello.code,
      };

    const verdict = await this.next(connectionId, 0, tHello);
    const timeToAck = verdict.deliverAt - tHello;
    let seen = verdict.seq;
    if (verdict.type === 'NAK') return this.refusedByNak(base, verdict, 'NAK', timeToAck, null);
    if (verdict.type !== 'ACK')
      throw new TerminalProtocolError(`expected ACK or NAK first, got ${verdict.type}`);
    await this.event(verdict.step, center.id, `ACK after ${timeToAck} ms`);

    // Think time; a late NAK that arrives meanwhile ends the session before TXN.
    const during = await this.next(connectionId, seen, tHello, clock.now() + this.o.thinkMs);
    if (during?.type === 'NAK') return this.refusedByNak(base, during, 'ACK', timeToAck, null);
    const txId = request.txId ?? newTxId(this.o.rng);
    const txnSentAt = clock.now();
    await this.o.advanceTo(txnSentAt + this.o.lineMs);
    const txn = await center.api.txn({
      connectionId,
      txId,
      kind: request.kind,
      amount: request.amount,
      sentAt: txnSentAt,
    });
    await this.event(
      txn.ok ? txn.result.step : txn.step,
      center.id,
      `TXN ${request.kind} ¥${request.amount} → ${txn.ok ? 'received' : `${txn.code} (the center has closed the connection)`}`,
    );

    const started = await this.next(connectionId, seen, tHello);
    seen = started.seq;
    if (started.type === 'NAK') return this.refusedByNak(base, started, 'ACK', timeToAck, txnSentAt);
    if (started.type !== 'START')
      throw new TerminalProtocolError(`expected START or NAK, got ${started.type}`);
    const startAt = started.deliverAt;
    await this.event(started.step, center.id, `START ${started.txId}`);
    const common = { ...base, timeToAck, verdict: 'ACK' as const, txnSentAt, startAt, txId };

    // T1: the center's key holder authenticates through this terminal.
    const service = request.kind === 'load' ? layout.purseAdd : layout.purseSubtract;
    let session: SecureFelicaSession;
    try {
      session = await this.openSession(idm, service);
    } catch (e) {
      if (!(e instanceof AuthenticationError || e instanceof TransportError)) throw e;
      await this.event('T1', 'card', `authentication failed: ${e.message}`, {
        command: 'Authentication1/2',
        status: 'refused',
      });
      return { ...common, outcome: 'no-answer', code: 'E_AUTH_FAILED' };
    }
    try {
      await this.event('T1', 'card', `${center.id}'s key holder authenticates IDm ${bytesToHex(idm)}`, {
        command: 'Authentication1/2',
        status: 'SF 00 00',
      });
      const bound = await center.api.authenticated({ connectionId });
      if (!bound.ok) return { ...common, outcome: 'refused', code: bound.code };
      if (bound.result.verdict === 'NAK') {
        const nak = await this.next(connectionId, seen, tHello);
        await this.event('T1', center.id, `NAK ${bound.result.reason}: nothing is written`);
        return {
          ...common,
          outcome: 'nak',
          nak: { reason: bound.result.reason, late: true, step: 'T1', at: nak.deliverAt },
        };
      }
      await this.event('T1', center.id, `the card is bound to medium ${mediumId}`);
      await this.settle(session, service, connectionId);
      const p = await center.api.prepare({ connectionId });
      await this.event(
        'T2',
        center.id,
        `${request.kind} ¥${request.amount}: ${p.ok ? (p.result.kind === 'load' ? 'the bank holds the amount' : 'ready to write') : p.code}`,
      );
      if (!p.ok) return { ...common, outcome: 'refused', code: p.code };
      const chargeId = p.result.chargeId;
      const writeArgs = [
        [service, layout.log],
        [
          { serviceIndex: 0, block: 0 },
          { serviceIndex: 1, block: 0 },
        ],
        [
          relativePurseBlock(p.result.amount, executionIdOf(chargeId)),
          logBlock({
            chargeId,
            amount: p.result.amount,
            kind: request.kind === 'load' ? 'add' : 'subtract',
            day: clock.today(),
            origin: this.o.origin,
          }),
        ],
      ] as const;
      let w: StatusResult<true> | null = null;
      try {
        w = await session.write(...writeArgs);
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
        await this.event(
          'T2',
          'card',
          `${request.kind} ¥${p.result.amount}, charge ID ${chargeId}: no valid answer; the log decides`,
          { command: 'Write (secure)', status: 'no answer' },
        );
      }
      const signed = request.kind === 'load' ? p.result.amount : -p.result.amount;
      const hold = (): number =>
        this.o.store.hold({
          txId: p.result.txId,
          peer: center.id,
          topic: 'complete',
          payload: { connectionId },
          floatIssuer: center.id,
          floatAmount: signed,
        });
      // The card value changed but is not booked yet: it waits in this terminal's outbox (C4).
      let seq = w?.ok ? hold() : 0;
      if (w) {
        await this.event('T2', 'card', `${request.kind} ¥${p.result.amount}, charge ID ${chargeId}`, {
          command: 'Write (secure)',
          status: flags(w),
        });
        if (!w.ok) {
          const status = flags(w);
          const f = await center.api.fail({ connectionId, status });
          await this.event(
            'T2',
            center.id,
            `card refused (${status}, MAC verified) → ${f.ok ? (f.result.released ? 'hold released' : 'nothing to release') : f.code}`,
          );
          const done = await this.next(connectionId, seen, tHello);
          return { ...common, outcome: 'refused', code: done.type === 'DONE' ? done.result : status };
        }
      }
      // The log decides: after no valid answer the center's key holder authenticates again first
      // (flows.md 6.2). A card that leaves during the read is tapped again and read in a new session.
      let read: Awaited<ReturnType<ValidityTerminal['readPurseAndLog']>>;
      try {
        read = await retapped(this.retap, async (tap) => {
          if (tap > 0)
            await this.event('T2', 'card', `the card left the field: tap again, read in a new session`);
          if (tap > 0 || w === null) {
            await session.close();
            const polled = tap > 0 ? await sameCardPolled(this.felica, layout.systemCode, idm) : idm;
            session = await this.openSession(polled, service);
          }
          return this.readPurseAndLog(session, service);
        });
      } catch (e) {
        if (!(e instanceof AuthenticationError || e instanceof TransportError)) throw e;
        await this.event('T2', 'card', `the card does not answer: the hold stays until its next contact`, {
          command: 'Authentication1/2; Read (secure)',
          status: 'no answer',
        });
        return { ...common, outcome: 'no-answer' };
      }
      const { balance, log, status } = read;
      const found = log.some((e) => e.chargeId === chargeId);
      await this.event(
        'T2',
        'card',
        `balance ¥${balance}; charge ID ${chargeId} ${found ? 'is' : 'is not'} in the log`,
        {
          command: 'Read (secure)',
          status,
        },
      );
      if (!found && w === null) {
        // MAC-verified log read: the write did not happen; the hold is released.
        const f = await center.api.fail({ connectionId, status: 'not applied (log read)' });
        await this.event(
          'T2',
          center.id,
          `charge ID ${chargeId} not applied → ${f.ok ? 'hold released' : f.code}`,
        );
        const done = await this.next(connectionId, seen, tHello);
        return { ...common, outcome: 'refused', code: done.type === 'DONE' ? done.result : 'not applied' };
      }
      if (!found) {
        this.o.store.release(seq);
        return { ...common, outcome: 'no-answer' };
      }
      if (w === null) seq = hold();
      const c = await deliverToPeer(() => center.api.complete({ connectionId, balanceAfter: balance }));
      if (!c.ok) {
        await this.event('T2', center.id, `complete → ${c.code}`);
        return { ...common, outcome: 'refused', code: c.code };
      }
      this.o.store.release(seq);
      const done = await this.next(connectionId, seen, tHello);
      await this.event(
        'T3',
        center.id,
        `DONE ${done.type === 'DONE' ? done.result : done.type}, balance ¥${balance}`,
      );
      return { ...common, outcome: 'done', balanceAfter: balance };
    } finally {
      await session.close();
    }
  }

  /** The purse balance and the log's records, read in `session` (MAC-verified). */
  private async readPurseAndLog(
    session: SecureFelicaSession,
    service: number,
  ): Promise<{ balance: number; log: LogEntry[]; status: string }> {
    const { layout } = this.o;
    const read = await session.read(
      [service, layout.log],
      [
        { serviceIndex: 0, block: 0 },
        ...Array.from({ length: layout.logBlocks }, (_, i) => ({ serviceIndex: 1, block: i })),
      ],
    );
    const blocks = read.expectOk();
    const log = blocks
      .slice(1)
      .map(parseLogBlock)
      .filter((e): e is LogEntry => e !== null);
    return { balance: parsePurse(blocks[0]!).balance, log, status: flags(read) };
  }

  /**
   * The card's next contact after a write whose outcome stayed unknown: the log, read in this
   * session (MAC-verified), decides each earlier write the center still waits on.
   */
  private async settle(session: SecureFelicaSession, service: number, connectionId: string): Promise<void> {
    const { center } = this.o;
    const open = await center.api.unsettled({ connectionId });
    if (!open.ok || open.result.length === 0) return;
    const { balance, log, status } = await this.readPurseAndLog(session, service);
    for (const u of open.result) {
      const found = log.some((e) => e.chargeId === u.chargeId);
      await this.event(
        'T2',
        'card',
        `earlier charge ID ${u.chargeId} ${found ? 'is' : 'is not'} in the log`,
        {
          command: 'Read (secure)',
          status,
        },
      );
      if (found) {
        // This terminal may hold it already (its own session lost the card after the write).
        const seq =
          this.o.store.pending().find((h) => h.txId === u.txId && h.topic === 'complete')?.seq ??
          this.o.store.hold({
            txId: u.txId,
            peer: center.id,
            topic: 'complete',
            payload: { connectionId: u.connectionId },
            floatIssuer: center.id,
            floatAmount: u.kind === 'load' ? u.amount : -u.amount,
          });
        const c = await deliverToPeer(() =>
          center.api.complete({ connectionId: u.connectionId, balanceAfter: balance }),
        );
        if (c.ok) this.o.store.release(seq);
        await this.event(
          'T2',
          center.id,
          `${u.kind} ¥${u.amount} of ${u.connectionId} → ${c.ok ? 'completed' : c.code}`,
        );
      } else {
        const f = await center.api.fail({ connectionId: u.connectionId, status: 'not applied (log read)' });
        await this.event(
          'T2',
          center.id,
          `${u.kind} ¥${u.amount} of ${u.connectionId} → ${f.ok ? 'hold released' : f.code}`,
        );
      }
    }
  }

  private async refusedByNak(
    base: { connectionId: string; mediumId: string; tHello: number; captured: false },
    nak: Extract<CenterMessage, { type: 'NAK' }>,
    verdict: 'ACK' | 'NAK',
    timeToAck: number,
    txnSentAt: number | null,
  ): Promise<SessionResult> {
    const { center } = this.o;
    await this.event(
      nak.step,
      center.id,
      `NAK ${nak.reason}${nak.late ? ' (late)' : ''} after ${nak.deliverAt - base.tHello} ms; the connection is closed`,
    );
    let captured = false;
    if (nak.capture) {
      // The terminal keeps the card and reports it.
      await this.o.advanceTo(this.o.clock.now() + this.o.lineMs);
      const c = await center.api.captured({ connectionId: base.connectionId, mediumId: base.mediumId });
      captured = c.ok;
      await this.event(
        'capture',
        center.id,
        `CAPTURED ${base.mediumId}: the card is kept → ${c.ok ? 'capturedAt set' : c.code}`,
      );
    }
    return {
      ...base,
      outcome: 'nak',
      timeToAck,
      verdict,
      nak: { reason: nak.reason, late: nak.late, step: nak.step, at: nak.deliverAt },
      txnSentAt,
      startAt: null,
      captured,
    };
  }

  /**
   * The next message of the connection after `after`, taken when the line delivers it (the clock moves
   * to then, in steps of at most the line time so that nothing is overtaken). With `until`: null when
   * nothing is delivered by then (the clock is left at `until`).
   */
  private async next(
    connectionId: string,
    after: number,
    since: number,
    until: number,
  ): Promise<CenterMessage | null>;
  private async next(connectionId: string, after: number, since: number): Promise<CenterMessage>;
  private async next(
    connectionId: string,
    after: number,
    since: number,
    until?: number,
  ): Promise<CenterMessage | null> {
    const { clock, center } = this.o;
    const patience = since + (this.o.patienceMs ?? 60_000);
    for (;;) {
      const got = await center.api.receive({ connectionId, after });
      if (!got.ok) throw new TerminalProtocolError(`receive on ${connectionId}: ${got.code} ${got.message}`);
      const m = got.result[0];
      if (m && (until === undefined || m.deliverAt <= until)) {
        if (m.deliverAt > clock.now()) await this.o.advanceTo(m.deliverAt);
        return m;
      }
      const now = clock.now();
      if (until !== undefined && now >= until) return null;
      if (until === undefined && now >= patience)
        throw new TerminalProtocolError(`${center.id} sent nothing on ${connectionId} for ${now - since} ms`);
      await this.o.advanceTo(Math.min(now + this.o.lineMs, until ?? Number.POSITIVE_INFINITY));
    }
  }
}

export class TerminalProtocolError extends Error {
  override readonly name = 'TerminalProtocolError';
}
