// Settlements of the `smd` back-end (seed 002, flows.md 4.2 rows 1-18): the BILL with SIG1 verified,
// the card authenticated, its balance read (BRC, first embodiment) and the SPC with SIG2; the PCN
// books float → clearing:<merchant> and queues the ACN with SIG3 for the store (in flight until the
// store books it); a lost PCN is recovered by re-authenticating and reading the log. The requests
// that carry a card answer are idempotent on that answer: a retry gets the stored outcome.
import { SETTLEMENT } from '@mica/apdu-specs/apdu/emoney-settlement';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { canonicalJson } from '../canonical-json';
import { post } from '../ledger';
import { accepted, refuse, refused, type Outcome } from '../outcome';
import { BillError, decodeBill, billHash, orderNoBytes, type Bill } from '../../settlement/bill';
import { sign, verifySignature } from '../../settlement/signatures';
import { authFirstApdu, splitResponse, authVerify, zeroSsc } from '../../settlement/card-session';
import {
  acnHash,
  type Acn,
  type CardStep,
  type Receipt,
  type SettlementHeader,
  type SettlementNext,
  type SettlementView,
  type SmdRequest,
} from './smd-api';
import { ORIGIN, SmdCore, be16, be32, retryKey } from './smd-core';
import { deliverToPeer } from '../link-retry';

type SettlementRow = Omit<SettlementView, 'acn' | 'receipt'> & {
  balance: number | null;
  spc: string | null;
  acn: string | null;
  sig3: string | null;
  receipt: string | null;
};

export abstract class SmdSettlement extends SmdCore {
  beginSettlement(
    request: SmdRequest<'beginSettlement'>,
  ): Promise<Outcome<CardStep & { readonly settlementId: string }>> {
    const r = this.checked<SmdRequest<'beginSettlement'>>('beginSettlement', request);
    const step = r.embodiment === 'first' ? 'ST9' : 'ST107';
    return Promise.resolve(
      this.run(
        'beginSettlement',
        r,
        () => {
          let bill: Bill;
          const bytes = hexToBytes(r.bill);
          try {
            bill = decodeBill(bytes, r.encoding);
          } catch (e) {
            if (e instanceof BillError)
              refuse('E_SIG1_INVALID', step, `the BILL does not parse: ${e.message}`);
            throw e;
          }
          const hash = bytesToHex(billHash(bytes));
          const signer = bill.mallId ?? bill.storeId;
          const bad = verifySignature('SIG1', { billHash: hash, encoding: r.encoding }, r.sig1, {
            certificate: r.certificate,
            roots: [hexToBytes(this.must('root'))],
            role: 'store',
            subjectId: signer,
            now: this.clock.now(),
          });
          if (bad) refuse('E_SIG1_INVALID', step, bad);
          if (bill.smdId !== this.id)
            refuse('E_SIG1_INVALID', step, `the BILL names smd ${bill.smdId}, not ${this.id}`);
          if (Math.floor(this.clock.now() / 1000) > bill.expiresAt)
            refuse('E_BILL_EXPIRED', step, `the BILL of order ${bill.orderNo} expired at ${bill.expiresAt}`);
          if (this.db.prepare('SELECT 1 FROM settlements WHERE orderNo = ?').get(bill.orderNo))
            refuse('E_ORDER_DUPLICATE', step, `order ${bill.orderNo} has a settlement already`);
          if (r.txId.slice(0, 16) !== bytesToHex(orderNoBytes(bill.orderNo)))
            refuse(
              'E_BAD_STATE',
              step,
              `the settlement txId must start with the orderNo's 8 bytes (the card log's charge ID)`,
            );
          if (!this.card(r.cardId))
            refuse('E_UNKNOWN_CARD', step, `card ${r.cardId} is not registered at ${this.id}`);
          if (r.embodiment === 'second') {
            if (r.balance === undefined)
              refuse('E_BAD_STATE', 'ST106', 'the second embodiment sends the balance read at ST104');
            if (r.balance < bill.amount)
              refuse('E_INSUFFICIENT', 'ST106', `balance ${r.balance} is below the bill's ${bill.amount}`);
          }
          this.db
            .prepare(
              'INSERT INTO store_certs (subjectId, certificate, cachedAt) VALUES (?, ?, ?) ON CONFLICT (subjectId) DO UPDATE SET certificate = excluded.certificate, cachedAt = excluded.cachedAt',
            )
            .run(signer, r.certificate, this.clock.now());
          this.db
            .prepare(
              "INSERT INTO settlements (settlementId, orderNo, storeId, merchantId, cardId, amount, billHash, embodiment, status, balance, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'verified', ?, ?)",
            )
            .run(
              r.txId,
              bill.orderNo,
              bill.storeId,
              signer,
              r.cardId,
              bill.amount,
              hash,
              r.embodiment,
              r.balance ?? null,
              this.clock.now(),
            );
          this.openSession(r.txId, r.cardId, 'settle');
          return { settlementId: r.txId, command: bytesToHex(authFirstApdu(this.areaCode)), step: 'ST10' };
        },
        r.txId,
      ),
    );
  }

