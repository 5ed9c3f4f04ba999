// `mica campaign faults` (issue 9, item 5): back-end faults at every step of every business flow. Each
// scenario of `mica run` first runs clean, counting its back-end calls and card exchanges (the fault
// points, tools/src/run/faults.ts); then one fault per run: a lost request, a lost response, a
// duplicated request or a restarted back-end at a back-end call, or the card removed at an exchange.
// A faulted run is judged: no exception of a programming error escapes; every fixture's final audit
// passes (C1-C3, with the in-flight items C4 allows: the flow's own recovery or reconciliation must
// have found every half-finished transaction); a duplicated request with a txId leaves every balance as the clean
// run left it (no txId moving money twice). A check the fault makes fail is a clean refusal, counted
// as an outcome, not a failure. The budget is the number of fault points, spread evenly over every
// (scenario, fault) pair; a budget at least the number of points tries each once. Over `--transport
// http` every run serves its back-ends on loopback ports as `mica run --transport http` does (the seam
// is the same monitored call, so the points are the same); a restart needs the in-process World. With
// `jobs` the points run in worker processes (faults-workers.ts) and the report is the same.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '@mica/host-sdk/backend/canonical-json';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import {
  BACKEND_FAULTS,
  CARD_FAULTS,
  FaultPlan,
  isBackendFault,
  type FaultKind,
  type FaultPlanOptions,
} from '../run/faults';
import { SCENARIOS, scenarioNamed } from '../run/registry';
import { resolveVariants, runScenario, type RunReport } from '../run/runner';
import type { BackendTransport, Scenario } from '../run/scenario';
import { runInWorkers } from './faults-workers';
import type { CampaignContext, CampaignKind } from './runner';

/** The seed of every scenario run (`mica run`'s default): the clean run and the faulted runs agree. */
export const SCENARIO_SEED = 1;
export const FAULT_KINDS: readonly FaultKind[] = [...BACKEND_FAULTS, ...CARD_FAULTS];

/** Exceptions that are bugs, not refusals: one escaping a check or the scenario is a crash. */
const CRASH = /^(?:not run: )?(?:TypeError|ReferenceError|SyntaxError|AssertionError)\b/;

interface Baseline {
  readonly scenario: Scenario;
  readonly backendCalls: number;
  readonly cardExchanges: number;
  readonly balances: string;
  readonly passing: ReadonlySet<string>;
}

interface Outcome<P extends FaultPlan = FaultPlan> {
  readonly report: RunReport;
  readonly plan: P;
}

/**
 * One run of `scenario` as the campaign makes it (hardened, SCENARIO_SEED, its default variants) with
 * `plan` as its fault seam; on disk (a temporary directory, removed after) for a restart point. The
 * tests' replays use it too, so a point they name is the campaign's point.
 */
export async function runWithPlan<P extends FaultPlan>(
  scenario: Scenario,
  plan: P,
  { onDisk = false, transport = 'inproc' }: { onDisk?: boolean; transport?: BackendTransport } = {},
): Promise<Outcome<P>> {
  const dir = onDisk ? mkdtempSync(join(tmpdir(), 'mica-faults-')) : ':memory:';
  try {
    const report = await runScenario(scenario, {
      mode: 'hardened',
      transport,
      seed: SCENARIO_SEED,
      data: dir,
      variants: resolveVariants(scenario, []),
      faults: plan,
    });
    return { report, plan };
  } finally {
    if (onDisk) rmSync(dir, { recursive: true, force: true });
  }
}

function balancesOf(plan: FaultPlan): string {
  return canonicalJson(Object.fromEntries(plan.balances));
}

/** `count` indices of `0..n-1`, evenly spaced from an offset drawn from `rng` (all of them if count ≥ n). */
export function spread(n: number, count: number, offset: number): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  const step = n / count;
  return Array.from({ length: count }, (_, i) => Math.min(n - 1, Math.floor((i + offset) * step)));
}

