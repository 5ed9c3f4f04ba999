// The applet registry in EEPROM (apdu-specs eeprom-records, types 06h and 07h) and its issue-ops:
// registerApplet, deleteApplet and grantShare, each checked first and then one atomic commit.
//
// Record 06h, 2 blocks (every block starts 06h and its index, so the generic scanner steps over it):
//   block 0: 06 00 kind systemNumber areaCode(2, BE) state aidLength aid[0..7]
//   block 1: 06 01 aid[8..15] reserved(6)
// Deletion or-s 80h into the type byte of both blocks. Record 07h, 1 block: a share grant letting the
// applets of `granteeArea` read one service of another area of the same system (revoked: 87h).
import { AID_MAX, AID_MIN } from '@mica/apdu-specs/apdu/applet-kinds';
import {
  DELETED_FLAG,
  RecordType,
  appletRecordBlock0,
  appletRecordBlock1,
  keyBlockCount,
  shareGrantRecord,
  systemDefinitionBlock,
} from '@mica/apdu-specs/eeprom-records';
import { formatCode } from '@mica/apdu-specs/node-code';
import { SF2 } from '@mica/apdu-specs/status-flags';
import type { CommitResult } from '../hal/eeprom';
import { journalSlotsNeeded } from '../hal/journal';
import { BlockTx } from './block-tx';
import { FsError } from './fs-error';
import type { FileSystem } from './fs';

export const APPLET_STATE = Object.freeze({ installed: 0x00, selectable: 0x01 } as const);

export interface AppletEntry {
  readonly recordAddress: number;
  readonly kind: number;
  readonly system: number;
  readonly area: number;
  readonly state: number;
  readonly aid: Uint8Array;
}

export interface ShareGrant {
  readonly recordAddress: number;
  readonly system: number;
  readonly service: number;
  readonly granteeArea: number;
  readonly read: boolean;
}

