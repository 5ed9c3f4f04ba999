// The JSON-able model of `mica card dump` (eeprom.md 6): geometry, fixed blocks, definition records,
// user-block map, allocation, parity corrections and write counts; keys masked unless asked for.
import {
  RecordType,
  SUITE_NAMES,
  areaRecord,
  identityBlock0,
  identityBlock1,
  identityBlock2,
  issuanceIdBlock,
  manufactureIdBlock,
  pursePolicyRecord,
  serviceRecord,
  systemDefinitionBlock,
  systemRecord,
} from '@mica/apdu-specs/eeprom-records';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { formatCode, serviceAttribute } from '@mica/apdu-specs/node-code';
import type { FieldInfo } from '@mica/apdu-specs/record-layout';
import { buildIndex, type FsIndex, type ScannedRecord } from '@mica/card-os/fs/file-system';
import type { Eeprom } from '@mica/card-os/hal/eeprom';

export type DumpFieldValue = number | string;
export type DumpFields = Readonly<Record<string, DumpFieldValue>>;

/** A decoded block: `fields` is null when the block could not be read (uncorrectable). */
export interface DumpBlock {
  readonly address: string;
  readonly layout: string;
  readonly fields: DumpFields | null;
}

export interface DumpFixedBlock extends DumpBlock {
  readonly name: string;
}

export interface DumpKeyBlock {
  readonly address: string;
  /** Key bytes in hex with `--show-keys`; otherwise "masked" ("unreadable" for a damaged block). */
  readonly value: string;
}

export interface DumpRecord {
  readonly address: string;
  /** The record's type byte without the deleted flag, 2 hex digits. */
  readonly type: string;
  readonly typeName: string;
  readonly deleted: boolean;
  /** Blocks the record occupies, key blocks included. */
  readonly span: number;
  readonly summary: string;
  readonly layout: string;
  readonly fields: DumpFields;
  /** The further blocks of a multi-block record (interface identity), below the first. */
  readonly moreBlocks: readonly DumpBlock[];
  readonly keyBlocks: readonly DumpKeyBlock[];
}

/** A service's place in the user blocks (an overlap repeats its target's range). */
export interface DumpServiceRange {
  readonly system: number;
  readonly systemCode: string;
  readonly code: string;
  readonly attribute: string;
  readonly firstBlock: string;
  readonly blockCount: number;
  readonly recordAddress: string;
}

export interface DumpUserService extends DumpServiceRange {
  readonly lastBlock: string | null;
  readonly overlappedBy: readonly string[];
}

export interface DumpOverlap extends DumpServiceRange {
  readonly target: string;
}

export interface DumpRange {
  readonly first: string;
  readonly last: string;
  readonly count: number;
}

export interface DumpWriteStats {
  readonly max: number;
  readonly total: number;
  readonly pastEndurance: number;
  readonly mostWritten: readonly { readonly address: string; readonly count: number }[];
}

export interface DumpModel {
  readonly geometry: {
    readonly blocks: number;
    readonly top: string;
    readonly blockSize: 16;
    readonly physicalBlockSize: 22;
    readonly journalSlots: number;
    readonly endurance: number;
  };
  readonly chip: { readonly idm: string; readonly pmm: string; readonly cryptoSuite: string } | null;
  readonly keysShown: boolean;
  readonly recovery: { readonly replayed: number; readonly erased: number } | null;
  readonly fixedBlocks: readonly DumpFixedBlock[];
  readonly records: readonly DumpRecord[];
  readonly systems: readonly {
    readonly number: number;
    readonly code: string;
    readonly idm: string;
    readonly capacity: number;
    readonly used: number;
    readonly recordAddress: string;
  }[];
  readonly userBlocks: {
    readonly services: readonly DumpUserService[];
    readonly overlaps: readonly DumpOverlap[];
    /** Ranges below U that no live service owns (blocks of deleted services: space is not reclaimed). */
    readonly unassigned: readonly DumpRange[];
  };
  readonly allocation: {
    readonly userBlocks: number;
    readonly systemBlocks: number;
    readonly freeBlocks: number;
    readonly userRegion: DumpRange | null;
    readonly systemRegion: DumpRange | null;
    readonly freeRegion: DumpRange | null;
  };
  readonly parity: { readonly corrected: readonly string[]; readonly uncorrectable: readonly string[] };
  readonly writeCounts: { readonly blocks: DumpWriteStats; readonly journal: DumpWriteStats };
  /** Anything that kept part of the file system from being decoded. */
  readonly problems: readonly string[];
}

