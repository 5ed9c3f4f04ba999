// The effects of the issuance operations on the file system (eeprom.md 4-5): checked first, then one
// atomic commit each. The FeliCa issuance commands of the security layer call these after
// authentication; the foundation's direct personalisation path (`personalise`) calls them as the
// issuing machine's trusted factory step.
import {
  CryptoSuite,
  RecordType,
  areaRecord,
  issuanceIdBlock,
  keyBlockCount,
  pursePolicyRecord,
  serviceRecord,
  systemDefinitionBlock,
  systemRecord,
} from '@mica/apdu-specs/eeprom-records';
import {
  AreaAttribute,
  ROOT_AREA,
  ROOT_AREA_END,
  SYSTEM_NODE,
  formatCode,
  isAreaCode,
  nodeAttribute,
  serviceAttribute,
} from '@mica/apdu-specs/node-code';
import { SF2 } from '@mica/apdu-specs/status-flags';
import type { CommitResult } from '../hal/eeprom';
import { BlockTx } from './block-tx';
import { containingArea } from './file-system';
import { FsError } from './fs-error';
import type { FileSystem } from './fs';
import { keyBlocks } from './key-blocks';
import type { AreaNode, SystemView } from './nodes';

export interface NewKey {
  readonly version: number;
  /** The key as stored (already diversified where the profile asked for it). */
  readonly value: Uint8Array;
}

export interface NewArea {
  readonly system: number;
  readonly code: number;
  readonly end: number;
  readonly capacity: number;
  readonly key?: NewKey | undefined;
}

export interface NewPurse {
  readonly maxBalance: number;
  readonly logServiceCode: number;
  readonly requireLog: boolean;
}

export interface NewService {
  readonly system: number;
  readonly code: number;
  /** Ignored for an overlap service, which takes its target's range. */
  readonly blocks: number;
  readonly overlapOf?: number | undefined;
  readonly key?: NewKey | undefined;
  readonly purse?: NewPurse | undefined;
}

export interface NewSystem {
  readonly code: number;
  readonly capacity: number;
  readonly key: NewKey;
}

const hex = formatCode;

function suiteOf(fs: FileSystem): number {
  return fs.index.manufacture.cryptoSuite;
}

function viewOf(fs: FileSystem, system: number): SystemView {
  const v = fs.system(system);
  if (!v) throw new FsError(SF2.NO_SUCH_NODE, `system ${system} does not exist`);
  return v;
}

/** Reserves `count` system blocks; returns the address of the first (highest) one. */
function allocateSystemBlocks(fs: FileSystem, tx: BlockTx, count: number, userBlocks = 0): number {
  const top = fs.eeprom.top;
  const def = systemDefinitionBlock.decode(tx.read(top - 2));
  const first = top - def.systemBlocks;
  if (def.userBlocks + userBlocks + def.systemBlocks + count > fs.eeprom.blocks)
    throw new FsError(
      SF2.WRITE_FAILURE,
      `memory full: ${count} system and ${userBlocks} user blocks do not fit`,
    );
  tx.write(
    top - 2,
    systemDefinitionBlock.encode({
      ...def,
      systemBlocks: def.systemBlocks + count,
      userBlocks: def.userBlocks + userBlocks,
    }),
  );
  return first;
}

function checkKey(fs: FileSystem, key: NewKey | undefined, what: string): void {
  if (!key) return;
  if (!Number.isInteger(key.version) || key.version < 0 || key.version > 0xffff)
    throw new FsError(SF2.WRITE_FAILURE, `${what}: key version must be 0..65535`);
  keyBlocks(suiteOf(fs), key.value); // throws on a wrong length
}

function writeKey(fs: FileSystem, tx: BlockTx, key: NewKey | undefined, recordAddress: number): void {
  if (!key) return;
  keyBlocks(suiteOf(fs), key.value).forEach((b, i) => tx.write(recordAddress - 1 - i, b));
}

function commitStructural(fs: FileSystem, tx: BlockTx): CommitResult {
  const r = tx.commit();
  fs.invalidate();
  return r;
}

