// The shape of an attack: it tries up to `limit` instances and reports each attempt, and every way the
// card behaved other than stated. A suite is a list of attacks sharing a fixture.

export interface AttackLog {
  /** One more instance tried. */
  attempt(): void;
  /** The card did not behave as stated for `input`. */
  problem(input: string, problem: string): void;
}

export interface Attack {
  readonly name: string;
  /** At most `limit` instances (at least one is always tried). */
  run(limit: number, log: AttackLog): Promise<void>;
}

export interface AttackSuite {
  /** Where the list comes from (the report's category prefix). */
  readonly name: string;
  attacks(): Attack[];
}

/** Records a problem unless `ok`. */
export function expectThat(log: AttackLog, ok: boolean, input: string, problem: string): void {
  if (!ok) log.problem(input, problem);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
