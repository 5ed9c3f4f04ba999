// `mica run credit-charge-emoney` (flows.md 3, seed 001): VALUE purchase, charge-up, payment, expiry
// refund and cutoff, with every acceptance check of flows.md 3.4. The example runs in the fixture
// "main"; each other check runs in a fresh fixture of its own (same example data), so a blocked PIN
// or a refund does not bleed into the next check. Expected figures come from flows.md 3.3 (1,000 +
// 2,000 = 3,000; 2004/7/7) or are worked out here by hand.
import { FELICA_SECURE_COMMANDS } from '@mica/apdu-specs/felica-secure';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { jstInstant } from '@mica/host-sdk/platform/clock';
import { newTxId } from '@mica/host-sdk/platform/tx-id';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import type { Transport } from '@mica/host-sdk/transport/transport';
import { NetworkMonitor } from '../fixture';
import type { CheckRun, Scenario, ScenarioContext } from '../scenario';
import { EXAMPLE, IDS, Seed001World, type Seed001Options } from './credit-charge-emoney/world';

const T0 = jstInstant(2004, 6, 7, 10);
const EXPIRY = jstInstant(2004, 7, 7, 10);

const CHECKS = [
  {
    id: 'A1',
    text: 'the example runs end to end: billing row, preparation row COMPLETED, balance 3,000 with the deliveryId in the card log; the audit passes',
  },
  { id: 'A2', text: 'a wrong PIN gives 63C2, then E_PIN_NOT_VERIFIED, and no billing row' },
  {
    id: 'A3',
    text: 'three wrong PINs give 6983; the correct PIN is then refused too, also after a power cycle',
  },
  { id: 'A4', text: 'the PIN never appears on a network channel (transport hook)' },
  {
    id: 'A5-F',
    text: 'attack: a rogue terminal forges "verified" for a stolen card number; faithful: it is billed',
  },
  {
    id: 'A5-H',
    text: 'attack: a rogue terminal forges the PIN proof for a stolen card number; hardened: E_PIN_NOT_VERIFIED, no billing row',
  },
  { id: 'A6', text: 'over quota gives E_OVER_QUOTA' },
  { id: 'A7', text: 'an unknown e-money number gives E_EMONEY_UNKNOWN, and the reversal nets to 0' },
  { id: 'A8', text: 'a retried purchaseValue (same txId) bills once' },
  { id: 'A9', text: 'a wrong password gives E_BAD_PASSWORD, with no card write' },
  {
    id: 'A10',
    text: 'NO at confirmation keeps the charge pending; a later charge-up under a home-PC terminal ID succeeds',
  },
  {
    id: 'A11',
    text: 'purchases of 2,000 and 500 are delivered as one write of 2,500, and both become completed',
  },
  {
    id: 'A12',
    text: 'after expiry the charge is refunded to the registered account and is no longer offered',
  },
  {
    id: 'A13',
    text: 'with a lost completion, the retry is refused as DUPLICATE_CHARGE_ID, the log read completes the charge, and the value is credited once',
  },
  {
    id: 'A14',
    text: 'a write over maxBalance is refused by the card; the charge stays pending and nothing is booked',
  },
  {
    id: 'A15',
    text: 'overwrite mode reaches the same final state; a balance changed in between gives STALE_BALANCE and nothing changes',
  },
  {
    id: 'A16',
    text: 'payment at [80] subtracts value; an insufficient balance gives SF2 01 and nothing changes',
  },
  { id: 'A17', text: 'the balance is readable without a key' },
  { id: 'A18', text: 'the cutoff on the 25th debits the cycle total' },
] as const;

/** The answers of one terminal step kind within the events since `from`. */
function statuses(w: Seed001World, from: number, command: string): string[] {
  return w.events.slice(from).flatMap((e) => (e.card?.command === command ? [e.card.status] : []));
}

async function billingRows(
  w: Seed001World,
): Promise<
  readonly { amount: number; terminalId: string; at: number; reversedBy: string | null; cardNo: string }[]
> {
  return expectOk(await w.credit.billing({ cardNo: EXAMPLE.creditNo }));
}

