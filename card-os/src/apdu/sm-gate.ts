// The SM gate shared by the applets' sessions (security.md 6): the 3-pass AUTHENTICATE session and the
// credit applet's AUTHENTICATE PK session unwrap a command, run it and wrap the answer the same way.
import type { CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import {
  unwrapCommand,
  wrapResponse,
  type PlainCommand,
  type SmKeys,
} from '@mica/apdu-specs/apdu/secure-messaging';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import type { ApduResponse } from './applet';
import { IsoError } from './iso-error';

/** An open SM session: its keys and send sequence counter. */
export interface SmState {
  readonly keys: SmKeys;
  ssc: Uint8Array;
}

/**
 * Runs an SM-protected command on `session`: none 6982; a missing or wrong DO or MAC 6988, `end()` and
 * nothing runs. The handler's answer (or the IsoError it throws) is wrapped; any other error ends the
 * session (the answer cannot carry SM) and propagates. When `stillOpen()` says the handler ended the
 * session (e.g. DELETE of its own area), the answer goes without SM.
 */
export function runUnderSm<S extends SmState>(
  session: S | undefined,
  apdu: CommandApdu,
  end: () => void,
  handler: (cmd: PlainCommand, session: S) => ApduResponse,
  stillOpen: () => boolean = () => true,
): ApduResponse {
  if (!session) {
    end();
    throw new IsoError(SW.SECURITY_STATUS);
  }
  const u = unwrapCommand(session.keys, session.ssc, apdu);
  if (!u.ok) {
    end();
    throw new IsoError(SW.SM_DATA_INCORRECT, `secure messaging: ${u.reason}`);
  }
  session.ssc = u.ssc;
  let r: ApduResponse;
  try {
    r = handler(u.command, session);
  } catch (e) {
    if (!(e instanceof IsoError)) {
      end();
      throw e;
    }
    r = { data: new Uint8Array(0), sw: e.sw };
  }
  if (!stillOpen()) return r;
  const w = wrapResponse(session.keys, session.ssc, r.data, r.sw);
  session.ssc = w.ssc;
  return { data: w.data, sw: r.sw };
}
