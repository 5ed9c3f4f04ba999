// Seed 004 (flows.md 6.5) as `mica run validity-cache`: every acceptance check passes over in-process
// back-ends and over HTTP with the same output; the per-mode table is flows.md 6.3's; money is
// conserved; the CLI prints the table, --cache picks one mode, --json carries it. Then the negative
// paths are driven again here through the scenario's world and checked with figures worked out by
// hand (a NAK after ACK writes nothing, the stolen card after a refresh, the spoofed medium ID).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FELICA_SECURE_COMMANDS } from '@mica/apdu-specs/felica-secure';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import type { Transport } from '@mica/host-sdk/transport/transport';
import type { SessionResult } from '@mica/host-sdk/terminals/validity-terminal';
import { validityCache } from '../src/run/scenarios/validity-cache';
import { CARD_A, CARD_B, IDS, USER_DEPOSIT, ValidityWorld } from '../src/run/scenarios/validity-cache/world';
import { runScenario, type RunReport } from '../src/run/runner';
import type { RunOptions, Scenario, ScenarioContext } from '../src/run/scenario';

const base: RunOptions = {
  mode: 'hardened',
  transport: 'inproc',
  seed: 1,
  data: ':memory:',
  variants: { cache: 'all' },
};

async function run(o: Partial<RunOptions> = {}): Promise<{ r: RunReport; lines: string[] }> {
  const lines: string[] = [];
  const r = await runScenario(validityCache, { ...base, ...o }, (l) => lines.push(l));
  return { r, lines };
}

function failures(r: RunReport): string[] {
  return r.checks.filter((c) => !c.pass).map((c) => `${c.id}: ${c.problems.join('; ')}`);
}

/** Runs `body` inside a one-check scenario (fresh fixtures, audits after every step). */
async function within(
  body: (ctx: ScenarioContext) => Promise<void>,
  o: Partial<RunOptions> = {},
): Promise<RunReport> {
  const s: Scenario = {
    name: 'validity-test',
    title: 'test',
    variants: {},
    checks: [{ id: 'T', text: 'test' }],
    run: (ctx) => ctx.check('T', () => body(ctx)),
  };
  return runScenario(s, { ...base, variants: {}, ...o });
}