/** The budget shared over groups of `sizes`: evenly, a group's unused share going to the others. */
export function share(budget: number, sizes: readonly number[]): number[] {
  const out = sizes.map(() => 0);
  let left = budget;
  let open = sizes.map((_, i) => i).filter((i) => sizes[i]! > 0);
  while (left > 0 && open.length > 0) {
    const each = Math.max(1, Math.floor(left / open.length));
    for (const i of open) {
      if (left === 0) break;
      const take = Math.min(each, sizes[i]! - out[i]!, left);
      out[i] = out[i]! + take;
      left -= take;
    }
    open = open.filter((i) => out[i]! < sizes[i]!);
  }
  return out;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/** What a fault point's run found: replayed onto the campaign's context in point order. */
export type PointEvent =
  | { readonly op: 'fail'; readonly category: string; readonly input: string; readonly problem: string }
  | { readonly op: 'note'; readonly category: string; readonly outcome: string };

type Sink = Pick<CampaignContext, 'fail' | 'note'>;

/** One fault point to run: the scenario by name, and what the judge needs of its clean run. */
export interface PointJob {
  readonly scenario: string;
  readonly kind: FaultKind;
  readonly index: number;
  readonly balances: string;
  readonly passing: readonly string[];
}

function judge(
  ctx: Sink,
  category: string,
  input: string,
  kind: FaultKind,
  base: Pick<Baseline, 'balances' | 'passing'>,
  { report, plan }: Outcome,
): void {
  if (plan.injectedAt === undefined) {
    ctx.fail(category, input, 'the fault point was never reached (the run diverged from the clean run)');
    return;
  }
  const at = `${input} at ${plan.injectedAt}`;
  const crashes = report.checks.flatMap((c) =>
    c.problems.filter((p) => CRASH.test(p)).map((p) => `${c.id}: ${p}`),
  );
  if (crashes.length > 0) ctx.fail(category, at, `an exception escaped: ${crashes.join('; ')}`);
  const unbalanced = Object.entries(report.audit.fixtures).filter(([, f]) => !f.ok);
  if (unbalanced.length > 0)
    ctx.fail(
      category,
      at,
      `not conserved at the end of the run: ${unbalanced.map(([l, f]) => `${l} ${f.failed.join(', ')}`).join('; ')}`,
    );
  // A retried money-moving request (one with a txId) is answered from the idempotency table and
  // changes nothing: the run ends as the clean run did. (A duplicated request without a txId, e.g. a
  // new challenge, may make the flow refuse; conservation is what holds then.)
  if (kind === 'duplicate' && plan.duplicatedTxId !== undefined && balancesOf(plan) !== base.balances)
    ctx.fail(
      category,
      at,
      `a duplicated request moved money again: txId ${plan.duplicatedTxId} left other balances than the clean run`,
    );
  const refused = report.checks.filter((c) => !c.pass && base.passing.has(c.id)).map((c) => c.id);
  const conserved = unbalanced.length === 0 ? 'conserved' : 'NOT conserved';
  const checks = refused.length === 0 ? 'checks as clean' : 'a check refused';
  ctx.note(category, `${conserved}, ${checks}${plan.inFlight > 0 ? ', in flight (C4)' : ''}`);
}

export interface FaultsCampaignOptions {
  readonly scenarios?: () => readonly Scenario[];
  readonly kinds?: readonly FaultKind[];
  /** The campaign's own test: a back-end that ignores idempotency (FaultPlanOptions). */
  readonly plan?: FaultPlanOptions;
  /** Chooses the points of a (scenario, fault) pair instead of the budget's even spread (tests). */
  readonly points?: (scenario: string, kind: FaultKind, size: number) => readonly number[];
  /**
   * How terminals reach back-ends and back-ends each other (default inproc). Over http there is no
   * restart fault: World.restart reopens an in-process instance, not a served one.
   */
  readonly transport?: BackendTransport;
  /**
   * Worker processes that run the fault points (`--jobs`; default 1, in this process). The report is
   * the same for any number: each point's findings are applied in point order.
   */
  readonly jobs?: number;
}

/** The fault kinds a transport can inject (every kind but a restart over http). */
export function faultKindsOver(transport: BackendTransport): readonly FaultKind[] {
  return transport === 'http' ? FAULT_KINDS.filter((k) => k !== 'restart') : FAULT_KINDS;
}

export async function runFaults(ctx: CampaignContext, options: FaultsCampaignOptions = {}): Promise<void> {
  const scenarios = (options.scenarios ?? (() => SCENARIOS))();
  const transport = options.transport ?? 'inproc';
  const kinds = options.kinds ?? faultKindsOver(transport);
  const unsupported = kinds.filter((k) => !faultKindsOver(transport).includes(k));
  if (unsupported.length > 0)
    throw new RangeError(
      `the faults campaign over ${transport} cannot inject ${unsupported.join(', ')} (a restart reopens an in-process instance)`,
    );
  if ((options.jobs ?? 1) > 1)
    for (const s of scenarios)
      if (scenarioNamed(s.name) !== s)
        throw new RangeError(`--jobs runs registered scenarios only; ${s.name} is not one`);
  const baselines: Baseline[] = [];
  for (const scenario of scenarios) {
    await ctx.pause();
    const { report, plan } = await runWithPlan(scenario, new FaultPlan(undefined), { transport });
    if (report.exitCode !== 0) {
      const failing = report.checks.filter((c) => !c.pass).map((c) => `${c.id}: ${c.problems.join('; ')}`);
      ctx.fail(`${scenario.name}: clean run`, scenario.name, `fails without a fault: ${failing.join(' | ')}`);
      continue;
    }
    // The size of the scenario's fault space, for the report.
    ctx.note(
      `${scenario.name}: clean run`,
      `${plan.backendCalls} back-end calls, ${plan.cardExchanges} card exchanges`,
    );
    baselines.push({
      scenario,
      backendCalls: plan.backendCalls,
      cardExchanges: plan.cardExchanges,
      balances: balancesOf(plan),
      passing: new Set(report.checks.filter((c) => c.pass).map((c) => c.id)),
    });
  }
  const groups = baselines.flatMap((base) =>
    kinds.map((kind) => ({
      base,
      kind,
      size: isBackendFault(kind) ? base.backendCalls : base.cardExchanges,
    })),
  );
  // The budget is shared in diagonal order (scenario s, fault s; then scenario s, fault s+1; …) so a
  // small budget reaches every scenario and every fault before any pair gets a second point.
  const diagonal = groups
    .map((g, i) => ({ i, d: (i % kinds.length) - Math.floor(i / kinds.length) }))
    .sort((a, b) => mod(a.d, kinds.length) - mod(b.d, kinds.length) || a.i - b.i)
    .map((x) => x.i);
  const shared = share(
    ctx.budget,
    diagonal.map((i) => groups[i]!.size),
  );
  const counts = groups.map((_, i) => shared[diagonal.indexOf(i)]!);
  const rng = new SeededRng(ctx.seed).fork('faults');
  const points = groups.flatMap((g, i) => {
    const offset = rng.fork(`${g.base.scenario.name}/${g.kind}`).bytes(1)[0]! / 256;
    const chosen = options.points
      ? options.points(g.base.scenario.name, g.kind, g.size)
      : spread(g.size, counts[i]!, offset);
    return chosen.map((index) => ({ ...g, index }));
  });
  const jobs: PointJob[] = points.map(({ base, kind, index }) => ({
    scenario: base.scenario.name,
    kind,
    index,
    balances: base.balances,
    passing: [...base.passing],
  }));
  for (const j of jobs) ctx.tried(`${j.scenario}: ${j.kind}`);
  const apply = (events: readonly PointEvent[]): void => {
    for (const e of events)
      if (e.op === 'fail') ctx.fail(e.category, e.input, e.problem);
      else ctx.note(e.category, e.outcome);
  };
  const workers = Math.min(options.jobs ?? 1, jobs.length);
  if (workers > 1) {
    await runInWorkers(jobs, workers, { transport, plan: options.plan ?? {} }, apply, (done) =>
      ctx.progress(done, jobs.length),
    );
  } else {
    const byName = new Map(scenarios.map((s) => [s.name, s]));
    for (const [i, job] of jobs.entries()) {
      ctx.progress(i, jobs.length);
      await ctx.pause();
      apply(await runPoint(byName.get(job.scenario)!, job, transport, options.plan));
    }
  }
  ctx.progress(jobs.length, jobs.length);
}

/** Runs one fault point and judges it; the events say what it found (the same in a worker process). */
export async function runPoint(
  scenario: Scenario,
  job: PointJob,
  transport: BackendTransport,
  planOptions: FaultPlanOptions | undefined,
): Promise<PointEvent[]> {
  const events: PointEvent[] = [];
  const sink: Sink = {
    fail: (category, input, problem) => events.push({ op: 'fail', category, input, problem }),
    note: (category, outcome) => events.push({ op: 'note', category, outcome }),
  };
  const category = `${job.scenario}: ${job.kind}`;
  const input = `${job.kind}@${job.index}`;
  let outcome: Outcome;
  try {
    outcome = await runWithPlan(scenario, new FaultPlan({ kind: job.kind, index: job.index }, planOptions), {
      onDisk: job.kind === 'restart',
      transport,
    });
  } catch (e) {
    sink.fail(category, input, `the run crashed: ${(e as Error).name}: ${(e as Error).message}`);
    return events;
  }
  judge(sink, category, input, job.kind, { balances: job.balances, passing: new Set(job.passing) }, outcome);
  return events;
}

export function faultsCampaign(options: FaultsCampaignOptions = {}): CampaignKind {
  return {
    name: 'faults',
    description:
      options.transport === 'http'
        ? 'back-end faults at every step of every flow of `mica run --transport http` (lost request, lost response, duplicated request, card removed): ledgers conserved, retries idempotent, no crash'
        : 'back-end faults at every step of every flow of `mica run` (lost request, lost response, duplicated request, restarted back-end, card removed): ledgers conserved, retries idempotent, no crash',
    unit: 'fault points',
    ciBudget: 8,
    defaultBudget: 100_000,
    run: (ctx) => runFaults(ctx, options),
    overTransport: (transport) => faultsCampaign({ ...options, transport }),
    withJobs: (jobs) => faultsCampaign({ ...options, jobs }),
    forScenarios: (scenarios) => faultsCampaign({ ...options, scenarios: () => scenarios }),
  };
}
