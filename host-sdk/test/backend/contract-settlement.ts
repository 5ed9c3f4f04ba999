// The contract suites of seed 002's back-ends (flows.md 1.2, 4.1-4.2): BureauBackend,
// SettlementBackend (smd), StoreBackend and the credit permission methods of CreditBackend, written
// once against a harness and run in-process and over HTTP (./contract-settlement.test.ts). The card
// exchanges themselves are exercised end to end by `mica run common-key-settlement`.
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '@mica/apdu-specs/hex';
import type { AuditReport } from '@mica/host-sdk/backend/audit';
import type { BureauBackend } from '@mica/host-sdk/backend/kinds/bureau';
import type { CreditBackend } from '@mica/host-sdk/backend/kinds/credit';
import type { SettlementBackend } from '@mica/host-sdk/backend/kinds/smd';
import type { StoreBackend } from '@mica/host-sdk/backend/kinds/store';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { jstDay, jstInstant } from '@mica/host-sdk/platform/clock';
import { verifyCertificate } from '@mica/host-sdk/bureau/certificate';
import { verifySignature } from '@mica/host-sdk/settlement/signatures';

export interface SettlementHarness {
  readonly bureau: BureauBackend;
  readonly smd: SettlementBackend;
  readonly store: StoreBackend;
  readonly mall: StoreBackend;
  readonly credit: CreditBackend;
  advanceBy(ms: number): Promise<void>;
  /** C1-C4 with the registered card at `balance` (C3). */
  audit(balance?: number): Promise<AuditReport>;
  close(): Promise<void>;
}

export const START = jstInstant(2004, 6, 7, 10, 0);
const NOW_S = Math.floor(START / 1000);
const CARD = '5354000000000201';
const ITEM = { sku: 'EB-1', name: 'e-book', price: 1200, qty: 1 };
const EXPIRY = jstDay(jstInstant(2008, 12, 31));
const hex8 = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

async function setUp(h: SettlementHarness): Promise<{ root: Uint8Array }> {
  const root = expectOk(await h.bureau.setUp({ notBefore: NOW_S - 10, notAfter: NOW_S + 86_400 * 365 }));
  expectOk(
    await h.smd.setUp({
      bureauId: 'bureau1',
      suite: '2k3des',
      master: '5c'.repeat(8) + '6d'.repeat(8),
      systemCode: 0x12fc,
      areaCode: 0x3000,
      maxBalance: 50_000,
    }),
  );
  expectOk(await h.store.setUp({ bureauId: 'bureau1', orderPrefix: 'S1' }));
  expectOk(await h.mall.setUp({ bureauId: 'bureau1', orderPrefix: 'M1', mall: 'yes' }));
  expectOk(
    await h.smd.registerCard({
      cardId: CARD,
      idm: '02fe000000000201',
      userId: 'u1',
      name: 'SUZUKI',
      opening: 5000,
    }),
  );
  expectOk(
    await h.credit.openCardAccount({
      cardNo: '4980123456789012',
      userId: 'u1',
      name: 'SUZUKI',
      billingBankId: 'bank1',
      billingAccountNo: 'b-1',
      cardExpiry: EXPIRY,
      limit: 10_000,
      pin: '2468',
    }),
  );
  return { root: hexToBytes(root.certificate) };
}

