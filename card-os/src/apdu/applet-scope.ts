// The firewall's unit: an applet reaches only the nodes inside its own area [area, end] of one system.
import { SW } from '@mica/apdu-specs/apdu/status-words';
import type { FileSystem } from '../fs/fs';
import type { AreaNode, FileNode, ServiceNode, SystemView } from '../fs/nodes';
import { IsoError } from './iso-error';

export interface AppletScope {
  readonly system: number;
  /** Code of the area that owns the applet. */
  readonly area: number;
}

export interface ResolvedScope {
  readonly view: SystemView;
  readonly area: AreaNode;
}

/** The applet's system view and area; 6A88 when either no longer exists. */
export function resolveScope(fs: FileSystem, scope: AppletScope): ResolvedScope {
  const view = fs.system(scope.system);
  const area = view?.byCode.get(scope.area);
  if (!view || !area || area.kind !== 'area') throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
  return { view, area };
}

export function inScope(scope: ResolvedScope, code: number): boolean {
  return code >= scope.area.code && code <= scope.area.end;
}

/** A node of the applet's area: 6982 outside [area, end] (the firewall), 6A88 when it does not exist. */
export function scopedNode(scope: ResolvedScope, code: number): FileNode {
  if (!inScope(scope, code))
    throw new IsoError(SW.SECURITY_STATUS, `node ${code.toString(16)} is outside the applet's area`);
  const node = scope.view.byCode.get(code);
  if (!node) throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
  return node;
}

export function scopedService(scope: ResolvedScope, code: number): ServiceNode {
  const node = scopedNode(scope, code);
  if (node.kind !== 'service') throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
  return node;
}
