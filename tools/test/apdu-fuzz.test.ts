// Structure-aware APDU fuzzing of an issued card through the fuzz campaign's APDU target: never a throw,
// always a status word, EEPROM untouched.
import { describe, expect, it } from 'vitest';
import { fuzzCampaign } from '../src/campaign/fuzz-campaign';
import { apduFuzzTarget } from '../src/campaign/fuzz-apdu';
import { runCampaign } from '../src/campaign/runner';

const COUNT = 100_000;

describe('APDU fuzzing (campaign fuzz, APDU target)', () => {
  it(`answers ${COUNT} fuzzed APDUs with a status word, never throws and never writes EEPROM`, async () => {
    const r = await runCampaign(
      fuzzCampaign(() => [apduFuzzTarget()]),
      { budget: COUNT },
    );
    console.log(
      `fuzzed ${r.tried['apdus']} APDUs: ${Object.entries(r.tried)
        .filter(([k]) => k !== 'apdus')
        .map(([k, n]) => `${k.slice('apdus: '.length)} ${n}`)
        .join(', ')}`,
    );
    expect(r.failures.slice(0, 5)).toEqual([]);
    expect(r.tried['apdus']).toBe(COUNT);
    expect(r.tried['apdus: structured']).toBeGreaterThan(COUNT / 2);
    expect(r.tried['apdus: felica bridge']).toBeGreaterThan(COUNT / 10);
  }, 60_000);
});
