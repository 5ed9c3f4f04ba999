// `mica campaign` as a user runs it: the summary, the --json report, exit codes 0 / 1 / 2, and the usage
// errors (an unknown campaign, a bad budget).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCampaign } from '../src/commands/campaign';
import type { CampaignKind } from '../src/campaign/runner';

const root = new URL('../../', import.meta.url).pathname;

function mica(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'tools/bin/mica.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('mica campaign', () => {
  it('attacks --json: the report on stdout, nothing else, exit 0', () => {
    const r = mica(['campaign', 'attacks', '--budget', '20', '--seed', '3', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual([
      'campaign',
      'budget',
      'seed',
      'tried',
      'failed',
      'failures',
      'durationMs',
    ]);
    expect(j).toMatchObject({ campaign: 'attacks', budget: 20, seed: 3, failed: {}, failures: [] });
    const tried = Object.keys(j['tried'] as object);
    expect(tried.filter((k) => k.startsWith('security.md §8: '))).toHaveLength(10);
    expect(tried.filter((k) => k.startsWith('flows.md: ')).length).toBeGreaterThanOrEqual(5);
    expect(typeof j['durationMs']).toBe('number');
  });

  it('fuzz: the summary table ends with "fuzz: no failures"', () => {
    const r = mica(['campaign', 'fuzz', '--budget', '500']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^campaign fuzz: budget 500 inputs, seed 20261121, [\d.]+ s\n/);
    expect(r.stdout).toMatch(/\n {2}felica frames +148 +0\n/);
    expect(r.stdout).toMatch(/\n {2}backend http +9 +0\n/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('fuzz: no failures');
  });

  it('an unknown kind and a bad budget are usage errors (exit 2) naming what is wrong', () => {
    const unknown = mica(['campaign', 'sideways']);
    expect(unknown.status).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe(
      'mica: unknown campaign "sideways" (campaigns: tearing, fuzz, attacks, faults).\n',
    );
    const budget = mica(['campaign', 'fuzz', '--budget', '0']);
    expect(budget.status).toBe(2);
    expect(budget.stderr).toMatch(/--budget must be an integer from 1 to/);
  });

  it('exits 1 and lists the failure when a campaign finds one', async () => {
    const broken: CampaignKind = {
      name: 'broken',
      description: 'always finds one failure',
      unit: 'inputs',
      ciBudget: 1,
      defaultBudget: 1,
      run: (ctx) => {
        ctx.tried('inputs');
        ctx.fail('inputs', 'ff', 'deliberately failed');
        return Promise.resolve();
      },
    };
    const program = new Command('mica').exitOverride();
    registerCampaign(program, [broken]);
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
    const before = process.exitCode;
    try {
      await program.parseAsync(['node', 'mica', 'campaign', 'broken']);
      expect(process.exitCode).toBe(1);
    } finally {
      process.stdout.write = write;
      process.exitCode = before;
    }
    expect(out).toContain('  inputs: ff: deliberately failed\n');
    expect(out.trimEnd().split('\n').at(-1)).toBe('broken: 1 failed');
  });
});
