// `mica campaign faults --transport http`: the same fault seam with every back-end served on a loopback
// port (terminal → back-end and back-end → back-end calls cross HTTP). The points are the clean
// in-process run's (the monitored calls are the same over either transport); a restart is refused
// (World.restart reopens an in-process instance); `--transport` is a usage error on a campaign that
// runs no flows, or with another value; so are `--jobs` and `--scenario` (which runs only the scenarios
// it names).
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, faultKindsOver, faultsCampaign, runWithPlan } from '../src/campaign/faults-campaign';
import { runCampaign, type CampaignKind } from '../src/campaign/runner';
import { registerCampaign } from '../src/commands/campaign';
import { FaultPlan } from '../src/run/faults';
import { scenarioNamed } from '../src/run/registry';
import type { BackendTransport } from '../src/run/scenario';

const settlement = scenarioNamed('common-key-settlement')!;

async function cleanRun(transport: BackendTransport): Promise<FaultPlan> {
  const plan = new FaultPlan(undefined);
  const { report } = await runWithPlan(settlement, plan, { transport });
  expect(report.exitCode).toBe(0);
  return plan;
}

describe('faults campaign over http', () => {
  it('numbers the same points as in-process and judges faulted runs over HTTP', async () => {
    const http = await cleanRun('http');
    const inproc = await cleanRun('inproc');
    const calls = http.calls;
    expect(calls).toEqual(inproc.calls);
    expect(http.cardExchanges).toBe(inproc.cardExchanges);
    const complete = calls.indexOf('main smd/smd1/completeSettlement');
    const acn = calls.indexOf('main store/store1/acceptAcn'); // the SMD's own call to the store
    expect(Math.min(complete, acn)).toBeGreaterThanOrEqual(0);
    const r = await runCampaign(
      faultsCampaign({
        transport: 'http',
        scenarios: () => [settlement],
        kinds: ['lost-request', 'duplicate'],
        points: (_s, kind) => (kind === 'lost-request' ? [complete] : [acn]),
      }),
      { budget: 2 },
    );
    expect(r.failures).toEqual([]);
    expect(r.tried).toEqual({
      'common-key-settlement: lost-request': 1,
      'common-key-settlement: duplicate': 1,
    });
    expect(r.outcomes?.['common-key-settlement: lost-request']).toEqual({ 'conserved, checks as clean': 1 });
    expect(r.outcomes?.['common-key-settlement: duplicate']).toEqual({ 'conserved, checks as clean': 1 });
    expect(Object.keys(r.outcomes?.['common-key-settlement: clean run'] ?? {})).toEqual([
      `${calls.length} back-end calls, ${inproc.cardExchanges} card exchanges`,
    ]);
  }, 240_000);

  it('has no restart fault over http, and refuses one asked for', async () => {
    expect(faultKindsOver('http')).toEqual(FAULT_KINDS.filter((k) => k !== 'restart'));
    expect(faultKindsOver('inproc')).toEqual(FAULT_KINDS);
    await expect(
      runCampaign(faultsCampaign({ transport: 'http', kinds: ['restart'] }), { budget: 1 }),
    ).rejects.toThrow(/over http cannot inject restart/);
    expect(faultsCampaign().overTransport!('http').description).toMatch(/--transport http/);
  });

  it('--transport and --jobs are usage errors with a bad value or on a campaign that runs no flows', async () => {
    const plain: CampaignKind = {
      name: 'plain',
      description: 'runs no flows',
      unit: 'inputs',
      ciBudget: 1,
      defaultBudget: 1,
      run: () => Promise.resolve(),
    };
    const parse = (args: string[]) => {
      const program = new Command('mica').exitOverride();
      registerCampaign(program, [plain, faultsCampaign()]);
      return program.parseAsync(['node', 'mica', 'campaign', ...args]);
    };
    await expect(parse(['plain', '--transport', 'http'])).rejects.toThrow(
      '--transport applies to a campaign that runs flows (faults), not plain',
    );
    await expect(parse(['faults', '--transport', 'ftp'])).rejects.toThrow(
      '--transport must be inproc or http, got "ftp"',
    );
    await expect(parse(['plain', '--jobs', '2'])).rejects.toThrow(
      '--jobs applies to a campaign of independent runs (faults), not plain',
    );
    await expect(parse(['faults', '--jobs', '0'])).rejects.toThrow(/--jobs/);
    await expect(parse(['plain', '--scenario', 'validity-cache'])).rejects.toThrow(
      '--scenario applies to a campaign that runs flows (faults), not plain',
    );
    await expect(parse(['faults', '--scenario', 'validity-cache,nope'])).rejects.toThrow(
      /^--scenario: no scenario "nope" \(this version has credit-charge-emoney, .*validity-cache/,
    );
  });

  it('--scenario runs only the scenarios named', async () => {
    const validity = scenarioNamed('validity-cache')!;
    const r = await runCampaign(faultsCampaign({ kinds: ['duplicate'] }).forScenarios!([validity]), {
      budget: 1,
    });
    expect(r.tried).toEqual({ 'validity-cache: duplicate': 1 });
    expect(Object.keys(r.outcomes ?? {}).sort()).toEqual([
      'validity-cache: clean run',
      'validity-cache: duplicate',
    ]);
  }, 120_000);
});
