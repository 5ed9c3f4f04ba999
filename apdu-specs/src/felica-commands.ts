// FeliCa-style command and response frames (commands.md, security.md 5): codes and field layouts.
// Frames are LEN ‖ code ‖ ...; LEN counts itself; node codes little-endian, system codes big-endian.

export interface FrameField {
  readonly name: string;
  /** Byte count, or a formula for variable parts (e.g. "2n"). */
  readonly size: number | string;
  readonly doc: string;
}

export interface FelicaCommandSpec {
  readonly name: string;
  readonly code: number;
  readonly responseCode: number;
  readonly request: readonly FrameField[];
  /** Absent: the command has no response (none here; every command answers or stays silent). */
  readonly response: readonly FrameField[];
  readonly notes: string;
}

const LEN: FrameField = { name: 'LEN', size: 1, doc: 'frame length, itself included' };
export const IDM_FIELD: FrameField = { name: 'IDm', size: 8, doc: 'IDm of the addressed system' };
export const SF_FIELDS: readonly FrameField[] = [
  {
    name: 'SF1',
    size: 1,
    doc: 'status flag 1: 00 OK, FF general error, else the failing block-list position',
  },
  { name: 'SF2', size: 1, doc: 'status flag 2 (status-flag table)' },
];
const code = (c: number): FrameField => ({
  name: 'code',
  size: 1,
  doc: `${c.toString(16).padStart(2, '0')}h`,
});

export const SERVICE_LIST: readonly FrameField[] = [
  { name: 'nS', size: 1, doc: 'number of services, 1-16' },
  { name: 'serviceCodes', size: '2·nS', doc: 'service code list, little-endian' },
];
export const BLOCK_LIST: FrameField = {
  name: 'blockList',
  size: '2 or 3 per element',
  doc: 'block elements: byte 0 = length bit (80h: 2-byte element) | access mode (bits 6-4) | service index (bits 3-0); then the block number, 1 byte (2-byte element) or 2 bytes little-endian (3-byte element)',
};

/** A command whose response code is its code + 1, both frames starting LEN ‖ code. */
export function felicaSpec(
  name: string,
  c: number,
  request: readonly FrameField[],
  response: readonly FrameField[],
  notes: string,
): FelicaCommandSpec {
  return Object.freeze({
    name,
    code: c,
    responseCode: c + 1,
    request: Object.freeze([LEN, code(c), ...request]),
    response: Object.freeze([LEN, code(c + 1), ...response]),
    notes,
  });
}

