// Kind `apdu-transcript`: a fresh card issued from the profile answers each command APDU `c` with
// exactly `r` (response data ‖ SW1 SW2), in order, in one power-on session (vectors.md).
import type { CheckContext, CheckResult } from '../check-result';
import { cardFromVector, cardRandomOf, readExchanges, replayTranscript } from './felica-transcript';

export function checkApduTranscript(v: Record<string, unknown>, context: CheckContext = {}): CheckResult {
  const exchanges = readExchanges(v, 'c', 'r');
  if (typeof exchanges === 'string') return { ok: false, message: exchanges };
  const random = cardRandomOf(v);
  if (typeof random === 'string') return { ok: false, message: random };
  const card = cardFromVector(v, random);
  if (typeof card === 'string') return { ok: false, message: card };
  return replayTranscript(card, exchanges, 'apdu', context);
}
