// Kind `apdu-transcript`: a fresh card issued from the profile answers each command APDU `c` with
// exactly `r` (response data ‖ SW1 SW2), in order, in one power-on session (vectors.md).
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { CheckResult } from '../check-result';
import { cardFromVector, cardRandomOf, readExchanges } from './felica-transcript';

export function checkApduTranscript(v: Record<string, unknown>): CheckResult {
  const exchanges = readExchanges(v, 'c', 'r');
  if (typeof exchanges === 'string') return { ok: false, message: exchanges };
  const random = cardRandomOf(v);
  if (typeof random === 'string') return { ok: false, message: random };
  const card = cardFromVector(v, random);
  if (typeof card === 'string') return { ok: false, message: card };
  for (let i = 0; i < exchanges.length; i++) {
    const e = exchanges[i]!;
    let got: Uint8Array | null;
    try {
      got = card.apdu(e.command);
    } catch (err) {
      return { ok: false, message: `exchange ${i + 1}: ${(err as Error).message}` };
    }
    const want = e.response === null ? '-' : bytesToHex(e.response);
    const have = got === null ? '-' : bytesToHex(got);
    if (want !== have)
      return {
        ok: false,
        message: `exchange ${i + 1} (${bytesToHex(e.command)}): expected ${want}, got ${have}`,
      };
  }
  return { ok: true };
}