/** Separate System: a new system with its own record and key. */
export function registerSystem(fs: FileSystem, s: NewSystem): number {
  const def = fs.index.definition;
  const number = fs.index.systems.length;
  if (number > 15) throw new FsError(SF2.WRITE_FAILURE, 'a card holds at most 16 systems');
  if (fs.index.systems.some((v) => v.system.code === s.code))
    throw new FsError(SF2.NODE_EXISTS, `system ${hex(s.code)} exists already`);
  checkKey(fs, s.key, `system ${hex(s.code)}`);
  const tx = new BlockTx(fs.eeprom);
  const suite = suiteOf(fs);
  const at = allocateSystemBlocks(fs, tx, 1 + keyBlockCount(suite));
  const sysdef = systemDefinitionBlock.decode(tx.read(fs.eeprom.top - 2));
  tx.write(fs.eeprom.top - 2, systemDefinitionBlock.encode({ ...sysdef, systemCount: def.systemCount + 1 }));
  tx.write(
    at,
    systemRecord.encode({
      type: RecordType.system,
      systemNumber: number,
      systemCode: s.code,
      capacity: s.capacity,
      used: 0,
      keyVersion: s.key.version,
      keyAlgorithm: suite,
      reserved: new Uint8Array(5),
    }),
  );
  writeKey(fs, tx, s.key, at);
  commitStructural(fs, tx);
  return number;
}

/** Register Area: the root area 0000h (parent FFFFh) or a sub-area inside its parent. */
export function registerArea(fs: FileSystem, a: NewArea): CommitResult {
  const view = viewOf(fs, a.system);
  const what = `area ${hex(a.code)}`;
  if (!isAreaCode(a.code))
    throw new FsError(SF2.ACCESS_TYPE, `${what}: not an area code (attribute must be 00 or 01)`);
  if (view.byCode.has(a.code)) throw new FsError(SF2.NODE_EXISTS, `${what} exists already`);
  if (a.end < a.code || a.end > ROOT_AREA_END)
    throw new FsError(SF2.ACCESS_TYPE, `${what}: end ${hex(a.end)} is before its code`);
  checkKey(fs, a.key, what);
  let parent: AreaNode | undefined;
  const hasRoot = view.nodes.some((n) => n.kind === 'area' && n.code === ROOT_AREA);
  if (a.code === ROOT_AREA) {
    if (a.end !== ROOT_AREA_END) throw new FsError(SF2.ACCESS_TYPE, 'the root area 0000h ends at FFFEh');
  } else {
    if (!hasRoot) throw new FsError(SF2.NO_SUCH_NODE, `${what}: the root area 0000h does not exist yet`);
    parent = containingArea(view, a.code);
    if (!parent || a.end > parent.end)
      throw new FsError(
        SF2.ACCESS_TYPE,
        `${what}: range ${hex(a.code)}-${hex(a.end)} is not inside one parent area`,
      );
    if (nodeAttribute(parent.code) !== AreaAttribute.parent)
      throw new FsError(SF2.ACCESS_TYPE, `${what}: parent area ${hex(parent.code)} may not hold sub-areas`);
    for (const n of view.nodes) {
      if (
        n === parent ||
        (n.kind === 'area' && n.code <= a.code && n.end >= a.end && isAncestor(view, n, parent))
      )
        continue;
      const lo = n.code;
      const hi = n.kind === 'area' ? n.end : n.code;
      if (lo <= a.end && hi >= a.code)
        throw new FsError(
          SF2.NODE_EXISTS,
          `${what}: range ${hex(a.code)}-${hex(a.end)} overlaps ${n.kind} ${hex(n.code)}`,
        );
    }
    if (a.capacity > parent.capacity - parent.used)
      throw new FsError(
        SF2.WRITE_FAILURE,
        `${what}: capacity ${a.capacity} exceeds the ${parent.capacity - parent.used} free blocks of area ${hex(parent.code)}`,
      );
  }
  if (!Number.isInteger(a.capacity) || a.capacity < 0 || a.capacity > 0xffff)
    throw new FsError(SF2.WRITE_FAILURE, `${what}: capacity must be 0..65535`);
  const tx = new BlockTx(fs.eeprom);
  const at = allocateSystemBlocks(fs, tx, 1 + (a.key ? keyBlockCount(suiteOf(fs)) : 0));
  tx.write(
    at,
    areaRecord.encode({
      type: RecordType.area,
      systemNumber: a.system,
      areaCode: a.code,
      endServiceCode: a.end,
      parentAreaCode: parent?.code ?? SYSTEM_NODE,
      capacity: a.capacity,
      used: 0,
      keyVersion: a.key?.version ?? 0,
      keyAlgorithm: a.key ? suiteOf(fs) : CryptoSuite.none,
      reserved: 0,
    }),
  );
  writeKey(fs, tx, a.key, at);
  return commitStructural(fs, tx);
}