async function charges(w: Seed001World) {
  return expectOk(await w.emoney.charges({ emoneyNo: EXAMPLE.emoneyNo }));
}

/** The e-money float (what the cards of emoney1 hold as the ledger sees it). */
async function float(w: Seed001World): Promise<number> {
  return -((await w.ledger(IDS.emoney))[`liab:float:${IDS.emoney}`] ?? 0);
}

/** Drops the answer to the next secure Write after the card has executed it (a lost completion). */
function loseNextWriteAnswer(): { wrap: (t: Transport) => Transport; armed: { on: boolean } } {
  const armed = { on: true };
  return {
    armed,
    wrap: (t) => ({
      description: `${t.description} (answers can be lost)`,
      async felica(frame) {
        const answer = await t.felica(frame);
        if (armed.on && frame[1] === FELICA_SECURE_COMMANDS.write.code) {
          armed.on = false;
          return null;
        }
        return answer;
      },
      apdu: (c) => t.apdu(c),
      close: () => t.close(),
    }),
  };
}

async function world(ctx: ScenarioContext, label: string, o: Seed001Options = {}): Promise<Seed001World> {
  const variants = ctx.options.variants;
  return Seed001World.create(ctx, label, {
    amountChange: (variants['amount-change'] as 'add' | 'overwrite' | undefined) ?? 'add',
    identification: (variants['identification'] as Seed001Options['identification']) ?? 'emoney-no',
    ...o,
  });
}

async function purchaseOk(c: CheckRun, w: Seed001World, amount: number): Promise<void> {
  const r = await w.purchase(amount);
  c.expect(r.ok, `purchase of ¥${amount}: ${r.ok ? '' : `${r.code} ${r.message}`}`);
}

