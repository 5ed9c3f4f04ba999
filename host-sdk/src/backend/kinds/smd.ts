// The `smd` back-end of seed 002 (flows.md 4.1-4.2): the settlement management device [3]. Its
// application server [30] runs settlements and top-ups; its security server [31] is the key holder
// (the KC master, the session keys, wrapped at rest) and authors every card command as a whole APDU
// that the untrusted client relays; its information server [32] keeps the cards, users, extracted
// card logs and the store certificates it verified. One Ed25519 identity (role smd) signs SIG2, SIG3
// and SIG5. Money: the card value is liab:float:<smdId>; a completed purchase books float →
// clearing:<merchant> (the ACN is the in-flight item until the store books it), a top-up books
// clearing:<credit> → float (the capture is in flight until the credit back-end books it).
//
// The instance is built in layers: ./smd-api.ts (schemas, answers, SettlementBackend), ./smd-core.ts
// (set-up, cards, card sessions, log records), ./smd-settlement.ts (purchases); this module adds the
// top-ups (flows.md 4.2 rows 19-22) and is the kind's entry point.
import { sha256 } from '@noble/hashes/sha2.js';
import { SETTLEMENT } from '@mica/apdu-specs/apdu/emoney-settlement';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { post } from '../ledger';
import { accepted, refuse, refused, type Outcome } from '../outcome';
import { authFirstApdu } from '../../settlement/card-session';
import { sign } from '../../settlement/signatures';
import type { CardStep, SettlementBackend, SmdRequest, TopUpView } from './smd-api';
import { ORIGIN, be16, be32, retryKey } from './smd-core';
import { deliverToPeer } from '../link-retry';
import { SmdSettlement } from './smd-settlement';

export * from './smd-api';

export class SqliteSmd extends SmdSettlement implements SettlementBackend {
  readonly kind = 'smd';

  beginTopUp(request: SmdRequest<'beginTopUp'>): Promise<Outcome<CardStep & { readonly topUpId: string }>> {
    const r = this.checked<SmdRequest<'beginTopUp'>>('beginTopUp', request);
    return Promise.resolve(
      this.run(
        'beginTopUp',
        r,
        () => {
          if (!this.card(r.cardId))
            refuse('E_UNKNOWN_CARD', '(2)', `card ${r.cardId} is not registered at ${this.id}`);
          this.db
            .prepare(
              "INSERT INTO topups (topUpId, cardId, balance, status, createdAt) VALUES (?, ?, ?, 'started', ?)",
            )
            .run(r.txId, r.cardId, r.balance, this.clock.now());
          this.openSession(r.txId, r.cardId, 'topup');
          return { topUpId: r.txId, command: bytesToHex(authFirstApdu(this.areaCode)), step: '(3)' };
        },
        r.txId,
      ),
    );
  }

  topUpHistory(request: SmdRequest<'topUpHistory'>): Promise<Outcome<{ readonly records: number }>> {
    const r = this.checked<SmdRequest<'topUpHistory'>>('topUpHistory', request);
    return Promise.resolve(
      this.run(
        'topUpHistory',
        r,
        () => {
          const t = this.topUpRow(r.topUpId);
          const a = this.answer(r.topUpId, r.response, '(4)');
          if (a.sw !== 0x9000) refuse('E_CARD_REFUSED', '(4)', `READ LOG answered ${a.sw.toString(16)}`);
          return { records: this.storeLog(t.cardId, a.data).length };
        },
        retryKey('topUpHistory', r),
      ),
    );
  }

