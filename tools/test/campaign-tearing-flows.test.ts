// Flow-level tearing (issue 9 item 2): each scenario of `mica run` recorded once clean through the card
// tap, its card sessions replayed on cards of our own, and every exchange that wrote EEPROM cut at its
// byte writes. In CI the flows get FLOW_CI_BUDGET cut points spread over their exchanges; the whole
// sweep is the on-demand `mica campaign tearing`. A card whose commit skips the journal must be caught.
import { beforeAll, describe, expect, it } from 'vitest';
import { Card } from '@mica/card-os/card';
import { Eeprom, type CommitResult } from '@mica/card-os/hal/eeprom';
import type { BlockWrite } from '@mica/card-os/hal/journal';
import { SeededRandom } from '@mica/card-os/random';
import { runCampaign } from '../src/campaign/runner';
import { tearingCampaign } from '../src/campaign/tearing-campaign';
import {
  FLOW_CI_BUDGET,
  FLOWS,
  flowSource,
  recordFlow,
  type CardMaker,
  type FlowRecording,
} from '../src/campaign/tearing-flows';
import type { TearingSource } from '../src/campaign/tearing-sources';
import { SCENARIOS } from '../src/run/registry';

/** Writes each block straight to the store, one after the other: a cut between them tears the image. */
class UnjournalledEeprom extends Eeprom {
  override commit(writes: readonly BlockWrite[]): CommitResult {
    for (const w of writes) this.physical.write(w.address, w.data);
    return { enduranceWarning: false };
  }
}

const brokenCommit: CardMaker = (e, random) =>
  new Card(
    new UnjournalledEeprom(
      { blocks: e.blocks, journalSlots: e.journalSlots, endurance: e.endurance },
      e.physical,
    ),
    { random },
  );

const recordings = new Map<string, FlowRecording>();

beforeAll(async () => {
  for (const s of SCENARIOS) recordings.set(s.name, await recordFlow(s));
}, 300_000);

describe('flow-level tearing (campaign tearing)', () => {
  it('finds exchanges that write EEPROM in every scenario, each replayed as recorded', () => {
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(5);
    for (const s of SCENARIOS) {
      const r = recordings.get(s.name)!;
      const sweeps = r.items.filter((i) => i.kind === 'sweep');
      expect(r.exchanges, s.name).toBeGreaterThan(sweeps.length);
      expect(sweeps.length, s.name).toBeGreaterThan(0);
      for (const i of r.items) {
        if (i.kind !== 'excluded') continue;
        // The only exclusions are by design, never a replay that lost the recorded run.
        expect(i.reason, i.label).toMatch(
          /^(a successful PIN command commits twice by design|the same card state)/,
        );
      }
      console.log(
        `${s.name}: ${r.sessions} card sessions, ${r.exchanges} exchanges, ${sweeps.length} writing EEPROM, ${r.items.length - sweeps.length} excluded`,
      );
    }
  });

  it(`every flow at ${FLOW_CI_BUDGET} cut points: old or new state after recovery, purses and logs agree`, async () => {
    const sources: TearingSource[] = SCENARIOS.map((s) => ({
      name: FLOWS,
      items: () => Promise.resolve(recordings.get(s.name)!.items),
    }));
    const kind = tearingCampaign(() => sources);
    const r = await runCampaign(kind, { budget: FLOW_CI_BUDGET, seed: 1 });
    expect(r.failures).toEqual([]);
    const cuts = r.tried[`${FLOWS}: cut points`]!;
    expect(cuts).toBeLessThanOrEqual(FLOW_CI_BUDGET);
    expect(cuts).toBeGreaterThan(FLOW_CI_BUDGET / 2);
    expect(r.tried[`${FLOWS}: recovered old`]! + r.tried[`${FLOWS}: recovered new`]!).toBe(cuts);
    expect(r.tried[`${FLOWS}: recovered old`]).toBeGreaterThan(0);
    expect(r.tried[`${FLOWS}: recovered new`]).toBeGreaterThan(0);
    expect(r.tried[`${FLOWS}: exchanges writing nothing`]).toBeUndefined();
    console.log(`flow tearing at the CI budget (${r.durationMs} ms): ${JSON.stringify(r.tried)}`);
  }, 300_000);

  it('lists the exchanges of a session whose replay diverges as excluded, with the reason', async () => {
    // A card with another random source answers the secure sessions differently from the recording.
    const otherSeed: CardMaker = (e) => new Card(e, { random: new SeededRandom(999) });
    const scenario = SCENARIOS.find((s) => s.name === 'credit-charge-emoney')!;
    const clean = recordings.get(scenario.name)!;
    const r = await recordFlow(scenario, otherSeed);
    const diverged = r.items.filter((i) => i.kind === 'excluded' && /diverged/.test(i.reason));
    expect(diverged.length).toBeGreaterThan(0);
    // Nothing dropped: every exchange the clean replay swept is still listed, swept or excluded.
    for (const i of clean.items.filter((x) => x.kind === 'sweep'))
      expect(
        r.items.some((x) => i.label.startsWith(x.label)),
        i.label,
      ).toBe(true);
  }, 120_000);

  it('reports a card whose commit skips the journal (the image is neither state)', async () => {
    const scenario = SCENARIOS.find((s) => s.name === 'credit-charge-emoney')!;
    const kind = tearingCampaign(() => [flowSource(scenario, { card: brokenCommit })]);
    const r = await runCampaign(kind, { budget: 300, seed: 1 });
    expect(r.tried[`${FLOWS}: cut points`]).toBeGreaterThan(0);
    expect(r.failed[`${FLOWS}: cut points`]).toBeGreaterThan(0);
    expect(r.failures[0]!.problem).toMatch(/neither the old nor the new state/);
  }, 120_000);
});