export interface DumpOptions {
  readonly showKeys: boolean;
  /** What power-on recovery did (in memory) before the dump. */
  readonly recovery?: { readonly replayed: number; readonly erased: number };
}

interface Layout {
  readonly name: string;
  readonly fields: readonly FieldInfo[];
  decode(bytes: Uint8Array): unknown;
}

/** Fields shown as 4 hex digits: node and system codes, and user-block addresses. */
const CODE_FIELDS = new Set(
  'systemCode areaCode endServiceCode parentAreaCode serviceCode overlapOf purseServiceCode logServiceCode firstBlock'.split(
    ' ',
  ),
);
const BCD_DATE_FIELDS = new Set(['manufactureDate', 'issueDate']);
const MOST_WRITTEN = 10;

const hex4 = formatCode;

function range(first: number, last: number): DumpRange | null {
  return last < first ? null : { first: hex4(first), last: hex4(last), count: last - first + 1 };
}

function decodeFields(layout: Layout, bytes: Uint8Array): DumpFields {
  const decoded = layout.decode(bytes) as Record<string, unknown>;
  const out: Record<string, DumpFieldValue> = {};
  for (const f of layout.fields) {
    const v = decoded[f.name];
    if (v instanceof Uint8Array) out[f.name] = bytesToHex(v);
    else if (typeof v !== 'number') continue;
    else if (CODE_FIELDS.has(f.name)) out[f.name] = hex4(v);
    else if (BCD_DATE_FIELDS.has(f.name)) out[f.name] = v.toString(16).padStart(8, '0');
    else out[f.name] = v;
  }
  return out;
}

function tryRead(eeprom: Eeprom, address: number): Uint8Array | undefined {
  try {
    return eeprom.read(address);
  } catch {
    return undefined;
  }
}

function decodeBlock(eeprom: Eeprom, address: number, layout: Layout): DumpBlock {
  const data = tryRead(eeprom, address);
  return { address: hex4(address), layout: layout.name, fields: data ? decodeFields(layout, data) : null };
}

const RAW: Layout = {
  name: 'raw',
  fields: [{ name: 'raw', kind: 'bytes', offset: 0, size: 16, doc: 'undecoded block' }],
  decode: (bytes) => ({ raw: bytes }),
};

/** Name and layout (of the first block) of each known record type. */
const RECORD_TYPES: Readonly<Record<number, readonly [string, Layout]>> = {
  [RecordType.system]: ['system', systemRecord],
  [RecordType.area]: ['area', areaRecord],
  [RecordType.service]: ['service', serviceRecord],
  [RecordType.pursePolicy]: ['purse policy', pursePolicyRecord],
  [RecordType.interfaceIdentity]: ['interface identity', identityBlock0],
};

function summaryOf(type: number, f: DumpFields): string {
  switch (type) {
    case RecordType.system:
      return `system ${String(f['systemNumber'])} (${String(f['systemCode'])})`;
    case RecordType.area:
      return `area ${String(f['areaCode'])}..${String(f['endServiceCode'])}`;
    case RecordType.service: {
      const code = parseInt(String(f['serviceCode']), 16);
      const overlap = f['overlapOf'] === 'ffff' ? '' : ` overlapping ${String(f['overlapOf'])}`;
      return `service ${String(f['serviceCode'])} ${serviceAttribute(code)?.name ?? 'bad attribute'}${overlap}`;
    }
    case RecordType.pursePolicy:
      return `purse policy of ${String(f['purseServiceCode'])}`;
    case RecordType.interfaceIdentity:
      return 'interface identity (ISO/IEC 14443)';
    default:
      return `record type ${type.toString(16).padStart(2, '0')}h`;
  }
}

