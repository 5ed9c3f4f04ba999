// Every scenario of `mica run` (flows.md 1.7). To add one: write tools/src/run/scenarios/<name>.ts
// exporting a Scenario, import it here and add it to SCENARIOS (tools/README.md "Adding a scenario").
import type { Scenario } from './scenario';
import { creditChargeEmoney } from './scenarios/credit-charge-emoney';
import { brandEmoney } from './scenarios/brand-emoney';
import { validityCache } from './scenarios/validity-cache';
import { commonKeySettlement } from './scenarios/common-key-settlement';
import { bankCreditToken } from './scenarios/bank-credit-token';

export const SCENARIOS: readonly Scenario[] = [
  creditChargeEmoney,
  brandEmoney,
  validityCache,
  commonKeySettlement,
  bankCreditToken,
];

export function scenarioNamed(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