function isAncestor(view: SystemView, area: AreaNode, of: AreaNode): boolean {
  let p: AreaNode | undefined = of;
  while (p) {
    if (p === area) return true;
    const parentCode: number = p.parent;
    const next = view.byCode.get(parentCode);
    p = next?.kind === 'area' ? next : undefined;
  }
  return false;
}

/** The area and every ancestor up to the root, nearest first. */
export function areaChain(view: SystemView, area: AreaNode): AreaNode[] {
  const chain: AreaNode[] = [];
  let p: AreaNode | undefined = area;
  while (p) {
    chain.push(p);
    const next = view.byCode.get(p.parent);
    p = next?.kind === 'area' ? next : undefined;
  }
  return chain;
}

/** Register Service: a base service with its own blocks, or an overlap service over an existing one. */
export function registerService(fs: FileSystem, s: NewService): CommitResult {
  const view = viewOf(fs, s.system);
  const what = `service ${hex(s.code)}`;
  const attribute = serviceAttribute(s.code);
  if (!attribute)
    throw new FsError(
      SF2.ACCESS_TYPE,
      `${what}: attribute ${hex(nodeAttribute(s.code))} is not a service attribute`,
    );
  if (view.byCode.has(s.code)) throw new FsError(SF2.NODE_EXISTS, `${what} exists already`);
  const area = containingArea(view, s.code);
  if (!area) throw new FsError(SF2.NO_SUCH_NODE, `${what}: no area holds this code`);
  if (attribute.withKey && !s.key)
    throw new FsError(SF2.ACCESS_TYPE, `${what}: a keyed attribute needs a key`);
  if (!attribute.withKey && s.key)
    throw new FsError(SF2.ACCESS_TYPE, `${what}: a "without key" attribute takes no key`);
  checkKey(fs, s.key, what);
  const overlapOf = s.overlapOf ?? SYSTEM_NODE;
  let first: number;
  let count: number;
  let cyclicHead = 0;
  if (overlapOf !== SYSTEM_NODE) {
    const target = view.byCode.get(overlapOf);
    if (!target || target.kind !== 'service')
      throw new FsError(SF2.NO_SUCH_NODE, `${what}: overlapped service ${hex(overlapOf)} does not exist`);
    if (target.overlapOf !== SYSTEM_NODE)
      throw new FsError(SF2.ACCESS_TYPE, `${what}: ${hex(overlapOf)} is itself an overlap service`);
    if (target.attribute.family !== attribute.family)
      throw new FsError(
        SF2.ACCESS_TYPE,
        `${what}: a ${attribute.family} service cannot overlap a ${target.attribute.family} service`,
      );
    if (s.purse)
      throw new FsError(SF2.ACCESS_TYPE, `${what}: a purse policy belongs to the base purse service`);
    first = target.firstBlock;
    count = target.blockCount;
    if (attribute.family === 'cyclic') cyclicHead = 0xffff;
  } else {
    count = s.blocks;
    if (!Number.isInteger(count) || count < 1 || count > 0xffff)
      throw new FsError(SF2.WRITE_FAILURE, `${what}: block count must be 1..65535`);
    if (attribute.family === 'purse' && count !== 1)
      throw new FsError(SF2.ACCESS_TYPE, `${what}: a purse service has exactly 1 block`);
    if (attribute.family !== 'purse' && s.purse)
      throw new FsError(SF2.ACCESS_TYPE, `${what}: only a purse service takes a purse policy`);
    const chain = areaChain(view, area);
    for (const a of chain)
      if (a.used + count > a.capacity)
        throw new FsError(
          SF2.WRITE_FAILURE,
          `${what}: ${count} blocks exceed the ${a.capacity - a.used} free blocks of area ${hex(a.code)}`,
        );
    if (view.system.capacity !== 0xffff && view.system.used + count > view.system.capacity)
      throw new FsError(
        SF2.WRITE_FAILURE,
        `${what}: ${count} blocks exceed the capacity of system ${view.system.number}`,
      );
    first = fs.index.definition.userBlocks;
  }
  const purse =
    attribute.family === 'purse' && overlapOf === SYSTEM_NODE
      ? (s.purse ?? { maxBalance: 50_000, logServiceCode: 0xffff, requireLog: false })
      : undefined;
  if (purse && (!Number.isInteger(purse.maxBalance) || purse.maxBalance < 0 || purse.maxBalance > 0xffffffff))
    throw new FsError(SF2.WRITE_FAILURE, `${what}: maxBalance must be a u32`);
  const tx = new BlockTx(fs.eeprom);
  const keyCount = s.key ? keyBlockCount(suiteOf(fs)) : 0;
  const userBlocks = overlapOf === SYSTEM_NODE ? count : 0;
  const at = allocateSystemBlocks(fs, tx, 1 + keyCount + (purse ? 1 : 0), userBlocks);
  tx.write(
    at,
    serviceRecord.encode({
      type: RecordType.service,
      systemNumber: s.system,
      serviceCode: s.code,
      firstBlock: first,
      blockCount: count,
      overlapOf,
      keyVersion: s.key?.version ?? 0,
      keyAlgorithm: s.key ? suiteOf(fs) : CryptoSuite.none,
      reserved: 0,
      cyclicHead,
    }),
  );
  writeKey(fs, tx, s.key, at);
  if (purse) {
    tx.write(
      at - 1 - keyCount,
      pursePolicyRecord.encode({
        type: RecordType.pursePolicy,
        systemNumber: s.system,
        purseServiceCode: s.code,
        maxBalance: purse.maxBalance,
        logServiceCode: purse.logServiceCode,
        flags: purse.requireLog ? 1 : 0,
        reserved: new Uint8Array(5),
      }),
    );
  }
  if (userBlocks > 0) {
    for (const a of areaChain(view, area)) {
      const r = areaRecord.decode(tx.read(a.recordAddress));
      tx.write(a.recordAddress, areaRecord.encode({ ...r, used: r.used + userBlocks }));
    }
    const sr = systemRecord.decode(tx.read(view.system.recordAddress));
    tx.write(view.system.recordAddress, systemRecord.encode({ ...sr, used: sr.used + userBlocks }));
  }
  return commitStructural(fs, tx);
}

