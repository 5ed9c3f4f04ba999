// The seed 002 part of `mica demo`: the first embodiment of flows.md 4.2 (a bill of ¥1,200 paid from
// a card holding ¥5,000, with SIG1-SIG4, the consent gate and the receipt to the client and the SMD),
// then a top-up of ¥3,000 approved by the credit company; back-ends persisted in the demo's data
// directory, the audit after every step.
import type { Scenario } from '../../scenario';
import { EXAMPLE, IDS, Seed002World, nonceFrom } from './world';

export const seed002Demo: Scenario = {
  name: 'common-key-settlement-demo',
  title: 'seed 002 in mica demo',
  variants: {},
  checks: [
    { id: 'D1', text: 'first embodiment: a bill of ¥1,200 paid, SIG1-SIG4 verified, the card holds ¥3,800' },
    { id: 'D2', text: 'top-up of ¥3,000 approved by credit1: the card holds ¥6,800' },
  ],
  async run(ctx) {
    const w = await Seed002World.create(ctx, 'main');
    await ctx.check('D1', async (c) => {
      const r = await w.client().purchase({
        shop: { id: IDS.store, api: w.shop() },
        items: [EXAMPLE.item],
        embodiment: 'first',
        encoding: 'json',
        route: 'both',
        nonce: nonceFrom(w.f, 'demo'),
      });
      c.expect(r.ok, `purchase: ${r.ok ? '' : `${r.code} ${r.message}`}`);
      c.equal((await w.cardView()).balance, 3800, 'card balance');
    });
    await ctx.check('D2', async (c) => {
      const r = await w.client().topUp({
        topUpId: '746f7075702d64656d6f2d3030303031',
        amount: 3000,
        creditId: IDS.credit,
        creditNo: EXAMPLE.creditNo,
        expiry: EXAMPLE.cardExpiry,
        pin: EXAMPLE.pin,
      });
      c.expect(r.ok, `top-up: ${r.ok ? '' : `${r.code} ${r.message}`}`);
      c.equal((await w.cardView()).balance, 6800, 'card balance');
    });
  },
};
