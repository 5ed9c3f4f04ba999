// The faithful-vs-hardened attack pairs of flows.md as a suite of `mica campaign attacks`: every pair
// the scenarios report, each counted once and passing; a pair whose hardened check fails is reported.
import { describe, expect, it } from 'vitest';
import { attacksCampaign } from '../src/campaign/attacks-campaign';
import { attackPairs, flowAttacks } from '../src/campaign/attacks-flows';
import { runCampaign } from '../src/campaign/runner';
import { scenarioNamed } from '../src/run/registry';
import type { Scenario } from '../src/run/scenario';

describe('flows.md attack pairs', () => {
  it('finds the pairs flows.md lists for each scenario (its §n.4 "Attack pair" lines)', () => {
    const pairs = (name: string): string[] => attackPairs(scenarioNamed(name)!);
    expect(pairs('credit-charge-emoney')).toEqual(['A5']); // forged "verified"
    expect(pairs('common-key-settlement')).toEqual(['K10', 'K11']); // integrity, replay
    expect(pairs('brand-emoney')).toEqual(['TEAR']); // tearing
    expect(pairs('validity-cache')).toEqual(['V11']); // spoofed medium ID
  });

  it('every pair: the attack succeeds in faithful mode and is refused in hardened mode, one attempt each', async () => {
    const suite = flowAttacks(() =>
      ['credit-charge-emoney', 'brand-emoney', 'validity-cache', 'common-key-settlement'].map((n) =>
        scenarioNamed(n)!,
      ),
    );
    const r = await runCampaign(
      attacksCampaign(() => [suite]),
      { budget: 5 },
    );
    expect(r.failures).toEqual([]);
    expect(Object.keys(r.tried).map((k) => k.replace(/ \(.*\)$/, ''))).toEqual([
      'flows.md: credit-charge-emoney A5',
      'flows.md: brand-emoney TEAR',
      'flows.md: validity-cache V11',
      'flows.md: common-key-settlement K10',
      'flows.md: common-key-settlement K11',
    ]);
    expect(Object.values(r.tried)).toEqual([1, 1, 1, 1, 1]);
  }, 60_000);

  it('reports a pair whose hardened mode lets the attack through', async () => {
    const leaky: Scenario = {
      name: 'leaky',
      title: 'a hardened mode that does not close the gap',
      variants: {},
      checks: [
        { id: 'X-F', text: 'attack: faithful lets it through' },
        { id: 'X-H', text: 'attack: hardened refuses it' },
      ],
      async run(ctx) {
        await ctx.check('X-F', () => Promise.resolve());
        await ctx.check('X-H', (c) => {
          c.expect(false, 'the attack succeeded in hardened mode');
          return Promise.resolve();
        });
      },
    };
    const r = await runCampaign(
      attacksCampaign(() => [flowAttacks(() => [leaky])]),
      { budget: 1 },
    );
    expect(r.failures).toEqual([
      {
        category: 'flows.md: leaky X (faithful succeeds, hardened refuses)',
        input: 'X-H',
        problem: 'attack: hardened refuses it: the attack succeeded in hardened mode',
      },
    ]);
  });
});
