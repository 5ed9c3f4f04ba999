// The scenario runner (flows.md 1.7) with a small scenario written here: transcript lines, PASS/FAIL
// lines, audits after every step (an unbooked change is caught), the network monitor, variants, and
// one seed giving the same report over in-process and HTTP back-ends.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditView } from '@mica/host-sdk/backend/backend';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { UsageError } from '../src/cli-error';
import { resolveVariants, runScenario, type RunReport } from '../src/run/runner';
import type { RunOptions, Scenario } from '../src/run/scenario';

const TX = (n: number): string => n.toString(16).padStart(32, '0');

/** A bank with one account; check B fails on purpose when asked, check C is never reported. */
function bankScenario(o: { failB?: boolean; skipC?: boolean; leak?: boolean } = {}): Scenario {
  return {
    name: 'tiny-bank',
    title: 'a deposit and a transfer',
    variants: { amount: ['100', '250'] },
    checks: [
      { id: 'A', text: 'a deposit is booked' },
      { id: 'B', text: 'an unbooked claim is caught by the audit' },
      { id: 'C', text: 'the last check' },
    ],
    async run(ctx) {
      const f = ctx.fixture('main');
      f.open('bank', 'bank1');
      await f.start();
      f.network.forbid('the secret', Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4));
      const bank = f.backend('bank', 'bank1');
      const amount = Number(ctx.options.variants['amount']);
      await ctx.check('A', async (c) => {
        expectOk(await bank.openAccount({ accountNo: 'a1', userId: 'u1', name: 'YAMADA TARO' }));
        await f.step({ step: 'S1', from: 'teller', to: 'bank1', summary: 'open account a1' });
        const v = expectOk(await bank.depositCash({ txId: TX(1), accountNo: 'a1', amount }));
        await f.step({ step: 'S2', from: 'teller', to: 'bank1', summary: `deposit ¥${amount}` });
        c.equal(v.balance, amount, 'balance of a1');
        if (o.leak) await bank.account({ accountNo: 'deadbeef01020304' });
      });
      await ctx.check('B', async (c) => {
        // A terminal outbox item claims float the world does not hold: C3 must fail, then pass once gone.
        let item: AuditView['inFlight'] = [
          {
            txId: TX(2),
            holder: 'term1',
            peer: 'bank1',
            topic: 'claim',
            clearingAmount: 0,
            floatIssuer: 'bank1',
            floatAmount: 5,
          },
        ];
        f.addAuditView(() => ({ id: 'term1', kind: 'terminal', entries: [], inFlight: item }));
        await f.step({
          step: 'S3',
          from: 'term1',
          to: 'bank1',
          summary: 'claims ¥5 of float',
          card: { command: 'Write (secure)', status: 'SF 00 00' },
          audit: 'fail',
        });
        item = [];
        await f.advanceBy(60_000);
        await f.step({ step: 'S4', from: 'term1', to: 'bank1', summary: 'drops the claim' });
        c.expect(!o.failB, 'asked to fail');
      });
      if (!o.skipC) await ctx.check('C', () => Promise.resolve());
    },
  };
}

const base: RunOptions = {
  mode: 'hardened',
  transport: 'inproc',
  seed: 1,
  data: ':memory:',
  variants: { amount: '100' },
};

async function run(
  s: Scenario,
  options: Partial<RunOptions> = {},
): Promise<{ r: RunReport; lines: string[] }> {
  const lines: string[] = [];
  const r = await runScenario(s, { ...base, ...options }, (l) => lines.push(l));
  return { r, lines };
}

