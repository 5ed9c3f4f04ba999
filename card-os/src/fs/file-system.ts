// Reads the file system out of EEPROM: fixed blocks, then definition records from top-3 downward,
// into a cached index (rebuilt at power-on, after issuance, and whenever bytes changed outside a command).
import {
  DELETED_FLAG,
  RecordType,
  areaRecord,
  issuanceIdBlock,
  keyBlockCount,
  manufactureIdBlock,
  pursePolicyRecord,
  serviceRecord,
  systemDefinitionBlock,
  systemRecord,
  type IssuanceIdBlock,
  type ManufactureIdBlock,
  type SystemDefinitionBlock,
} from '@mica/apdu-specs/eeprom-records';
import { serviceAttribute } from '@mica/apdu-specs/node-code';
import { SF2 } from '@mica/apdu-specs/status-flags';
import type { Eeprom } from '../hal/eeprom';
import { FsError } from './fs-error';
import type {
  AreaNode,
  FileNode,
  InterfaceIdentityRecord,
  KeyRef,
  PursePolicy,
  ServiceNode,
  SystemNode,
  SystemView,
} from './nodes';

/** A record the scanner found, before nodes are linked. */
export interface ScannedRecord {
  readonly address: number;
  readonly type: number;
  readonly deleted: boolean;
  /** Blocks the record occupies (record + key blocks, or its own block count). */
  readonly span: number;
  readonly data: Uint8Array;
}

export interface FsIndex {
  readonly manufacture: ManufactureIdBlock;
  readonly issuance: IssuanceIdBlock;
  readonly definition: SystemDefinitionBlock;
  readonly records: readonly ScannedRecord[];
  readonly systems: readonly SystemView[];
  readonly identity: InterfaceIdentityRecord | undefined;
}

function keyRef(version: number, algorithm: number, recordAddress: number): KeyRef {
  return { version, algorithm, address: algorithm === 0 ? -1 : recordAddress - 1 };
}

/** Walks the definition records from top-3 down to top-S+1. */
export function scanRecords(eeprom: Eeprom, systemBlocks: number): ScannedRecord[] {
  const out: ScannedRecord[] = [];
  const last = eeprom.top - systemBlocks + 1;
  let a = eeprom.top - 3;
  while (a >= last) {
    const data = eeprom.read(a);
    const rawType = data[0]!;
    const type = rawType & ~DELETED_FLAG;
    let span: number;
    switch (type) {
      case RecordType.system:
        span = 1 + keyBlockCount(data[10]!);
        break;
      case RecordType.area:
        span = 1 + keyBlockCount(data[14]!);
        break;
      case RecordType.service:
        span = 1 + keyBlockCount(data[12]!);
        break;
      case RecordType.pursePolicy:
        span = 1;
        break;
      default:
        // Types 05h-0Fh are multi-block records whose every block starts with the type and its
        // index: a scanner steps over them block by block (eeprom.md 4.4).
        if (type >= RecordType.interfaceIdentity && type <= 0x0f) {
          span = 1;
          let b = a - 1;
          while (b >= last) {
            const next = eeprom.read(b);
            if (next[0] !== rawType || next[1] !== span) break;
            span += 1;
            b -= 1;
          }
          break;
        }
        throw new FsError(
          SF2.MEMORY_ERROR,
          `unknown definition record type ${rawType.toString(16)}h at block ${a.toString(16)}h`,
        );
    }
    out.push({ address: a, type, deleted: (rawType & DELETED_FLAG) !== 0, span, data });
    a -= span;
  }
  return out;
}

