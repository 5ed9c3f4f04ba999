// `mica run brand-emoney` (flows.md 5.5): every acceptance check passes in-process and over HTTP, with
// the same report apart from `transport`; the faithful main flow passes too (its log is written by a
// second Write); the batch variant passes.
import { describe, expect, it } from 'vitest';
import { runScenario, type RunReport } from '../src/run/runner';
import { brandEmoney } from '../src/run/scenarios/brand-emoney';
import type { RunOptions } from '../src/run/scenario';

const base: RunOptions = {
  mode: 'hardened',
  transport: 'inproc',
  seed: 1,
  data: ':memory:',
  variants: { notification: 'per-tx' },
};

async function run(options: Partial<RunOptions>): Promise<{ report: RunReport; lines: string[] }> {
  const lines: string[] = [];
  const report = await runScenario(brandEmoney, { ...base, ...options }, (l) => lines.push(l));
  return { report, lines };
}

const failed = (r: RunReport): string[] =>
  r.checks.filter((c) => !c.pass).map((c) => `${c.id}: ${c.problems.join('; ')}`);

describe('mica run brand-emoney', () => {
  it('passes every acceptance check in-process and over HTTP with the same report', async () => {
    const a = await run({});
    expect(failed(a.report)).toEqual([]);
    expect(a.report.checks.map((c) => c.id)).toEqual(brandEmoney.checks.map((c) => c.id));
    expect(a.report.exitCode).toBe(0);
    expect(a.lines.filter((l) => l.startsWith('PASS '))).toHaveLength(brandEmoney.checks.length);
    const b = await run({ transport: 'http' });
    expect(failed(b.report)).toEqual([]);
    expect({ ...b.report, transport: 'inproc' }).toEqual(a.report);
  }, 60_000);

  it('passes in faithful mode and with batched notification', async () => {
    const f = await run({ mode: 'faithful', variants: { notification: 'batch' } });
    expect(failed(f.report)).toEqual([]);
    // Faithful: the log is a second Write (S14-S15), never a read-back.
    expect(f.lines.some((l) => l.includes('[S14-S15]') && l.includes('Write (log)'))).toBe(true);
    expect(f.lines.some((l) => l.includes('the weekly batch'))).toBe(true);
  }, 60_000);
});
