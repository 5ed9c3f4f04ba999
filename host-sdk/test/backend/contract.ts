// The contract suites of the back-end interfaces (flows.md 1.2): written once as functions of a
// harness, run unchanged in-process and against a served back-end (./contract.test.ts).
import { describe, expect, it } from 'vitest';
import { jstInstant, type VirtualClock } from '@mica/host-sdk/platform/clock';
import type { AuditReport, CardPurse } from '@mica/host-sdk/backend/audit';
import type { BankBackend } from '@mica/host-sdk/backend/kinds/bank';
import type { CreditBackend } from '@mica/host-sdk/backend/kinds/credit';
import type { EMoneyBackend } from '@mica/host-sdk/backend/kinds/emoney';
import { expectOk } from '@mica/host-sdk/backend/outcome';

export interface Harness {
  readonly bank: BankBackend;
  readonly credit: CreditBackend;
  readonly emoney: EMoneyBackend;
  /** Advances the shared virtual clock (directly or through /v1/_clock/advance). */
  advanceBy(ms: number): Promise<void>;
  audit(cards?: readonly CardPurse[]): Promise<AuditReport>;
  close(): Promise<void>;
}

/** The clock of every harness starts at the seed 001 example's instant (flows.md 3.3). */
export const START = jstInstant(2004, 6, 7, 10, 0);

export function startClock(clock: VirtualClock): VirtualClock {
  return clock;
}

const tx = (n: number): string => n.toString(16).padStart(32, '0');
const DAY = 86_400_000;

async function seedWorld(h: Harness): Promise<void> {
  expectOk(await h.bank.openAccount({ accountNo: 'yamada-1', userId: 'u1', name: 'YAMADA TARO' }));
  expectOk(await h.bank.depositCash({ txId: tx(1), accountNo: 'yamada-1', amount: 10_000 }));
  expectOk(
    await h.credit.openCardAccount({
      cardNo: '987654321',
      userId: 'u1',
      name: 'YAMADA TARO',
      billingBankId: 'bank1',
      billingAccountNo: 'yamada-1',
      cardExpiry: 20_000,
      limit: 100_000,
      pin: '9999',
    }),
  );
  expectOk(
    await h.emoney.registerUser({
      emoneyNo: '12345678',
      name: 'YAMADA TARO',
      password: 'abcdefg',
      refundBankId: 'bank1',
      refundAccountNo: 'yamada-1',
      creditCardNo: '987654321',
    }),
  );
  expectOk(await h.emoney.openingBalance({ txId: tx(2), emoneyNo: '12345678', amount: 1000 }));
}

const card = (balance: number | null): CardPurse[] => [{ cardId: '12345678', issuer: 'emoney1', balance }];

export function bankContract(name: string, make: () => Promise<Harness>): void {
  describe(`BankBackend contract (${name})`, () => {
    it('accounts, cash in and out, balances derived from the ledger; refusals change nothing', async () => {
      const h = await make();
      try {
        await seedWorld(h);
        expect(expectOk(await h.bank.account({ accountNo: 'yamada-1' })).balance).toBe(10_000);
        expect(
          await h.bank.withdrawCash({ txId: tx(3), accountNo: 'yamada-1', amount: 10_001 }),
        ).toMatchObject({
          ok: false,
          code: 'E_INSUFFICIENT_FUNDS',
        });
        expect(
          expectOk(await h.bank.withdrawCash({ txId: tx(4), accountNo: 'yamada-1', amount: 4000 })).balance,
        ).toBe(6000);
        expect(await h.bank.account({ accountNo: 'nobody' })).toMatchObject({
          ok: false,
          code: 'E_NOT_FOUND',
        });
        expect(await h.bank.openAccount({ accountNo: 'yamada-1', userId: 'u', name: 'x' })).toMatchObject({
          ok: false,
          code: 'E_DUPLICATE',
        });
        expect((await h.audit(card(1000))).ok).toBe(true);
      } finally {
        await h.close();
      }
    });

    it('a retried request moves money once; the same txId with another request is E_TXID_CONFLICT', async () => {
      const h = await make();
      try {
        await seedWorld(h);
        const first = await h.bank.depositCash({ txId: tx(5), accountNo: 'yamada-1', amount: 500 });
        const again = await h.bank.depositCash({ txId: tx(5), accountNo: 'yamada-1', amount: 500 });
        expect(again).toEqual(first);
        expect(expectOk(await h.bank.account({ accountNo: 'yamada-1' })).balance).toBe(10_500);
        expect(await h.bank.depositCash({ txId: tx(5), accountNo: 'yamada-1', amount: 501 })).toMatchObject({
          ok: false,
          code: 'E_TXID_CONFLICT',
        });
        expect(expectOk(await h.bank.account({ accountNo: 'yamada-1' })).balance).toBe(10_500);
      } finally {
        await h.close();
      }
    });
  });
}