describe('mica run: the runner', () => {
  it('prints transcript lines, PASS lines and the audit, and exits 0', async () => {
    const { r, lines } = await run(bankScenario());
    expect(r.exitCode).toBe(0);
    expect(lines).toEqual([
      't=2004-06-07T10:00:00+09:00 [S1] teller → bank1: open account a1',
      't=2004-06-07T10:00:00+09:00 [S2] teller → bank1: deposit ¥100',
      't=2004-06-07T10:00:00+09:00 [S3] term1 → bank1: claims ¥5 of float {card: Write (secure) → SF 00 00}',
      't=2004-06-07T10:01:00+09:00 [S4] term1 → bank1: drops the claim',
      'PASS A a deposit is booked',
      'PASS B an unbooked claim is caught by the audit',
      'PASS C the last check',
      'audit (main):',
      '  C1 PASS',
      '  C2 PASS',
      '  C3 PASS',
      '  C4 PASS',
    ]);
    expect(r.ledgers['bank1']!.accounts).toEqual({ 'ext:cash': 100, 'liab:personal:a1': -100 });
    expect(r.steps.map((s) => s.check)).toEqual(['A', 'A', 'B', 'B']);
  });

  it('an in-memory run makes no `:memory:` directory in the working directory', async () => {
    const stray = join(process.cwd(), ':memory:');
    rmSync(stray, { recursive: true, force: true }); // left by a run before the fix
    expect((await run(bankScenario())).r.exitCode).toBe(0);
    expect(existsSync(stray)).toBe(false);
  });

  it('a failing check, an unreported check and a leaked value make FAIL lines and exit 1', async () => {
    const { r, lines } = await run(bankScenario({ failB: true, skipC: true, leak: true }));
    expect(r.exitCode).toBe(1);
    expect(lines).toContain('FAIL B an unbooked claim is caught by the audit: asked to fail');
    expect(lines).toContain('FAIL C the last check: not run');
    expect(lines.find((l) => l.startsWith('FAIL A'))).toMatch(
      /the secret crossed the internet channel in bank\/bank1\/account/,
    );
  });

  it('a check comparing a value that is not there records "got undefined", not a TypeError', async () => {
    const s: Scenario = {
      name: 'absent',
      title: 'a missing value',
      variants: {},
      checks: [{ id: 'A', text: 'a value is there' }],
      async run(ctx) {
        await ctx.check('A', (c) => {
          const ledger: Record<string, number> = {};
          c.equal(ledger['clearing:bank1'], 5, 'clearing');
          // Inside an array too (found by the faults campaign: `[r.outcome, r.nak?.reason]`).
          const nak = undefined as { reason: string } | undefined;
          c.equal(['nak', nak?.reason], ['nak', 'MEDIUM_MISMATCH'], 'verdict');
          c.equal({ reason: nak?.reason, at: [nak?.reason] }, { at: ['T1'] }, 'object');
          return Promise.resolve();
        });
      },
    };
    const r = await runScenario(s, { ...base, variants: {} });
    expect(r.checks[0]!.problems).toEqual([
      'clearing: got undefined, expected 5',
      'verdict: got ["nak",undefined], expected ["nak","MEDIUM_MISMATCH"]',
      'object: got {"at":[undefined]}, expected {"at":["T1"]}',
    ]);
  });

  it('an audit that does not match the step expectation fails the check', async () => {
    const s = bankScenario();
    const inner = s.run.bind(s);
    const broken: Scenario = {
      ...s,
      async run(ctx) {
        await inner(ctx);
        await ctx.check('C', async () => {
          const f = ctx.fixture('other');
          f.addAuditView(() => ({
            id: 'x',
            kind: 'terminal',
            entries: [{ txId: TX(9), leg: 0, account: 'ext:cash', amount: 1, at: 0 }],
            inFlight: [],
          }));
          await f.step({ step: 'S9', from: 'x', to: 'y', summary: 'unbalanced' });
        });
      },
    };
    const { r, lines } = await run(broken);
    expect(r.exitCode).toBe(1);
    expect(lines.find((l) => l.startsWith('FAIL C'))).toMatch(
      /after \[S9\] unbalanced: the audit failed \(C1 fail/,
    );
    expect(lines).toContain('audit (other): FAIL C1 fail');
  });

  it('gives the same report over HTTP as in-process, apart from transport', async () => {
    const a = await run(bankScenario(), { variants: { amount: '250' } });
    const b = await run(bankScenario(), { variants: { amount: '250' }, transport: 'http' });
    expect(b.r.exitCode).toBe(0);
    expect(b.lines).toEqual(a.lines);
    expect(JSON.stringify({ ...b.r, transport: 'x' })).toBe(JSON.stringify({ ...a.r, transport: 'x' }));
  });

  it('checks variants by value or axis=value and names the axes of a wrong one', () => {
    const s = bankScenario();
    expect(resolveVariants(s, [])).toEqual({ amount: '100' });
    expect(resolveVariants(s, ['250'])).toEqual({ amount: '250' });
    expect(resolveVariants(s, ['amount=250'])).toEqual({ amount: '250' });
    expect(() => resolveVariants(s, ['300'])).toThrow(UsageError);
    expect(() => resolveVariants(s, ['300'])).toThrow(/amount: 100, 250/);
  });
});
