// Read (14h) and Write (16h) with secure messaging: block data encrypted under KSenc with the CTR's IV,
// commands and answers MAC'd; only the services of the current authentication (security.md 5).
import { SF2 } from '@mica/apdu-specs/status-flags';
import { FsError } from '../fs/fs-error';
import { areaChain } from '../fs/issue-ops';
import type { ServiceNode, SystemView } from '../fs/nodes';
import type { AuthSession } from '../auth/session';
import type { AccessCheck } from './elements';
import type { CardContext } from './context';
import { readBlocks, writeBlocks, writeListsEnd } from './felica-plain';
import { openSecure, sealAnswer, sealRefusal } from './secure-gate';

/** A session covers exactly the services it listed. */
export function sessionCovers(session: AuthSession): AccessCheck {
  return (service) => session.services.includes(service.code);
}

/** An issuance session (system or area listed) personalises the services inside the areas it holds. */
export function sessionPersonalises(
  view: SystemView,
  session: AuthSession,
): (service: ServiceNode) => boolean {
  if (session.areas.length === 0) return () => false;
  return (purse) => {
    if (session.areas.includes(0xffff)) return true;
    const holder = [...view.nodes]
      .reverse()
      .find((n) => n.kind === 'area' && purse.code >= n.code && purse.code <= n.end);
    return holder?.kind === 'area' && areaChain(view, holder).some((a) => session.areas.includes(a.code));
  };
}

export function secureRead(ctx: CardContext, view: SystemView, f: Uint8Array): Uint8Array | null {
  const gate = openSecure(ctx, view, f, 4);
  if (!gate.ok) return gate.answer;
  const req = gate.request;
  try {
    const body = readBlocks(ctx, view, f, req.end, sessionCovers(req.session));
    if (!body) throw new FsError(SF2.BLOCK_COUNT, 'the service or block list is cut short');
    const enc = req.channel.encrypt(req.ctr, body.subarray(1));
    return sealAnswer(req, f, 0, 0, Uint8Array.of(body[0]!, ...enc));
  } catch (e) {
    return sealRefusal(req, f, e);
  }
}

export function secureWrite(ctx: CardContext, view: SystemView, f: Uint8Array): Uint8Array | null {
  const gate = openSecure(ctx, view, f, 4);
  if (!gate.ok) return gate.answer;
  const req = gate.request;
  try {
    const listsEnd = writeListsEnd(f, req.end);
    if (listsEnd === null) throw new FsError(SF2.BLOCK_COUNT, 'the service or block list is cut short');
    const enc = f.subarray(listsEnd, req.end);
    if (enc.length % req.session.suite.blockSize !== 0)
      throw new FsError(SF2.BLOCK_COUNT, 'block data is not whole cipher blocks');
    const data = req.channel.decrypt(req.ctr, enc);
    const warning = writeBlocks(
      ctx,
      view,
      f,
      listsEnd,
      data,
      sessionCovers(req.session),
      sessionPersonalises(view, req.session),
    );
    data.fill(0);
    return sealAnswer(req, f, 0, warning ? SF2.WRITE_COUNT_WARNING : SF2.OK);
  } catch (e) {
    return sealRefusal(req, f, e);
  }
}
