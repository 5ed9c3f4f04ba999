// Purse and log access shared by the e-money and settlement applets: the same stageWrites rules as FeliCa.
import { valueSw } from '@mica/apdu-specs/apdu/emoney-settlement';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { logRecord, purseBlock, type PurseBlock } from '@mica/apdu-specs/eeprom-records';
import type { ServiceAccess } from '@mica/apdu-specs/node-code';
import { resolveScope, scopedService, type AppletScope } from '../apdu/applet-scope';
import type { ApduSession } from '../apdu/authenticate';
import { IsoError } from '../apdu/iso-error';
import { BlockTx } from '../fs/block-tx';
import { FsError } from '../fs/fs-error';
import type { FileSystem } from '../fs/fs';
import type { ServiceNode, SystemView } from '../fs/nodes';
import { serviceBlockAddress, stageWrites } from '../fs/service-data';

/** Which purse and log an applet works on: codes inside its area (default: first purse, its log). */
export interface PurseConfig {
  readonly purse?: number;
  readonly log?: number;
}

export interface PurseTarget {
  readonly view: SystemView;
  /** The base purse service. */
  readonly purse: ServiceNode;
  /** The base cyclic log service. */
  readonly log: ServiceNode;
  /** The applet's area [code, end]: overlaps outside it are not used. */
  readonly area: readonly [number, number];
}

function base(view: SystemView, s: ServiceNode): ServiceNode {
  const b = view.byCode.get(s.baseCode);
  return b && b.kind === 'service' ? b : s;
}

/** Resolves the purse and log of the config inside the scope; 6A88 when there is none. */
export function purseTarget(fs: FileSystem, scope: AppletScope, config: PurseConfig): PurseTarget {
  const rs = resolveScope(fs, scope);
  const { view, area } = rs;
  let purse: ServiceNode | undefined;
  if (config.purse !== undefined) purse = scopedService(rs, config.purse);
  else
    purse = view.nodes.find(
      (n): n is ServiceNode =>
        n.kind === 'service' &&
        n.attribute.family === 'purse' &&
        n.overlapOf === 0xffff &&
        n.code >= area.code &&
        n.code <= area.end,
    );
  if (!purse || purse.attribute.family !== 'purse')
    throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND, 'no purse service in the area');
  purse = base(view, purse);
  const logCode = config.log ?? purse.purse?.logServiceCode;
  if (logCode === undefined || logCode === 0xffff)
    throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND, 'the purse has no log');
  const log = base(view, scopedService(rs, logCode));
  if (log.attribute.family !== 'cyclic')
    throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND, 'the log is not cyclic');
  return { view, purse, log, area: [area.code, area.end] };
}

/**
 * True when the session may use the target: it names the applet's area, or a service of the purse
 * and (for writes) a service of the log.
 */
export function sessionCovers(s: ApduSession, scope: AppletScope, t: PurseTarget, write: boolean): boolean {
  if (s.system !== scope.system) return false;
  if (s.nodes.includes(scope.area)) return true;
  const of = (b: ServiceNode): boolean =>
    s.nodes.some((c) => {
      const n = t.view.byCode.get(c);
      return n?.kind === 'service' && n.baseCode === b.code;
    });
  return of(t.purse) && (!write || of(t.log));
}

export function readPurse(fs: FileSystem, t: PurseTarget): PurseBlock {
  return purseBlock.decode(fs.eeprom.read(t.purse.firstBlock));
}

/** Up to `count` log records from record `first` (0 newest), stopping at the first empty slot. */
export function readLog(fs: FileSystem, t: PurseTarget, first: number, count: number): Uint8Array[] {
  if (first >= t.log.blockCount) throw new IsoError(SW.WRONG_P1P2);
  const out: Uint8Array[] = [];
  const end = count === 0 ? t.log.blockCount : Math.min(t.log.blockCount, first + count);
  for (let i = first; i < end; i++) {
    const b = fs.eeprom.read(serviceBlockAddress(fs.eeprom, t.log, i));
    if (b.every((x) => x === 0)) break;
    out.push(b);
  }
  return out;
}

