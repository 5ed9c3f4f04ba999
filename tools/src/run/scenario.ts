// What a scenario of `mica run` is (flows.md 1.7): a module registered in ./registry.ts with its name,
// its `--variant` axes, the acceptance checks it must report (flows.md §n.4), and a `run` that drives
// fixtures (worlds of back-ends, cards, terminals) through its steps and reports every check.
import type { Mode } from '@mica/host-sdk/backend/backend';
import type { CardTap } from './card-tap';
import type { FaultInjector } from './faults';
import type { Fixture, FixtureOptions } from './fixture';

export type BackendTransport = 'inproc' | 'http';

export interface RunOptions {
  /** The main flow's mode; attack pairs run in both modes whatever it is. */
  readonly mode: Mode;
  readonly transport: BackendTransport;
  readonly seed: number;
  /** A directory (kept after the run), or ':memory:' (a temporary directory for card images). */
  readonly data: string;
  /** Chosen variant per axis (every axis present: the default is the first value). */
  readonly variants: Readonly<Record<string, string>>;
  /** Card target of the main fixture's card (cli.md); default `sim:` of the scenario's image. */
  readonly card?: string;
  /** `--rf K=V&…`: the main fixture's card seen through the radio simulator (`rf:<card>?K=V&…`). */
  readonly rf?: string;
  /** `--pcap FILE`: the main fixture's card traffic as a capture (rf.md §11; .pcapng for pcapng). */
  readonly pcap?: string;
  /** Back-end faults injected at every fixture's seam (`mica campaign faults`); none by default. */
  readonly faults?: FaultInjector;
  /** Sees every card opening and exchange of every fixture (the tearing campaign's flow recorder). */
  readonly cardTap?: CardTap;
}

export interface CheckSpec {
  /** Short id printed on the PASS/FAIL line, e.g. "A1" or "A5-F". */
  readonly id: string;
  /** The acceptance text of flows.md it demonstrates. */
  readonly text: string;
}

/** Collects what one check found wrong; a check with no problems passes. */
export interface CheckRun {
  /** Records `text` as a problem unless `ok`. */
  expect(ok: boolean, text: string): void;
  /** Records a problem unless `actual` equals `expected` (compared as canonical JSON). */
  equal(actual: unknown, expected: unknown, what: string): void;
}

export interface ScenarioContext {
  readonly options: RunOptions;
  /**
   * A new world of back-ends with its own clock, random stream (forked from the seed by `label`), data
   * sub-directory and (over `--transport http`) its own server. `label` must be unique in the run.
   */
  fixture(label: string, options?: FixtureOptions): Fixture;
  /**
   * Runs one acceptance check: `body` records problems on the CheckRun; an exception and every failed
   * audit of a fixture step taken while it runs count as problems too. Checks run one at a time.
   */
  check(id: string, body: (c: CheckRun) => Promise<void>): Promise<void>;
  /**
   * Adds a named result of the run (e.g. seed 004's per-mode metrics table): `lines` are printed after
   * the check lines, `data` goes into --json under `reports`.
   */
  report(name: string, lines: readonly string[], data: unknown): void;
}

/** A named result of a run (ScenarioContext.report). */
export interface ScenarioReport {
  readonly name: string;
  readonly lines: readonly string[];
  readonly data: unknown;
}

export interface Scenario {
  /** The CLI name (flows.md 1.7), e.g. "credit-charge-emoney". */
  readonly name: string;
  readonly title: string;
  /** `--variant` axes: axis → values, default first. */
  readonly variants: Readonly<Record<string, readonly string[]>>;
  /** Every acceptance check, in the order they are printed; one never reported is a FAIL. */
  readonly checks: readonly CheckSpec[];
  run(context: ScenarioContext): Promise<void>;
}