  authConfirm(request: SmdRequest<'authConfirm'>): Promise<Outcome<CardStep>> {
    const r = this.checked<SmdRequest<'authConfirm'>>('authConfirm', request);
    return Promise.resolve(
      this.run(
        'authConfirm',
        r,
        () => {
          const s = this.session(r.ref, 'auth2');
          const { data, sw } = splitResponse(hexToBytes(r.response));
          const pending = this.secrets.get(`session/${r.ref}/pending`);
          const kc = this.kc(s.cardId);
          const ks = sw === 0x9000 && pending ? authVerify(this.suite, kc, pending, data) : undefined;
          kc.fill(0);
          if (!ks)
            refuse('E_CARD_AUTH_FAILED', 'ST11', `the card did not prove KC (answer ${sw.toString(16)})`);
          this.secrets.put(`session/${r.ref}/ks`, ks);
          ks.fill(0);
          this.db
            .prepare("UPDATE sessions SET stage = 'open', ssc = ? WHERE ref = ?")
            .run(bytesToHex(zeroSsc(this.suite)), r.ref);
          if (s.purpose === 'topup' || s.purpose === 'recover')
            return this.command(
              r.ref,
              SETTLEMENT.inner.readLog,
              0,
              new Uint8Array(0),
              s.purpose === 'topup' ? '(4)' : 'ST19',
            );
          const row = this.settlementRow(r.ref);
          if (row.embodiment === 'first') {
            this.setStatus(r.ref, 'authenticated');
            const c = this.command(r.ref, SETTLEMENT.inner.brc, 0, new Uint8Array(0), 'ST12');
            return this.signed2(r.ref, c, {});
          }
          this.setStatus(r.ref, 'debit-sent');
          return { ...this.spc(row, 'ST109'), header: this.header(row), balance: row.balance ?? 0 };
        },
        this.sessionKey('authConfirm', r),
      ),
    );
  }

  balanceInfo(request: SmdRequest<'balanceInfo'>): Promise<Outcome<CardStep>> {
    const r = this.checked<SmdRequest<'balanceInfo'>>('balanceInfo', request);
    return Promise.resolve(
      this.run(
        'balanceInfo',
        r,
        () => {
          const row = this.settlementRow(r.settlementId);
          if (row.status !== 'authenticated') refuse('E_BAD_STATE', 'ST13', `settlement is ${row.status}`);
          const a = this.answer(r.settlementId, r.response, 'ST13');
          if (a.sw !== 0x9000 || a.data.length !== 4)
            refuse('E_CARD_REFUSED', 'ST13', `BRC answered ${a.sw.toString(16)}`);
          const balance = new DataView(a.data.buffer, a.data.byteOffset).getUint32(0);
          if (balance < row.amount)
            refuse('E_INSUFFICIENT', 'ST14', `balance ${balance} is below the bill's ${row.amount}; no SPC`);
          this.db
            .prepare('UPDATE settlements SET balance = ? WHERE settlementId = ?')
            .run(balance, r.settlementId);
          this.setStatus(r.settlementId, 'debit-sent');
          const header = this.header(row);
          return this.signed2(r.settlementId, this.spc({ ...row, balance }, 'ST14'), { header, balance });
        },
        retryKey('balanceInfo', r),
      ),
    );
  }

