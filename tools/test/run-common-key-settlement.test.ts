// Seed 002 (flows.md 4.4) as `mica run common-key-settlement`: every acceptance check passes in the
// default (hardened) mode and in faithful mode, over in-process back-ends and over HTTP, with the
// same output apart from `transport`; the variants (second embodiment, receipt via the SMD, binary
// BILL) pass too. Figures from flows.md 4.4: 5,000 - 1,200 = 3,800.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commonKeySettlement } from '../src/run/scenarios/common-key-settlement';
import { runScenario, type RunReport } from '../src/run/runner';
import type { RunOptions } from '../src/run/scenario';

const base: RunOptions = {
  mode: 'hardened',
  transport: 'inproc',
  seed: 1,
  data: ':memory:',
  variants: { embodiment: 'first', route: 'both', encoding: 'json' },
};

async function run(o: Partial<RunOptions> = {}): Promise<{ r: RunReport; lines: string[] }> {
  const lines: string[] = [];
  const r = await runScenario(commonKeySettlement, { ...base, ...o }, (l) => lines.push(l));
  return { r, lines };
}

function failures(r: RunReport): string[] {
  return r.checks.filter((c) => !c.pass).map((c) => `${c.id}: ${c.problems.join('; ')}`);
}

const ORDER_HEX = '5331303030303031'; // "S1000001"

describe('mica run common-key-settlement', () => {
  it('passes every check of flows.md 4.4, in-process and over HTTP, with the same output', async () => {
    const a = await run();
    expect(failures(a.r)).toEqual([]);
    expect(a.r.checks.map((c) => c.id)).toEqual([
      'K1',
      'K2',
      'K3',
      'K4',
      'K5',
      'K6',
      'K7',
      'K8',
      'K9',
      'K10-F',
      'K10-H',
      'K11-F',
      'K11-H',
      'K12',
      'K13',
      'K14',
      'K15',
    ]);
    expect(a.r.exitCode).toBe(0);
    expect(a.r.cards['5354000000000201']).toEqual({
      balances: { '3097': 3800 },
      log: [{ chargeId: ORDER_HEX, amount: 1200, kind: 2, day: 1619, origin: 1 }],
    });
    expect(a.r.ledgers['smd1']!.accounts).toEqual({
      'clearing:store1': -1200,
      'ext:opening:5354000000000201': 5000,
      'liab:float:smd1': -3800,
    });
    expect(a.r.ledgers['store1']!.accounts).toEqual({ 'clearing:smd1': 1200, 'rev:sales': -1200 });
    expect(a.lines).toContain(
      't=2004-06-07T10:00:00+09:00 [ST16] client → card: relay SECURE COMMAND (SPC) for smd {card: SECURE COMMAND (SPC) → 9000}',
    );
    // The faithful replay is caught by the audit until the SMD reads the log.
    expect(a.r.steps.some((s) => s.fixture === 'replay-faithful' && !s.auditOk)).toBe(true);
    expect(a.lines.filter((l) => l.startsWith('audit (')).every((l) => !l.includes('FAIL'))).toBe(true);
    const b = await run({ transport: 'http' });
    expect(b.lines).toEqual(a.lines);
    expect(JSON.stringify({ ...b.r, transport: '-' })).toBe(JSON.stringify({ ...a.r, transport: '-' }));
  }, 60_000);

  it('passes in faithful mode with the second embodiment, the receipt via the SMD and a binary BILL', async () => {
    const { r, lines } = await run({
      mode: 'faithful',
      variants: { embodiment: 'second', route: 'smd', encoding: 'binary' },
    });
    expect(failures(r)).toEqual([]);
    expect(
      lines.some(
        (l) => l.includes('[ST109] smd → client: header S1000001 1200 JPY') && l.includes('(unsigned)'),
      ),
    ).toBe(true);
    expect(lines.some((l) => l.includes('receipt S1000001 relayed by the SMD'))).toBe(true);
    expect(r.cards['5354000000000201']).toMatchObject({ balances: { '3097': 3800 } });
  }, 60_000);

  it('prints the --json shape and exits 0; a wrong variant value exits 2', () => {
    const root = new URL('../../', import.meta.url).pathname;
    const mica = join(root, 'tools/bin/mica.js');
    const r = spawnSync(process.execPath, [mica, 'run', 'common-key-settlement', '--json', '--seed', '3'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({
      scenario: 'common-key-settlement',
      seed: 3,
      mode: 'hardened',
      audit: { ok: true },
    });
    const bad = spawnSync(process.execPath, [mica, 'run', 'common-key-settlement', '--variant', 'sideways'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
  }, 60_000);
});
