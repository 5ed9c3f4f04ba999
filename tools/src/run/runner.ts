// The scenario runner behind `mica run` (flows.md 1.7): runs a registered scenario, prints one
// transcript line per step, one PASS or FAIL line per acceptance check, then the audit; builds the
// --json report; and gives the exit code (0 every check and audit passes, 1 otherwise; usage and
// setup errors are thrown as UsageError / SetupError, which the command maps to 2).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAudit, type AuditReport } from '@mica/host-sdk/backend/audit';
import type { LedgerEntry } from '@mica/host-sdk/backend/ledger';
import { canonicalJson } from '@mica/host-sdk/backend/canonical-json';
import { UsageError } from '../cli-error';
import { Fixture, SetupError, formatTime, setTempDir, type FixtureOptions, type StepRecord } from './fixture';
import type { CheckRun, RunOptions, Scenario, ScenarioContext, ScenarioReport } from './scenario';

export interface CheckResult {
  readonly id: string;
  readonly text: string;
  readonly pass: boolean;
  readonly problems: readonly string[];
}

export interface RunReport {
  readonly scenario: string;
  readonly seed: number;
  readonly mode: string;
  readonly transport: string;
  readonly variants: Readonly<Record<string, string>>;
  readonly steps: readonly StepRecord[];
  readonly checks: readonly CheckResult[];
  readonly ledgers: Record<string, { accounts: Record<string, number>; entries: readonly LedgerEntry[] }>;
  readonly cards: Record<string, unknown>;
  /** Named results of the run (ScenarioContext.report), in the order reported. */
  readonly reports: readonly ScenarioReport[];
  readonly audit: {
    readonly ok: boolean;
    readonly main: AuditReport | null;
    readonly fixtures: Record<string, { readonly ok: boolean; readonly failed: readonly string[] }>;
  };
  readonly exitCode: 0 | 1;
}

/** The fixture whose ledgers, cards and audit the report shows, and which --card / --rf apply to. */
export const MAIN_FIXTURE = 'main';

/** Checks the variant choice against the scenario's axes; every axis gets a value (default first). */
export function resolveVariants(
  scenario: Scenario,
  given: readonly string[],
): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [axis, values] of Object.entries(scenario.variants)) out[axis] = values[0]!;
  for (const g of given) {
    const [axis, value] = g.includes('=') ? g.split('=', 2) : [undefined, g];
    const axes = Object.entries(scenario.variants).filter(
      ([a, values]) => (axis === undefined || a === axis) && values.includes(value!),
    );
    if (axes.length !== 1)
      throw new UsageError(
        `--variant ${g} is not a variant of ${scenario.name} (${
          Object.entries(scenario.variants)
            .map(([a, v]) => `${a}: ${v.join(', ')}`)
            .join('; ') || 'it has none'
        })${axes.length > 1 ? '; name the axis as axis=value' : ''}`,
      );
    out[axes[0]![0]] = value!;
  }
  return out;
}

/** One transcript line (flows.md 1.7). */
export function formatStep(s: StepRecord): string {
  const card = s.card ? ` {card: ${s.card.command} → ${s.card.status}}` : '';
  return `t=${formatTime(s.t)} [${s.step}] ${s.from} → ${s.to}: ${s.summary}${card}`;
}

export function formatCheck(c: CheckResult): string {
  return c.pass ? `PASS ${c.id} ${c.text}` : `FAIL ${c.id} ${c.text}: ${c.problems.join('; ')}`;
}

/** The audit part of the text output: the main fixture's C1-C4, then one line per other fixture. */
export function formatRunAudit(report: RunReport): string[] {
  const lines = [`audit (${MAIN_FIXTURE}):`];
  if (report.audit.main) lines.push(...formatAudit(report.audit.main).map((l) => `  ${l}`));
  else lines.push('  no audit (the main fixture took no step)');
  for (const [label, f] of Object.entries(report.audit.fixtures)) {
    if (label === MAIN_FIXTURE) continue;
    lines.push(`audit (${label}): ${f.ok ? 'PASS' : `FAIL ${f.failed.join('; ')}`}`);
  }
  return lines;
}

/**
 * Runs `scenario`. `onLine` receives each transcript line as it happens, then the check and audit
 * lines (the text output); the report is also returned for --json and tests.
 */
