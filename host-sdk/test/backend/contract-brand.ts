// Contract suites of the seed 003 back-end interfaces (flows.md 5.1): brand, issuer, service-center,
// cybershop; written once as functions of a harness, run in-process and over HTTP
// (./contract-brand.test.ts). Expected figures are worked out by hand from the requests.
import { describe, expect, it } from 'vitest';
import type { AuditReport, CardPurse } from '@mica/host-sdk/backend/audit';
import type { BankBackend } from '@mica/host-sdk/backend/kinds/bank';
import type { BrandHolderBackend } from '@mica/host-sdk/backend/kinds/brand';
import type { IssuerBackend } from '@mica/host-sdk/backend/kinds/issuer';
import type { ServiceCenterBackend } from '@mica/host-sdk/backend/kinds/service-center';
import type { CybershopBackend } from '@mica/host-sdk/backend/kinds/cybershop';
import { expectOk } from '@mica/host-sdk/backend/outcome';

export interface BrandHarness {
  readonly bank: BankBackend;
  readonly brand: BrandHolderBackend;
  readonly issuer: IssuerBackend;
  /** A second issuer (area 4000h). */
  readonly issuer2: IssuerBackend;
  /** A bank center. */
  readonly center: ServiceCenterBackend;
  /** A POS center. */
  readonly pos: ServiceCenterBackend;
  readonly shop: CybershopBackend;
  advanceBy(ms: number): Promise<void>;
  audit(cards?: readonly CardPurse[]): Promise<AuditReport>;
  close(): Promise<void>;
}

const tx = (n: number): string => n.toString(16).padStart(32, '0');
const CARD = '0300000000000001';
const CARD2 = '0400000000000001';
const DAY = 86_400_000;

/** The ids every harness uses. */
export const IDS = {
  bank: 'bank5',
  brand: 'brand1',
  issuer: 'issuer23',
  issuer2: 'issuer24',
  center: 'bankcenter',
  pos: 'poscenter',
  shop: 'cybershop1',
} as const;

async function setUp(h: BrandHarness, notification: 'per-tx' | 'batch' = 'per-tx'): Promise<void> {
  expectOk(await h.brand.setUp({ notification }));
  for (const [issuer, id, area] of [
    [h.issuer, IDS.issuer, 0x3000],
    [h.issuer2, IDS.issuer2, 0x4000],
  ] as const) {
    const me = expectOk(await issuer.setUp({ brandId: IDS.brand, areaCode: area, notification }));
    expectOk(
      await h.brand.registerParticipant({
        id,
        kind: 'issuer',
        name: id,
        areaCode: area,
        signKey: me.signKey,
        boxKey: me.boxKey,
      }),
    );
  }
  for (const [c, id, role] of [
    [h.center, IDS.center, 'bank'],
    [h.pos, IDS.pos, 'pos'],
  ] as const) {
    const me = expectOk(await c.setUp({ role, brandId: IDS.brand, notification }));
    expectOk(
      await h.brand.registerParticipant({
        id,
        kind: 'center',
        name: id,
        boxKey: me.boxKey,
        ...(role === 'pos' ? { agreement: 'merchant agreement 2004-1' } : {}),
      }),
    );
    expectOk(await c.registerTerminal({ terminalId: `${id}-t1`, merchantId: role === 'pos' ? 'shop4' : id }));
  }
  expectOk(
    await h.brand.registerParticipant({
      id: 'shop4',
      kind: 'merchant',
      name: 'shop 4',
      agreement: 'x',
      feeBps: 100,
    }),
  );
  expectOk(await h.shop.setUp({ brandId: IDS.brand }));
  expectOk(
    await h.brand.registerParticipant({
      id: IDS.shop,
      kind: 'cybershop',
      name: 'cybershop',
      agreement: 'web',
    }),
  );
  expectOk(await h.bank.openAccount({ accountNo: 'u1', userId: 'u1', name: 'USER ONE' }));
  expectOk(await h.bank.depositCash({ txId: tx(1), accountNo: 'u1', amount: 20_000 }));
  expectOk(
    await h.issuer.registerUser({ cardId: CARD, name: 'USER ONE', bankId: IDS.bank, accountNo: 'u1' }),
  );
  expectOk(await h.issuer2.registerUser({ cardId: CARD2, name: 'USER TWO' }));
}