export const creditChargeEmoney: Scenario = {
  name: 'credit-charge-emoney',
  title: 'seed 001: VALUE purchase with a credit card, charge-up, payment, expiry refund, cutoff',
  variants: {
    'amount-change': ['add', 'overwrite'],
    identification: ['emoney-no', 'credit-no@emoney', 'credit-no@credit'],
  },
  checks: CHECKS,
  async run(ctx) {
    const worlds: Seed001World[] = [];
    const make = async (label: string, o: Seed001Options = {}): Promise<Seed001World> => {
      const w = await world(ctx, label, o);
      worlds.push(w);
      return w;
    };
    const main = await make('main');

    await ctx.check('A17', async (c) => {
      const v = await main.cardView();
      c.equal(v.balance, EXAMPLE.opening, 'balance read through the read-only overlap without a key');
      await main.f.step({
        step: 'R1',
        from: IDS.terminal,
        to: 'card',
        summary: `balance ¥${v.balance} read without a key`,
        card: { command: 'Read Without Encryption', status: 'SF 00 00' },
      });
    });

    await ctx.check('A1', async (c) => {
      const p = await main.purchase(EXAMPLE.purchase);
      c.expect(p.ok, `purchase: ${p.ok ? '' : p.code}`);
      const u = await main.chargeUp();
      c.equal(u.outcome, 'completed', 'charge-up outcome');
      const rows = await billingRows(main);
      c.equal(
        rows.map((r) => ({ cardNo: r.cardNo, amount: r.amount, terminalId: r.terminalId, at: r.at })),
        [{ cardNo: EXAMPLE.creditNo, amount: 2000, terminalId: IDS.terminal, at: T0 }],
        'billing row (Fig. 4B)',
      );
      const ch = await charges(main);
      c.equal(
        ch.map((x) => ({ emoneyNo: x.emoneyNo, amount: x.amount, expiresAt: x.expiresAt, status: x.status })),
        [{ emoneyNo: EXAMPLE.emoneyNo, amount: 2000, expiresAt: EXPIRY, status: 'completed' }],
        'preparation row (Fig. 6B)',
      );
      const v = await main.cardView();
      c.equal(v.balance, 3000, 'card balance');
      const deliveryId = ch[0]?.deliveryId ?? '';
      c.equal(
        v.log
          .filter((e) => e.chargeId === deliveryId.slice(0, 16))
          .map((e) => ({ amount: e.amount, kind: e.kind })),
        [{ amount: 2000, kind: main.amountChange }],
        'log record with the deliveryId',
      );
      c.equal(await float(main), 3000, 'float of emoney1');
      if (u.outcome === 'completed')
        c.equal(
          u.receipts.map((r) => [r.maskedCreditNo, r.amount, r.balanceAfter]),
          [['*****4321', 2000, 3000]],
          'receipt (claim 9)',
        );
      c.expect((await main.f.audit()).ok, 'the audit passes');
    });

    await ctx.check('A2', async (c) => {
      const w = await make('wrong-pin');
      const from = w.events.length;
      const r = await w.purchase(2000, { pin: '1234' });
      c.equal(statuses(w, from, 'VERIFY'), ['63C2'], 'VERIFY answers');
      c.equal(r.ok ? 'billed' : r.code, 'E_PIN_NOT_VERIFIED', 'purchaseValue');
      c.equal((await billingRows(w)).length, 0, 'billing rows');
    });

    await ctx.check('A3', async (c) => {
      const w = await make('pin-blocked');
      const from = w.events.length;
      for (let i = 0; i < 3; i++) await w.purchase(2000, { pin: '0000' });
      const ok = await w.purchase(2000);
      c.equal(ok.ok ? 'billed' : ok.code, 'E_PIN_NOT_VERIFIED', 'the correct PIN after three wrong ones');
      await w.card.powerCycle();
      await w.f.step({
        step: 'P3',
        from: 'user',
        to: 'card',
        summary: 'card removed and presented again (power cycle)',
      });
      const again = await w.purchase(2000);
      c.equal(
        statuses(w, from, 'VERIFY'),
        ['63C2', '63C1', '63C0', '6983', '6983'],
        'VERIFY answers (the last after the power cycle)',
      );
      c.equal(again.ok ? 'billed' : again.code, 'E_PIN_NOT_VERIFIED', 'after the power cycle');
      c.equal((await billingRows(w)).length, 0, 'billing rows');
    });

    // Both modes always (flows.md 1.6): a stolen card number and a forged PIN result.
    for (const mode of ['faithful', 'hardened'] as const) {
      await ctx.check(mode === 'faithful' ? 'A5-F' : 'A5-H', async (c) => {
        const w = await make(`attack-${mode}`, { mode });
        const rogue = w.terminal('rogue-66', 66);
        let auth: { result?: 'verified'; nonce?: string; mac?: string } = { result: 'verified' };
        if (mode === 'hardened') {
          const n = expectOk(await w.f.backend('credit', IDS.credit).beginPurchase({ terminalId: rogue.id }));
          await w.f.step({
            step: 'P1',
            from: rogue.id,
            to: IDS.credit,
            summary: `beginPurchase → nonce ${n.nonce}`,
          });
          auth = { nonce: n.nonce, mac: bytesToHex(w.f.random('forgery').bytes(8)) };
        }
        const r = await rogue.submitPurchase({
          txId: newTxId(w.f.random('rogue')),
          creditCardNo: EXAMPLE.creditNo,
          emoneyNo: EXAMPLE.emoneyNo,
          amount: 2000,
          auth,
        });
        const rows = await billingRows(w);
        if (mode === 'faithful') {
          c.expect(r.ok, `the forged "verified" is trusted (${r.ok ? 'billed' : r.code})`);
          c.equal(
            rows.map((x) => [x.amount, x.terminalId]),
            [[2000, 'rogue-66']],
            'billing rows',
          );
        } else {
          c.equal(r.ok ? 'billed' : r.code, 'E_PIN_NOT_VERIFIED', 'purchaseValue with a forged proof');
          c.equal(rows.length, 0, 'billing rows');
        }
      });
    }

    await ctx.check('A6', async (c) => {
      const w = await make('over-quota');
      const r = await w.purchase(EXAMPLE.limit + 10_000);
      c.equal(
        r.ok ? 'billed' : r.code,
        'E_OVER_QUOTA',
        `purchaseValue of ¥${EXAMPLE.limit + 10_000} against a limit of ¥${EXAMPLE.limit}`,
      );
      c.equal((await billingRows(w)).length, 0, 'billing rows');
    });

    await ctx.check('A7', async (c) => {
      const w = await make('unknown-emoney');
      const r = await w.purchase(2000, { emoneyNo: '87654321' });
      c.equal(r.ok ? 'billed' : r.code, 'E_EMONEY_UNKNOWN', 'purchaseValue for e-money 87654321');
      const rows = await billingRows(w);
      c.equal(
        rows.map((x) => [x.amount, x.reversedBy !== null]),
        [[2000, true]],
        'billing row, reversed',
      );
      const credit = await w.ledger(IDS.credit);
      c.equal(credit, {}, 'credit ledger balances after the reversal (every account nets to 0)');
      c.equal(
        expectOk(await w.credit.account({ cardNo: EXAMPLE.creditNo })).available,
        EXAMPLE.limit,
        'available credit',
      );
      c.equal(await charges(w), [], 'charges at emoney1');
    });

    await ctx.check('A8', async (c) => {
      const w = await make('retry');
      const first = await w.purchase(2000);
      c.expect(first.ok && first.request !== undefined, 'first purchase');
      if (first.request) {
        const again = await w.terminal().submitPurchase(first.request);
        c.equal(again.ok && again.billing.txId, first.request.txId, 'the retry answers the same billing row');
      }
      c.equal((await billingRows(w)).length, 1, 'billing rows');
      c.equal((await w.ledger(IDS.credit))[`asset:receivable:${EXAMPLE.creditNo}`], 2000, 'receivable');
      c.equal(
        (await charges(w)).map((x) => x.amount),
        [2000],
        'charges at emoney1',
      );
      c.equal((await w.ledger(IDS.emoney))[`liab:pending:${EXAMPLE.emoneyNo}`], -2000, 'pending at emoney1');
    });

    await ctx.check('A9', async (c) => {
      const w = await make('bad-password');
      await purchaseOk(c, w, 2000);
      const before = await w.cardView();
      const from = w.events.length;
      const r = await w.chargeUp({ password: 'wrong' });
      c.equal(r.outcome === 'refused' ? r.refusal.code : r.outcome, 'E_BAD_PASSWORD', 'charge-up');
      c.equal(statuses(w, from, 'Write (secure)'), [], 'card writes');
      c.equal(await w.cardView(), before, 'card purse and log');
      c.equal(
        (await charges(w)).map((x) => x.status),
        ['pending'],
        'charge status',
      );
    });

    await ctx.check('A10', async (c) => {
      const w = await make('no-then-home-pc');
      await purchaseOk(c, w, 2000);
      const no = await w.chargeUp({ yes: false });
      c.equal(no.outcome, 'declined', 'NO [84]');
      c.equal(
        (await charges(w)).map((x) => x.status),
        ['pending'],
        'after NO',
      );
      await w.f.advanceBy(3 * 3_600_000);
      const pc = await w.chargeUp({ terminal: w.terminal(IDS.homePc, 10) });
      c.equal(
        pc.outcome === 'completed'
          ? pc.receipts.map((r) => [r.terminalId, r.amount, r.balanceAfter])
          : pc.outcome,
        [[IDS.homePc, 2000, 3000]],
        'charge-up at the home PC',
      );
      c.equal(
        (await charges(w)).map((x) => x.status),
        ['completed'],
        'after the home PC',
      );
    });

    await ctx.check('A11', async (c) => {
      const w = await make('two-purchases');
      await purchaseOk(c, w, 2000);
      await purchaseOk(c, w, 500);
      const from = w.events.length;
      const r = await w.chargeUp();
      c.equal(r.outcome, 'completed', 'charge-up');
      c.equal(
        w.events
          .slice(from)
          .filter((e) => e.card?.command === 'Write (secure)')
          .map((e) => e.summary.match(/¥(\d+)/)?.[1]),
        ['2500'],
        'one write',
      );
      c.equal(
        (await charges(w)).map((x) => [x.amount, x.status]),
        [
          [2000, 'completed'],
          [500, 'completed'],
        ],
        'both charges',
      );
      c.equal((await w.cardView()).balance, 3500, 'card balance');
    });

    await ctx.check('A12', async (c) => {
      const w = await make('expiry');
      await purchaseOk(c, w, 2000);
      await w.f.advanceTo(EXPIRY);
      await w.f.step({
        step: 'R3',
        from: 'clock',
        to: IDS.emoney,
        summary: '2004/7/7: pending charges past expiry are refunded',
      });
      const ch = await charges(w);
      c.equal(
        ch.map((x) => [x.status, x.refundTxId !== null]),
        [['refunded', true]],
        'charge',
      );
      c.equal(
        expectOk(await w.bank.account({ accountNo: IDS.refundAccount })).balance,
        2000,
        'refund account at bank1',
      );
      const r = await w.chargeUp();
      c.equal(
        r.outcome === 'refused' ? r.refusal.code : r.outcome,
        'E_NOTHING_PENDING',
        'a charge-up after expiry',
      );
    });

    await ctx.check('A13', async (c) => {
      const lose = loseNextWriteAnswer();
      const w = await make('lost-completion', { wrapCard: lose.wrap });
      await purchaseOk(c, w, 2000);
      // The card applies the write but its answer never arrives: nobody has booked the new value yet,
      // so the audit must catch the difference (C3) until the log read resolves it.
      let unbooked = false;
      w.auditOf = (e) => {
        if (e.card?.status === 'no answer') unbooked = true;
        if (e.card?.command === 'Write (secure)' && e.card.status.endsWith('E1')) unbooked = false;
        return unbooked ? 'fail' : 'pass';
      };
      const first = await w.chargeUp();
      c.equal(first.outcome, 'no-answer', 'first charge-up');
      c.equal(
        (await charges(w)).map((x) => x.status),
        ['delivering'],
        'charges after the lost answer',
      );
      const from = w.events.length;
      const retry = await w.chargeUp({ terminal: w.terminal(IDS.homePc, 10) });
      c.equal(
        statuses(w, from, 'Write (secure)').map((s) => s.slice(-2)),
        ['E1'],
        'the retried write (same charge ID)',
      );
      c.equal(
        retry.outcome === 'completed' ? retry.receipts.map((r) => [r.amount, r.balanceAfter]) : retry.outcome,
        [[2000, 3000]],
        'completed by the log read',
      );
      c.equal(
        (await charges(w)).map((x) => x.status),
        ['completed'],
        'charges',
      );
      c.equal((await w.cardView()).balance, 3000, 'card balance (credited once)');
      c.equal(await float(w), 3000, 'float of emoney1');
    });

    await ctx.check('A14', async (c) => {
      const w = await make('over-max');
      await purchaseOk(c, w, 49_500);
      const before = await w.cardView();
      const r = await w.chargeUp();
      c.equal(
        r.outcome === 'card-refused' ? r.status.slice(-2) : r.outcome,
        '02',
        'the card refuses 1,000 + 49,500 above 50,000',
      );
      c.equal(await w.cardView(), before, 'card purse and log');
      c.equal(
        (await charges(w)).map((x) => x.status),
        ['pending'],
        'charge status',
      );
      c.equal(await float(w), 1000, 'float of emoney1 (nothing booked)');
    });

    await ctx.check('A15', async (c) => {
      const w = await make('overwrite', { amountChange: 'overwrite' });
      await purchaseOk(c, w, 2000);
      const r = await w.chargeUp();
      c.equal(
        r.outcome === 'completed' ? r.receipts.map((x) => x.balanceAfter) : r.outcome,
        [3000],
        'overwrite charge-up',
      );
      const v = await w.cardView();
      c.equal(
        [v.balance, v.log[0]?.kind, v.log[0]?.amount],
        [3000, 'overwrite', 2000],
        'card balance and newest log record',
      );
      c.equal(
        (await charges(w)).map((x) => x.status),
        ['completed'],
        'charge status',
      );
      // A second charge whose basis was read before a payment changed the balance.
      await purchaseOk(c, w, 500);
      const basis = await w.cardView();
      const pay = await w.merchant().pay(300);
      c.expect(pay.ok, 'payment in between');
      const t = w.terminal();
      const q = expectOk(
        await w.f
          .backend('emoney', IDS.emoney)
          .inquire({ emoneyNo: EXAMPLE.emoneyNo, password: EXAMPLE.password, terminalId: t.id }),
      );
      const d = expectOk(
        await w.f.backend('emoney', IDS.emoney).confirm({
          quoteId: q.quoteId,
          txId: newTxId(w.f.random('stale')),
          terminalId: t.id,
          mode: 'overwrite',
        }),
      );
      await w.f.step({
        step: 'Q5',
        from: t.id,
        to: IDS.emoney,
        summary: `confirm → delivery ${d.deliveryId}, overwrite from the balance read before the payment`,
      });
      const before = await w.cardView();
      const stale = await t.deliver(d, w.profile.chip.idm, {
        balance: basis.balance,
        executionId: basis.executionId,
      });
      c.equal(stale.kind === 'card-refused' ? stale.status.slice(-2) : stale.kind, 'E2', 'STALE_BALANCE');
      c.equal(await w.cardView(), before, 'card purse and log');
      c.equal(
        (await charges(w)).map((x) => x.status),
        ['completed', 'pending'],
        'charge statuses',
      );
      c.equal(await float(w), 2700, 'float of emoney1 (3,000 − 300)');
    });

    await ctx.check('A16', async (c) => {
      const w = await make('payment');
      const m = w.merchant();
      const paid = await m.pay(250);
      c.expect(paid.ok, 'payment of ¥250');
      c.equal((await w.cardView()).balance, 750, 'card balance');
      c.equal(
        (await w.ledger(IDS.emoney))[`ext:merchant:${IDS.merchantName}`],
        -250,
        'merchant leg at emoney1',
      );
      const before = await w.cardView();
      const ledger = await w.ledger(IDS.emoney);
      const short = await m.pay(5000);
      c.equal(
        short.ok ? 'paid' : [short.code, short.status.slice(-2)],
        ['E_INSUFFICIENT_VALUE', '01'],
        'payment of ¥5,000',
      );
      c.equal(await w.cardView(), before, 'card purse and log');
      c.equal(await w.ledger(IDS.emoney), ledger, 'emoney1 ledger');
    });

    await ctx.check('A18', async (c) => {
      const w = await make('cutoff');
      await purchaseOk(c, w, 2000);
      await w.f.advanceTo(jstInstant(2004, 6, 25));
      await w.f.step({
        step: 'R4',
        from: 'clock',
        to: IDS.credit,
        summary: '2004/6/25 00:00 JST: cutoff of cycle 2004-06',
      });
      const cut = expectOk(await w.credit.runCutoff({ cycle: '2004-06' }));
      c.equal(
        cut.map((x) => [x.cardNo, x.total, x.result]),
        [[EXAMPLE.creditNo, 2000, 'OK']],
        'cutoff rows',
      );
      c.equal(
        expectOk(await w.bank.account({ accountNo: IDS.billingAccount })).balance,
        EXAMPLE.billingDeposit - 2000,
        'billing account',
      );
      c.equal(
        (await w.ledger(IDS.credit))[`asset:receivable:${EXAMPLE.creditNo}`] ?? 0,
        0,
        'receivable settled',
      );
    });

    // Last: every message of every fixture passed the hook, and the hook does catch a PIN.
    await ctx.check('A4', async (c) => {
      const total = worlds.reduce((n, w) => n + w.f.network.messages, 0);
      c.expect(total > 0, 'no message was inspected');
      for (const w of worlds) c.equal(w.f.network.violations, [], `violations in fixture ${w.f.label}`);
      const probe = new NetworkMonitor(() => {});
      probe.forbid('the PIN', EXAMPLE.pin);
      probe.inspect('probe', { pin: EXAMPLE.pin });
      c.equal(probe.violations.length, 1, 'the hook catches a PIN in a message');
      await Promise.resolve();
    });
  },
};
