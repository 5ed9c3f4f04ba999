// Service data in user blocks (eeprom.md 4.5-4.6): random blocks, cyclic rings with their head in the
// base service record, and purse blocks with the execution-ID and value rules.
import { purseBlock } from '@mica/apdu-specs/eeprom-records';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { SF2 } from '@mica/apdu-specs/status-flags';
import type { BlockTx } from './block-tx';
import { FsError } from './fs-error';
import type { ServiceNode, SystemView } from './nodes';

const CYCLIC_HEAD_OFFSET = 14;

interface BlockReader {
  read(address: number): Uint8Array;
}

function cyclicHead(src: BlockReader, service: ServiceNode): number {
  const rec = src.read(service.baseRecordAddress);
  return (rec[CYCLIC_HEAD_OFFSET]! << 8) | rec[CYCLIC_HEAD_OFFSET + 1]!;
}

/** Address of block `n` of a service: record n (0 newest) of a cyclic service, else first + n. */
export function serviceBlockAddress(src: BlockReader, service: ServiceNode, n: number): number {
  if (service.attribute.family !== 'cyclic') return service.firstBlock + n;
  const head = cyclicHead(src, service);
  return service.firstBlock + ((((head - n) % service.blockCount) + service.blockCount) % service.blockCount);
}

/** Stores a new record 0 of a cyclic service (the oldest record is dropped) and moves its head. */
export function pushCyclicRecord(tx: BlockTx, s: ServiceNode, data: Uint8Array): void {
  const next = (cyclicHead(tx, s) + 1) % s.blockCount;
  tx.write(s.firstBlock + next, data);
  const rec = tx.read(s.baseRecordAddress);
  rec[CYCLIC_HEAD_OFFSET] = next >> 8;
  rec[CYCLIC_HEAD_OFFSET + 1] = next & 0xff;
  tx.write(s.baseRecordAddress, rec);
}

/** One block element of a write command, already checked against the service list and attributes. */
export interface ServiceWrite {
  /** 1-based position in the block list (SF1 of an error tied to it). */
  readonly position: number;
  readonly service: ServiceNode;
  readonly blockNumber: number;
  readonly data: Uint8Array;
}

function isZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

function chargeIdsInLog(tx: BlockTx, log: ServiceNode): Set<string> {
  const ids = new Set<string>();
  for (let i = 0; i < log.blockCount; i++) {
    const block = tx.read(log.firstBlock + i);
    // A never-written ring slot reads as zeros: no record there.
    if (!isZero(block)) ids.add(bytesToHex(block.subarray(0, 8)));
  }
  return ids;
}

/** Whether a service is being personalised (an issuance session holding its area): purse blocks are
 * stored as given and read-only services may be written. */
export type PersonalisingCheck = (purse: ServiceNode) => boolean;
export const NOT_PERSONALISING: PersonalisingCheck = () => false;

/** Stages `writes` into `tx` after checking the cyclic, log, execution-ID and value rules, in the
 * order of eeprom.md 4.6; the first failure throws and nothing is staged in EEPROM. */
export function stageWrites(
  view: SystemView,
  tx: BlockTx,
  writes: readonly ServiceWrite[],
  personalising: PersonalisingCheck = NOT_PERSONALISING,
): void {
  const logWrites = new Map<number, ServiceWrite>();
  for (const w of writes) {
    if (w.service.attribute.family !== 'cyclic' || !view.pursesByLog.has(w.service.baseCode)) continue;
    const logBase = view.byCode.get(w.service.baseCode) as ServiceNode;
    const seen = chargeIdsInLog(tx, logBase);
    const id = bytesToHex(w.data.subarray(0, 8));
    if (seen.has(id))
      throw new FsError(SF2.DUPLICATE_CHARGE_ID, `charge ID ${id} is already in the log`, w.position);
    logWrites.set(w.service.baseCode, w);
  }
  for (const w of writes) {
    const s = w.service;
    if (s.attribute.family === 'cyclic') {
      pushCyclicRecord(tx, s, w.data);
    } else if (s.attribute.family === 'purse' && personalising(s)) {
      const balance = purseBlock.decode(w.data).balance;
      const max = s.purse?.maxBalance ?? 50_000;
      if (balance > max)
        throw new FsError(SF2.PURSE_OVER_MAX, `purse would hold ${balance}, above its maxBalance ${max}`);
      tx.write(s.firstBlock, w.data);
    } else if (s.attribute.family === 'purse') {
      stagePurseWrite(tx, s, w, logWrites);
    } else {
      tx.write(s.firstBlock + w.blockNumber, w.data);
    }
  }
}

function stagePurseWrite(
  tx: BlockTx,
  s: ServiceNode,
  w: ServiceWrite,
  logWrites: ReadonlyMap<number, ServiceWrite>,
): void {
  const policy = s.purse;
  if (policy?.requireLog) {
    const hasLog =
      policy.logServiceCode !== 0xffff &&
      [...logWrites.values()].some(
        (l) => l.service.baseCode === policy.logServiceCode || l.service.code === policy.logServiceCode,
      );
    if (!hasLog)
      throw new FsError(
        SF2.LOG_REQUIRED,
        `purse ${s.baseCode.toString(16)}: the policy requires a log record in the same command`,
      );
  }
  const stored = purseBlock.decode(tx.read(s.firstBlock));
  const written = purseBlock.decode(w.data);
  const maxBalance = policy?.maxBalance ?? 50_000;
  let balance: number;
  if (s.attribute.access === 'direct') {
    if (written.executionId !== ((stored.executionId + 1) & 0xffff))
      throw new FsError(
        SF2.STALE_BALANCE,
        `direct purse write: execution ID must be ${(stored.executionId + 1) & 0xffff}`,
      );
    balance = written.balance;
  } else {
    if (written.executionId === stored.executionId)
      throw new FsError(
        SF2.DUPLICATE_EXECUTION_ID,
        `execution ID ${written.executionId} repeats the stored one`,
      );
    balance =
      s.attribute.access === 'cashback'
        ? stored.balance + written.lastAmount
        : stored.balance - written.lastAmount;
  }
  if (balance < 0) throw new FsError(SF2.PURSE_UNDERFLOW, `purse would go below 0 (${balance})`);
  if (balance > maxBalance)
    throw new FsError(SF2.PURSE_OVER_MAX, `purse would reach ${balance}, above its maxBalance ${maxBalance}`);
  const next = s.attribute.access === 'direct' ? w.data : purseBlock.encode({ ...written, balance });
  tx.write(s.firstBlock, next);
}