function recordOf(eeprom: Eeprom, r: ScannedRecord, showKeys: boolean): DumpRecord {
  const [typeName, layout] = RECORD_TYPES[r.type] ?? [
    `reserved ${r.type.toString(16).padStart(2, '0')}h`,
    RAW,
  ];
  const fields = decodeFields(layout, r.data);
  const moreBlocks: DumpBlock[] = [];
  const keyBlocks: DumpKeyBlock[] = [];
  const keyed = r.type === RecordType.system || r.type === RecordType.area || r.type === RecordType.service;
  for (let i = 1; i < r.span; i++) {
    const a = r.address - i;
    if (keyed) {
      const data = showKeys ? tryRead(eeprom, a) : undefined;
      const value = !showKeys ? 'masked' : data ? bytesToHex(data) : 'unreadable';
      keyBlocks.push({ address: hex4(a), value });
    } else if (r.type === RecordType.interfaceIdentity) {
      moreBlocks.push(decodeBlock(eeprom, a, i === 1 ? identityBlock1 : i === 2 ? identityBlock2 : RAW));
    } else {
      moreBlocks.push(decodeBlock(eeprom, a, RAW));
    }
  }
  return {
    address: hex4(r.address),
    type: r.type.toString(16).padStart(2, '0'),
    typeName,
    deleted: r.deleted,
    span: r.span,
    summary: summaryOf(r.type, fields),
    layout: layout.name,
    fields,
    moreBlocks,
    keyBlocks,
  };
}

function writeStats(counts: Uint32Array, from: number, to: number, endurance: number): DumpWriteStats {
  let max = 0;
  let total = 0;
  let pastEndurance = 0;
  const written: number[] = [];
  for (let i = from; i < to; i++) {
    const c = counts[i]!;
    total += c;
    if (c > max) max = c;
    if (c > endurance) pastEndurance += 1;
    if (c > 0) written.push(i);
  }
  written.sort((a, b) => counts[b]! - counts[a]! || a - b);
  const mostWritten = written
    .slice(0, MOST_WRITTEN)
    .map((i) => ({ address: hex4(i - from), count: counts[i]! }));
  return { max, total, pastEndurance, mostWritten };
}

function userMap(index: FsIndex, userBlocks: number): DumpModel['userBlocks'] {
  const services: DumpUserService[] = [];
  const overlaps: DumpOverlap[] = [];
  for (const view of index.systems) {
    const systemCode = hex4(view.system.code);
    for (const n of view.nodes) {
      if (n.kind !== 'service') continue;
      const common = {
        system: n.system,
        systemCode,
        code: hex4(n.code),
        attribute: n.attribute.name,
        firstBlock: hex4(n.firstBlock),
        blockCount: n.blockCount,
        recordAddress: hex4(n.recordAddress),
      };
      if (n.overlapOf !== 0xffff) overlaps.push({ ...common, target: hex4(n.overlapOf) });
      else
        services.push({
          ...common,
          lastBlock: n.blockCount > 0 ? hex4(n.firstBlock + n.blockCount - 1) : null,
          overlappedBy: view.nodes
            .filter((o) => o.kind === 'service' && o.overlapOf === n.code)
            .map((o) => hex4(o.code)),
        });
    }
  }
  services.sort((a, b) => parseInt(a.firstBlock, 16) - parseInt(b.firstBlock, 16) || a.system - b.system);
  const unassigned: DumpRange[] = [];
  let next = 0;
  for (const s of services) {
    const first = parseInt(s.firstBlock, 16);
    const r = range(next, Math.min(first, userBlocks) - 1);
    if (r) unassigned.push(r);
    next = Math.max(next, first + s.blockCount);
  }
  const tail = range(next, userBlocks - 1);
  if (tail) unassigned.push(tail);
  return { services, overlaps, unassigned };
}

