// Conformance check for vector kind `felica-budget` (rf.md §8.4): T = T_u · ((B + 1) · n + A + 1) · 4^E
// from the PMm byte the command uses, in carrier cycles (and µs rounded to 0.01 when given).
import { felicaBudgetFc } from '@mica/card-os/rf/felica-budget';
import { fcToUs } from '@mica/card-os/rf/timing';
import { errorMessage, fail, guarded, hexField, PASS, type CheckResult } from '../check-result';

export function checkFelicaBudget(vector: Record<string, unknown>): CheckResult {
  return guarded(() => {
    const pmm = hexField(vector, 'pmm', 8);
    if (!pmm.ok) return pmm;
    const cmd = hexField(vector, 'command', 1);
    if (!cmd.ok) return cmd;
    const n = vector['n'];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
      return fail('field "n" must be a non-negative integer');
    const want = vector['budgetFc'];
    if (typeof want !== 'number' || !Number.isSafeInteger(want))
      return fail('field "budgetFc" must be an integer');
    let got: number;
    try {
      got = felicaBudgetFc(pmm.value, cmd.value[0]!, n);
    } catch (e) {
      return fail(`field "command": ${errorMessage(e)}`);
    }
    if (got !== want) return fail(`field "budgetFc" is ${want}, computed ${got}`);
    const us = vector['budgetUs'];
    if (us !== undefined) {
      if (typeof us !== 'number') return fail('field "budgetUs" must be a number');
      if (fcToUs(got) !== us) return fail(`field "budgetUs" is ${us}, computed ${fcToUs(got)}`);
    }
    return PASS;
  });
}