export interface ValueChange {
  /** 1 add, 2 subtract, 3 overwrite (log record kinds). */
  readonly kind: 1 | 2 | 3;
  /** The delta, or the new balance for an overwrite. */
  readonly amount: number;
  readonly chargeId: Uint8Array;
  readonly day: number;
  readonly origin: number;
  /** Overwrite: the execution ID the host read; the write carries it + 1. */
  readonly expectedExecutionId?: number;
}

const ACCESS: Record<1 | 2 | 3, ServiceAccess> = { 1: 'cashback', 2: 'decrement', 3: 'direct' };

/** The purse service (base or overlap) whose access matches, if the issuer declared one. */
function purseServiceFor(t: PurseTarget, access: ServiceAccess): ServiceNode | undefined {
  return t.view.nodes.find(
    (n): n is ServiceNode =>
      n.kind === 'service' &&
      n.baseCode === t.purse.code &&
      n.attribute.access === access &&
      n.code >= t.area[0] &&
      n.code <= t.area[1],
  );
}

/**
 * Writes the purse and the log record in one commit through stageWrites (checks in eeprom.md 4.6
 * order). Relative changes use the cashback or decrement service when the area has one, with
 * chargeId bytes 0-1 as execution ID (+1 when that repeats the stored one); without one they become a
 * direct write of the computed balance (stored execution ID + 1). No suitable purse service: 6A81.
 * A refusal throws IsoError 69 ‖ SF2 and nothing changes.
 */
export function applyValueChange(fs: FileSystem, t: PurseTarget, c: ValueChange): PurseBlock {
  const stored = readPurse(fs, t);
  const record = logRecord.encode({
    chargeId: c.chargeId,
    amount: c.amount,
    kind: c.kind,
    day: c.day,
    origin: c.origin,
  });
  const relative = c.kind === 3 ? undefined : purseServiceFor(t, ACCESS[c.kind]);
  const service = relative ?? purseServiceFor(t, 'direct');
  if (!service) throw new IsoError(SW.FUNCTION_NOT_SUPPORTED, 'no purse service for this change');
  let block: Uint8Array;
  let refusal: number | undefined;
  if (relative) {
    let eid = c.chargeId[0]! | (c.chargeId[1]! << 8);
    if (eid === stored.executionId) eid = (eid + 1) & 0xffff;
    block = purseBlock.encode({ ...stored, lastAmount: c.amount, executionId: eid });
  } else {
    const delta = c.kind === 1 ? c.amount : c.kind === 2 ? -c.amount : 0;
    const balance = c.kind === 3 ? c.amount : stored.balance + delta;
    // Checked after the charge-ID and execution-ID rules, as eeprom.md 4.6 orders them.
    if (balance < 0) refusal = valueSw(0x01);
    if (balance > 0xffffffff) refusal = valueSw(0x02);
    const eid = c.kind === 3 ? (c.expectedExecutionId ?? stored.executionId) : stored.executionId;
    block = purseBlock.encode({
      ...stored,
      balance: Math.min(Math.max(balance, 0), 0xffffffff),
      lastAmount: c.kind === 3 ? stored.lastAmount : c.amount,
      executionId: (eid + 1) & 0xffff,
    });
  }
  const tx = new BlockTx(fs.eeprom);
  try {
    stageWrites(t.view, tx, [
      { position: 1, service, blockNumber: 0, data: block },
      { position: 2, service: t.log, blockNumber: 0, data: record },
    ]);
  } catch (e) {
    if (e instanceof FsError) throw new IsoError(valueSw(e.sf2), e.message);
    throw e;
  }
  if (refusal !== undefined) throw new IsoError(refusal, 'value rule');
  tx.commit();
  return readPurse(fs, t);
}