export function settlementContract(name: string, make: () => Promise<SettlementHarness>): void {
  describe(`seed 002 back-end contract (${name})`, () => {
    it('bureau: one root; certificates chain to it with their role; unknown subjects are named', async () => {
      const h = await make();
      try {
        const { root } = await setUp(h);
        const again = await h.bureau.setUp({ notBefore: 0, notAfter: 1 });
        expect(again.ok ? 'ok' : again.code).toBe('E_BAD_STATE');
        const smd = expectOk(await h.bureau.lookup({ subjectId: 'smd1', role: 'smd' }));
        expect(expectOk(await h.smd.identity({})).certificate).toBe(smd.certificate);
        expect(
          verifyCertificate({ chain: [hexToBytes(smd.certificate)], roots: [root], role: 'smd', now: START })
            .subjectId,
        ).toBe('smd1');
        const none = await h.bureau.lookup({ subjectId: 'nobody', role: 'store' });
        expect(none.ok ? 'ok' : [none.code, none.message]).toEqual([
          'E_NOT_FOUND',
          'bureau bureau1 has no store certificate for nobody',
        ]);
        // A malformed request is refused before it runs (in-process: thrown; over HTTP: 400).
        await expect(
          (async () =>
            h.bureau.issue({ subjectId: 'x', role: 'store', keyType: 'ed25519', publicKey: 'zz' }))(),
        ).rejects.toThrow(/publicKey must be 32 bytes of lowercase hex/);
      } finally {
        await h.close();
      }
    });

    it('store bills with SIG1; the SMD checks SIG1, expiry, order reuse, the txId and the card', async () => {
      const h = await make();
      try {
        const { root } = await setUp(h);
        const b = expectOk(await h.store.bill({ items: [ITEM], smdId: 'smd1', encoding: 'json' }));
        expect([b.orderNo, b.amount]).toEqual(['S1000001', 1200]);
        expect(
          verifySignature('SIG1', { billHash: b.billHash, encoding: 'json' }, b.sig1, {
            certificate: b.certificate,
            roots: [root],
            role: 'store',
            subjectId: 'store1',
            now: START,
          }),
        ).toBeUndefined();
        const txId = `${hex8('S1000001')}${'00'.repeat(8)}`;
        // Each refused attempt keeps its txId (idempotency): the next attempt takes another one.
        const other = (n: number): string => `${hex8('S1000001')}${n.toString(16).padStart(16, '0')}`;
        const req = {
          txId,
          embodiment: 'first' as const,
          bill: b.bill,
          encoding: b.encoding,
          sig1: b.sig1,
          certificate: b.certificate,
          cardId: CARD,
        };
        const tampered = b.bill.replace(hex8('"amount":1200'), hex8('"amount":1100'));
        const t = await h.smd.beginSettlement({ ...req, txId: other(1), bill: tampered });
        expect(t.ok ? 'ok' : [t.code, t.step]).toEqual(['E_SIG1_INVALID', 'ST9']);
        const wrongTx = await h.smd.beginSettlement({ ...req, txId: '11'.repeat(16) });
        expect(wrongTx.ok ? 'ok' : wrongTx.code).toBe('E_BAD_STATE');
        const unknown = await h.smd.beginSettlement({ ...req, txId: other(2), cardId: '00'.repeat(8) });
        const retried = await h.smd.beginSettlement({ ...req, txId: other(2) });
        expect(retried.ok ? 'ok' : retried.code).toBe('E_TXID_CONFLICT');
        expect(unknown.ok ? 'ok' : unknown.code).toBe('E_UNKNOWN_CARD');
        const ok = expectOk(await h.smd.beginSettlement(req));
        // AUTHENTICATE 1 naming the area node 3000 (the common key).
        expect([ok.command, ok.step]).toEqual(['808800000301300000', 'ST10']);
        expect(expectOk(await h.smd.beginSettlement(req))).toEqual(ok);
        const dup = await h.smd.beginSettlement({ ...req, txId: other(3) });
        expect(dup.ok ? 'ok' : dup.code).toBe('E_ORDER_DUPLICATE');
        const b2 = expectOk(
          await h.store.bill({ items: [ITEM], smdId: 'smd1', encoding: 'binary', validFor: 60 }),
        );
        await h.advanceBy(61_000);
        const late = await h.smd.beginSettlement({
          ...req,
          txId: `${hex8(b2.orderNo)}${'00'.repeat(8)}`,
          bill: b2.bill,
          encoding: 'binary',
          sig1: b2.sig1,
        });
        expect(late.ok ? 'ok' : late.code).toBe('E_BILL_EXPIRED');
        const b3 = expectOk(
          await h.store.bill({ items: [{ ...ITEM, price: 6000 }], smdId: 'smd1', encoding: 'json' }),
        );
        const poor = await h.smd.beginSettlement({
          ...req,
          embodiment: 'second',
          balance: 5000,
          txId: `${hex8(b3.orderNo)}${'00'.repeat(8)}`,
          bill: b3.bill,
          sig1: b3.sig1,
        });
        expect(poor.ok ? 'ok' : [poor.code, poor.step]).toEqual(['E_INSUFFICIENT', 'ST106']);
        expect((await h.audit()).ok).toBe(true);
      } finally {
        await h.close();
      }
    });

    it('store: the download is locked until the receipt; a forged ACN books nothing; abandon once', async () => {
      const h = await make();
      try {
        await setUp(h);
        const b = expectOk(await h.store.bill({ items: [ITEM], smdId: 'smd1', encoding: 'json' }));
        const dl = await h.store.download({ orderNo: b.orderNo });
        expect(dl.ok ? 'ok' : dl.code).toBe('E_BAD_STATE');
        const acn = {
          settlementId: `${hex8(b.orderNo)}${'00'.repeat(8)}`,
          orderNo: b.orderNo,
          amount: 1200,
          billHash: b.billHash,
          newBalance: 3800,
          completedAt: START,
        };
        // Signed by the store, not the SMD: SIG3 must come from smd1.
        const forged = await h.store.acceptAcn({ acn, sig3: b.sig1, certificate: b.certificate });
        expect(forged.ok ? 'ok' : forged.code).toBe('E_BAD_STATE');
        expect(expectOk(await h.store.order({ orderNo: b.orderNo })).status).toBe('billed');
        const done = await h.store.complete({ orderNo: b.orderNo, route: 'client' });
        expect(done.ok ? 'ok' : done.code).toBe('E_BAD_STATE');
        expect(expectOk(await h.store.abandon({ orderNo: b.orderNo })).status).toBe('abandoned');
        const twice = await h.store.abandon({ orderNo: b.orderNo });
        expect(twice.ok ? 'ok' : twice.code).toBe('E_BAD_STATE');
        const notMall = await h.store.bill({
          items: [ITEM],
          smdId: 'smd1',
          encoding: 'json',
          memberStoreId: 'shop42',
        });
        expect(notMall.ok ? 'ok' : notMall.code).toBe('E_BAD_STATE');
        const noMember = await h.mall.bill({
          items: [ITEM],
          smdId: 'smd1',
          encoding: 'json',
          memberStoreId: 'shop42',
        });
        expect(noMember.ok ? 'ok' : noMember.code).toBe('E_NOT_FOUND');
        expectOk(await h.mall.addMember({ storeId: 'shop42' }));
        const m = expectOk(
          await h.mall.bill({ items: [ITEM], smdId: 'smd1', encoding: 'json', memberStoreId: 'shop42' }),
        );
        expect(JSON.parse(Buffer.from(m.bill, 'hex').toString('utf8'))).toMatchObject({
          storeId: 'shop42',
          mallId: 'mall1',
          orderNo: 'M1000001',
        });
        expect((await h.audit()).ok).toBe(true);
      } finally {
        await h.close();
      }
    });

    it('top-up: over maxBalance before any credit call; declines name the reason; capture books once; reverse', async () => {
      const h = await make();
      try {
        await setUp(h);
        const t1 = '7a'.repeat(16);
        expectOk(await h.smd.beginTopUp({ txId: t1, cardId: CARD, balance: 48_000 }));
        const base = {
          topUpId: t1,
          creditId: 'credit1',
          creditNo: '4980123456789012',
          expiry: EXPIRY,
          pin: '2468',
        };
        const over = await h.smd.requestTopUp({ ...base, amount: 2001 });
        expect(over.ok ? 'ok' : [over.code, over.step]).toEqual(['E_OVER_MAX_BALANCE', '(6)']);
        expect(expectOk(await h.smd.topUp({ topUpId: t1 })).status).toBe('started');
        const pin = await h.smd.requestTopUp({ ...base, amount: 1000, pin: '1111' });
        expect(pin.ok ? 'ok' : [pin.code, pin.message]).toEqual(['E_CREDIT_DECLINED', 'declined: bad PIN']);
        expect(expectOk(await h.smd.topUp({ topUpId: t1 })).status).toBe('declined');

        const a = { cardNo: '4980123456789012', expiry: EXPIRY, pin: '2468', merchantId: 'smd1' };
        const limit = await h.credit.authorizeCardNotPresent({ ...a, txId: '01'.repeat(16), amount: 10_001 });
        expect(limit.ok ? 'ok' : limit.message).toBe('declined: over limit');
        const exp = await h.credit.authorizeCardNotPresent({
          ...a,
          txId: '02'.repeat(16),
          amount: 100,
          expiry: EXPIRY - 1,
        });
        expect(exp.ok ? 'ok' : exp.message).toBe('declined: expired or wrong expiry');
        const unknown = await h.credit.authorizeCardNotPresent({
          ...a,
          txId: '03'.repeat(16),
          amount: 100,
          cardNo: '4111',
        });
        expect(unknown.ok ? 'ok' : unknown.message).toBe('declined: unknown card');
        const ok = expectOk(
          await h.credit.authorizeCardNotPresent({ ...a, txId: '04'.repeat(16), amount: 3000 }),
        );
        expect([ok.maskedCardNo, ok.approved]).toEqual(['************9012', true]);
        expectOk(await h.credit.captureCardNotPresent({ txId: '04'.repeat(16), merchantId: 'smd1' }));
        expectOk(await h.credit.captureCardNotPresent({ txId: '04'.repeat(16), merchantId: 'smd1' }));
        expect(expectOk(await h.credit.account({ cardNo: '4980123456789012' })).liabilityUnbilled).toBe(3000);
        const rev = await h.credit.reverseCardNotPresent({ txId: '04'.repeat(16) });
        expect(rev.ok ? 'ok' : rev.code).toBe('E_BAD_STATE');
        expectOk(await h.credit.authorizeCardNotPresent({ ...a, txId: '05'.repeat(16), amount: 500 }));
        expect(expectOk(await h.credit.reverseCardNotPresent({ txId: '05'.repeat(16) })).reason).toBe(
          'reversed',
        );
        const late = await h.credit.captureCardNotPresent({ txId: '05'.repeat(16), merchantId: 'smd1' });
        expect(late.ok ? 'ok' : late.code).toBe('E_BAD_STATE');
        // The capture is booked against clearing:smd1 that the SMD never booked: C2 names it.
        const report = await h.audit();
        expect(report.checks.find((c) => c.id === 'C2')!.status).toBe('fail');
      } finally {
        await h.close();
      }
    });
  });
}