function suiteName({ cryptoSuite }: { readonly cryptoSuite: number }): string {
  return Object.entries(SUITE_NAMES).find(([, c]) => c === cryptoSuite)?.[0] ?? `unknown (${cryptoSuite})`;
}

/** Reads the whole chip into a dump model. Reads only: nothing is written, not even a repair. */
export function dumpModel(eeprom: Eeprom, options: DumpOptions): DumpModel {
  const { top, blocks } = eeprom;
  const problems: string[] = [];
  const scrub = eeprom.scrub(false);
  const fixedBlocks: DumpFixedBlock[] = [
    { name: 'manufacture ID', ...decodeBlock(eeprom, top, manufactureIdBlock) },
    { name: 'issuance ID', ...decodeBlock(eeprom, top - 1, issuanceIdBlock) },
    { name: 'system definition', ...decodeBlock(eeprom, top - 2, systemDefinitionBlock) },
  ];
  for (const b of fixedBlocks)
    if (b.fields === null) problems.push(`the ${b.name} block ${b.address} is uncorrectable`);
  let index: FsIndex | undefined;
  try {
    index = buildIndex(eeprom);
  } catch (e) {
    problems.push(`the file system could not be decoded: ${e instanceof Error ? e.message : String(e)}`);
  }
  // U, S and the chip identity come from the fixed blocks, so they survive damage to the records.
  const defData = tryRead(eeprom, top - 2);
  const def = defData && systemDefinitionBlock.decode(defData);
  const u = def?.userBlocks ?? 0;
  const s = def?.systemBlocks ?? 0;
  const records = index ? index.records.map((r) => recordOf(eeprom, r, options.showKeys)) : [];
  if (index) {
    const spans = 3 + index.records.reduce((n, r) => n + r.span, 0);
    if (spans !== s) problems.push(`S = ${s} but the fixed blocks and records span ${spans} blocks`);
  }
  const manData = tryRead(eeprom, top);
  const m = manData && manufactureIdBlock.decode(manData);
  const idm = m ? bytesToHex(m.manufacturerCode) + bytesToHex(m.serial) : '';
  const systemIdm = (n: number): string =>
    ((parseInt(idm.slice(0, 2), 16) & 0x0f) | (n << 4)).toString(16).padStart(2, '0') + idm.slice(2);
  const counts = eeprom.physical.writeCounts;
  return {
    geometry: {
      blocks,
      top: hex4(top),
      blockSize: 16,
      physicalBlockSize: 22,
      journalSlots: eeprom.journalSlots,
      endurance: eeprom.endurance,
    },
    chip:
      m && def
        ? { idm, pmm: bytesToHex(m.icCode) + bytesToHex(def.pmmTiming), cryptoSuite: suiteName(m) }
        : null,
    keysShown: options.showKeys,
    recovery: options.recovery ? { ...options.recovery } : null,
    fixedBlocks,
    records,
    systems: (index?.systems ?? []).map((v) => ({
      number: v.system.number,
      code: hex4(v.system.code),
      idm: systemIdm(v.system.number),
      capacity: v.system.capacity,
      used: v.system.used,
      recordAddress: hex4(v.system.recordAddress),
    })),
    userBlocks: index ? userMap(index, u) : { services: [], overlaps: [], unassigned: [] },
    allocation: {
      userBlocks: u,
      systemBlocks: s,
      freeBlocks: blocks - u - s,
      userRegion: range(0, u - 1),
      systemRegion: range(top - s + 1, top),
      freeRegion: range(u, top - s),
    },
    parity: { corrected: scrub.corrected.map(hex4), uncorrectable: scrub.uncorrectable.map(hex4) },
    writeCounts: {
      blocks: writeStats(counts, 0, blocks, eeprom.endurance),
      // Journal slots are numbered from 0 within the journal area.
      journal: writeStats(counts, blocks, blocks + eeprom.journalSlots, eeprom.endurance),
    },
    problems,
  };
}