export async function runScenario(
  scenario: Scenario,
  options: RunOptions,
  onLine: (line: string) => void = () => {},
): Promise<RunReport> {
  for (const [axis, values] of Object.entries(scenario.variants))
    if (!values.includes(options.variants[axis] ?? ''))
      throw new UsageError(`variant ${axis} must be one of ${values.join(', ')}`);
  const temp = options.data === ':memory:' ? mkdtempSync(join(tmpdir(), 'mica-run-')) : undefined;
  setTempDir(temp);
  const steps: StepRecord[] = [];
  const fixtures = new Map<string, Fixture>();
  const results = new Map<string, string[]>();
  let active: { id: string; problems: string[] } | undefined;
  const loose: string[] = [];
  const specIds = new Set(scenario.checks.map((c) => c.id));
  const reports: ScenarioReport[] = [];

  const problem = (text: string): void => {
    (active ? active.problems : loose).push(text);
  };
  const context: ScenarioContext = {
    options,
    fixture(label: string, fo: FixtureOptions = {}): Fixture {
      if (fixtures.has(label)) throw new SetupError(`fixture "${label}" exists already`);
      if (!/^[a-z0-9][\w.-]{0,63}$/i.test(label))
        throw new SetupError(`fixture label must be letters, digits, _ . or -, got "${label}"`);
      const f = new Fixture(
        label,
        options.transport,
        options.seed,
        options.mode,
        options.data === ':memory:' ? ':memory:' : join(options.data, label),
        {
          step(record) {
            const s: StepRecord = { ...record, check: active?.id ?? null };
            steps.push(s);
            onLine(formatStep(s));
          },
          problem,
        },
        label === MAIN_FIXTURE ? { card: options.card, rf: options.rf, pcap: options.pcap } : {},
        fo,
        options.faults,
        options.cardTap,
      );
      fixtures.set(label, f);
      return f;
    },
    async check(id, body) {
      if (!specIds.has(id)) throw new Error(`scenario ${scenario.name} reports an undeclared check "${id}"`);
      if (active) throw new Error(`check ${id} started inside check ${active.id}`);
      const run = { id, problems: [] as string[] };
      active = run;
      const c: CheckRun = {
        expect(ok, text) {
          if (!ok) run.problems.push(text);
        },
        equal(actual, expected, what) {
          const a = shown(actual);
          const e = shown(expected);
          if (a !== e) run.problems.push(`${what}: got ${a}, expected ${e}`);
        },
      };
      try {
        await body(c);
      } catch (e) {
        if (e instanceof SetupError) throw e;
        run.problems.push(`${(e as Error).name}: ${(e as Error).message}`);
      } finally {
        active = undefined;
      }
      results.set(id, [...(results.get(id) ?? []), ...run.problems]);
    },
    report(name, lines, data) {
      reports.push({ name, lines: [...lines], data });
    },
  };

  let aborted: string | undefined;
  try {
    try {
      await scenario.run(context);
    } catch (e) {
      if (e instanceof SetupError || e instanceof UsageError) throw e;
      aborted = `${(e as Error).name}: ${(e as Error).message}`;
    }
    const checks: CheckResult[] = scenario.checks.map((spec) => {
      const problems = results.get(spec.id);
      if (problems === undefined)
        return { ...spec, pass: false, problems: [aborted ? `not run: ${aborted}` : 'not run'] };
      return { ...spec, pass: problems.length === 0, problems };
    });
    if (loose.length > 0)
      checks.push({ id: 'steps', text: 'steps outside any check', pass: false, problems: loose });

    const main = fixtures.get(MAIN_FIXTURE);
    const ledgers: RunReport['ledgers'] = {};
    let cards: Record<string, unknown> = {};
    if (main) {
      for (const v of await main.views()) {
        if (v.kind === 'terminal' && v.entries.length === 0) continue;
        const accounts: Record<string, number> = {};
        for (const e of v.entries) accounts[e.account] = (accounts[e.account] ?? 0) + e.amount;
        ledgers[v.id] = {
          accounts: Object.fromEntries(
            Object.entries(accounts)
              .filter(([, n]) => n !== 0)
              .sort(([a], [b]) => (a < b ? -1 : 1)),
          ),
          entries: v.entries,
        };
      }
      cards = await main.readCardState();
    }
    const fixtureAudits: Record<string, { ok: boolean; failed: string[] }> = {};
    for (const [label, f] of fixtures) {
      const r = await f.audit();
      fixtureAudits[label] = {
        ok: r.ok,
        failed: r.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id} ${c.status}`),
      };
    }
    const auditOk = Object.values(fixtureAudits).every((f) => f.ok);
    const report: RunReport = {
      scenario: scenario.name,
      seed: options.seed,
      mode: options.mode,
      transport: options.transport,
      variants: options.variants,
      steps,
      checks,
      ledgers,
      cards,
      reports,
      audit: { ok: auditOk, main: main?.finalAudit ?? null, fixtures: fixtureAudits },
      exitCode: auditOk && checks.every((c) => c.pass) ? 0 : 1,
    };
    for (const c of checks) onLine(formatCheck(c));
    for (const r of reports) for (const l of r.lines) onLine(l);
    for (const l of formatRunAudit(report)) onLine(l);
    return report;
  } finally {
    for (const f of fixtures.values()) await f.close();
    setTempDir(undefined);
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

/**
 * A compared value as canonical JSON, with undefined (a value that is not there) shown as such, at the
 * top or inside an array or object (e.g. `[r.nak?.reason]`), instead of canonical JSON's TypeError.
 */
function shown(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(shown).join(',')}]`;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${shown(o[k])}`)
      .join(',')}}`;
  }
  return canonicalJson(value);
}