export function buildIndex(eeprom: Eeprom): FsIndex {
  const top = eeprom.top;
  const manufacture = manufactureIdBlock.decode(eeprom.read(top));
  const issuance = issuanceIdBlock.decode(eeprom.read(top - 1));
  const definition = systemDefinitionBlock.decode(eeprom.read(top - 2));
  const records = scanRecords(eeprom, definition.systemBlocks);
  const systems = new Map<number, { system: SystemNode; nodes: FileNode[] }>();
  const policies = new Map<string, PursePolicy>();
  let identity: InterfaceIdentityRecord | undefined;
  for (const r of records) {
    if (r.deleted) continue;
    if (r.type === RecordType.system) {
      const s = systemRecord.decode(r.data);
      systems.set(s.systemNumber, {
        system: {
          kind: 'system',
          number: s.systemNumber,
          code: s.systemCode,
          capacity: s.capacity,
          used: s.used,
          recordAddress: r.address,
          key: keyRef(s.keyVersion, s.keyAlgorithm, r.address),
        },
        nodes: [],
      });
    } else if (r.type === RecordType.pursePolicy) {
      const p = pursePolicyRecord.decode(r.data);
      policies.set(`${p.systemNumber}:${p.purseServiceCode}`, {
        address: r.address,
        maxBalance: p.maxBalance,
        logServiceCode: p.logServiceCode,
        requireLog: (p.flags & 1) !== 0,
      });
    } else if (r.type === RecordType.interfaceIdentity) {
      const blocks: Uint8Array[] = [];
      for (let i = 0; i < r.span; i++) blocks.push(eeprom.read(r.address - i));
      identity = { address: r.address, blocks };
    }
  }
  for (const r of records) {
    if (r.deleted || (r.type !== RecordType.area && r.type !== RecordType.service)) continue;
    const sysNum = r.data[1]!;
    const sys = systems.get(sysNum);
    if (!sys)
      throw new FsError(
        SF2.MEMORY_ERROR,
        `record at ${r.address.toString(16)}h names missing system ${sysNum}`,
      );
    if (r.type === RecordType.area) {
      const d = areaRecord.decode(r.data);
      const area: AreaNode = {
        kind: 'area',
        system: sysNum,
        code: d.areaCode,
        end: d.endServiceCode,
        parent: d.parentAreaCode,
        capacity: d.capacity,
        used: d.used,
        recordAddress: r.address,
        key: keyRef(d.keyVersion, d.keyAlgorithm, r.address),
      };
      sys.nodes.push(area);
    } else {
      const d = serviceRecord.decode(r.data);
      const attribute = serviceAttribute(d.serviceCode);
      if (!attribute)
        throw new FsError(SF2.MEMORY_ERROR, `service record at ${r.address.toString(16)}h has a bad code`);
      sys.nodes.push({
        kind: 'service',
        system: sysNum,
        code: d.serviceCode,
        attribute,
        firstBlock: d.firstBlock,
        blockCount: d.blockCount,
        overlapOf: d.overlapOf,
        recordAddress: r.address,
        baseRecordAddress: r.address,
        baseCode: d.serviceCode,
        key: keyRef(d.keyVersion, d.keyAlgorithm, r.address),
        purse: undefined,
      });
    }
  }
  const views: SystemView[] = [];
  for (const [num, { system, nodes }] of [...systems].sort((a, b) => a[0] - b[0])) {
    const byCode = new Map<number, FileNode>(nodes.map((n) => [n.code, n]));
    const linked = nodes.map((n): FileNode => {
      if (n.kind !== 'service') return n;
      const base = n.overlapOf === 0xffff ? n : byCode.get(n.overlapOf);
      const baseCode = base?.code ?? n.code;
      const purse = n.attribute.family === 'purse' ? policies.get(`${num}:${baseCode}`) : undefined;
      return { ...n, baseRecordAddress: base?.recordAddress ?? n.recordAddress, baseCode, purse };
    });
    const finalByCode = new Map<number, FileNode>(linked.map((n) => [n.code, n]));
    const pursesByLog = new Map<number, ServiceNode>();
    for (const n of linked) {
      if (n.kind === 'service' && n.overlapOf === 0xffff && n.purse && n.purse.logServiceCode !== 0xffff) {
        const log = finalByCode.get(n.purse.logServiceCode);
        pursesByLog.set(log?.kind === 'service' ? log.baseCode : n.purse.logServiceCode, n);
      }
    }
    views.push({ system, nodes: linked, byCode: finalByCode, pursesByLog });
  }
  return { manufacture, issuance, definition, records, systems: views, identity };
}

/** The deepest area of `view` whose [code, end] range holds `code`. */
export function containingArea(view: SystemView, code: number): AreaNode | undefined {
  let best: AreaNode | undefined;
  for (const n of view.nodes) {
    if (n.kind !== 'area' || n.code === code) continue;
    if (code >= n.code && code <= n.end && (!best || n.code >= best.code)) best = n;
  }
  return best;
}