  async completeSettlement(
    request: SmdRequest<'completeSettlement'>,
  ): Promise<Outcome<SettlementNext | ({ readonly kind: 'card' } & CardStep)>> {
    const r = this.checked<SmdRequest<'completeSettlement'>>('completeSettlement', request);
    const first = this.run(
      'completeSettlement',
      r,
      (): { kind: 'mismatch'; message: string } | { kind: 'acn' } | ({ kind: 'card' } & CardStep) => {
        const row = this.settlementRow(r.settlementId);
        if (row.status !== 'debit-sent') refuse('E_BAD_STATE', 'ST19', `settlement is ${row.status}`);
        const a = this.answer(r.settlementId, r.response, 'ST19');
        if (a.sw === 0x69e1) {
          this.db.prepare("UPDATE sessions SET purpose = 'recover' WHERE ref = ?").run(r.settlementId);
          return {
            kind: 'card',
            ...this.command(r.settlementId, SETTLEMENT.inner.readLog, 0, new Uint8Array(0), 'ST19'),
          };
        }
        if (a.sw === 0x6901) refuse('E_INSUFFICIENT', 'ST17', 'the card refused the debit: INSUFFICIENT');
        if (a.sw !== 0x9000 || a.data.length !== SETTLEMENT.pcnLength)
          refuse('E_CARD_REFUSED', 'ST18', `the SPC answered ${a.sw.toString(16)}`);
        const dv = new DataView(a.data.buffer, a.data.byteOffset);
        const echoed = new TextDecoder('latin1').decode(a.data.subarray(0, 8));
        const debited = dv.getUint32(8);
        const newBalance = dv.getUint32(12);
        const want = (row.balance ?? 0) - row.amount;
        if (echoed !== row.orderNo || debited !== row.amount || newBalance !== want)
          return this.toSuspense(
            row,
            debited,
            `PCN {orderNo ${JSON.stringify(echoed)}, debited ${debited}, newBalance ${newBalance}} differs from the SPC {${row.orderNo}, ${row.amount}, ${want}}`,
          );
        this.complete(row, newBalance);
        return { kind: 'acn' };
      },
      retryKey('completeSettlement', r),
    );
    if (!first.ok) return first;
    if (first.result.kind === 'mismatch') return refused('E_PCN_MISMATCH', 'ST19', first.result.message);
    if (first.result.kind === 'card') return accepted(first.result);
    return this.deliverAcn(r.settlementId);
  }

  /**
   * (F) the card's word without a MAC differs from the SPC: what it says it debited is booked to
   * suspense, and the settlement is flagged for correction; no ACN.
   */
  private toSuspense(
    row: { readonly settlementId: string; readonly orderNo: string },
    debited: number,
    message: string,
  ): { kind: 'mismatch'; message: string } {
    post(
      this.db,
      row.settlementId,
      [
        [this.float, debited],
        [`liab:suspense:${row.orderNo}`, -debited],
      ],
      this.clock.now(),
    );
    this.setStatus(row.settlementId, 'failed');
    return { kind: 'mismatch', message };
  }

  recoverSettlement(request: SmdRequest<'recoverSettlement'>): Promise<Outcome<CardStep>> {
    const r = this.checked<SmdRequest<'recoverSettlement'>>('recoverSettlement', request);
    return Promise.resolve(
      this.run('recoverSettlement', r, () => {
        const row = this.settlementRow(r.settlementId);
        if (row.status !== 'debit-sent')
          refuse('E_BAD_STATE', 'ST19', `settlement is ${row.status}, nothing to recover`);
        this.openSession(r.settlementId, row.cardId, 'recover');
        return { command: bytesToHex(authFirstApdu(this.areaCode)), step: 'ST10' };
      }),
    );
  }

  async reconcileSettlement(
    request: SmdRequest<'reconcileSettlement'>,
  ): Promise<Outcome<SettlementNext | ({ readonly kind: 'card' } & CardStep)>> {
    const r = this.checked<SmdRequest<'reconcileSettlement'>>('reconcileSettlement', request);
    const first = this.run(
      'reconcileSettlement',
      r,
      (): { kind: 'mismatch'; message: string } | { kind: 'acn' } | ({ kind: 'card' } & CardStep) => {
        const row = this.settlementRow(r.settlementId);
        if (row.status !== 'debit-sent') refuse('E_BAD_STATE', 'ST19', `settlement is ${row.status}`);
        const a = this.answer(r.settlementId, r.response, 'ST19');
        if (a.sw !== 0x9000) refuse('E_CARD_REFUSED', 'ST19', `READ LOG answered ${a.sw.toString(16)}`);
        const records = this.storeLog(row.cardId, a.data);
        const chargeId = bytesToHex(orderNoBytes(row.orderNo));
        const hit = records.find((x) => x.chargeId === chargeId && x.kind === 2);
        if (hit && hit.amount === row.amount) {
          this.complete(row, (row.balance ?? 0) - row.amount);
          return { kind: 'acn' };
        }
        // (F) the SPC's amount was altered on its way (no MAC): the log shows what the card debited
        // under this charge ID, as the PCN would have (a lost PCN in the K10-F attack).
        if (hit)
          return this.toSuspense(
            row,
            hit.amount,
            `the log's debit under order ${row.orderNo} is ${hit.amount}, the SPC's ${row.amount}`,
          );
        this.db.prepare("UPDATE sessions SET purpose = 'settle' WHERE ref = ?").run(r.settlementId);
        return { kind: 'card', ...this.spc(row, 'ST16') };
      },
      retryKey('reconcileSettlement', r),
    );
    if (!first.ok) return first;
    if (first.result.kind === 'mismatch') return refused('E_PCN_MISMATCH', 'ST19', first.result.message);
    if (first.result.kind === 'card') return accepted(first.result);
    return this.deliverAcn(r.settlementId);
  }