async function permit(
  h: BrandHarness,
  issuer: IssuerBackend,
  recipientId: string,
  keyName: string,
): Promise<void> {
  const p = expectOk(await issuer.signPermission({ recipientId, keyName }));
  expectOk(await h.brand.recordPermission(p));
}

export function brandContract(name: string, make: () => Promise<BrandHarness>): void {
  describe(`BrandHolderBackend contract (${name})`, () => {
    it('generates the key registry of F0.1 with the node codes of each issuer area', async () => {
      const h = await make();
      try {
        await setUp(h);
        const reg = expectOk(await h.brand.keyRegistry({}));
        // system + root, then per issuer: area, P and A-M.
        expect(reg).toHaveLength(2 + 2 * 15);
        const a = reg.find((k) => k.keyName === 'A' && k.issuerId === IDS.issuer)!;
        expect(a.nodes).toEqual([0x3112, 0x314c]);
        const m = reg.find((k) => k.keyName === 'M' && k.issuerId === IDS.issuer2)!;
        expect(m.nodes).toEqual([0x4000 + (28 << 6) + 0x14, 0x4000 + (29 << 6) + 0x0c]);
        expect(reg.find((k) => k.keyName === 'system')!.nodes).toEqual([0xffff]);
        expect(JSON.stringify(reg)).not.toMatch(/master/);
      } finally {
        await h.close();
      }
    });

    it('distributes a loading key only with the issuer’s signed permission (F0.4)', async () => {
      const h = await make();
      try {
        await setUp(h);
        const ask = {
          recipientId: IDS.center,
          keyName: 'A',
          issuerIds: [IDS.issuer],
          channel: 'dedicated' as const,
        };
        expect(await h.brand.distributeKey(ask)).toMatchObject({
          ok: false,
          code: 'E_NO_ISSUER_PERMISSION',
          step: 'F0.4',
        });
        // A permission signed by the other issuer does not count.
        const forged = expectOk(await h.issuer2.signPermission({ recipientId: IDS.center, keyName: 'A' }));
        expect(await h.brand.recordPermission({ ...forged, issuerId: IDS.issuer })).toMatchObject({
          ok: false,
          code: 'E_NO_ISSUER_PERMISSION',
        });
        expect(expectOk(await h.brand.keyRegistry({})).flatMap((k) => k.distributions)).toEqual([]);
        await permit(h, h.issuer, IDS.center, 'A');
        const pkg = expectOk(await h.brand.distributeKey(ask));
        expect(pkg).toMatchObject({ format: 'mica-key-package-v1', recipientId: IDS.center, keyName: 'A' });
        // Sealed for the bank center: the POS center cannot open it.
        expect(await h.pos.installKeyPackage({ package: pkg })).toMatchObject({ ok: false });
        expect(expectOk(await h.pos.heldKeys({}))).toEqual([]);
        const held = expectOk(await h.center.installKeyPackage({ package: pkg }));
        expect(held.map((k) => [k.keyName, k.issuerId, k.node])).toEqual([
          ['A', IDS.issuer, 0x3112],
          ['A', IDS.issuer, 0x314c],
        ]);
        const a = expectOk(await h.brand.keyRegistry({})).find(
          (k) => k.keyName === 'A' && k.issuerId === IDS.issuer,
        )!;
        expect(a.distributions).toMatchObject([{ recipientId: IDS.center, channel: 'dedicated' }]);
        expect(expectOk(await h.brand.participant({ id: IDS.center })).keyIds).toEqual([`A@${IDS.issuer}`]);
        expectOk(
          await h.brand.revokePermission({ issuerId: IDS.issuer, recipientId: IDS.center, keyName: 'A' }),
        );
        expect(await h.brand.distributeKey(ask)).toMatchObject({ ok: false, code: 'E_NO_ISSUER_PERMISSION' });
      } finally {
        await h.close();
      }
    });

    it('refuses K-M and any key to a cybershop, merchant keys without agreement, and the internet', async () => {
      const h = await make();
      try {
        await setUp(h);
        expect(
          await h.brand.distributeKey({ recipientId: IDS.pos, keyName: 'K', channel: 'dedicated' }),
        ).toMatchObject({
          ok: false,
          code: 'E_KEYS_NEVER_TO_CYBERSHOP',
        });
        expect(
          await h.brand.distributeKey({ recipientId: IDS.shop, keyName: 'F', channel: 'dedicated' }),
        ).toMatchObject({
          ok: false,
          code: 'E_KEYS_NEVER_TO_CYBERSHOP',
        });
        expect(
          await h.brand.distributeKey({ recipientId: IDS.center, keyName: 'F', channel: 'dedicated' }),
        ).toMatchObject({
          ok: false,
          code: 'E_NO_AGREEMENT',
          step: 'F0.5',
        });
        expect(
          await h.brand.distributeKey({ recipientId: IDS.pos, keyName: 'F', channel: 'internet' }),
        ).toMatchObject({
          ok: false,
          code: 'E_KEY_ON_INTERNET',
        });
        expect(
          await h.brand.distributeKey({
            recipientId: IDS.issuer,
            keyName: 'area',
            issuerIds: [IDS.issuer2],
            channel: 'media',
          }),
        ).toMatchObject({
          ok: false,
          code: 'E_NO_ISSUER_PERMISSION',
        });
        const f = expectOk(
          await h.brand.distributeKey({ recipientId: IDS.pos, keyName: 'F', channel: 'dedicated' }),
        );
        // F for both issuer areas: two nodes each.
        expect(expectOk(await h.pos.installKeyPackage({ package: f }))).toHaveLength(4);
        expect(
          expectOk(await h.brand.keyRegistry({}))
            .flatMap((k) => k.distributions)
            .map((d) => d.recipientId),
        ).toEqual([IDS.pos, IDS.pos]);
      } finally {
        await h.close();
      }
    });

    it('books payments once per txId and settles a period whose net positions sum to 0 (F7)', async () => {
      const h = await make();
      try {
        await setUp(h);
        // A cash load of 5000 at the bank center onto the issuer's card (float booked by the center).
        expectOk(
          await h.center.authorizeLoad({
            txId: tx(10),
            terminalId: `${IDS.center}-t1`,
            cardId: CARD,
            issuerId: IDS.issuer,
            amount: 5000,
            funding: 'cash',
            cashIn: 5000,
          }),
        );
        expectOk(await h.center.recordLoad({ txId: tx(10), channel: 'A' }));
        const pay = {
          txId: tx(11),
          merchantId: 'shop4',
          issuerId: IDS.issuer,
          cardId: CARD,
          amount: 1200,
          terminalId: 't1',
          via: 'terminal',
        };
        const first = await h.brand.recordPayment(pay);
        expect(await h.brand.recordPayment(pay)).toEqual(first);
        expect(await h.brand.recordPayment({ ...pay, amount: 1201 })).toMatchObject({
          ok: false,
          code: 'E_TXID_CONFLICT',
        });
        expectOk(
          await h.brand.recordPayment({
            ...pay,
            txId: tx(12),
            merchantId: IDS.shop,
            amount: 800,
            via: IDS.shop,
          }),
        );
        expect(expectOk(await h.brand.payments({}))).toHaveLength(2);
        const cards = [{ cardId: CARD, issuer: IDS.issuer, balance: 5000 - 1200 - 800 }];
        expect((await h.audit(cards)).ok).toBe(true);
        const report = expectOk(await h.brand.runAccounting({ periodId: 'w1' }));
        const net = Object.fromEntries(report.positions.map((p) => [p.participantId, p.net]));
        // charge(issuer23) = 2000 payments; the center pays the 5000 it collected; the issuer receives
        // 5000 - 2000 = 3000; shop4 gets 1200 - 1% = 1188; the cybershop 800; the brand keeps 12.
        expect(report.positions.find((p) => p.participantId === IDS.issuer)!.charge).toBe(2000);
        expect(net).toEqual({
          [IDS.center]: -5000,
          [IDS.issuer]: 3000,
          shop4: 1188,
          [IDS.shop]: 800,
          [IDS.brand]: 12,
        });
        expect(report.sum).toBe(0);
        expect(expectOk(await h.brand.period({ periodId: 'w1' }))).toEqual(report);
        expect(await h.brand.runAccounting({ periodId: 'w1' })).toMatchObject({
          ok: false,
          code: 'E_DUPLICATE',
        });
        const audit = await h.audit(cards);
        expect(audit.ok).toBe(true);
        expect(audit.inFlight).toEqual([]);
      } finally {
        await h.close();
      }
    });
  });
}

