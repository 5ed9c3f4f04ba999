// The shape of one fuzzing target: a session that answers one input at a time and says how the input
// was made (the report's sub-category); problems are reported, never thrown.
import type { Draw } from './draw';

export interface FuzzLog {
  /** The input broke a rule of its protocol (a crash, a wrong answer, a change it must not make). */
  fail(input: string, problem: string): void;
}

export interface FuzzSession {
  /**
   * Makes and answers one input; returns how it was made ("structured", "mutated", "random", …). A
   * target that talks to a server (back-end HTTP) answers with a promise.
   */
  next(log: FuzzLog): string | Promise<string>;
  /** Final checks once the inputs are done (e.g. the image is still the one it started as). */
  finish(log: FuzzLog): void | Promise<void>;
}

export interface FuzzTarget {
  /** The report's category prefix ("felica frames", "apdus", …). */
  readonly name: string;
  /** Its share of the budget, relative to the other targets. */
  readonly share: number;
  open(draw: Draw): FuzzSession | Promise<FuzzSession>;
}

/** The error's class and message, for a failure line. */
export function thrown(e: unknown): string {
  return e instanceof Error ? `threw ${e.name}: ${e.message}` : `threw ${String(e)}`;
}