export interface NewApplet {
  readonly kind: number;
  readonly system: number;
  readonly area: number;
  readonly aid: Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The registry's live entries, in record order (the order SELECT by partial AID walks). */
export function appletRegistry(fs: FileSystem): AppletEntry[] {
  const out: AppletEntry[] = [];
  for (const r of fs.index.records) {
    if (r.deleted || r.type !== RecordType.appletRegistry || r.span < 2) continue;
    const b0 = appletRecordBlock0.decode(r.data);
    const b1 = appletRecordBlock1.decode(fs.eeprom.read(r.address - 1));
    const n = Math.min(b0.aidLength, AID_MAX);
    const aid = new Uint8Array(n);
    aid.set(b0.aidHead.subarray(0, Math.min(n, 8)));
    if (n > 8) aid.set(b1.aidTail.subarray(0, n - 8), 8);
    out.push({
      recordAddress: r.address,
      kind: b0.kind,
      system: b0.systemNumber,
      area: b0.areaCode,
      state: b0.state,
      aid,
    });
  }
  return out;
}

export function shareGrants(fs: FileSystem): ShareGrant[] {
  const out: ShareGrant[] = [];
  for (const r of fs.index.records) {
    if (r.deleted || r.type !== RecordType.shareGrant) continue;
    const g = shareGrantRecord.decode(r.data);
    out.push({
      recordAddress: r.address,
      system: g.systemNumber,
      service: g.serviceCode,
      granteeArea: g.granteeArea,
      read: (g.rights & 1) !== 0,
    });
  }
  return out;
}

/** Same rule as issue-ops' allocation: `count` more system blocks below the last one. */
function allocateSystemBlocks(fs: FileSystem, tx: BlockTx, count: number): number {
  const top = fs.eeprom.top;
  const def = systemDefinitionBlock.decode(tx.read(top - 2));
  if (def.userBlocks + def.systemBlocks + count > fs.eeprom.blocks)
    throw new FsError(SF2.WRITE_FAILURE, `memory full: ${count} system blocks do not fit`);
  tx.write(top - 2, systemDefinitionBlock.encode({ ...def, systemBlocks: def.systemBlocks + count }));
  return top - def.systemBlocks;
}

function areaOf(fs: FileSystem, system: number, code: number) {
  const area = fs.system(system)?.byCode.get(code);
  if (!area || area.kind !== 'area')
    throw new FsError(SF2.NO_SUCH_NODE, `area ${formatCode(code)} of system ${system} does not exist`);
  return area;
}

function commit(fs: FileSystem, tx: BlockTx): CommitResult {
  if (journalSlotsNeeded(tx.size) > fs.eeprom.journalSlots)
    throw new FsError(SF2.WRITE_FAILURE, `${tx.size} blocks do not fit one atomic commit`);
  const r = tx.commit();
  fs.invalidate();
  return r;
}

/** Adds an applet of `kind` owned by an existing area; its AID must be new. */
export function registerApplet(fs: FileSystem, a: NewApplet): CommitResult {
  if (!(a.aid instanceof Uint8Array)) throw new TypeError('aid must be a Uint8Array');
  if (a.aid.length < AID_MIN || a.aid.length > AID_MAX)
    throw new RangeError(`an AID is ${AID_MIN} to ${AID_MAX} bytes, got ${a.aid.length}`);
  if (!Number.isInteger(a.kind) || a.kind < 1 || a.kind > 0xff) throw new RangeError('kind must be 1..255');
  areaOf(fs, a.system, a.area);
  if (appletRegistry(fs).some((e) => sameBytes(e.aid, a.aid)))
    throw new FsError(SF2.NODE_EXISTS, 'an applet with this AID exists already');
  const tx = new BlockTx(fs.eeprom);
  const at = allocateSystemBlocks(fs, tx, 2);
  const head = new Uint8Array(8);
  const tail = new Uint8Array(8);
  head.set(a.aid.subarray(0, 8));
  tail.set(a.aid.subarray(8));
  tx.write(
    at,
    appletRecordBlock0.encode({
      type: RecordType.appletRegistry,
      index: 0,
      kind: a.kind,
      systemNumber: a.system,
      areaCode: a.area,
      state: APPLET_STATE.selectable,
      aidLength: a.aid.length,
      aidHead: head,
    }),
  );
  tx.write(
    at - 1,
    appletRecordBlock1.encode({
      type: RecordType.appletRegistry,
      index: 1,
      aidTail: tail,
      reserved: new Uint8Array(6),
    }),
  );
  return commit(fs, tx);
}

/**
 * Deletes the applet with `aid`: its record is marked deleted, the data blocks of the base services
 * of its area [area, end] and the key blocks of those services are zeroed, and the share grants
 * naming its area (as grantee) or one of its services are revoked. One atomic commit.
 */
export function deleteApplet(fs: FileSystem, aid: Uint8Array): CommitResult {
  const entry = appletRegistry(fs).find((e) => sameBytes(e.aid, aid));
  if (!entry) throw new FsError(SF2.NO_SUCH_NODE, 'no applet with this AID');
  const tx = new BlockTx(fs.eeprom);
  for (const i of [0, 1]) {
    const b = tx.read(entry.recordAddress - i);
    b[0] = b[0]! | DELETED_FLAG;
    tx.write(entry.recordAddress - i, b);
  }
  const view = fs.system(entry.system);
  const area = view?.byCode.get(entry.area);
  const zero = new Uint8Array(16);
  if (view && area?.kind === 'area') {
    // Other applets of the same area keep its data: only the last one wipes it.
    const shared = appletRegistry(fs).some(
      (e) => e.system === entry.system && e.area === entry.area && !sameBytes(e.aid, aid),
    );
    for (const n of shared ? [] : view.nodes) {
      if (n.kind !== 'service' || n.code < area.code || n.code > area.end) continue;
      if (n.overlapOf === 0xffff) for (let b = 0; b < n.blockCount; b++) tx.write(n.firstBlock + b, zero);
      if (n.key.algorithm !== 0) {
        for (let k = 0; k < keyBlockCount(n.key.algorithm); k++) tx.write(n.key.address - k, zero);
      }
    }
    for (const g of shared ? [] : shareGrants(fs)) {
      if (g.system !== entry.system) continue;
      const owned = g.service >= area.code && g.service <= area.end;
      if (!owned && g.granteeArea !== entry.area) continue;
      const b = tx.read(g.recordAddress);
      b[0] = b[0]! | DELETED_FLAG;
      tx.write(g.recordAddress, b);
    }
  }
  return commit(fs, tx);
}

/** Lets the applets of `granteeArea` read `service` (which lies in another area of the system). */
export function grantShare(
  fs: FileSystem,
  g: { readonly system: number; readonly service: number; readonly granteeArea: number },
): CommitResult {
  const grantee = areaOf(fs, g.system, g.granteeArea);
  const svc = fs.system(g.system)?.byCode.get(g.service);
  if (!svc || svc.kind !== 'service')
    throw new FsError(SF2.NO_SUCH_NODE, `service ${formatCode(g.service)} does not exist`);
  if (g.service >= grantee.code && g.service <= grantee.end)
    throw new RangeError(
      `service ${formatCode(g.service)} lies inside area ${formatCode(g.granteeArea)}: nothing to share`,
    );
  const tx = new BlockTx(fs.eeprom);
  const at = allocateSystemBlocks(fs, tx, 1);
  tx.write(
    at,
    shareGrantRecord.encode({
      type: RecordType.shareGrant,
      index: 0,
      systemNumber: g.system,
      serviceCode: g.service,
      granteeArea: g.granteeArea,
      rights: 1,
      reserved: new Uint8Array(8),
    }),
  );
  return commit(fs, tx);
}