/** Register Issue ID: the issuance ID block at top-1. */
export function registerIssueId(
  fs: FileSystem,
  cardId: Uint8Array,
  issueDate: number,
  sequence: number,
): CommitResult {
  if (cardId.length !== 8) throw new FsError(SF2.WRITE_FAILURE, 'card ID must be 8 bytes');
  const tx = new BlockTx(fs.eeprom);
  tx.write(fs.eeprom.top - 1, issuanceIdBlock.encode({ cardId, issueDate, sequence }));
  return commitStructural(fs, tx);
}

/** Change Key: new key material and version for a node that has a key (system FFFFh, area or service). */
export function changeKey(fs: FileSystem, system: number, code: number, key: NewKey): CommitResult {
  const view = viewOf(fs, system);
  const node = code === SYSTEM_NODE ? view.system : view.byCode.get(code);
  if (!node) throw new FsError(SF2.NO_SUCH_NODE, `node ${hex(code)} does not exist`);
  if (node.key.algorithm === CryptoSuite.none)
    throw new FsError(SF2.NO_KEY, `node ${hex(code)} has no key to change`);
  checkKey(fs, key, `node ${hex(code)}`);
  const tx = new BlockTx(fs.eeprom);
  const rec = tx.read(node.recordAddress);
  const versionOffset = node.kind === 'system' ? 8 : node.kind === 'area' ? 12 : 10;
  rec[versionOffset] = key.version >> 8;
  rec[versionOffset + 1] = key.version & 0xff;
  tx.write(node.recordAddress, rec);
  writeKey(fs, tx, key, node.recordAddress);
  return commitStructural(fs, tx);
}
