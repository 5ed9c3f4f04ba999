// PIN data never shows in traces, pcaps or logs unless the user asks for secrets (security.md 6):
// the data field of VERIFY (20), CHANGE REFERENCE DATA (24) and RESET RETRY COUNTER (2C) becomes FF bytes.
import { parseCommandApdu } from './command-apdu';

export const PIN_INS: ReadonlySet<number> = new Set([0x20, 0x24, 0x2c]);

/** A copy of the command APDU with its PIN data replaced by FF bytes (other APDUs unchanged). */
export function redactApdu(command: Uint8Array): Uint8Array {
  const parsed = parseCommandApdu(command);
  if (!parsed.ok || !PIN_INS.has(parsed.apdu.ins) || parsed.apdu.data.length === 0) return command;
  const out = command.slice();
  const n = parsed.apdu.data.length;
  const at = parsed.apdu.extended ? 7 : 5;
  out.fill(0xff, at, at + n);
  return out;
}
