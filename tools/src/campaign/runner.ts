// The campaign runner: one kind at a time, with a budget, an injected seed and clock, counts per category
// of what was tried and a list of what failed (`mica campaign <kind>`, issue 9).
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { BackendTransport, Scenario } from '../run/scenario';

/** What a campaign kind sees while it runs. */
export interface CampaignContext {
  /** How much the kind may do, in its own unit (cut points, inputs, attempts). */
  readonly budget: number;
  /** The seed every random choice of the run derives from (reproducible runs). */
  readonly seed: number;
  /** Counts `n` more inputs of `category` tried (a category appears in the report once counted). */
  tried(category: string, n?: number): void;
  /** Records one failure: the category, the input (hex or a name) and what went wrong. */
  fail(category: string, input: string, problem: string): void;
  /** Counts one tried input of `category` as ending in `outcome` (e.g. how a fault point was judged). */
  note(category: string, outcome: string): void;
  /** Progress in the kind's own units; shown as a bar on a terminal. */
  progress(done: number, total: number): void;
  /** Lets timers run (the progress bar) during long synchronous loops. */
  pause(): Promise<void>;
}

export interface CampaignKind {
  readonly name: string;
  /** One line for `--help` and the summary. */
  readonly description: string;
  /** What one unit of the budget is. */
  readonly unit: string;
  /** The budget of `npm test` (a few seconds). */
  readonly ciBudget: number;
  /** The budget when `--budget` is not given (the on-demand run). */
  readonly defaultBudget: number;
  run(ctx: CampaignContext): Promise<void>;
  /** The same campaign over another back-end transport (`--transport`); only a kind that runs flows has it. */
  overTransport?(transport: BackendTransport): CampaignKind;
  /** The same campaign run by `jobs` worker processes (`--jobs`); only a kind whose units are independent runs has it. */
  withJobs?(jobs: number): CampaignKind;
  /** The same campaign over only these `mica run` scenarios (`--scenario`); only a kind that runs flows has it. */
  forScenarios?(scenarios: readonly Scenario[]): CampaignKind;
}

export interface CampaignFailure {
  readonly category: string;
  readonly input: string;
  readonly problem: string;
}

/** `mica campaign … --json`. */
export interface CampaignReport {
  readonly campaign: string;
  readonly budget: number;
  readonly seed: number;
  readonly tried: Readonly<Record<string, number>>;
  /** Failures per category (every one counted, even past the listed ones). */
  readonly failed: Readonly<Record<string, number>>;
  /** The first `MAX_LISTED_FAILURES` failures. */
  readonly failures: readonly CampaignFailure[];
  /** Per category, how many inputs ended in each outcome (only kinds that note outcomes have it). */
  readonly outcomes?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly durationMs: number;
}

export const MAX_LISTED_FAILURES = 100;
export const DEFAULT_SEED = 20_261_121;

export interface RunOptions {
  readonly budget?: number;
  readonly seed?: number;
  /** Milliseconds from any origin (default `performance.now`). */
  readonly now?: () => number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Runs one kind; throws only what the kind itself could not handle (a bug in the campaign). */
export async function runCampaign(kind: CampaignKind, options: RunOptions = {}): Promise<CampaignReport> {
  const budget = options.budget ?? kind.defaultBudget;
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(budget) || budget < 1)
    throw new RangeError(`budget must be a positive integer, got ${budget}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer`);
  const now = options.now ?? (() => performance.now());
  const tried: Record<string, number> = {};
  const failed: Record<string, number> = {};
  const failures: CampaignFailure[] = [];
  const outcomes: Record<string, Record<string, number>> = {};
  const start = now();
  const ctx: CampaignContext = {
    budget,
    seed,
    tried(category, n = 1) {
      tried[category] = (tried[category] ?? 0) + n;
    },
    fail(category, input, problem) {
      failed[category] = (failed[category] ?? 0) + 1;
      if (failures.length < MAX_LISTED_FAILURES) failures.push({ category, input, problem });
    },
    note(category, outcome) {
      const o = (outcomes[category] ??= {});
      o[outcome] = (o[outcome] ?? 0) + 1;
    },
    progress(done, total) {
      options.onProgress?.(done, total);
    },
    pause: () => nextTurn(),
  };
  await kind.run(ctx);
  return {
    campaign: kind.name,
    budget,
    seed,
    tried,
    failed,
    failures,
    ...(Object.keys(outcomes).length > 0 ? { outcomes } : {}),
    durationMs: Math.round(now() - start),
  };
}

export function failureCount(report: CampaignReport): number {
  return Object.values(report.failed).reduce((a, b) => a + b, 0);
}
