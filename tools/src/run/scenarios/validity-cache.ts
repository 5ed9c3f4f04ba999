// `mica run validity-cache` (flows.md 6, seed 004): the validity cache at the e-money center in its four
// modes, the ACK/NAK protocol on the virtual clock, load and unload after START, capture, refresh by
// interval and by push, with every acceptance check of flows.md 6.5, and the per-mode table of
// time-to-ACK, time-to-start, DB accesses and cache size. Each check runs in a fresh fixture. Expected
// figures are flows.md 6.3's table, or worked out here by hand from its defaults (line 50 ms one way,
// DB terminal query 80 ms, DB medium query 600 ms, think time 300 ms; 500 stolen + 300 expired media,
// 100 terminals, 13 B per medium entry, 8 B per terminal entry).
import { MS_PER_DAY } from '@mica/host-sdk/platform/clock';
import { CACHE_MODES, type CacheMode } from '@mica/host-sdk/backend/kinds/emoney-center';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import type { SessionResult } from '@mica/host-sdk/terminals/validity-terminal';
import type { CheckRun, Scenario } from '../scenario';
import {
  CARD_A,
  CARD_B,
  CardCapturedError,
  IDS,
  USER_DEPOSIT,
  ValidityWorld,
  type ValidityOptions,
} from './validity-cache/world';

const CHECKS = [
  { id: 'V1', text: "each mode's happy path reproduces the metrics table exactly, and none is the slowest" },
  {
    id: 'V2',
    text: 'both: a stolen card, an expired card and an unregistered terminal each get a NAK with 0 DB accesses, and the connection closes',
  },
  { id: 'V3', text: 'a card that expires at midnight is refused the next day without any refresh' },
  {
    id: 'V4',
    text: 'medium, invalid terminal: ACK, then NAK (S7*); with a 500 ms DB terminal query the NAK arrives after TXN; the card image and all ledgers are unchanged',
  },
  { id: 'V5', text: 'medium, invalid medium: an immediate NAK, with no DB query' },
  {
    id: 'V6',
    text: 'terminal, valid IDs: START waits for the DB (650 ms) even though TXN arrived at 450 ms',
  },
  { id: 'V7', text: 'terminal, stolen card: a late NAK at 700 ms, with no write' },
  { id: 'V8', text: 'capture: true: the card is kept, capturedAt is set, and the push updates the cache' },
  { id: 'V9', text: 'terminal, invalid terminal: an immediate NAK, with no medium query' },
  {
    id: 'V10',
    text: 'a card reported stolen after a refresh is refused at once with push on, and accepted until the next interval with push off',
  },
  {
    id: 'V11-F',
    text: "attack: a rogue terminal presents a stolen card under a valid card's ID; faithful: the load is written",
  },
  {
    id: 'V11-H',
    text: "attack: a rogue terminal presents a stolen card under a valid card's ID; hardened: NAK MEDIUM_MISMATCH, nothing written",
  },
  {
    id: 'V12',
    text: 'load and unload move money between the user and management accounts, and the purse matches (C3)',
  },
  {
    id: 'V13',
    text: 'the storage report shows the terminal-only cache as the smallest and the both cache as the largest',
  },
  { id: 'V14', text: 'a HELLO sent before the initial load gets E_NOT_READY' },
] as const;

/** flows.md 6.3: the expected metrics at the defaults. */
const TABLE: Record<CacheMode, { timeToAck: number; timeToStart: number; dbAccesses: number }> = {
  none: { timeToAck: 780, timeToStart: 1130, dbAccesses: 2 },
  both: { timeToAck: 100, timeToStart: 450, dbAccesses: 0 },
  medium: { timeToAck: 100, timeToStart: 450, dbAccesses: 1 },
  terminal: { timeToAck: 100, timeToStart: 650, dbAccesses: 1 },
};