  async requestTopUp(
    request: SmdRequest<'requestTopUp'>,
  ): Promise<Outcome<CardStep & { readonly sig5: string; readonly blobHash: string }>> {
    const r = this.checked<SmdRequest<'requestTopUp'>>('requestTopUp', request);
    const pre = this.run('requestTopUp/check', { topUpId: r.topUpId, amount: r.amount }, () => {
      const t = this.topUpRow(r.topUpId);
      if (t.status !== 'started') refuse('E_BAD_STATE', '(6)', `top-up is ${t.status}`);
      if (t.balance + r.amount > this.maxBalance)
        refuse(
          'E_OVER_MAX_BALANCE',
          '(6)',
          `balance ${t.balance} + ${r.amount} is above the maximum ${this.maxBalance}`,
        );
      return t;
    });
    if (!pre.ok) return pre;
    const auth = await this.peers.peer('credit', r.creditId).authorizeCardNotPresent({
      txId: r.topUpId,
      cardNo: r.creditNo,
      expiry: r.expiry,
      pin: r.pin,
      amount: r.amount,
      merchantId: this.id,
    });
    if (!auth.ok) {
      this.run('requestTopUp/declined', { topUpId: r.topUpId }, () =>
        this.db
          .prepare("UPDATE topups SET status = 'declined', creditId = ? WHERE topUpId = ?")
          .run(r.creditId, r.topUpId),
      );
      return refused('E_CREDIT_DECLINED', '(6)', auth.message);
    }
    return this.run('requestTopUp', { topUpId: r.topUpId, amount: r.amount }, () => {
      const t = this.topUpRow(r.topUpId);
      const data = Uint8Array.of(
        ...hexToBytes(r.topUpId).subarray(0, 8),
        ...hexToBytes(r.topUpId).subarray(8, 16),
        1,
        ...be32(r.amount),
        ...be16(this.clock.today()),
        ORIGIN.topUp,
      );
      const envelope = this.mode === 'faithful' ? 'kc' : 'session';
      const c =
        envelope === 'kc'
          ? this.kcDirect(t.cardId, data)
          : this.command(r.topUpId, SETTLEMENT.inner.valueUpdate, 0, data, '(7)');
      const blobHash = bytesToHex(sha256(hexToBytes(c.command)));
      const payload = { topUpId: r.topUpId, cardId: t.cardId, amount: r.amount, blobHash };
      this.db
        .prepare(
          "UPDATE topups SET status = 'authorized', amount = ?, creditId = ?, creditRef = ?, envelope = ? WHERE topUpId = ?",
        )
        .run(r.amount, r.creditId, auth.result.txId, envelope, r.topUpId);
      return {
        ...c,
        sig5: sign('SIG5', payload, this.signingKey()),
        blobHash,
        certificate: this.must('certificate'),
      };
    });
  }

  async completeTopUp(
    request: SmdRequest<'completeTopUp'>,
  ): Promise<Outcome<CardStep & { readonly newBalance: number }>> {
    const r = this.checked<SmdRequest<'completeTopUp'>>('completeTopUp', request);
    const first = this.run(
      'completeTopUp',
      r,
      (): { applied: true; step: CardStep; newBalance: number } | { applied: false; sw: number } => {
        const t = this.topUpRow(r.topUpId);
        if (t.status !== 'authorized') refuse('E_BAD_STATE', '(7)', `top-up is ${t.status}`);
        const a =
          t.envelope === 'kc'
            ? this.kcAnswer(t.cardId, r.response)
            : this.answer(r.topUpId, r.response, '(7)');
        if (a.sw !== 0x9000 || a.data.length !== 5 || a.data[0] !== 1) {
          this.db.prepare("UPDATE topups SET status = 'refused' WHERE topUpId = ?").run(r.topUpId);
          return { applied: false, sw: a.sw };
        }
        const newBalance = new DataView(a.data.buffer, a.data.byteOffset).getUint32(1);
        const amountOf = t.amount!;
        post(
          this.db,
          r.topUpId,
          [
            [`clearing:${t.creditId!}`, amountOf],
            [this.float, -amountOf],
          ],
          this.clock.now(),
        );
        this.enqueue(
          { txId: r.topUpId, peer: t.creditId!, topic: 'capture', clearingAmount: -amountOf },
          { txId: r.topUpId },
        );
        this.db
          .prepare("UPDATE topups SET status = 'applied', newBalance = ? WHERE topUpId = ?")
          .run(newBalance, r.topUpId);
        return {
          applied: true,
          newBalance,
          step: this.command(r.topUpId, SETTLEMENT.inner.readLog, 0, new Uint8Array(0), '(9)'),
        };
      },
      retryKey('completeTopUp', r),
    );
    if (!first.ok) return first;
    const t = this.topUpRow(r.topUpId);
    const credit = this.peers.peer('credit', t.creditId!);
    if (!first.result.applied) {
      await credit.reverseCardNotPresent({ txId: r.topUpId });
      return refused(
        'E_CARD_REFUSED',
        '(7)',
        `the card refused VALUE UPDATE (${first.result.sw.toString(16)}); the authorization is reversed`,
      );
    }
    const captured = await deliverToPeer(() =>
      credit.captureCardNotPresent({ txId: r.topUpId, merchantId: this.id }),
    );
    if (captured.ok)
      this.run('completeTopUp/delivered', { txId: r.topUpId }, () =>
        this.db
          .prepare("UPDATE outbox SET deliveredAt = ? WHERE txId = ? AND topic = 'capture'")
          .run(this.clock.now(), r.topUpId),
      );
    return accepted({ ...first.result.step, newBalance: first.result.newBalance });
  }

