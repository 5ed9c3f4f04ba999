// Seed 000's calendar (flows.md 2.2, 2.5): a token is valid while today < effectiveUntil, the first
// deduction day strictly after the deposit day (a deposit made on a deduction day counts toward the
// next one).
import { jstDay, jstMidnight, nextJstMonthDay } from '../platform/clock';
import { DEDUCTION_DAY } from './token';

/** The JST day number of the first deduction day after `day`. */
export function nextDeductionDay(day: number): number {
  return jstDay(nextJstMonthDay(jstMidnight(day), DEDUCTION_DAY));
}