/** Cache sizes at the default population, by hand: 800 invalid media × 13 B, 100 terminals × 8 B. */
const SIZES: Record<CacheMode, { mediumEntries: number; terminalEntries: number; bytes: number }> = {
  none: { mediumEntries: 0, terminalEntries: 0, bytes: 0 },
  both: { mediumEntries: 800, terminalEntries: 100, bytes: 11_200 },
  medium: { mediumEntries: 800, terminalEntries: 0, bytes: 10_400 },
  terminal: { mediumEntries: 0, terminalEntries: 100, bytes: 800 },
};

const LOAD = { kind: 'load', amount: 3000 } as const;

interface ModeRow {
  readonly mode: CacheMode;
  readonly timeToAck: number | null;
  readonly timeToStart: number | null;
  readonly dbAccesses: number;
  readonly mediumEntries: number;
  readonly terminalEntries: number;
  readonly bytes: number;
}

function nakOf(r: SessionResult): string {
  return r.nak
    ? `${r.nak.reason}${r.nak.late ? ' late' : ''} at ${r.nak.at - r.tHello} ms`
    : `no NAK (${r.outcome})`;
}

/** A session that must end in a NAK and change nothing: the card image and every ledger are compared. */
async function refusedUnchanged(
  c: CheckRun,
  w: ValidityWorld,
  run: () => Promise<SessionResult>,
  what: string,
): Promise<SessionResult> {
  const imageA = await w.image(CARD_A);
  const imageB = await w.image(CARD_B);
  const ledgers = await w.ledgers();
  const r = await run();
  c.equal(r.outcome, 'nak', `${what}: outcome`);
  c.equal(await w.image(CARD_A), imageA, `${what}: card A image (byte for byte)`);
  c.equal(await w.image(CARD_B), imageB, `${what}: card B image (byte for byte)`);
  c.equal(await w.ledgers(), ledgers, `${what}: every ledger`);
  return r;
}

