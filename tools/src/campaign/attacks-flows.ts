// The faithful-vs-hardened attack pairs of flows.md as one AttackSuite of `mica campaign attacks`. Each
// scenario of `mica run` runs its pairs as two checks, `<X>-F` (the attack succeeds as the patent
// describes) and `<X>-H` (hardened mode refuses it), both modes whatever `--mode` says; this suite
// reuses them: one run per scenario (shared by its pairs), one attack per pair, one attempt each, and
// a problem for every one of the two checks that does not pass. A scenario added to the registry
// brings its pairs with it.
import { SCENARIOS } from '../run/registry';
import { resolveVariants, runScenario, type RunReport } from '../run/runner';
import type { Scenario } from '../run/scenario';
import type { Attack, AttackSuite } from './attack';

/** The seed of the scenario runs (`mica run`'s default). */
const SEED = 1;

/** The pairs of a scenario: every `<X>` with both an `<X>-F` and an `<X>-H` check. */
export function attackPairs(scenario: Scenario): string[] {
  const ids = new Set(scenario.checks.map((c) => c.id));
  return scenario.checks
    .filter((c) => c.id.endsWith('-F') && ids.has(`${c.id.slice(0, -2)}-H`))
    .map((c) => c.id.slice(0, -2));
}

export function flowAttacks(scenarios: () => readonly Scenario[] = () => SCENARIOS): AttackSuite {
  return {
    name: 'flows.md',
    attacks(): Attack[] {
      const runs = new Map<string, Promise<RunReport>>();
      const reportOf = (s: Scenario): Promise<RunReport> => {
        let r = runs.get(s.name);
        if (!r) {
          r = runScenario(s, {
            mode: 'hardened',
            transport: 'inproc',
            seed: SEED,
            data: ':memory:',
            variants: resolveVariants(s, []),
          });
          runs.set(s.name, r);
        }
        return r;
      };
      return scenarios().flatMap((s) =>
        attackPairs(s).map((pair): Attack => ({
          name: `${s.name} ${pair} (faithful succeeds, hardened refuses)`,
          async run(_limit, log) {
            const report = await reportOf(s);
            log.attempt();
            for (const id of [`${pair}-F`, `${pair}-H`]) {
              const c = report.checks.find((x) => x.id === id);
              if (!c) log.problem(id, `${s.name} reported no check ${id}`);
              else if (!c.pass) log.problem(id, `${c.text}: ${c.problems.join('; ')}`);
            }
          },
        })),
      );
    },
  };
}
