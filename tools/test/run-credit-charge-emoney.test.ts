// Seed 001 (flows.md 3.4) as `mica run credit-charge-emoney`: every acceptance check passes in the
// default (hardened) mode and in faithful mode, over in-process back-ends and over HTTP, with the
// same output apart from `transport`; the CLI prints the §1.7 lines and the --json shape.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { creditChargeEmoney } from '../src/run/scenarios/credit-charge-emoney';
import { runScenario, type RunReport } from '../src/run/runner';
import type { RunOptions } from '../src/run/scenario';

const base: RunOptions = {
  mode: 'hardened',
  transport: 'inproc',
  seed: 1,
  data: ':memory:',
  variants: { 'amount-change': 'add', identification: 'emoney-no' },
};

async function run(o: Partial<RunOptions> = {}): Promise<{ r: RunReport; lines: string[] }> {
  const lines: string[] = [];
  const r = await runScenario(creditChargeEmoney, { ...base, ...o }, (l) => lines.push(l));
  return { r, lines };
}

function failures(r: RunReport): string[] {
  return r.checks.filter((c) => !c.pass).map((c) => `${c.id}: ${c.problems.join('; ')}`);
}

describe('mica run credit-charge-emoney', () => {
  it('passes every check of flows.md 3.4, in-process and over HTTP, with the same output', async () => {
    const a = await run();
    expect(failures(a.r)).toEqual([]);
    expect(a.r.checks.map((c) => c.id)).toEqual([
      'A1',
      'A2',
      'A3',
      'A4',
      'A5-F',
      'A5-H',
      'A6',
      'A7',
      'A8',
      'A9',
      'A10',
      'A11',
      'A12',
      'A13',
      'A14',
      'A15',
      'A16',
      'A17',
      'A18',
    ]);
    expect(a.r.exitCode).toBe(0);
    // flows.md 3.3: 1,000 + 2,000 = 3,000 on the card and in the float; credit is owed 2,000.
    expect(a.r.cards['12345678']).toMatchObject({ balances: { '20d0': 3000 } });
    expect(a.r.ledgers['emoney1']!.accounts).toEqual({
      'clearing:credit1': 2000,
      'ext:opening': 1000,
      'liab:float:emoney1': -3000,
    });
    expect(a.r.ledgers['credit1']!.accounts).toEqual({
      'asset:receivable:987654321': 2000,
      'clearing:emoney1': -2000,
    });
    expect(a.lines).toContain(
      't=2004-06-07T10:00:00+09:00 [P2] term-3 → card: PIN (••••) to the card only {card: VERIFY → 63C2}',
    );
    expect(a.lines.filter((l) => l.startsWith('audit (')).every((l) => !l.includes('FAIL'))).toBe(true);
    const b = await run({ transport: 'http' });
    expect(b.lines).toEqual(a.lines);
    expect(JSON.stringify({ ...b.r, transport: '-' })).toBe(JSON.stringify({ ...a.r, transport: '-' }));
  }, 60_000);

  it('passes in faithful mode with overwrite as the amount change', async () => {
    const { r, lines } = await run({
      mode: 'faithful',
      variants: { ...base.variants, 'amount-change': 'overwrite' },
    });
    expect(failures(r)).toEqual([]);
    // Faithful: no nonce is asked for; the main flow's log record is an overwrite.
    expect(lines.some((l) => l.includes('beginPurchase') && l.includes('term-3'))).toBe(false);
    expect(r.cards['12345678']).toMatchObject({ log: [{ amount: 2000, kind: 'overwrite' }] });
  }, 60_000);

  it('prints the --json shape and exits 0; a wrong variant exits 2', () => {
    const root = new URL('../../', import.meta.url).pathname;
    const mica = join(root, 'tools/bin/mica.js');
    const r = spawnSync(process.execPath, [mica, 'run', 'credit-charge-emoney', '--json', '--seed', '3'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual([
      'scenario',
      'seed',
      'mode',
      'transport',
      'variants',
      'steps',
      'checks',
      'ledgers',
      'cards',
      'audit',
    ]);
    expect(j).toMatchObject({
      scenario: 'credit-charge-emoney',
      seed: 3,
      mode: 'hardened',
      transport: 'inproc',
      audit: { ok: true },
    });
    const bad = spawnSync(process.execPath, [mica, 'run', 'credit-charge-emoney', '--variant', 'sideways'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--variant sideways is not a variant of credit-charge-emoney/);
  }, 60_000);
});