export const validityCache: Scenario = {
  name: 'validity-cache',
  title: 'seed 004: validity cache at the e-money center (cache modes, ACK/NAK, load and unload)',
  variants: { cache: ['all', ...CACHE_MODES] },
  checks: CHECKS,
  async run(ctx) {
    const selected: readonly CacheMode[] =
      ctx.options.variants['cache'] === 'all' || ctx.options.variants['cache'] === undefined
        ? CACHE_MODES
        : [ctx.options.variants['cache'] as CacheMode];
    const byMode = new Map<CacheMode, ValidityWorld>();
    const modeWorld = async (mode: CacheMode): Promise<ValidityWorld> => {
      const have = byMode.get(mode);
      if (have) return have;
      const w = await ValidityWorld.create(ctx, mode === selected[0] ? 'main' : `mode-${mode}`, {
        cacheMode: mode,
      });
      byMode.set(mode, w);
      return w;
    };
    const world = (label: string, o: ValidityOptions): Promise<ValidityWorld> =>
      ValidityWorld.create(ctx, label, { population: 'examples', ...o });

    const rows: ModeRow[] = [];
    await ctx.check('V1', async (c) => {
      for (const mode of selected) {
        const w = await modeWorld(mode);
        const r = await w.present(CARD_A, LOAD);
        c.equal(r.outcome, 'done', `${mode}: the load`);
        const conn = await w.connection(r.connectionId);
        const s = expectOk(await w.center.status({}));
        const row: ModeRow = {
          mode,
          timeToAck: r.timeToAck,
          timeToStart: conn.timeToStart,
          dbAccesses: conn.dbAccesses,
          mediumEntries: s.mediumEntries,
          terminalEntries: s.terminalEntries,
          bytes: s.bytes,
        };
        rows.push(row);
        c.equal(
          { timeToAck: row.timeToAck, timeToStart: row.timeToStart, dbAccesses: row.dbAccesses },
          TABLE[mode],
          `${mode}: metrics (flows.md 6.3)`,
        );
      }
      if (selected.length === CACHE_MODES.length) {
        const none = rows.find((r) => r.mode === 'none')!;
        for (const r of rows)
          if (r.mode !== 'none')
            c.expect(
              (r.timeToAck ?? 0) < (none.timeToAck ?? 0) && (r.timeToStart ?? 0) < (none.timeToStart ?? 0),
              `none (${none.timeToAck}/${none.timeToStart} ms) must be slower than ${r.mode} (${r.timeToAck}/${r.timeToStart} ms)`,
            );
      }
      const w = (s: string | number | null, n: number): string => String(s ?? '—').padStart(n);
      ctx.report(
        'metrics',
        [
          'per-mode metrics (virtual ms; flows.md 6.3 defaults):',
          `  ${'mode'.padEnd(9)}${w('timeToAck', 10)}${w('timeToStart', 12)}${w('dbAccesses', 11)}${w('media', 7)}${w('terminals', 10)}${w('bytes', 7)}`,
          ...rows.map(
            (r) =>
              `  ${r.mode.padEnd(9)}${w(r.timeToAck, 10)}${w(r.timeToStart, 12)}${w(r.dbAccesses, 11)}${w(r.mediumEntries, 7)}${w(r.terminalEntries, 10)}${w(r.bytes, 7)}`,
          ),
        ],
        rows,
      );
    });

    await ctx.check('V12', async (c) => {
      const w = await modeWorld(selected[0]!);
      const before = expectOk(await w.bank.account({ accountNo: CARD_A.userAccount })).balance;
      const balanceBefore = (await w.cardView(CARD_A)).balance;
      const load = await w.present(CARD_A, { kind: 'load', amount: 2000 });
      c.equal([load.outcome, load.balanceAfter], ['done', balanceBefore + 2000], 'load ¥2,000');
      const unload = await w.present(CARD_A, { kind: 'unload', amount: 500 });
      c.equal([unload.outcome, unload.balanceAfter], ['done', balanceBefore + 1500], 'unload ¥500');
      c.equal(
        expectOk(await w.bank.account({ accountNo: CARD_A.userAccount })).balance,
        before - 1500,
        'user account: −2,000 + 500',
      );
      const card = await w.cardView(CARD_A);
      c.equal(card.balance, balanceBefore + 1500, 'purse');
      c.equal(
        [load, unload].map((x) =>
          card.log.filter((e) => e.chargeId === x.txId?.slice(0, 16)).map((e) => [e.kind, e.amount]),
        ),
        [[['add', 2000]], [['subtract', 500]]],
        'one log record per value change, with its charge ID',
      );
      // The management account is the bank's clearing:<center> position; the float backs the purse.
      c.equal(
        (await w.ledger(IDS.bank))[`clearing:${IDS.center}`],
        -card.balance,
        'bank: management (clearing:center1)',
      );
      c.equal(
        (await w.ledger(IDS.center))[`liab:float:${IDS.center}`],
        -card.balance,
        'center: float = purse',
      );
      c.expect((await w.f.audit()).ok, 'the audit passes (C3: the float matches the purse)');
      const rows2 = expectOk(await w.db.transactions({ mediumId: CARD_A.mediumId }));
      c.expect(
        rows2.some((t) => t.txId === unload.txId && t.status === 'completed' && t.kind === 'unload'),
        'the unload is in transaction data [12]',
      );
    });

    await ctx.check('V2', async (c) => {
      const w = await world('both-negative', { cacheMode: 'both' });
      expectOk(await w.db.reportStolen({ mediumId: CARD_B.mediumId }));
      const counts = expectOk(await w.db.accessCounts({}));
      const stolen = await refusedUnchanged(c, w, () => w.present(CARD_B, LOAD), 'stolen card');
      c.equal(nakOf(stolen), 'MEDIUM_STOLEN at 100 ms', 'stolen card');
      const stranger = await refusedUnchanged(
        c,
        w,
        () => w.present(CARD_A, LOAD, IDS.stranger),
        'unregistered terminal',
      );
      c.equal(nakOf(stranger), 'TERMINAL_UNREGISTERED at 100 ms', 'unregistered terminal');
      for (const r of [stolen, stranger]) {
        const conn = await w.connection(r.connectionId);
        c.equal(
          [conn.dbAccesses, conn.state, r.txnSentAt],
          [0, 'closed', null],
          `${nakOf(r)}: DB accesses, connection, TXN`,
        );
      }
      const expired = await world('both-expired', { cacheMode: 'both', expiresOnA: w.f.clock.today() - 1 });
      const e = await refusedUnchanged(c, expired, () => expired.present(CARD_A, LOAD), 'expired card');
      c.equal(nakOf(e), 'MEDIUM_EXPIRED at 100 ms', 'expired card');
      c.equal((await expired.connection(e.connectionId)).dbAccesses, 0, 'expired card: DB accesses');
      c.equal(expectOk(await w.db.accessCounts({})), counts, 'the center database was not queried');
    });

    await ctx.check('V3', async (c) => {
      const w = await world('expiry', {
        cacheMode: 'both',
        refreshIntervalMs: 7 * MS_PER_DAY,
      });
      // Card A expires tomorrow at 00:00 JST: valid today, refused from midnight on.
      const midnight = await world('expiry-midnight', {
        cacheMode: 'both',
        refreshIntervalMs: 7 * MS_PER_DAY,
        expiresOnA: w.f.clock.today() + 1,
      });
      const today = await midnight.present(CARD_A, { kind: 'load', amount: 100 });
      c.equal(today.outcome, 'done', 'the day before its expiry');
      const loads = expectOk(await midnight.center.status({})).loads;
      await midnight.f.advanceTo(midnight.f.clock.now() + MS_PER_DAY);
      const next = await refusedUnchanged(c, midnight, () => midnight.present(CARD_A, LOAD), 'the next day');
      c.equal(next.nak?.reason, 'MEDIUM_EXPIRED', 'the next day');
      c.equal(expectOk(await midnight.center.status({})).loads, loads, 'no refresh in between');
      const other = await w.present(CARD_A, { kind: 'load', amount: 100 });
      c.equal(other.outcome, 'done', 'a card with a later expiry is still accepted');
    });

    await ctx.check('V4', async (c) => {
      for (const dbTerminalMs of [80, 500]) {
        const w = await world(`medium-stranger-${dbTerminalMs}`, { cacheMode: 'medium', dbTerminalMs });
        const r = await refusedUnchanged(
          c,
          w,
          () => w.present(CARD_A, LOAD, IDS.stranger),
          `DB terminal query ${dbTerminalMs} ms`,
        );
        c.equal(
          [r.verdict, r.timeToAck, r.nak?.reason, r.nak?.late, r.nak?.step],
          ['ACK', 100, 'TERMINAL_UNREGISTERED', true, 'S7*'],
          `${dbTerminalMs} ms: ACK then late NAK`,
        );
        // By hand: NAK sent at 50 + dbTerminalMs, delivered 50 ms later; TXN is sent at 100 + 300 = 400.
        c.equal(r.nak ? r.nak.at - r.tHello : null, 100 + dbTerminalMs, `${dbTerminalMs} ms: NAK arrival`);
        c.equal(
          r.txnSentAt === null ? null : r.txnSentAt - r.tHello,
          dbTerminalMs === 500 ? 400 : null,
          `${dbTerminalMs} ms: TXN sent before the NAK`,
        );
        c.equal(r.startAt, null, `${dbTerminalMs} ms: no START`);
      }
    });

    await ctx.check('V5', async (c) => {
      const w = await world('medium-stolen', { cacheMode: 'medium' });
      expectOk(await w.db.reportStolen({ mediumId: CARD_B.mediumId }));
      const counts = expectOk(await w.db.accessCounts({}));
      const r = await refusedUnchanged(c, w, () => w.present(CARD_B, LOAD), 'stolen card');
      c.equal([r.verdict, nakOf(r)], ['NAK', 'MEDIUM_STOLEN at 100 ms'], 'immediate NAK');
      c.equal((await w.connection(r.connectionId)).dbAccesses, 0, 'DB accesses');
      await w.f.advanceTo(w.f.clock.now() + 1000);
      c.equal(expectOk(await w.db.accessCounts({})), counts, 'no DB query, then or later');
    });

    await ctx.check('V6', async (c) => {
      const w = await world('terminal-valid', { cacheMode: 'terminal' });
      const r = await w.present(CARD_A, LOAD);
      const conn = await w.connection(r.connectionId);
      c.equal(r.outcome, 'done', 'the load');
      c.equal(r.txnSentAt === null ? null : r.txnSentAt + 50 - r.tHello, 450, 'TXN arrived at 450 ms');
      c.equal(conn.timeToStart, 650, 'START at 650 ms');
    });

    await ctx.check('V7', async (c) => {
      const w = await world('terminal-stolen', { cacheMode: 'terminal' });
      expectOk(await w.db.reportStolen({ mediumId: CARD_B.mediumId }));
      const r = await refusedUnchanged(c, w, () => w.present(CARD_B, LOAD), 'stolen card');
      c.equal(
        [r.verdict, r.timeToAck, nakOf(r)],
        ['ACK', 100, 'MEDIUM_STOLEN late at 700 ms'],
        'ACK, then the late NAK',
      );
      c.equal(r.startAt, null, 'no START');
    });

    await ctx.check('V8', async (c) => {
      const w = await world('capture', { cacheMode: 'both', capture: true });
      expectOk(await w.db.reportStolen({ mediumId: CARD_B.mediumId }));
      const r = await w.present(CARD_B, LOAD);
      c.equal(
        [r.outcome, r.nak?.reason, r.captured],
        ['nak', 'MEDIUM_STOLEN', true],
        'NAK and the card kept',
      );
      const m = expectOk(await w.db.queryMedium({ mediumId: CARD_B.mediumId }));
      c.expect(m !== null && m.capturedAt !== null, 'capturedAt is set in the center database');
      const entry = expectOk(await w.center.cached({ mediumId: CARD_B.mediumId }));
      c.equal(
        entry && 'status' in entry ? entry.status : null,
        'stolen',
        'the cache entry (stolen wins over captured)',
      );
      c.equal(expectOk(await w.center.status({})).loads, 1, 'no reload: the push updated the cache');
      let refused = false;
      try {
        await w.present(CARD_B, LOAD);
      } catch (e) {
        refused = e instanceof CardCapturedError;
      }
      c.expect(refused, 'the captured card can no longer be presented');
      // A medium that is only captured (not reported stolen) reaches the cache as captured by the push.
      const x = await world('capture-expired', {
        cacheMode: 'both',
        capture: true,
        expiresOnA: w.f.clock.today() - 1,
      });
      const e = await x.present(CARD_A, LOAD);
      c.equal([e.nak?.reason, e.captured], ['MEDIUM_EXPIRED', true], 'expired card kept');
      const ex = expectOk(await x.center.cached({ mediumId: CARD_A.mediumId }));
      c.equal(
        ex && 'status' in ex ? ex.status : null,
        'captured',
        'the pushed capture replaces the expiry entry',
      );
      const y = await world('capture-terminal-mode', { cacheMode: 'medium', capture: true });
      expectOk(await y.db.reportStolen({ mediumId: CARD_B.mediumId }));
      const beforeSeq = expectOk(await y.center.status({})).dbSeq;
      const yr = await y.present(CARD_B, LOAD);
      c.equal(yr.captured, true, 'medium mode: the card is kept');
      c.expect(expectOk(await y.center.status({})).dbSeq > beforeSeq, 'the capture was pushed to the center');
    });

    await ctx.check('V9', async (c) => {
      const w = await world('terminal-stranger', { cacheMode: 'terminal' });
      const counts = expectOk(await w.db.accessCounts({}));
      const r = await refusedUnchanged(
        c,
        w,
        () => w.present(CARD_A, LOAD, IDS.stranger),
        'unregistered terminal',
      );
      c.equal([r.verdict, nakOf(r)], ['NAK', 'TERMINAL_UNREGISTERED at 100 ms'], 'immediate NAK');
      await w.f.advanceTo(w.f.clock.now() + 1000);
      c.equal(expectOk(await w.db.accessCounts({})), counts, 'no medium query');
      c.equal((await w.connection(r.connectionId)).dbAccesses, 0, 'DB accesses');
    });

    await ctx.check('V10', async (c) => {
      const on = await world('push-on', { cacheMode: 'both', push: true });
      expectOk(await on.db.reportStolen({ mediumId: CARD_A.mediumId }));
      const r1 = await refusedUnchanged(c, on, () => on.present(CARD_A, LOAD), 'push on');
      c.equal(nakOf(r1), 'MEDIUM_STOLEN at 100 ms', 'push on: refused at once');
      const off = await world('push-off', { cacheMode: 'both', push: false });
      const loadedAt = expectOk(await off.center.status({})).loadedAt!;
      expectOk(await off.db.reportStolen({ mediumId: CARD_A.mediumId }));
      const r2 = await off.present(CARD_A, { kind: 'load', amount: 100 });
      c.equal(r2.outcome, 'done', 'push off: accepted before the next interval (the documented staleness)');
      await off.f.advanceTo(loadedAt + 3_600_000);
      const r3 = await refusedUnchanged(
        c,
        off,
        () => off.present(CARD_A, LOAD),
        'push off, after the interval',
      );
      c.equal(r3.nak?.reason, 'MEDIUM_STOLEN', 'push off: refused after the interval refresh');
    });

    for (const mode of ['faithful', 'hardened'] as const) {
      await ctx.check(mode === 'faithful' ? 'V11-F' : 'V11-H', async (c) => {
        const w = await world(`spoof-${mode}`, { cacheMode: 'both', mode });
        expectOk(await w.db.reportStolen({ mediumId: CARD_B.mediumId }));
        const viewB = await w.cardView(CARD_B);
        const ledgers = await w.ledgers();
        const userA = expectOk(await w.bank.account({ accountNo: CARD_A.userAccount })).balance;
        // The rogue (registered) terminal holds stolen card B and names card A in HELLO.
        const r = await w.present(CARD_B, { ...LOAD, claimMediumId: CARD_A.mediumId }, IDS.rogue);
        if (mode === 'faithful') {
          c.equal(
            [r.outcome, r.balanceAfter],
            ['done', viewB.balance + LOAD.amount],
            'the load is written to the stolen card',
          );
          c.equal(
            expectOk(await w.bank.account({ accountNo: CARD_A.userAccount })).balance,
            userA - LOAD.amount,
            "card A's user pays",
          );
        } else {
          c.equal(
            [r.outcome, r.nak?.reason, r.nak?.step],
            ['nak', 'MEDIUM_MISMATCH', 'T1'],
            'NAK MEDIUM_MISMATCH at T1',
          );
          c.equal(await w.cardView(CARD_B), viewB, 'card B: value and log unchanged');
          c.equal(await w.ledgers(), ledgers, 'every ledger unchanged');
        }
      });
    }

    await ctx.check('V13', async (c) => {
      const sizes: Partial<Record<CacheMode, number>> = {};
      for (const mode of ['both', 'medium', 'terminal'] as const) {
        const w = await modeWorld(mode);
        const s = expectOk(await w.center.status({}));
        c.equal(
          { mediumEntries: s.mediumEntries, terminalEntries: s.terminalEntries, bytes: s.bytes },
          SIZES[mode],
          `${mode}: cache size`,
        );
        sizes[mode] = s.bytes;
      }
      c.expect(
        sizes.terminal! < sizes.medium! && sizes.medium! < sizes.both!,
        `terminal < medium < both (${JSON.stringify(sizes)})`,
      );
    });

    await ctx.check('V14', async (c) => {
      const w = await world('not-ready', { cacheMode: 'both', ready: false });
      const { readyAt } = expectOk(await w.center.start({}));
      const r = await w.present(CARD_A, LOAD);
      c.equal([r.outcome, r.code], ['not-ready', 'E_NOT_READY'], 'HELLO before the initial load');
      await w.f.advanceTo(readyAt);
      const ok = await w.present(CARD_A, { kind: 'load', amount: 100 });
      c.equal(ok.outcome, 'done', 'after the load');
      c.equal(
        USER_DEPOSIT - 100,
        expectOk(await w.bank.account({ accountNo: CARD_A.userAccount })).balance,
        'one load booked',
      );
    });
  },
};
