// Seed 000 (flows.md 2.6) as `mica run bank-credit-token`: every declared check passes in-process and
// over HTTP with the same output apart from `transport`, in the three placements (share, transfer,
// direct) and the three key modes; the ledgers after Fig. 5 hold the hand-worked figures; the CLI
// prints the --json shape.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bankCreditToken } from '../src/run/scenarios/bank-credit-token';
import { scenarioNamed } from '../src/run/registry';
import { runScenario, type RunReport } from '../src/run/runner';
import type { RunOptions } from '../src/run/scenario';

const base: RunOptions = {
  mode: 'hardened',
  transport: 'inproc',
  seed: 1,
  data: ':memory:',
  variants: { placement: 'share', 'key-mode': 'ca' },
};

async function run(o: Partial<RunOptions> = {}): Promise<{ r: RunReport; lines: string[] }> {
  const lines: string[] = [];
  const r = await runScenario(bankCreditToken, { ...base, ...o }, (l) => lines.push(l));
  return { r, lines };
}

function failures(r: RunReport): string[] {
  return r.checks.filter((c) => !c.pass).map((c) => `${c.id}: ${c.problems.join('; ')}`);
}

describe('mica run bank-credit-token', () => {
  it('passes every declared check, in-process and over HTTP, with the same output', async () => {
    expect(scenarioNamed('bank-credit-token')).toBe(bankCreditToken);
    const a = await run();
    expect(failures(a.r)).toEqual([]);
    expect(a.r.checks.map((c) => c.id)).toEqual([
      'K1',
      'F1',
      'F2',
      'N1',
      'N2',
      'N3',
      'N4',
      'N5',
      'N6',
      'N7',
      'N8',
      'N9',
      'PK1',
      'P1',
      'P2',
      'AP-F',
      'AP-H',
      'R1',
    ]);
    expect(a.r.exitCode).toBe(0);
    // Fig. 5 by hand. Bank: cash 200,000 (personal) + 30,000 (pool) in; the deduction pays 30,000
    // from the pool (which nets to 0) and 70,000 from the personal account (130,000 left) to credit.
    expect(a.r.ledgers['MICABANK']!.accounts).toEqual({
      'clearing:CREDITCO': -100_000,
      'ext:cash': 230_000,
      'liab:personal:0012345678': -130_000,
    });
    // Credit: purchases 100,000 + 20,000; 100,000 received; 20,000 still owed.
    expect(a.r.ledgers['CREDITCO']!.accounts).toEqual({
      'asset:receivable:U0001': 20_000,
      'clearing:MICABANK': 100_000,
      'ext:merchant': -120_000,
    });
    expect(a.lines).toContain(
      't=2004-06-15T00:00:00+09:00 [1010] client-125 → CREDITCO: purchase ¥20,000: E_OVER_LIMIT, tokens [ABSENT], available ¥0 {card: MARK TOKEN USED → not sent}',
    );
    expect(a.lines).toContain(
      't=2004-07-10T09:00:00+09:00 [C4] MICABANK → CREDITCO: deduction 2004-06: U0001 pool ¥30,000 + personal ¥70,000, total ¥100,000',
    );
    const b = await run({ transport: 'http' });
    expect(b.lines).toEqual(a.lines);
    expect(JSON.stringify({ ...b.r, transport: '-' })).toBe(JSON.stringify({ ...a.r, transport: '-' }));
  }, 120_000);

  it('passes with transfer and direct, in faithful mode, and in the other key modes', async () => {
    for (const variants of [
      { placement: 'transfer', 'key-mode': 'contract' },
      { placement: 'share', 'key-mode': 'common' },
      { placement: 'direct', 'key-mode': 'ca' },
    ]) {
      const { r, lines } = await run({ mode: 'faithful', variants });
      expect(failures(r), JSON.stringify(variants)).toEqual([]);
      expect(lines[0]).toContain(`(key mode ${variants['key-mode']}`);
    }
  }, 120_000);

  it('direct: AUTHENTICATE PK before PUT TOKEN into the credit applet, the same over HTTP', async () => {
    const variants = { placement: 'direct', 'key-mode': 'ca' };
    const a = await run({ variants });
    expect(failures(a.r)).toEqual([]);
    // The card is personalised with its credit-AP certificate, then the ATM's deposit authenticates
    // with the bank certificate CREDITCO issued at 1501 and puts the token (chained: two APDUs).
    expect(a.lines[1]).toBe(
      't=2004-06-07T10:00:00+09:00 [—] CREDITCO → card: credit-AP certificate of card 02FE010203040506 issued and stored (personalisation) {card: PUT CERTIFICATE → 9000}',
    );
    expect(a.lines).toContain(
      't=2004-06-15T01:00:00+09:00 [1008] client-125 → CREDITCO: purchase ¥20,000: OK_AVAILABLE, tokens [REFLECTED], available ¥10,000 {card: MARK TOKEN USED → 9000}',
    );
    expect(
      a.lines.some((l) => /\[A4-A6\] .* committed \(direct\) \{card: PUT TOKEN → 9000 9000\}$/.test(l)),
    ).toBe(true);
    // N9 in direct: both answers lost, the deposit reversed, the token reflected, then invalid at 1103.
    expect(a.lines).toContain(
      't=2004-06-15T01:00:00+09:00 [705] atm-105 → MICABANK: cash ¥30,000 for CREDITCO → E_TOKEN_NOT_STORED (LIST TOKENS lost) {card: PUT TOKEN → 9000 lost}',
    );
    const b = await run({ variants, transport: 'http' });
    expect(b.lines).toEqual(a.lines);
  }, 120_000);

  it('prints the --json shape and exits 0; an unknown placement is a usage error', () => {
    const root = new URL('../../', import.meta.url).pathname;
    const mica = join(root, 'tools/bin/mica.js');
    const r = spawnSync(process.execPath, [mica, 'run', 'bank-credit-token', '--json', '--seed', '3'], {
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
      scenario: 'bank-credit-token',
      seed: 3,
      mode: 'hardened',
      transport: 'inproc',
      variants: { placement: 'share', 'key-mode': 'ca' },
      audit: { ok: true },
    });
    const bad = spawnSync(process.execPath, [mica, 'run', 'bank-credit-token', '--variant', 'sideways'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--variant sideways is not a variant of bank-credit-token/);
  }, 120_000);
});