export function issuerContract(name: string, make: () => Promise<BrandHarness>): void {
  describe(`IssuerBackend contract (${name})`, () => {
    it('refuses funding the account cannot cover and changes nothing; collects an accepted load once', async () => {
      const h = await make();
      try {
        await setUp(h);
        expect(
          await h.issuer.approveLoad({
            txId: tx(20),
            cardId: CARD,
            amount: 20_001,
            funding: 'bank',
            step: 'S33',
          }),
        ).toMatchObject({ ok: false, code: 'E_FUNDING_REFUSED', step: 'S33' });
        expect(
          await h.issuer2.approveLoad({ txId: tx(21), cardId: CARD2, amount: 1, funding: 'bank' }),
        ).toMatchObject({
          ok: false,
          code: 'E_FUNDING_REFUSED',
        });
        expect(expectOk(await h.bank.account({ accountNo: 'u1' })).balance).toBe(20_000);
        expectOk(await h.issuer.approveLoad({ txId: tx(22), cardId: CARD, amount: 3000, funding: 'bank' }));
        const load = {
          txId: tx(22),
          cardId: CARD,
          channel: 'D',
          amount: 3000,
          via: IDS.issuer,
          funding: 'bank' as const,
        };
        const row = expectOk(await h.issuer.recordLoad(load));
        expect(row).toMatchObject({ cardId: CARD, channel: 'D', amount: 3000, via: IDS.issuer });
        expect(await h.issuer.recordLoad(load)).toEqual({ ok: true, result: row });
        expect(expectOk(await h.bank.account({ accountNo: 'u1' })).balance).toBe(17_000);
        expect(expectOk(await h.issuer.loads({}))).toHaveLength(1);
        expect(expectOk(await h.brand.loadNotices({}))).toMatchObject([
          { txId: tx(22), issuerId: IDS.issuer, amount: 3000 },
        ]);
        expect((await h.audit([{ cardId: CARD, issuer: IDS.issuer, balance: 3000 }])).ok).toBe(true);
        expect((await h.audit([{ cardId: CARD, issuer: IDS.issuer, balance: 0 }])).ok).toBe(false);
      } finally {
        await h.close();
      }
    });

    it('installs only packages sealed to it, from its brand holder', async () => {
      const h = await make();
      try {
        await setUp(h);
        const own = expectOk(
          await h.brand.distributeKey({
            recipientId: IDS.issuer,
            keyName: 'area',
            issuerIds: [IDS.issuer],
            channel: 'media',
          }),
        );
        expect(await h.issuer2.installKeyPackage({ package: own })).toMatchObject({ ok: false });
        expect(expectOk(await h.issuer.installKeyPackage({ package: own })).map((k) => k.node)).toEqual([
          0x3000,
        ]);
        expect(
          await h.issuer.installKeyPackage({ package: { ...own, senderId: IDS.issuer2 } }),
        ).toMatchObject({ ok: false, code: 'E_UNAUTHORIZED' });
        expect(expectOk(await h.issuer.heldKeys({}))).toHaveLength(1);
      } finally {
        await h.close();
      }
    });
  });
}

