// The seed 001 part of `mica demo`: the example of flows.md 3.3 on the combined card of
// tools/profiles/credit-charge-emoney.json, with its back-ends persisted in the demo's data
// directory: a VALUE purchase of ¥2,000 at the card terminal, the charge-up to ¥3,000, and a payment of
// ¥250 at the store terminal [80]; the audit after every step; ledgers and card state for the summary.
import { expectOk } from '@mica/host-sdk/backend/outcome';
import type { Scenario } from '../../scenario';
import { IDS, Seed001World } from './world';

export const seed001Demo: Scenario = {
  name: 'credit-charge-emoney-demo',
  title: 'seed 001 in mica demo',
  variants: {},
  checks: [
    { id: 'D1', text: 'VALUE purchase of ¥2,000 billed to credit card 987654321' },
    { id: 'D2', text: 'charge-up: the card holds ¥3,000 and the charge is completed' },
    { id: 'D3', text: 'payment of ¥250 at the store terminal [80]: the card holds ¥2,750' },
  ],
  async run(ctx) {
    const w = await Seed001World.create(ctx, 'main');
    await ctx.check('D1', async (c) => {
      const p = await w.purchase(2000);
      c.expect(p.ok, `purchase: ${p.ok ? '' : p.code}`);
    });
    await ctx.check('D2', async (c) => {
      const u = await w.chargeUp();
      c.equal(u.outcome, 'completed', 'charge-up');
      c.equal((await w.cardView()).balance, 3000, 'card balance');
      const charges = expectOk(await w.emoney.charges({ emoneyNo: '12345678' }));
      c.equal(
        charges.map((x) => x.status),
        ['completed'],
        'charge status',
      );
    });
    await ctx.check('D3', async (c) => {
      const r = await w.merchant().pay(250);
      c.expect(r.ok, 'payment');
      c.equal((await w.cardView()).balance, 2750, 'card balance');
      c.equal((await w.ledger(IDS.emoney))[`ext:merchant:${IDS.merchantName}`], -250, 'merchant leg');
    });
  },
};
