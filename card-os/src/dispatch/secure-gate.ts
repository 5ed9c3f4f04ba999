// The entry of every secure command (14h, 16h, 80h-88h): session and MAC check, CTR handling, and the
// MAC'd answer (security.md 5).
import { MAC_BYTES, type SecureChannel } from '@mica/apdu-specs/secure/channel';
import { CardMode, SF2 } from '@mica/apdu-specs/status-flags';
import { MemoryError } from '../hal/errors';
import { FsError } from '../fs/fs-error';
import type { AuthSession } from '../auth/session';
import type { SystemView } from '../fs/nodes';
import type { CardContext } from './context';
import { response, statusResponse } from './frame';

export interface SecureRequest {
  readonly session: AuthSession;
  readonly channel: SecureChannel;
  readonly ctr: number;
  /** Offset of the MAC: the command's own bytes end here. */
  readonly end: number;
}

export type Gate =
  | { readonly ok: true; readonly request: SecureRequest }
  | { readonly ok: false; readonly answer: Uint8Array | null };

/** Checks the session and the command MAC. A bad MAC destroys the session and answers B2 without MAC. */
export function openSecure(ctx: CardContext, view: SystemView, f: Uint8Array, minBody: number): Gate {
  const idm = f.subarray(2, 10);
  const rc = f[1]! + 1;
  if (f.length < 10 + minBody + MAC_BYTES) return { ok: false, answer: null };
  const s = ctx.session;
  const mode = s ? ctx.mode(s.system) : CardMode.mode0;
  if (
    !s ||
    !s.channel ||
    s.system !== view.system.number ||
    (mode !== CardMode.authenticated && mode !== CardMode.issuing)
  )
    return { ok: false, answer: statusResponse(rc, idm, 0xff, SF2.AUTH_REQUIRED) };
  if (!s.channel.verify(s.ctr, f)) {
    ctx.endSession();
    return { ok: false, answer: statusResponse(rc, idm, 0xff, SF2.MAC_FAILURE) };
  }
  return { ok: true, request: { session: s, channel: s.channel, ctr: s.ctr, end: f.length - MAC_BYTES } };
}

/** The MAC'd answer `code ‖ IDm ‖ SF1 SF2 ‖ body ‖ MAC`; moves CTR on. */
export function sealAnswer(
  req: SecureRequest,
  f: Uint8Array,
  sf1: number,
  sf2: number,
  body: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const plain = response(f[1]! + 1, f.subarray(2, 10), [sf1, sf2], body);
  req.session.ctr = (req.ctr + 1) >>> 0;
  return req.channel.seal(req.ctr, plain);
}

/** A refusal after the MAC was verified: its status flags, MAC'd. */
export function sealRefusal(req: SecureRequest, f: Uint8Array, e: unknown): Uint8Array {
  if (e instanceof FsError) return sealAnswer(req, f, e.sf1, e.sf2);
  if (e instanceof MemoryError) return sealAnswer(req, f, 0xff, SF2.MEMORY_ERROR);
  throw e;
}