export function serviceCenterContract(name: string, make: () => Promise<BrandHarness>): void {
  describe(`ServiceCenterBackend contract (${name})`, () => {
    it('checks the cash, books a cash load and notices the issuer and the brand holder', async () => {
      const h = await make();
      try {
        await setUp(h);
        const ask = {
          txId: tx(30),
          terminalId: `${IDS.center}-t1`,
          cardId: CARD,
          issuerId: IDS.issuer,
          amount: 5000,
          funding: 'cash' as const,
        };
        expect(await h.center.authorizeLoad({ ...ask, cashIn: 4000 })).toMatchObject({
          ok: false,
          code: 'E_CASH_MISMATCH',
        });
        expect(await h.center.authorizeLoad({ ...ask, terminalId: 'nobody', cashIn: 5000 })).toMatchObject({
          ok: false,
          code: 'E_UNAUTHORIZED',
        });
        expect(expectOk(await h.center.transactions({}))).toEqual([]);
        expectOk(await h.center.authorizeLoad({ ...ask, cashIn: 5000 }));
        const done = expectOk(await h.center.recordLoad({ txId: tx(30), channel: 'A' }));
        expect(done).toMatchObject({ status: 'loaded', channel: 'A', funding: 'cash' });
        expect(await h.center.recordLoad({ txId: tx(30), channel: 'A' })).toEqual({ ok: true, result: done });
        expect(expectOk(await h.issuer.loads({}))).toMatchObject([
          { txId: tx(30), via: IDS.center, funding: 'cash' },
        ]);
        expect(expectOk(await h.brand.loadNotices({}))).toMatchObject([{ txId: tx(30), via: IDS.center }]);
        const audit = await h.audit([{ cardId: CARD, issuer: IDS.issuer, balance: 5000 }]);
        expect(audit.ok).toBe(true);
        expect(audit.inFlight).toEqual([]);
      } finally {
        await h.close();
      }
    });

    it('batched payment notices stay in flight (C4) until the batch runs 7 days later', async () => {
      const h = await make();
      try {
        await setUp(h, 'batch');
        expectOk(
          await h.center.authorizeLoad({
            txId: tx(40),
            terminalId: `${IDS.center}-t1`,
            cardId: CARD,
            issuerId: IDS.issuer,
            amount: 2000,
            funding: 'cash',
            cashIn: 2000,
          }),
        );
        expectOk(await h.center.recordLoad({ txId: tx(40), channel: 'A' }));
        expectOk(
          await h.pos.recordPayment({
            txId: tx(41),
            terminalId: `${IDS.pos}-t1`,
            cardId: CARD,
            issuerId: IDS.issuer,
            amount: 700,
          }),
        );
        const cards = [{ cardId: CARD, issuer: IDS.issuer, balance: 1300 }];
        const before = await h.audit(cards);
        expect(before.ok).toBe(true);
        expect(before.inFlight.map((i) => [i.holder, i.topic, i.txId, i.floatAmount])).toEqual(
          expect.arrayContaining([[IDS.pos, 'brand.recordPayment', tx(41), -700]]),
        );
        expect(expectOk(await h.brand.payments({}))).toEqual([]);
        await h.advanceBy(7 * DAY);
        expect(expectOk(await h.brand.payments({}))).toMatchObject([
          { txId: tx(41), merchantId: 'shop4', amount: 700 },
        ]);
        const after = await h.audit(cards);
        expect(after.ok).toBe(true);
        expect(after.inFlight).toEqual([]);
      } finally {
        await h.close();
      }
    });
  });
}