  abandon(request: SmdRequest<'abandon'>): Promise<Outcome<SettlementView>> {
    const r = this.checked<SmdRequest<'abandon'>>('abandon', request);
    return Promise.resolve(
      this.run('abandon', r, () => {
        const row = this.db
          .prepare('SELECT settlementId FROM settlements WHERE orderNo = ?')
          .get(r.orderNo) as { settlementId: string } | undefined;
        if (!row) refuse('E_NOT_FOUND', 'ST16', `no settlement for order ${r.orderNo}`);
        const s = this.settlementRow(row.settlementId);
        if (s.status === 'completed') refuse('E_BAD_STATE', 'ST16', `order ${r.orderNo} is completed`);
        this.setStatus(row.settlementId, 'abandoned');
        this.db.prepare('DELETE FROM sessions WHERE ref = ?').run(row.settlementId);
        return this.view(row.settlementId);
      }),
    );
  }

  acceptReceipt(request: SmdRequest<'acceptReceipt'>): Promise<Outcome<{ readonly orderNo: string }>> {
    const r = this.checked<SmdRequest<'acceptReceipt'>>('acceptReceipt', request);
    return Promise.resolve(
      this.run('acceptReceipt', r, () => {
        const row = this.db
          .prepare('SELECT settlementId FROM settlements WHERE orderNo = ?')
          .get(r.receipt.orderNo) as { settlementId: string } | undefined;
        if (!row) refuse('E_NOT_FOUND', '(10)', `no settlement for order ${r.receipt.orderNo}`);
        const s = this.settlementRow(row.settlementId);
        if (s.status !== 'completed' || !s.acn) refuse('E_BAD_STATE', '(10)', `settlement is ${s.status}`);
        const bad = verifySignature('SIG4', r.receipt, r.sig4, {
          certificate: r.certificate,
          roots: [hexToBytes(this.must('root'))],
          role: 'store',
          subjectId: s.merchantId,
          now: this.clock.now(),
        });
        if (bad) refuse('E_BAD_STATE', '(10)', `SIG4: ${bad}`);
        if (r.receipt.acnHash !== acnHash(JSON.parse(s.acn) as Acn))
          refuse('E_BAD_STATE', '(10)', 'the receipt names another ACN');
        this.db
          .prepare('UPDATE settlements SET receipt = ?, sig4 = ?, receiptCert = ? WHERE settlementId = ?')
          .run(canonicalJson(r.receipt), r.sig4, r.certificate, row.settlementId);
        return { orderNo: r.receipt.orderNo };
      }),
    );
  }

  receipt(
    request: SmdRequest<'receipt'>,
  ): Promise<Outcome<{ readonly receipt: Receipt; readonly sig4: string; readonly certificate: string }>> {
    const r = this.checked<SmdRequest<'receipt'>>('receipt', request);
    return Promise.resolve(
      this.run('receipt', r, () => {
        const row = this.db
          .prepare('SELECT receipt, sig4, receiptCert FROM settlements WHERE orderNo = ?')
          .get(r.orderNo) as
          { receipt: string | null; sig4: string | null; receiptCert: string | null } | undefined;
        if (!row?.receipt || !row.sig4 || !row.receiptCert)
          refuse('E_NOT_FOUND', '(11)', `no receipt for order ${r.orderNo}`);
        return { receipt: JSON.parse(row.receipt) as Receipt, sig4: row.sig4, certificate: row.receiptCert };
      }),
    );
  }

  settlement(request: SmdRequest<'settlement'>): Promise<Outcome<SettlementView>> {
    const r = this.checked<SmdRequest<'settlement'>>('settlement', request);
    return Promise.resolve(this.run('settlement', r, () => this.view(r.settlementId)));
  }

