// The campaign runner and its kinds: the report, budgets and seeds, the fuzz kind at its CI budget, and
// deliberately broken cards and commands injected through the seams, which each campaign must report.
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { PowerLostError } from '@mica/card-os/hal/errors';
import { SeededRandom } from '@mica/card-os/random';
import { attacksCampaign } from '../src/campaign/attacks-campaign';
import type { AttackSuite } from '../src/campaign/attack';
import { fuzzCampaign } from '../src/campaign/fuzz-campaign';
import { APDU_FUZZ_PROFILE, apduFuzzTarget } from '../src/campaign/fuzz-apdu';
import { felicaFuzzTarget } from '../src/campaign/fuzz-felica';
import { CAMPAIGN_KINDS, PENDING_KINDS } from '../src/campaign/kinds';
import { failureCount, runCampaign, type CampaignKind } from '../src/campaign/runner';
import { campaignSummary } from '../src/campaign/summary';
import { tearingCampaign } from '../src/campaign/tearing-campaign';
import { felicaTranscriptSource, refusalItem, type TearingSource } from '../src/campaign/tearing-sources';

function fuzzCard(): Card {
  const card = new Card(cardImageFromProfile(parseProfile(APDU_FUZZ_PROFILE)), {
    random: new SeededRandom(7),
  });
  card.powerOn();
  return card;
}

/** Two blocks written straight to the store, one after the other, without the journal. */
function unjournalledWrite(card: Card): void {
  try {
    card.eeprom.physical.write(10, new Uint8Array(16).fill(0xaa));
    card.eeprom.physical.write(11, new Uint8Array(16).fill(0xbb));
  } catch (e) {
    if (!(e instanceof PowerLostError)) throw e;
    card.powerOff();
  }
}

describe('campaign runner', () => {
  it('reports budget, seed, counts per category, failures and the duration from the injected clock', async () => {
    const kind: CampaignKind = {
      name: 'probe',
      description: 'a kind that counts and fails on purpose',
      unit: 'inputs',
      ciBudget: 3,
      defaultBudget: 5,
      async run(ctx) {
        for (let i = 0; i < ctx.budget; i++) ctx.tried('even or odd', 1);
        ctx.tried('seen seed', ctx.seed);
        ctx.fail('even or odd', '03', 'odd');
      },
    };
    let t = 1000;
    const r = await runCampaign(kind, { seed: 9, now: () => (t += 250) });
    expect(r).toEqual({
      campaign: 'probe',
      budget: 5,
      seed: 9,
      tried: { 'even or odd': 5, 'seen seed': 9 },
      failed: { 'even or odd': 1 },
      failures: [{ category: 'even or odd', input: '03', problem: 'odd' }],
      durationMs: 250,
    });
    expect(failureCount(r)).toBe(1);
    const text = campaignSummary(r, kind.unit);
    expect(text).toContain('campaign probe: budget 5 inputs, seed 9, 0.3 s');
    expect(text).toMatch(/even or odd +5 +1/);
    expect(text).toContain('even or odd: 03: odd');
    expect(text.trimEnd().split('\n').at(-1)).toBe('probe: 1 failed');
    await expect(runCampaign(kind, { budget: 0 })).rejects.toThrow(/budget must be a positive integer/);
  });

  it('lists tearing, fuzz, attacks and faults, with none pending', () => {
    expect(CAMPAIGN_KINDS.map((k) => k.name)).toEqual(['tearing', 'fuzz', 'attacks', 'faults']);
    expect(PENDING_KINDS).toEqual([]);
  });
});