export function creditContract(name: string, make: () => Promise<Harness>): void {
  describe(`CreditBackend contract (${name})`, () => {
    it('a VALUE purchase bills once, prepares the charge at the e-money server, and conserves money', async () => {
      const h = await make();
      try {
        await seedWorld(h);
        const ask = {
          txId: tx(10),
          terminalId: 'T-001',
          creditCardNo: '987654321',
          emoneyNo: '12345678',
          amount: 2000,
          emoneyId: 'emoney1',
          auth: { result: 'verified' as const },
        };
        const row = expectOk(await h.credit.purchaseValue(ask));
        expect(row).toMatchObject({
          cardNo: '987654321',
          amount: 2000,
          terminalId: 'T-001',
          reversedBy: null,
        });
        expect(await h.credit.purchaseValue(ask)).toEqual({ ok: true, result: row });
        expect(expectOk(await h.credit.billing({ cardNo: '987654321' }))).toHaveLength(1);
        expect(expectOk(await h.credit.account({ cardNo: '987654321' })).available).toBe(98_000);
        const charges = expectOk(await h.emoney.charges({ emoneyNo: '12345678' }));
        expect(charges).toMatchObject([
          { chargeId: tx(10), amount: 2000, status: 'pending', expiresAt: START + 30 * DAY },
        ]);
        expect(await h.credit.purchaseValue({ ...ask, amount: 2001 })).toMatchObject({
          ok: false,
          code: 'E_TXID_CONFLICT',
        });
        const report = await h.audit(card(1000));
        expect(report.checks.map((c) => c.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
      } finally {
        await h.close();
      }
    });

    it('P8 refusals in order, and an unknown e-money number is reversed to net 0', async () => {
      const h = await make();
      try {
        await seedWorld(h);
        const base = {
          terminalId: 'T-001',
          creditCardNo: '987654321',
          emoneyNo: '12345678',
          emoneyId: 'emoney1',
          auth: { result: 'verified' as const },
        };
        expect(await h.credit.purchaseValue({ ...base, txId: tx(20), amount: 100_001 })).toMatchObject({
          ok: false,
          code: 'E_OVER_QUOTA',
          step: '25',
        });
        expect(
          await h.credit.purchaseValue({ ...base, txId: tx(21), amount: 1, creditCardNo: '111' }),
        ).toMatchObject({ ok: false, code: 'E_UNKNOWN_CARD' });
        const unknown = await h.credit.purchaseValue({ ...base, txId: tx(22), amount: 700, emoneyNo: '999' });
        expect(unknown).toMatchObject({ ok: false, code: 'E_EMONEY_UNKNOWN', step: '35' });
        expect(expectOk(await h.credit.account({ cardNo: '987654321' })).available).toBe(100_000);
        expect(expectOk(await h.credit.billing({ cardNo: '987654321' }))).toMatchObject([
          { txId: tx(22), reversedBy: `reversal:${tx(22)}` },
        ]);
        expectOk(await h.credit.setLost({ cardNo: '987654321', lost: true }));
        expect(await h.credit.purchaseValue({ ...base, txId: tx(23), amount: 1 })).toMatchObject({
          ok: false,
          code: 'E_CARD_INVALID',
        });
        expect((await h.audit(card(1000))).ok).toBe(true);
      } finally {
        await h.close();
      }
    });

    it('the cutoff on the 25th debits the billing account through clearing', async () => {
      const h = await make();
      try {
        await seedWorld(h);
        const ask = {
          txId: tx(30),
          terminalId: 'T-001',
          creditCardNo: '987654321',
          emoneyNo: '12345678',
          amount: 2000,
          emoneyId: 'emoney1',
          auth: { result: 'verified' as const },
        };
        expectOk(await h.credit.purchaseValue(ask));
        await h.advanceBy(jstInstant(2004, 6, 25) - START);
        expect(expectOk(await h.bank.account({ accountNo: 'yamada-1' })).balance).toBe(8000);
        expect(expectOk(await h.credit.account({ cardNo: '987654321' })).liabilityUnbilled).toBe(0);
        expect((await h.audit(card(1000))).ok).toBe(true);
      } finally {
        await h.close();
      }
    });
  });
}

export function emoneyContract(name: string, make: () => Promise<Harness>): void {
  describe(`EMoneyBackend contract (${name})`, () => {
    it('inquire, confirm and complete a delivery of two charges as one; passwords checked', async () => {
      const h = await make();
      try {
        await seedWorld(h);
        for (const [i, amount] of [2000, 500].entries())
          expectOk(
            await h.emoney.prepareCharge({
              txId: tx(40 + i),
              emoneyNo: '12345678',
              amount,
              source: 'points',
            }),
          );
        expect(
          await h.emoney.inquire({ emoneyNo: '12345678', password: 'wrong', terminalId: 'T' }),
        ).toMatchObject({ ok: false, code: 'E_BAD_PASSWORD', step: '60' });
        expect(await h.emoney.inquire({ emoneyNo: '5', password: 'x', terminalId: 'T' })).toMatchObject({
          ok: false,
          code: 'E_EMONEY_UNKNOWN',
        });
        const quote = expectOk(
          await h.emoney.inquire({ emoneyNo: '12345678', password: 'abcdefg', terminalId: 'T' }),
        );
        expect(quote).toMatchObject({ available: 2500, chargeIds: [tx(40), tx(41)] });
        const d = expectOk(
          await h.emoney.confirm({ quoteId: quote.quoteId, txId: tx(50), terminalId: 'T', mode: 'add' }),
        );
        expect(d).toMatchObject({ total: 2500, chargeId: tx(50).slice(0, 16), status: 'delivering' });
        // The card now holds 3500 but nothing is booked as float yet: C3 fails until completion.
        expect((await h.audit(card(3500))).checks[2]!.status).toBe('fail');
        const receipt = expectOk(await h.emoney.completeDelivery({ deliveryId: tx(50), balanceAfter: 3500 }));
        expect(receipt).toMatchObject({
          amount: 2500,
          emoneyNo: '12345678',
          balanceAfter: 3500,
          maskedCreditNo: '*****4321',
        });
        expect(await h.emoney.completeDelivery({ deliveryId: tx(50), balanceAfter: 3500 })).toEqual({
          ok: true,
          result: receipt,
        });
        expect(expectOk(await h.emoney.charges({ emoneyNo: '12345678' })).map((c) => c.status)).toEqual([
          'completed',
          'completed',
        ]);
        expect((await h.audit(card(3500))).ok).toBe(true);
        expect((await h.audit(card(null))).checks[2]!.status).toBe('unverifiable');
        expect(
          await h.emoney.inquire({ emoneyNo: '12345678', password: 'abcdefg', terminalId: 'T' }),
        ).toMatchObject({ ok: false, code: 'E_NOTHING_PENDING' });
      } finally {
        await h.close();
      }
    });

    it('a failed delivery returns the charges to pending; expiry refunds them to the bank', async () => {
      const h = await make();
      try {
        await seedWorld(h);
        expectOk(
          await h.emoney.prepareCharge({
            txId: tx(60),
            creditCardNo: '987654321',
            amount: 2000,
            source: 'points',
          }),
        );
        const q = expectOk(
          await h.emoney.inquire({ emoneyNo: '12345678', password: 'abcdefg', terminalId: 'T' }),
        );
        expectOk(await h.emoney.confirm({ quoteId: q.quoteId, txId: tx(61), terminalId: 'T', mode: 'add' }));
        expect(expectOk(await h.emoney.failDelivery({ deliveryId: tx(61), status: 'OVER_MAX' })).status).toBe(
          'failed',
        );
        expect(expectOk(await h.emoney.charges({ emoneyNo: '12345678' }))[0]!.status).toBe('pending');
        await h.advanceBy(30 * DAY);
        const [c] = expectOk(await h.emoney.charges({ emoneyNo: '12345678' }));
        expect(c).toMatchObject({ status: 'refunded' });
        expect(expectOk(await h.bank.account({ accountNo: 'yamada-1' })).balance).toBe(12_000);
        const report = await h.audit(card(1000));
        expect(report.ok).toBe(true);
        expect(report.inFlight).toEqual([]);
      } finally {
        await h.close();
      }
    });
  });
}
