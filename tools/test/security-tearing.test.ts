// Power cut at every byte write of every issuance command (the issuing machine over the in-process
// transport) and of the secure purse-plus-log write, through the tearing campaign at its CI budget:
// old or new state after recovery, and purse and log always agree.
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../src/campaign/runner';
import { tearingCampaign } from '../src/campaign/tearing-campaign';
import { issuanceSource, purseLogSource } from '../src/campaign/tearing-sources';

describe('tearing of secure commands (campaign tearing)', () => {
  it('every issuance command of a whole personalisation: old or new state at every cut point', async () => {
    const kind = tearingCampaign(() => [issuanceSource]);
    const r = await runCampaign(kind, { budget: kind.ciBudget });
    expect(r.failures).toEqual([]);
    // Every writing command of the issuing machine wrote something.
    expect(r.tried['issuance: exchanges writing nothing']).toBeUndefined();
    expect(r.tried['issuance: mutating exchanges']).toBeGreaterThan(10);
    console.log(
      `issuance tearing: ${r.tried['issuance: mutating exchanges']} mutating commands, ${r.tried['issuance: cut points']} cut points, all old-or-new`,
    );
  });

  it('the secure purse + log write: old or new state, and purse and log agree, at every cut point', async () => {
    const kind = tearingCampaign(() => [purseLogSource]);
    const r = await runCampaign(kind, { budget: kind.ciBudget });
    expect(r.failures).toEqual([]);
    const cuts = r.tried['purse + log: cut points']!;
    expect(r.tried['purse + log: purse + log judged']).toBe(cuts);
    expect(r.tried['purse + log: recovered old']).toBeGreaterThan(0);
    expect(r.tried['purse + log: recovered new']).toBeGreaterThan(0);
    console.log(
      `purse + log tearing: ${cuts} cut points (${r.tried['purse + log: recovered old']} old, ${r.tried['purse + log: recovered new']} new), purse and log agree`,
    );
  });
});