describe('campaign tearing', () => {
  it('spreads a small budget over the exchanges with a seeded offset, never past the budget', async () => {
    const source = (): TearingSource[] => [felicaTranscriptSource('felica-transcript-read-write.json')];
    const a = await runCampaign(tearingCampaign(source), { budget: 60, seed: 1 });
    const b = await runCampaign(tearingCampaign(source), { budget: 60, seed: 1 });
    expect(a.failures).toEqual([]);
    const cuts = a.tried['felica transcripts: cut points']!;
    expect(cuts).toBeGreaterThan(0);
    expect(cuts).toBeLessThanOrEqual(60);
    expect(a.tried['felica transcripts: mutating exchanges']).toBe(4);
    expect({ ...b, durationMs: 0 }).toEqual({ ...a, durationMs: 0 });
  });

  it('reports a command that writes two blocks without the journal (the image is neither state)', async () => {
    const broken: TearingSource = {
      name: 'broken',
      items: () =>
        Promise.resolve([
          {
            kind: 'sweep',
            label: 'unjournalled write',
            case: { setup: fuzzCard, command: unjournalledWrite },
          },
        ]),
    };
    const r = await runCampaign(tearingCampaign(() => [broken]));
    expect(r.tried['broken: cut points']).toBe(44);
    // Cuts inside the second block leave the first one new: neither the old nor the new state.
    expect(r.failed['broken: cut points']).toBeGreaterThanOrEqual(21);
    expect(r.failures[0]!.problem).toMatch(/neither the old nor the new state/);
  });

  it('reports a refused exchange that wrote EEPROM or moved a write counter', async () => {
    const broken: TearingSource = {
      name: 'broken',
      items: () =>
        Promise.resolve([
          refusalItem('a refusal that writes', fuzzCard, (c) =>
            c.eeprom.commit([{ address: 10, data: new Uint8Array(16).fill(1) }]),
          ),
          refusalItem('a refusal that rewrites the same bytes', fuzzCard, (c) =>
            c.eeprom.commit([{ address: 10, data: c.eeprom.read(10) }]),
          ),
          refusalItem('a real refusal', fuzzCard, (c) => c.felica(hexToBytes('0a0602fe0102030405060f'))),
        ]),
    };
    const r = await runCampaign(tearingCampaign(() => [broken]));
    expect(r.tried['broken: refusals']).toBe(3);
    expect(r.failed).toEqual({ 'broken: refusals': 2 });
    expect(r.failures.map((f) => f.problem)).toEqual([
      'a refused exchange changed the image',
      'a refused exchange changed the write counters',
    ]);
  });
});

