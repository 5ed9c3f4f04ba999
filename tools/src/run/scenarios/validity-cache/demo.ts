// The seed 004 part of `mica demo`: the validity cache of flows.md 6 with its back-ends persisted in
// the demo's data directory. In the `both` mode (the main fixture): a load of ¥3,000 and an unload of
// ¥500 on card A, then card B, reported stolen, refused from the cache with 0 DB accesses and nothing
// written; then one load in each other mode for the per-mode table of time-to-ACK, time-to-start and
// DB accesses (flows.md 6.3 defaults); the audit after every step.
import { CACHE_MODES, type CacheMode } from '@mica/host-sdk/backend/kinds/emoney-center';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import type { Scenario } from '../../scenario';
import { CARD_A, CARD_B, IDS, ValidityWorld } from './world';

export const seed004Demo: Scenario = {
  name: 'validity-cache-demo',
  title: 'seed 004 in mica demo',
  variants: {},
  checks: [
    {
      id: 'D1',
      text: 'both mode: load ¥3,000 and unload ¥500 on card A; the card and the float hold ¥2,500',
    },
    { id: 'D2', text: 'both mode: the stolen card B gets NAK MEDIUM_STOLEN from the cache, 0 DB accesses' },
    { id: 'D3', text: 'one load per cache mode: the metrics of flows.md 6.3' },
  ],
  async run(ctx) {
    const main = await ValidityWorld.create(ctx, 'main', { cacheMode: 'both' });
    const timings = new Map<
      CacheMode,
      { timeToAck: number | null; timeToStart: number | null; dbAccesses: number }
    >();
    await ctx.check('D1', async (c) => {
      const load = await main.present(CARD_A, { kind: 'load', amount: 3000 });
      c.equal(load.outcome, 'done', 'load');
      const conn = await main.connection(load.connectionId);
      timings.set('both', {
        timeToAck: load.timeToAck,
        timeToStart: conn.timeToStart,
        dbAccesses: conn.dbAccesses,
      });
      const unload = await main.present(CARD_A, { kind: 'unload', amount: 500 });
      c.equal(unload.outcome, 'done', 'unload');
      c.equal((await main.cardView(CARD_A)).balance, 2500, 'card A');
      c.equal((await main.ledger(IDS.center))[`liab:float:${IDS.center}`], -2500, 'float');
    });
    await ctx.check('D2', async (c) => {
      expectOk(await main.db.reportStolen({ mediumId: CARD_B.mediumId }));
      const r = await main.present(CARD_B, { kind: 'load', amount: 1000 });
      c.equal([r.outcome, r.nak?.reason], ['nak', 'MEDIUM_STOLEN'], 'verdict');
      c.equal((await main.connection(r.connectionId)).dbAccesses, 0, 'DB accesses');
      c.equal((await main.cardView(CARD_B)).balance, 0, 'card B');
    });
    await ctx.check('D3', async (c) => {
      for (const mode of CACHE_MODES) {
        if (timings.has(mode)) continue;
        const w = await ValidityWorld.create(ctx, `mode-${mode}`, { cacheMode: mode });
        const r = await w.present(CARD_A, { kind: 'load', amount: 3000 });
        c.equal(r.outcome, 'done', `${mode}: load`);
        const conn = await w.connection(r.connectionId);
        timings.set(mode, {
          timeToAck: r.timeToAck,
          timeToStart: conn.timeToStart,
          dbAccesses: conn.dbAccesses,
        });
      }
      const rows = CACHE_MODES.map((mode) => ({ mode, ...timings.get(mode)! }));
      ctx.report(
        'metrics',
        [
          `${'mode'.padEnd(9)}${'timeToAck'.padStart(10)}${'timeToStart'.padStart(12)}${'dbAccesses'.padStart(11)}`,
          ...rows.map(
            (r) =>
              `${r.mode.padEnd(9)}${String(r.timeToAck).padStart(10)}${String(r.timeToStart).padStart(12)}${String(r.dbAccesses).padStart(11)}`,
          ),
        ],
        rows,
      );
    });
  },
};
