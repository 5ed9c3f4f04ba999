// `mica campaign attacks`: every attack of every suite, each failing as specified, with a count. The
// budget is the number of attempts, shared evenly; every attack is tried at least once.
// The suites: security.md §8 against the card, and the faithful-vs-hardened attack pairs of flows.md
// (each pair one Attack over the two checks its scenario of `mica run` reports, attacks-flows.ts).
import type { AttackSuite } from './attack';
import { flowAttacks } from './attacks-flows';
import { felicaAttacks } from './attacks-felica';
import { pinAttack } from './attacks-pin';
import type { CampaignContext, CampaignKind } from './runner';

export const SECURITY_ATTACKS: AttackSuite = {
  name: 'security.md §8',
  attacks: () => [...felicaAttacks(), pinAttack()],
};

export const ATTACK_SUITES: readonly AttackSuite[] = [SECURITY_ATTACKS, flowAttacks()];

export async function runAttacks(ctx: CampaignContext, suites: readonly AttackSuite[]): Promise<void> {
  const all = suites.flatMap((s) => s.attacks().map((a) => ({ suite: s.name, attack: a })));
  const limit = Math.max(1, Math.floor(ctx.budget / Math.max(1, all.length)));
  for (const [i, { suite, attack }] of all.entries()) {
    ctx.progress(i, all.length);
    await ctx.pause();
    const category = `${suite}: ${attack.name}`;
    let attempts = 0;
    try {
      await attack.run(limit, {
        attempt: () => {
          attempts += 1;
          ctx.tried(category);
        },
        problem: (input, problem) => ctx.fail(category, input, problem),
      });
    } catch (e) {
      ctx.fail(category, attack.name, `the attack could not run: ${(e as Error).message}`);
      continue;
    }
    if (attempts === 0) ctx.fail(category, attack.name, 'no attempt was made');
  }
  ctx.progress(all.length, all.length);
}

export function attacksCampaign(suites: () => readonly AttackSuite[] = () => ATTACK_SUITES): CampaignKind {
  return {
    name: 'attacks',
    description:
      'the attacks of security.md §8 (wrong key, replays, flipped bits, sessions outside their list, unauthenticated keyed access, foreign issuers, key changes, PIN guessing), each must fail and change nothing; and the faithful-vs-hardened pairs of flows.md, each attack succeeding in faithful mode and refused in hardened mode',
    unit: 'attempts',
    ciBudget: 400,
    defaultBudget: 10_000,
    run: (ctx) => runAttacks(ctx, suites()),
  };
}