describe('campaign fuzz', () => {
  it('runs every target at the CI budget with no failure, seeded and reproducible', async () => {
    const kind = CAMPAIGN_KINDS.find((k) => k.name === 'fuzz')!;
    const r = await runCampaign(kind, { budget: kind.ciBudget });
    expect(r.failures).toEqual([]);
    for (const t of ['felica frames', 'apdus', 'radio frames', 'profiles', 'card images'])
      expect(r.tried[t], t).toBeGreaterThan(kind.ciBudget / 20);
    // The back-end HTTP target has a share of 0.2 (an HTTP round trip costs ~50 card inputs).
    expect(r.tried['backend http'], 'backend http').toBeGreaterThan(kind.ciBudget / 100);
    expect(Object.values(r.tried).length).toBeGreaterThan(20);
    expect(r.tried['card images: resealed, loaded']).toBeGreaterThan(0);
    expect(r.tried['card images: unsealed, refused']).toBeGreaterThan(0);
    expect(r.tried['profiles: structured, refused']).toBeGreaterThan(0);
    expect(r.tried['radio frames: L1 decoders']).toBeGreaterThan(0);
    console.log(
      `fuzz at the CI budget: ${['felica frames', 'apdus', 'radio frames', 'profiles', 'card images', 'backend http'].map((t) => `${t} ${r.tried[t]}`).join(', ')}; no failures`,
    );
    const small = await runCampaign(kind, { budget: 2_000, seed: 5 });
    const again = await runCampaign(kind, { budget: 2_000, seed: 5 });
    const other = await runCampaign(kind, { budget: 2_000, seed: 6 });
    expect(again.tried).toEqual(small.tried);
    expect(other.tried).not.toEqual(small.tried);
  }, 60_000);

  it('found: a profile whose ATS, UID or transport key manufacture refuses is refused by the parser, with its JSON path', () => {
    const chip = (iso14443: object) => ({ ...APDU_FUZZ_PROFILE, chip: { blocks: 256, iso14443 } });
    expect(() => parseProfile(chip({ ats: '0502c1052f05' }))).toThrow(
      '$.chip.iso14443.ats: must be 1 to 14 bytes with TL (its first byte) equal to its length',
    );
    expect(() => parseProfile(chip({ ats: '' }))).toThrow(/^\$\.chip\.iso14443\.ats: /);
    expect(() => parseProfile(chip({ uid: '88010203' }))).toThrow(
      '$.chip.iso14443.uid: must not start with 88h (the cascade tag)',
    );
    const keyed = (suite: string, transportKey: string) => ({
      ...APDU_FUZZ_PROFILE,
      chip: { blocks: 256, suite, transportKey },
    });
    expect(() => parseProfile(keyed('aes128', '0123456789abcdef'))).toThrow(
      '$.chip.transportKey: must be 16 bytes, got 8',
    );
    expect(() => parseProfile(keyed('2k3des', '00'.repeat(24)))).toThrow(
      '$.chip.transportKey: must be 16 bytes, got 24',
    );
    expect(parseProfile(keyed('3k3des', '00'.repeat(24))).chip.transportKey).toHaveLength(24);
    expect(parseProfile(keyed('des', '00'.repeat(8))).chip.transportKey).toHaveLength(8);
    expect(parseProfile(chip({ ats: '0578807002', uid: '08010203' })).chip.iso14443?.ats).toEqual(
      hexToBytes('0578807002'),
    );
  });

  it('reports an APDU that throws and one that writes EEPROM', async () => {
    class BrokenCard extends Card {
      override apdu(command: Uint8Array): Uint8Array | null {
        if (command[1] === 0xb0) throw new TypeError('deliberately broken');
        if (command[1] === 0xd6) this.eeprom.commit([{ address: 3, data: new Uint8Array(16).fill(0xd6) }]);
        return super.apdu(command);
      }
    }
    const card = (): Card =>
      new BrokenCard(cardImageFromProfile(parseProfile(APDU_FUZZ_PROFILE)), { random: new SeededRandom(7) });
    const r = await runCampaign(
      fuzzCampaign(() => [apduFuzzTarget({ card })]),
      { budget: 5_000 },
    );
    const problems = new Set(r.failures.map((f) => f.problem.replace(/\d+/g, 'N')));
    expect(problems).toContain('threw TypeError: deliberately broken');
    expect(problems).toContain('wrote N EEPROM bytes');
    expect(r.failed['apdus']).toBeGreaterThan(10);
  });

  it('reports a FeliCa answer that is not well-formed', async () => {
    class Garbling extends Card {
      override felica(frame: Uint8Array): Uint8Array | null {
        const r = super.felica(frame);
        return r === null || frame[1] !== 0x06 ? r : r.subarray(0, r.length - 1);
      }
    }
    const cards = (): Card[] => {
      const card = new Garbling(cardImageFromProfile(parseProfile(APDU_FUZZ_PROFILE)), {
        random: new SeededRandom(7),
      });
      card.powerOn();
      return [card];
    };
    const r = await runCampaign(
      fuzzCampaign(() => [felicaFuzzTarget({ cards })]),
      { budget: 20_000 },
    );
    expect(r.failures.some((f) => /LEN is not its length/.test(f.problem))).toBe(true);
  });
});

describe('campaign attacks', () => {
  it('reports an attack the card lets through (a keyless service written without authentication)', async () => {
    const suite: AttackSuite = {
      name: 'broken',
      attacks: () => [
        {
          name: 'write without authentication',
          async run(_limit, log) {
            const card = fuzzCard();
            log.attempt();
            const r = card.felica(
              hexToBytes('2008 02fe010203040506 01 0900 01 8000 00000000000000000000000000000000'),
            );
            if (r !== null && r[10] === 0) log.problem('Write Without Encryption 0009h', 'accepted');
          },
        },
        {
          name: 'a broken fixture',
          run: () => Promise.reject(new Error('no fixture')),
        },
      ],
    };
    const r = await runCampaign(
      attacksCampaign(() => [suite]),
      { budget: 10 },
    );
    expect(r.tried).toEqual({ 'broken: write without authentication': 1 });
    expect(r.failed).toEqual({ 'broken: write without authentication': 1, 'broken: a broken fixture': 1 });
    expect(r.failures[1]!.problem).toBe('the attack could not run: no fixture');
  });
});