export function cybershopContract(name: string, make: () => Promise<BrandHarness>): void {
  describe(`CybershopBackend contract (${name})`, () => {
    it('approves a sale only for the order, card, amount and stock it knows; completes it once', async () => {
      const h = await make();
      try {
        await setUp(h);
        expectOk(await h.shop.addStock({ sku: 'book-1', name: 'A book', price: 1500, stock: 2 }));
        const o = expectOk(
          await h.shop.placeOrder({ orderId: 'o1', cardId: CARD, items: [{ sku: 'book-1', qty: 2 }] }),
        );
        expect(o).toMatchObject({ amount: 3000, status: 'placed' });
        const sale = { cybershopId: IDS.shop, orderId: 'o1', cardId: CARD, amount: 3000 };
        expect(await h.shop.approveSale({ ...sale, amount: 2999 })).toMatchObject({
          ok: false,
          code: 'E_SALES_NOT_APPROVED',
        });
        expect(await h.shop.approveSale({ ...sale, cardId: CARD2 })).toMatchObject({
          ok: false,
          code: 'E_SALES_NOT_APPROVED',
        });
        expect(await h.shop.approveSale({ ...sale, orderId: 'o9' })).toMatchObject({
          ok: false,
          code: 'E_SALES_NOT_APPROVED',
        });
        expect(await h.shop.completeSale({ orderId: 'o1', txId: tx(50) })).toMatchObject({
          ok: false,
          code: 'E_BAD_STATE',
        });
        expect(expectOk(await h.shop.approveSale(sale)).status).toBe('approved');
        const paid = expectOk(await h.shop.completeSale({ orderId: 'o1', txId: tx(50) }));
        expect(paid).toMatchObject({ status: 'paid', txId: tx(50) });
        expect(await h.shop.completeSale({ orderId: 'o1', txId: tx(50) })).toEqual({
          ok: true,
          result: paid,
        });
        expect(expectOk(await h.shop.inventory({}))).toEqual([
          { sku: 'book-1', name: 'A book', price: 1500, stock: 0 },
        ]);
        expectOk(
          await h.shop.placeOrder({ orderId: 'o2', cardId: CARD, items: [{ sku: 'book-1', qty: 1 }] }),
        );
        expect(await h.shop.approveSale({ ...sale, orderId: 'o2', amount: 1500 })).toMatchObject({
          ok: false,
          code: 'E_SALES_NOT_APPROVED',
        });
      } finally {
        await h.close();
      }
    });
  });
}
