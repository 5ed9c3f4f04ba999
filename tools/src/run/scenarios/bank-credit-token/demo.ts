// The seed 000 part of `mica demo`: Fig. 5 of flows.md 2.6 on the card of
// tools/profiles/bank-credit-token.json (bank and credit applets, the bank token store shared with the
// credit applet), key mode `ca`, with the bureau, bank and credit back-ends persisted in the demo's
// data directory: a 100,000 cycle closed, 20,000 refused at 1010, a 30,000 cash token, the same
// purchase approved at 1008, the deduction (30,000 pool + 70,000 personal) and 1103 (available 80,000).
import type { Scenario } from '../../scenario';
import { fig5 } from '../bank-credit-token';
import { Seed000World } from './world';

export const seed000Demo: Scenario = {
  name: 'bank-credit-token-demo',
  title: 'seed 000 in mica demo',
  variants: {},
  checks: [
    {
      id: 'D1',
      text: 'Fig. 5: 20,000 refused at 1010, approved at 1008 after a 30,000 cash token; deduction 30,000 pool + 70,000 personal; available 80,000',
    },
  ],
  async run(ctx) {
    const w = await Seed000World.create(ctx, 'main', { placement: 'share', keyMode: 'ca' });
    await ctx.check('D1', (c) => fig5(c, w));
  },
};