  async topUpLog(
    request: SmdRequest<'topUpLog'>,
  ): Promise<Outcome<{ readonly applied: boolean; readonly records: number }>> {
    const r = this.checked<SmdRequest<'topUpLog'>>('topUpLog', request);
    const first = this.run(
      'topUpLog',
      r,
      () => {
        const t = this.topUpRow(r.topUpId);
        const a = this.answer(r.topUpId, r.response, '(9)');
        if (a.sw !== 0x9000) refuse('E_CARD_REFUSED', '(9)', `READ LOG answered ${a.sw.toString(16)}`);
        const records = this.storeLog(t.cardId, a.data);
        const applied = records.some((x) => x.chargeId === r.topUpId.slice(0, 16));
        const reverse = !applied && t.status === 'authorized';
        // The answer to VALUE UPDATE was lost but the log shows it: booked now, captured below.
        const book = applied && t.status === 'authorized';
        if (reverse)
          this.db.prepare("UPDATE topups SET status = 'reversed' WHERE topUpId = ?").run(r.topUpId);
        if (book) {
          post(
            this.db,
            r.topUpId,
            [
              [`clearing:${t.creditId!}`, t.amount!],
              [this.float, -t.amount!],
            ],
            this.clock.now(),
          );
          this.enqueue(
            { txId: r.topUpId, peer: t.creditId!, topic: 'capture', clearingAmount: -t.amount! },
            { txId: r.topUpId },
          );
          this.db.prepare("UPDATE topups SET status = 'applied' WHERE topUpId = ?").run(r.topUpId);
        }
        return { applied, records: records.length, reverse, book, creditId: t.creditId };
      },
      retryKey('topUpLog', r),
    );
    if (!first.ok) return first;
    const credit = first.result.creditId ? this.peers.peer('credit', first.result.creditId) : undefined;
    if (first.result.reverse && credit) await credit.reverseCardNotPresent({ txId: r.topUpId });
    if (first.result.book && credit) {
      const captured = await deliverToPeer(() =>
        credit.captureCardNotPresent({ txId: r.topUpId, merchantId: this.id }),
      );
      if (captured.ok)
        this.run('topUpLog/delivered', { txId: r.topUpId }, () =>
          this.db
            .prepare("UPDATE outbox SET deliveredAt = ? WHERE txId = ? AND topic = 'capture'")
            .run(this.clock.now(), r.topUpId),
        );
    }
    return accepted({ applied: first.result.applied, records: first.result.records });
  }

  recoverTopUp(request: SmdRequest<'recoverTopUp'>): Promise<Outcome<CardStep>> {
    const r = this.checked<SmdRequest<'recoverTopUp'>>('recoverTopUp', request);
    return Promise.resolve(
      this.run('recoverTopUp', r, () => {
        const t = this.topUpRow(r.topUpId);
        // started: the card left the field before its history was read (tapped again, a new session);
        // authorized: the answer to VALUE UPDATE was lost (re-authenticate and read the log).
        if (t.status !== 'authorized' && t.status !== 'started')
          refuse('E_BAD_STATE', '(9)', `top-up is ${t.status}, nothing to recover`);
        this.openSession(r.topUpId, t.cardId, 'topup');
        return {
          command: bytesToHex(authFirstApdu(this.areaCode)),
          step: t.status === 'started' ? '(3)' : '(9)',
        };
      }),
    );
  }

  topUp(request: SmdRequest<'topUp'>): Promise<Outcome<TopUpView>> {
    const r = this.checked<SmdRequest<'topUp'>>('topUp', request);
    return Promise.resolve(
      this.run('topUp', r, () => {
        const t = this.topUpRow(r.topUpId);
        return {
          topUpId: t.topUpId,
          cardId: t.cardId,
          amount: t.amount,
          creditId: t.creditId,
          status: t.status,
          newBalance: t.newBalance,
        };
      }),
    );
  }

  // ---- internals ----

  protected topUpRow(id: string): TopUpView & { balance: number; envelope: string | null } {
    const row = this.db.prepare('SELECT * FROM topups WHERE topUpId = ?').get(id) as
      (TopUpView & { balance: number; envelope: string | null }) | undefined;
    if (!row) refuse('E_NOT_FOUND', '—', `no top-up ${id}`);
    return row;
  }
}
