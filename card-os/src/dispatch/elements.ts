// Per-element checks of a Read/Write block list, in one documented order: service index (A3), service
// exists (A6), access mode (A7), access type (A4), authentication (B1), block number (A8), and for
// writes a second write to the same cyclic service (AF). SF1 = the element's position.
import { ACCESS_MODE_NORMAL, ACCESS_MODE_PURSE_CASHBACK } from '@mica/apdu-specs/felica-commands';
import { SF2 } from '@mica/apdu-specs/status-flags';
import { FsError } from '../fs/fs-error';
import type { ServiceNode, SystemView } from '../fs/nodes';
import type { BlockElement } from './block-list';

export type Operation = 'read' | 'write';

/** Whether the current authentication covers a keyed (or PIN) service; plain commands pass `never`. */
export type AccessCheck = (service: ServiceNode) => boolean;
export const NO_SESSION: AccessCheck = () => false;

export interface ResolvedElement {
  readonly element: BlockElement;
  readonly service: ServiceNode;
}

export function resolveElements(
  view: SystemView,
  serviceCodes: readonly number[],
  elements: readonly BlockElement[],
  op: Operation,
  authorised: AccessCheck,
  /** Issuance sessions personalise: they may write read-only services of the areas they hold. */
  personalising: AccessCheck = NO_SESSION,
): ResolvedElement[] {
  const out: ResolvedElement[] = [];
  const cyclicWritten = new Set<number>();
  for (const e of elements) {
    const p = e.position;
    const code = serviceCodes[e.serviceIndex];
    if (code === undefined)
      throw new FsError(
        SF2.SERVICE_INDEX,
        `element ${p}: service index ${e.serviceIndex} beyond the list`,
        p,
      );
    const node = view.byCode.get(code);
    if (!node || node.kind !== 'service')
      throw new FsError(SF2.NO_SUCH_NODE, `element ${p}: service ${code.toString(16)} does not exist`, p);
    const a = node.attribute;
    const purseRelative = a.family === 'purse' && (a.access === 'cashback' || a.access === 'decrement');
    if (
      e.accessMode !== ACCESS_MODE_NORMAL &&
      !(op === 'write' && purseRelative && e.accessMode === ACCESS_MODE_PURSE_CASHBACK)
    )
      throw new FsError(SF2.ACCESS_MODE, `element ${p}: access mode ${e.accessMode} not valid here`, p);
    if (op === 'write' && a.access === 'read-only' && !personalising(node))
      throw new FsError(SF2.ACCESS_TYPE, `element ${p}: service ${code.toString(16)} is read-only`, p);
    if ((a.withKey || a.withPin) && !authorised(node))
      throw new FsError(
        SF2.AUTH_REQUIRED,
        `element ${p}: service ${code.toString(16)} needs authentication`,
        p,
      );
    const limit = op === 'write' && a.family === 'cyclic' ? 1 : node.blockCount;
    if (e.blockNumber >= limit)
      throw new FsError(SF2.BLOCK_NUMBER, `element ${p}: block ${e.blockNumber} outside the service`, p);
    if (op === 'write' && a.family === 'cyclic') {
      if (cyclicWritten.has(node.baseCode))
        throw new FsError(
          SF2.CYCLIC_TWICE,
          `element ${p}: second write to cyclic service ${node.baseCode.toString(16)}`,
          p,
        );
      cyclicWritten.add(node.baseCode);
    }
    out.push({ element: e, service: node });
  }
  return out;
}