  // ---- internals ----

  protected settlementRow(id: string): SettlementRow {
    const row = this.db.prepare('SELECT * FROM settlements WHERE settlementId = ?').get(id) as
      SettlementRow | undefined;
    if (!row) refuse('E_NOT_FOUND', '—', `no settlement ${id}`);
    return row;
  }

  protected setStatus(id: string, status: SettlementView['status']): void {
    this.db.prepare('UPDATE settlements SET status = ? WHERE settlementId = ?').run(status, id);
  }

  protected view(id: string): SettlementView {
    const row = this.settlementRow(id);
    return {
      settlementId: row.settlementId,
      orderNo: row.orderNo,
      storeId: row.storeId,
      merchantId: row.merchantId,
      cardId: row.cardId,
      amount: row.amount,
      billHash: row.billHash,
      embodiment: row.embodiment,
      status: row.status,
      acn: row.acn ? (JSON.parse(row.acn) as Acn) : null,
      receipt: row.receipt ? (JSON.parse(row.receipt) as Receipt) : null,
      sig4: row.sig4,
    };
  }

  protected header(row: SettlementRow): SettlementHeader {
    return { orderNo: row.orderNo, amount: row.amount, billHash: row.billHash, smdId: this.id };
  }

  /** The SPC under the open session: chargeId = orderNo bytes (= the txId's first 8 bytes). */
  protected spc(row: SettlementRow, step: string): CardStep {
    const no = orderNoBytes(row.orderNo);
    const data = Uint8Array.of(
      ...no,
      ...no,
      ...be32(row.amount),
      ...be16(this.clock.today()),
      ORIGIN.purchase,
      0,
      ...hexToBytes(row.billHash),
    );
    this.db
      .prepare('UPDATE settlements SET spc = ? WHERE settlementId = ?')
      .run(bytesToHex(data), row.settlementId);
    return this.command(row.settlementId, SETTLEMENT.inner.spc, 0, data, step);
  }

  /** SIG2 (first embodiment only) over {settlementId, step, command, header?, balance?}. */
  protected signed2(
    settlementId: string,
    c: CardStep,
    extra: { header?: SettlementHeader; balance?: number },
  ): CardStep {
    const payload = { settlementId, step: c.step, command: c.command, ...extra };
    return {
      ...c,
      ...extra,
      sig2: sign('SIG2', payload, this.signingKey()),
      certificate: this.must('certificate'),
    };
  }

  /** Books float → clearing:<merchant>, queues the ACN for the store and signs it (SIG3). */
  protected complete(row: SettlementRow, newBalance: number): void {
    const acn: Acn = {
      settlementId: row.settlementId,
      orderNo: row.orderNo,
      amount: row.amount,
      billHash: row.billHash,
      newBalance,
      completedAt: this.clock.now(),
    };
    const sig3 = sign('SIG3', acn, this.signingKey());
    post(
      this.db,
      row.settlementId,
      [
        [this.float, row.amount],
        [`clearing:${row.merchantId}`, -row.amount],
      ],
      this.clock.now(),
    );
    this.enqueue(
      { txId: row.settlementId, peer: row.merchantId, topic: 'acn', clearingAmount: row.amount },
      { acn, sig3 },
    );
    this.db
      .prepare("UPDATE settlements SET status = 'completed', acn = ?, sig3 = ? WHERE settlementId = ?")
      .run(canonicalJson(acn), sig3, row.settlementId);
    this.db.prepare('DELETE FROM sessions WHERE ref = ?').run(row.settlementId);
  }

  /** (6)-(8): the ACN to the store, which verifies SIG3 and books its side; then it is delivered. */
  protected async deliverAcn(settlementId: string): Promise<Outcome<SettlementNext>> {
    const v = this.settlementRow(settlementId);
    const acn = JSON.parse(v.acn!) as Acn;
    const certificate = this.must('certificate');
    const store = await deliverToPeer(() =>
      this.peers.peer('store', v.merchantId).acceptAcn({ acn, sig3: v.sig3!, certificate }),
    );
    if (store.ok)
      this.run('deliverAcn', { settlementId }, () =>
        this.db
          .prepare("UPDATE outbox SET deliveredAt = ? WHERE txId = ? AND topic = 'acn'")
          .run(this.clock.now(), settlementId),
      );
    return accepted({ kind: 'acn', acn, sig3: v.sig3!, certificate, storeAccepted: store.ok });
  }
}