describe('mica run validity-cache', () => {
  it('passes every check of flows.md 6.5, in-process and over HTTP, with the same output and the table of 6.3', async () => {
    const a = await run();
    expect(failures(a.r)).toEqual([]);
    expect(a.r.checks.map((c) => c.id)).toEqual([
      'V1',
      'V2',
      'V3',
      'V4',
      'V5',
      'V6',
      'V7',
      'V8',
      'V9',
      'V10',
      'V11-F',
      'V11-H',
      'V12',
      'V13',
      'V14',
    ]);
    expect(a.r.exitCode).toBe(0);
    // flows.md 6.3, and cache sizes by hand: 800 invalid media × 13 B, 100 terminals × 8 B.
    expect(a.lines).toEqual(
      expect.arrayContaining([
        '  mode      timeToAck timeToStart dbAccesses  media terminals  bytes',
        '  none            780        1130          2      0         0      0',
        '  both            100         450          0    800       100  11200',
        '  medium          100         450          1    800         0  10400',
        '  terminal        100         650          1      0       100    800',
      ]),
    );
    // The main fixture (mode none): loads of 3,000 (V1) and 2,000, an unload of 500 (V12) = 4,500 on card A,
    // paid by user A (10,000 − 4,500), owed by the bank to the center (management), backed by the float.
    expect(a.r.cards[CARD_A.mediumId]).toMatchObject({ balances: { '20d0': 4500 } });
    expect(a.r.ledgers[IDS.center]!.accounts).toEqual({
      'clearing:bank1': 4500,
      'liab:float:center1': -4500,
    });
    expect(a.r.ledgers[IDS.bank]!.accounts).toEqual({
      'clearing:center1': -4500,
      'ext:cash': 20_000,
      'liab:personal:user-a': -(USER_DEPOSIT - 4500),
      'liab:personal:user-b': -USER_DEPOSIT,
    });
    expect(a.r.audit.ok).toBe(true);
    expect(a.lines).toContain(
      't=2004-06-07T10:00:01.100+09:00 [S3] 7e00000000000001 → center1: ACK after 100 ms',
    );
    const b = await run({ transport: 'http' });
    expect(b.lines).toEqual(a.lines);
    expect(JSON.stringify({ ...b.r, transport: '-' })).toBe(JSON.stringify({ ...a.r, transport: '-' }));
  }, 60_000);

  it('a NAK after ACK writes nothing: medium mode, unregistered terminal, DB terminal query 500 ms', async () => {
    let r: SessionResult | undefined;
    const same: boolean[] = [];
    const report = await within(async (ctx) => {
      const w = await ValidityWorld.create(ctx, 'nak-after-ack', {
        cacheMode: 'medium',
        dbTerminalMs: 500,
        population: 'examples',
      });
      const image = await w.image(CARD_A);
      const ledgers = await w.ledgers();
      r = await w.present(CARD_A, { kind: 'load', amount: 3000 }, IDS.stranger);
      same.push((await w.image(CARD_A)) === image, (await w.ledgers()) === ledgers);
      same.push(expectOk(await w.bank.account({ accountNo: CARD_A.userAccount })).balance === USER_DEPOSIT);
    });
    expect(report.checks[0]?.problems).toEqual([]);
    // By hand: HELLO arrives at 50, ACK back at 100; TXN sent at 100 + 300 = 400; the DB answers at
    // 50 + 500 = 550, the late NAK arrives at 600, after TXN; START never comes.
    expect(r).toMatchObject({
      outcome: 'nak',
      verdict: 'ACK',
      timeToAck: 100,
      startAt: null,
      nak: { reason: 'TERMINAL_UNREGISTERED', late: true, step: 'S7*' },
    });
    expect(r!.nak!.at - r!.tHello).toBe(600);
    expect(r!.txnSentAt! - r!.tHello).toBe(400);
    expect(same).toEqual([true, true, true]);
  }, 20_000);

  it('the stolen card after a refresh: refused at once with push, accepted until the next interval without', async () => {
    const outcomes: string[] = [];
    const report = await within(
      async (ctx) => {
        for (const push of [true, false]) {
          const w = await ValidityWorld.create(ctx, `stolen-${push}`, {
            cacheMode: 'both',
            push,
            population: 'examples',
          });
          expectOk(await w.db.reportStolen({ mediumId: CARD_A.mediumId }));
          const first = await w.present(CARD_A, { kind: 'load', amount: 100 });
          outcomes.push(`${push ? 'push' : 'no push'}: ${first.nak?.reason ?? first.outcome}`);
          await w.f.advanceTo(w.f.clock.now() + 3_600_000);
          const later = await w.present(CARD_A, { kind: 'load', amount: 100 });
          outcomes.push(`${push ? 'push' : 'no push'}, an hour later: ${later.nak?.reason ?? later.outcome}`);
        }
      },
      { transport: 'http' },
    );
    expect(report.checks[0]?.problems).toEqual([]);
    expect(outcomes).toEqual([
      'push: MEDIUM_STOLEN',
      'push, an hour later: MEDIUM_STOLEN',
      'no push: done',
      'no push, an hour later: MEDIUM_STOLEN',
    ]);
    expect(report.audit.ok).toBe(true);
  }, 20_000);

  it('the spoofed medium ID: faithful loads the stolen card at the victim’s expense; hardened NAKs at T1', async () => {
    const seen: Record<string, unknown> = {};
    const report = await within(async (ctx) => {
      for (const mode of ['faithful', 'hardened'] as const) {
        const w = await ValidityWorld.create(ctx, `spoof-${mode}`, {
          cacheMode: 'terminal',
          mode,
          population: 'examples',
        });
        expectOk(await w.db.reportStolen({ mediumId: CARD_B.mediumId }));
        const r = await w.present(
          CARD_B,
          { kind: 'load', amount: 1200, claimMediumId: CARD_A.mediumId },
          IDS.rogue,
        );
        seen[mode] = {
          outcome: r.outcome,
          reason: r.nak?.reason ?? null,
          cardB: (await w.cardView(CARD_B)).balance,
          userA: expectOk(await w.bank.account({ accountNo: CARD_A.userAccount })).balance,
        };
      }
    });
    expect(report.checks[0]?.problems).toEqual([]);
    expect(seen).toEqual({
      faithful: { outcome: 'done', reason: null, cardB: 1200, userA: USER_DEPOSIT - 1200 },
      hardened: { outcome: 'nak', reason: 'MEDIUM_MISMATCH', cardB: 0, userA: USER_DEPOSIT },
    });
    expect(report.audit.ok).toBe(true);
  }, 20_000);

  it('T2 without a valid answer: the log read decides — applied completes the load once, not applied releases the hold', async () => {
    const seen: Record<string, unknown> = {};
    const report = await within(async (ctx) => {
      for (const lose of ['answer', 'command'] as const) {
        let armed = true;
        const wrapCard = (t: Transport): Transport => ({
          description: `${t.description} (the ${lose} of one Write is lost)`,
          async felica(frame) {
            if (armed && frame[1] === FELICA_SECURE_COMMANDS.write.code) {
              armed = false;
              if (lose === 'command') return null;
              await t.felica(frame);
              return null;
            }
            return t.felica(frame);
          },
          apdu: (c) => t.apdu(c),
          close: () => t.close(),
        });
        const w = await ValidityWorld.create(ctx, `lost-${lose}`, {
          cacheMode: 'both',
          population: 'examples',
          wrapCard,
        });
        // With the answer lost, the card holds value nobody has booked until the log read: the audit
        // after those two steps must catch it (C3).
        w.auditOf = (e) =>
          lose === 'answer' && (e.card?.status === 'no answer' || e.card?.command === 'Read (secure)')
            ? 'fail'
            : 'pass';
        const r = await w.present(CARD_A, { kind: 'load', amount: 2500 });
        const card = await w.cardView(CARD_A);
        seen[lose] = {
          outcome: r.outcome,
          code: r.code ?? null,
          balance: card.balance,
          records: card.log.filter((e) => e.chargeId === r.txId?.slice(0, 16)).length,
          user: expectOk(await w.bank.account({ accountNo: CARD_A.userAccount })).balance,
          float: (await w.ledger(IDS.center))['liab:float:center1'] ?? 0,
        };
      }
    });
    expect(report.checks[0]?.problems).toEqual([]);
    expect(seen).toEqual({
      answer: {
        outcome: 'done',
        code: null,
        balance: 2500,
        records: 1,
        user: USER_DEPOSIT - 2500,
        float: -2500,
      },
      command: {
        outcome: 'refused',
        code: 'E_CARD_REFUSED not applied (log read)',
        balance: 0,
        records: 0,
        user: USER_DEPOSIT,
        float: 0,
      },
    });
    expect(report.audit.ok).toBe(true);
  }, 20_000);

  it('the card leaves after a write without answer: the hold stays; at its next contact the log read settles it once', async () => {
    const seen: unknown[] = [];
    const report = await within(async (ctx) => {
      let state: 'normal' | 'gone' = 'normal';
      let armed = true;
      const wrapCard = (t: Transport): Transport => ({
        description: `${t.description} (leaves the field after one Write)`,
        async felica(frame) {
          if (state === 'gone') return null;
          if (armed && frame[1] === FELICA_SECURE_COMMANDS.write.code) {
            armed = false;
            await t.felica(frame);
            state = 'gone';
            return null;
          }
          return t.felica(frame);
        },
        apdu: (c) => t.apdu(c),
        close: () => t.close(),
      });
      const w = await ValidityWorld.create(ctx, 'card-gone', {
        cacheMode: 'both',
        population: 'examples',
        wrapCard,
      });
      // From the lost answer until the log is read, the card holds value nobody has booked (C3 fails).
      let unbooked = false;
      w.auditOf = (e) => {
        if (e.card?.status === 'no answer') unbooked = true;
        if (e.summary.includes('completed')) unbooked = false;
        return unbooked ? 'fail' : 'pass';
      };
      const first = await w.present(CARD_A, { kind: 'load', amount: 1500 });
      const user = (): Promise<number> =>
        w.bank.account({ accountNo: CARD_A.userAccount }).then((a) => expectOk(a).balance);
      seen.push(first.outcome, (await w.cardView(CARD_A)).balance, await user());
      state = 'normal';
      const next = await w.present(CARD_A, { kind: 'load', amount: 500 });
      seen.push(next.outcome, next.balanceAfter, await user());
      seen.push((await w.ledger(IDS.center))['liab:float:center1']);
      seen.push((await w.cardView(CARD_A)).log.filter((e) => e.chargeId === first.txId?.slice(0, 16)).length);
    });
    expect(report.checks[0]?.problems).toEqual([]);
    expect(seen).toEqual([
      // The write reached the card; the user's 1,500 is held, not yet paid.
      'no-answer',
      1500,
      USER_DEPOSIT - 1500,
      // Next contact: the earlier charge ID is in the log, so that load completes, then this one.
      'done',
      2000,
      USER_DEPOSIT - 2000,
      -2000,
      1,
    ]);
    expect(report.audit.ok).toBe(true);
  }, 20_000);

  it('E_FUNDS and a purse underflow after START: nothing is written, nothing is booked, the hold is released', async () => {
    const seen: unknown[] = [];
    const report = await within(async (ctx) => {
      const w = await ValidityWorld.create(ctx, 'refusals', { cacheMode: 'both', population: 'examples' });
      const image = await w.image(CARD_A);
      const ledgers = await w.ledgers();
      const funds = await w.present(CARD_A, { kind: 'load', amount: USER_DEPOSIT + 1 });
      const underflow = await w.present(CARD_A, { kind: 'unload', amount: 1 });
      seen.push(
        [funds.outcome, funds.code],
        [underflow.outcome, underflow.code],
        (await w.image(CARD_A)) === image,
        (await w.ledgers()) === ledgers,
        expectOk(await w.bank.account({ accountNo: CARD_A.userAccount })).balance,
      );
    });
    expect(report.checks[0]?.problems).toEqual([]);
    // The card starts empty (tools/profiles/validity-cache.json): an unload of ¥1 underflows (SF2 01);
    // the image stays byte for byte what it was.
    expect(seen).toEqual([
      ['refused', 'E_FUNDS'],
      ['refused', 'E_CARD_REFUSED SF FF 01'],
      true,
      true,
      USER_DEPOSIT,
    ]);
  }, 20_000);

  it('the CLI prints the table for --cache terminal, --json carries it; a wrong --cache exits 2', () => {
    const root = new URL('../../', import.meta.url).pathname;
    const mica = join(root, 'tools/bin/mica.js');
    const r = spawnSync(process.execPath, [mica, 'run', 'validity-cache', '--cache', 'terminal', '--json'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { variants: unknown; reports: { name: string; data: unknown }[] };
    expect(j.variants).toEqual({ cache: 'terminal' });
    expect(j.reports).toEqual([
      {
        name: 'metrics',
        data: [
          {
            mode: 'terminal',
            timeToAck: 100,
            timeToStart: 650,
            dbAccesses: 1,
            mediumEntries: 0,
            terminalEntries: 100,
            bytes: 800,
          },
        ],
      },
    ]);
    const bad = spawnSync(process.execPath, [mica, 'run', 'validity-cache', '--cache', 'sometimes'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/cache=sometimes is not a variant of validity-cache/);
  }, 60_000);
});
