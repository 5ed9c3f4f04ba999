// `mica campaign <kind>`: runs one campaign (tearing, fuzz, attacks) with a budget and a seed, prints
// a summary (or `--json` the report), exit 1 if anything failed.
import type { Command } from 'commander';
import { intArg } from '../args';
import { UsageError } from '../cli-error';
import { CAMPAIGN_KINDS, PENDING_KINDS } from '../campaign/kinds';
import { DEFAULT_SEED, failureCount, runCampaign, type CampaignKind } from '../campaign/runner';
import { SCENARIOS, scenarioNamed } from '../run/registry';
import { campaignSummary } from '../campaign/summary';
import { progressBar } from '../progress';

interface CampaignOptions {
  budget?: string;
  seed?: string;
  json?: boolean;
  transport?: string;
  jobs?: string;
  scenario?: string;
}

function kindNamed(name: string, kinds: readonly CampaignKind[]): CampaignKind {
  const kind = kinds.find((k) => k.name === name);
  if (kind) return kind;
  const runnable = kinds.map((k) => k.name).join(', ');
  const pending = PENDING_KINDS.find((p) => p.name === name);
  if (pending)
    throw new UsageError(
      `campaign ${name} cannot run yet: ${pending.missing}; the campaigns that run are ${runnable}`,
    );
  throw new UsageError(`unknown campaign "${name}" (campaigns: ${runnable})`);
}

function overTransport(kind: CampaignKind, transport: string | undefined): CampaignKind {
  if (transport === undefined) return kind;
  if (transport !== 'inproc' && transport !== 'http')
    throw new UsageError(`--transport must be inproc or http, got "${transport}"`);
  if (!kind.overTransport)
    throw new UsageError(`--transport applies to a campaign that runs flows (faults), not ${kind.name}`);
  return kind.overTransport(transport);
}

function withJobs(kind: CampaignKind, jobs: string | undefined): CampaignKind {
  if (jobs === undefined) return kind;
  const n = intArg(jobs, '--jobs', 1, 64);
  if (!kind.withJobs)
    throw new UsageError(`--jobs applies to a campaign of independent runs (faults), not ${kind.name}`);
  return kind.withJobs(n);
}

function forScenarios(kind: CampaignKind, list: string | undefined): CampaignKind {
  if (list === undefined) return kind;
  if (!kind.forScenarios)
    throw new UsageError(`--scenario applies to a campaign that runs flows (faults), not ${kind.name}`);
  const names = list.split(',').map((n) => n.trim());
  const scenarios = names.map((name) => {
    const s = scenarioNamed(name);
    if (!s)
      throw new UsageError(
        `--scenario: no scenario "${name}" (this version has ${SCENARIOS.map((x) => x.name).join(', ')})`,
      );
    return s;
  });
  return kind.forScenarios(scenarios.filter((s, i) => scenarios.indexOf(s) === i));
}

export function registerCampaign(program: Command, kinds: readonly CampaignKind[] = CAMPAIGN_KINDS): void {
  const names = [...kinds.map((k) => k.name), ...PENDING_KINDS.map((p) => p.name)].join(' | ');
  program
    .command('campaign <kind>')
    .description(`run a reliability campaign (${names}) with a summary of what was tried and what failed`)
    .option('--budget <n>', "how much to try, in the campaign's unit (see below)")
    .option('--seed <n>', `seed of every random choice (default ${DEFAULT_SEED})`)
    .option(
      '--transport <t>',
      'faults: how terminals reach back-ends, inproc (default) or http (served on loopback ports; no restart fault)',
    )
    .option(
      '--jobs <n>',
      'faults: worker processes running the fault points (default 1; the report is the same for any number)',
    )
    .option('--scenario <names>', 'faults: only these `mica run` scenarios (comma-separated; default all)')
    .option(
      '--json',
      'print { campaign, budget, seed, tried, failed, failures, durationMs } (faults: and outcomes)',
    )
    .addHelpText(
      'after',
      `\nCampaigns:\n${kinds
        .map(
          (k) =>
            `  ${k.name}: ${k.description}\n    budget in ${k.unit}; default ${k.defaultBudget.toLocaleString('en-US')}`,
        )
        .join('\n')}\n${PENDING_KINDS.map((p) => `  ${p.name}: not yet (${p.missing})\n`).join('')}` +
        '\nExit codes: 0 nothing failed, 1 something failed, 2 a usage error.\n' +
        '\nExamples:\n  mica campaign fuzz --budget 1000000\n  mica campaign tearing --json\n  mica campaign attacks --seed 7\n  mica campaign faults --budget 200\n  mica campaign faults --jobs 2\n  mica campaign faults --scenario validity-cache,brand-emoney --jobs 2\n  mica campaign faults --transport http --budget 40\n',
    )
    .action(async (name: string, o: CampaignOptions) => {
      const kind = forScenarios(
        withJobs(overTransport(kindNamed(name, kinds), o.transport), o.jobs),
        o.scenario,
      );
      const budget =
        o.budget === undefined ? undefined : intArg(o.budget, '--budget', 1, Number.MAX_SAFE_INTEGER);
      const seed = o.seed === undefined ? undefined : intArg(o.seed, '--seed', 0, 2 ** 48);
      const bar = o.json ? undefined : progressBar(`campaign ${kind.name}`);
      let report;
      try {
        report = await runCampaign(kind, {
          ...(budget === undefined ? {} : { budget }),
          ...(seed === undefined ? {} : { seed }),
          onProgress: (done, total) => bar?.update(done, total),
        });
      } finally {
        bar?.stop();
      }
      process.stdout.write(
        o.json ? `${JSON.stringify(report, null, 2)}\n` : campaignSummary(report, kind.unit),
      );
      if (failureCount(report) > 0) process.exitCode = 1;
    });
}