export const FELICA_COMMANDS = Object.freeze({
  polling: felicaSpec(
    'Polling',
    0x00,
    [
      { name: 'systemCode', size: 2, doc: 'system code, big-endian; FFh bytes are wildcards' },
      {
        name: 'requestCode',
        size: 1,
        doc: '00 none, 01 system code, 02 communication performance; others as 00',
      },
      { name: 'timeSlot', size: 1, doc: 'TSN: number of slots - 1 (00, 01, 03, 07, 0F)' },
    ],
    [
      IDM_FIELD,
      { name: 'PMm', size: 8, doc: 'IC code and maximum-response-time parameters' },
      {
        name: 'requestData',
        size: '0 or 2',
        doc: 'RC 01: system code (BE); RC 02: communication performance 00 83',
      },
    ],
    'A full wildcard is answered by system 0, a partial one by the lowest-numbered matching system; no match: silence. Puts the system in Mode 0 and ends any authentication.',
  ),
  requestService: felicaSpec(
    'Request Service',
    0x02,
    [
      IDM_FIELD,
      { name: 'n', size: 1, doc: 'number of nodes, 1-32' },
      { name: 'nodeCodes', size: '2n', doc: 'node codes, little-endian' },
    ],
    [
      IDM_FIELD,
      { name: 'n', size: 1, doc: 'number of nodes' },
      {
        name: 'keyVersions',
        size: '2n',
        doc: 'key versions, little-endian; FFFFh: no such node; 0000h: node without key',
      },
    ],
    'n outside 1-32 or a list shorter or longer than announced: silence (the response has no status flags).',
  ),
  requestResponse: felicaSpec(
    'Request Response',
    0x04,
    [IDM_FIELD],
    [
      IDM_FIELD,
      {
        name: 'mode',
        size: 1,
        doc: '00 Mode 0, 01 after Authentication1, 02 after Authentication2, 03 issuing',
      },
    ],
    '',
  ),
  readWithoutEncryption: felicaSpec(
    'Read Without Encryption',
    0x06,
    [IDM_FIELD, ...SERVICE_LIST, { name: 'nB', size: 1, doc: 'number of blocks, 1-15' }, BLOCK_LIST],
    [
      IDM_FIELD,
      ...SF_FIELDS,
      { name: 'nB', size: '1 (success only)', doc: 'number of blocks' },
      { name: 'blockData', size: '16·nB (success only)', doc: 'block data' },
    ],
    'Keyed services: SF2 = B1. Cyclic block n = record n, 0 the newest.',
  ),
  writeWithoutEncryption: felicaSpec(
    'Write Without Encryption',
    0x08,
    [
      IDM_FIELD,
      ...SERVICE_LIST,
      { name: 'nB', size: 1, doc: 'number of blocks, 1-12' },
      BLOCK_LIST,
      { name: 'blockData', size: '16·nB', doc: 'block data' },
    ],
    [IDM_FIELD, ...SF_FIELDS],
    'All blocks are written atomically or none. Cyclic services take block 0 only (a new record 0) and one write per command (AF). Purse writes follow the execution-ID and value rules of eeprom.md 4.5-4.6.',
  ),
  searchServiceCode: felicaSpec(
    'Search Service Code',
    0x0a,
    [IDM_FIELD, { name: 'index', size: 2, doc: 'index, little-endian' }],
    [
      IDM_FIELD,
      {
        name: 'node',
        size: '2 or 4',
        doc: 'area: code ‖ end (LE each); service: code (LE); past the end: FFFFh',
      },
    ],
    "Walks the system's areas and services in creation order, root area first, overlap services included.",
  ),
  requestSystemCode: felicaSpec(
    'Request System Code',
    0x0c,
    [IDM_FIELD],
    [
      IDM_FIELD,
      { name: 'n', size: 1, doc: 'number of systems' },
      { name: 'systemCodes', size: '2n', doc: 'system codes, big-endian, system 0 first' },
    ],
    "Any of the card's IDms may ask.",
  ),
  requestBlockInformation: felicaSpec(
    'Request Block Information',
    0x0e,
    [
      IDM_FIELD,
      { name: 'n', size: 1, doc: 'number of nodes, 1-32' },
      { name: 'nodeCodes', size: '2n', doc: 'node codes, little-endian' },
    ],
    [
      IDM_FIELD,
      { name: 'n', size: 1, doc: 'number of nodes' },
      {
        name: 'blocks',
        size: '2n',
        doc: 'service: its block count; area: its free capacity; FFFFh: no such node (LE)',
      },
    ],
    'n outside 1-32 or a list shorter or longer than announced: silence.',
  ),
  resetMode: felicaSpec(
    'Reset Mode',
    0x3e,
    [IDM_FIELD, { name: 'reserved', size: 2, doc: '0000h' }],
    [IDM_FIELD, ...SF_FIELDS],
    'Back to Mode 0; the session is cleared.',
  ),
} as const);

export type FelicaCommandName = keyof typeof FELICA_COMMANDS;

/** Block-list element helpers (byte 0: 80h = 2-byte element; bits 6-4 access mode; bits 3-0 service index). */
export const BLOCK_ELEMENT_SHORT = 0x80;
export const ACCESS_MODE_NORMAL = 0;
export const ACCESS_MODE_PURSE_CASHBACK = 1;

/** Communication performance reported for Polling request code 02h: 212 and 424 kbps, automatic. */
export const COMMUNICATION_PERFORMANCE = Object.freeze([0x00, 0x83] as const);

export const MAX_READ_BLOCKS = 15;
export const MAX_WRITE_BLOCKS = 12;
export const MAX_SERVICES = 16;
export const MAX_NODES = 32;
