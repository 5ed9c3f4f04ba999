// The byte layouts of eeprom.md section 4: fixed blocks, definition records, purse and log blocks.
import { defineRecord } from './record-layout';

export const BLOCK_SIZE = 16;

/** Record type bytes (first byte of a definition block); `DELETED_FLAG` is or-ed in on deletion. */
export const RecordType = Object.freeze({
  area: 0x01,
  service: 0x02,
  system: 0x03,
  pursePolicy: 0x04,
  interfaceIdentity: 0x05,
  /** ISO 7816 applet registry entry: 2 blocks (appletRecordBlock0, appletRecordBlock1). */
  appletRegistry: 0x06,
  /** Applet share grant: 1 block (shareGrantRecord). */
  shareGrant: 0x07,
} as const);
export const DELETED_FLAG = 0x80;

/** Crypto suite codes (manufacture ID block byte 15, key-algorithm fields). 0 = no key. */
export const CryptoSuite = Object.freeze({
  none: 0x00,
  des: 0x01,
  tdes2: 0x02,
  tdes3: 0x03,
  aes128: 0x04,
} as const);
export type CryptoSuiteCode = (typeof CryptoSuite)[keyof typeof CryptoSuite];
export const SUITE_NAMES: Readonly<Record<string, CryptoSuiteCode>> = Object.freeze({
  des: 0x01,
  '2k3des': 0x02,
  '3k3des': 0x03,
  aes128: 0x04,
});

/** Key blocks that follow a record whose key algorithm is `alg` (3K3DES keys take two blocks). */
export function keyBlockCount(alg: number): number {
  if (alg === CryptoSuite.none) return 0;
  return alg === CryptoSuite.tdes3 ? 2 : 1;
}

export const manufactureIdBlock = defineRecord(
  'manufactureIdBlock',
  'Manufacture ID block at `top`, written at manufacture, never changed (eeprom.md 4.1).',
  [
    { name: 'manufacturerCode', kind: 'bytes', size: 2, doc: 'manufacturer code (IDm[0..1] of system 0)' },
    { name: 'serial', kind: 'bytes', size: 6, doc: 'IC serial number (IDm[2..7])' },
    { name: 'icCode', kind: 'bytes', size: 2, doc: 'IC code (ROM type, IC type) = PMm[0..1]' },
    { name: 'manufactureDate', kind: 'u32be', doc: 'manufacture date, BCD YYYYMMDD' },
    { name: 'layoutVersion', kind: 'u8', doc: 'layout version, 0x01' },
    { name: 'cryptoSuite', kind: 'u8', doc: 'crypto suite: 01 DES, 02 2K3DES, 03 3K3DES, 04 AES-128' },
  ] as const,
  BLOCK_SIZE,
);

export const issuanceIdBlock = defineRecord(
  'issuanceIdBlock',
  'Issuance ID block at `top`-1, all zero until Register Issue ID (eeprom.md 4.2).',
  [
    { name: 'cardId', kind: 'bytes', size: 8, doc: 'card ID (IDi) assigned by the issuer' },
    { name: 'issueDate', kind: 'u32be', doc: 'issue date, BCD YYYYMMDD' },
    { name: 'sequence', kind: 'u32be', doc: 'issuance sequence number' },
  ] as const,
  BLOCK_SIZE,
);

export const systemDefinitionBlock = defineRecord(
  'systemDefinitionBlock',
  'System definition block at `top`-2 (eeprom.md 4.3).',
  [
    { name: 'systemCode', kind: 'u16be', doc: 'system code of system 0, fixed at manufacture' },
    { name: 'userBlocks', kind: 'u16be', doc: 'U, user blocks allocated' },
    { name: 'systemBlocks', kind: 'u16be', doc: 'S, system blocks allocated (fixed blocks included)' },
    { name: 'pmmTiming', kind: 'bytes', size: 6, doc: 'PMm[2..7], maximum-response-time parameters' },
    { name: 'systemCount', kind: 'u8', doc: 'number of systems (1 + separated systems)' },
    { name: 'reserved', kind: 'bytes', size: 3, doc: 'reserved, zero' },
  ] as const,
  BLOCK_SIZE,
);

export const systemRecord = defineRecord(
  'systemRecord',
  'Type 03h: system record, one per system, the first record created for it (eeprom.md 4.4).',
  [
    { name: 'type', kind: 'u8', doc: '0x03' },
    { name: 'systemNumber', kind: 'u8', doc: 'system number (0..15)' },
    { name: 'systemCode', kind: 'u16be', doc: 'system code' },
    { name: 'capacity', kind: 'u16be', doc: 'capacity in user blocks (FFFFh = shares all free space)' },
    { name: 'used', kind: 'u16be', doc: 'user blocks used by this system' },
    { name: 'keyVersion', kind: 'u16be', doc: 'system key version' },
    { name: 'keyAlgorithm', kind: 'u8', doc: 'key algorithm: 0 none, else the crypto-suite code' },
    { name: 'reserved', kind: 'bytes', size: 5, doc: 'reserved, zero' },
  ] as const,
  BLOCK_SIZE,
);

export const areaRecord = defineRecord(
  'areaRecord',
  'Type 01h: area definition (eeprom.md 4.4).',
  [
    { name: 'type', kind: 'u8', doc: '0x01' },
    { name: 'systemNumber', kind: 'u8', doc: 'system number' },
    { name: 'areaCode', kind: 'u16be', doc: 'area code (area number << 6 | attribute 00 or 01)' },
    { name: 'endServiceCode', kind: 'u16be', doc: 'end service code (last node code inside the area)' },
    { name: 'parentAreaCode', kind: 'u16be', doc: 'parent area code (FFFFh for the root area 0000h)' },
    { name: 'capacity', kind: 'u16be', doc: 'capacity in user blocks' },
    { name: 'used', kind: 'u16be', doc: 'user blocks used inside (services and sub-areas)' },
    { name: 'keyVersion', kind: 'u16be', doc: 'key version' },
    { name: 'keyAlgorithm', kind: 'u8', doc: 'key algorithm (0 none)' },
    { name: 'reserved', kind: 'u8', doc: 'reserved, zero' },
  ] as const,
  BLOCK_SIZE,
);

export const serviceRecord = defineRecord(
  'serviceRecord',
  'Type 02h: service definition (eeprom.md 4.4).',
  [
    { name: 'type', kind: 'u8', doc: '0x02' },
    { name: 'systemNumber', kind: 'u8', doc: 'system number' },
    { name: 'serviceCode', kind: 'u16be', doc: 'service code (service number << 6 | attribute)' },
    { name: 'firstBlock', kind: 'u16be', doc: 'first user block address' },
    { name: 'blockCount', kind: 'u16be', doc: 'number of blocks' },
    { name: 'overlapOf', kind: 'u16be', doc: 'overlapped service code (FFFFh none)' },
    { name: 'keyVersion', kind: 'u16be', doc: 'key version' },
    { name: 'keyAlgorithm', kind: 'u8', doc: 'key algorithm (0 none)' },
    { name: 'reserved', kind: 'u8', doc: 'reserved, zero' },
    {
      name: 'cyclicHead',
      kind: 'u16be',
      doc: 'cyclic head (index of the newest record) in the base record of a cyclic service; FFFFh in an overlap of a cyclic service; 0 otherwise',
    },
  ] as const,
  BLOCK_SIZE,
);

export const pursePolicyRecord = defineRecord(
  'pursePolicyRecord',
  'Type 04h: purse policy, directly below the purse base service record and its key blocks (eeprom.md 4.4).',
  [
    { name: 'type', kind: 'u8', doc: '0x04' },
    { name: 'systemNumber', kind: 'u8', doc: 'system number' },
    { name: 'purseServiceCode', kind: 'u16be', doc: 'purse service code (the base service)' },
    { name: 'maxBalance', kind: 'u32be', doc: 'maximum balance (default 50,000)' },
    { name: 'logServiceCode', kind: 'u16be', doc: 'log service code (a cyclic service; FFFFh none)' },
    { name: 'flags', kind: 'u8', doc: 'bit 0: a value change must come with a log record (hardened)' },
    { name: 'reserved', kind: 'bytes', size: 5, doc: 'reserved, zero' },
  ] as const,
  BLOCK_SIZE,
);

export const identityBlock0 = defineRecord(
  'identityBlock0',
  'Type 05h block 0 (highest address): ISO/IEC 14443 Type A identity (eeprom.md 4.4).',
  [
    { name: 'type', kind: 'u8', doc: '0x05' },
    { name: 'index', kind: 'u8', doc: '0x00' },
    { name: 'uidLength', kind: 'u8', doc: 'UID length: 4, 7 or 10' },
    { name: 'uid', kind: 'bytes', size: 10, doc: 'UID, left-aligned, zero padded' },
    { name: 'atqa', kind: 'bytes', size: 2, doc: 'ATQA as transmitted' },
    { name: 'sak', kind: 'u8', doc: 'SAK of the complete UID' },
  ] as const,
  BLOCK_SIZE,
);

export const identityBlock1 = defineRecord(
  'identityBlock1',
  'Type 05h block 1: the ATS (eeprom.md 4.4).',
  [
    { name: 'type', kind: 'u8', doc: '0x05' },
    { name: 'index', kind: 'u8', doc: '0x01' },
    { name: 'ats', kind: 'bytes', size: 14, doc: 'ATS, TL first, zero padded' },
  ] as const,
  BLOCK_SIZE,
);

export const identityBlock2 = defineRecord(
  'identityBlock2',
  'Type 05h block 2: ISO/IEC 14443 Type B identity (eeprom.md 4.4).',
  [
    { name: 'type', kind: 'u8', doc: '0x05' },
    { name: 'index', kind: 'u8', doc: '0x02' },
    { name: 'pupi', kind: 'bytes', size: 4, doc: 'PUPI' },
    { name: 'appData', kind: 'bytes', size: 4, doc: 'ATQB application data' },
    { name: 'protInfo', kind: 'bytes', size: 3, doc: 'ATQB protocol info' },
    { name: 'reserved', kind: 'bytes', size: 3, doc: 'reserved, zero' },
  ] as const,
  BLOCK_SIZE,
);

export const appletRecordBlock0 = defineRecord(
  'appletRecordBlock0',
  'Type 06h block 0 (higher address): an ISO 7816 applet of the registry. Deleted: 86h in both blocks.',
  [
    { name: 'type', kind: 'u8', doc: '0x06 (0x86 once deleted)' },
    { name: 'index', kind: 'u8', doc: '0x00' },
    { name: 'kind', kind: 'u8', doc: 'applet kind code (apdu-specs APPLET_KINDS)' },
    { name: 'systemNumber', kind: 'u8', doc: 'system number of the owning area' },
    { name: 'areaCode', kind: 'u16be', doc: 'owning area: the applet reaches only [area, end]' },
    { name: 'state', kind: 'u8', doc: '01h installed (selectable); 00h installed, not selectable' },
    { name: 'aidLength', kind: 'u8', doc: 'AID length, 5..16' },
    { name: 'aidHead', kind: 'bytes', size: 8, doc: 'AID bytes 0..7, zero padded' },
  ] as const,
  BLOCK_SIZE,
);

export const appletRecordBlock1 = defineRecord(
  'appletRecordBlock1',
  'Type 06h block 1 (next lower address): the rest of the AID.',
  [
    { name: 'type', kind: 'u8', doc: '0x06 (0x86 once deleted)' },
    { name: 'index', kind: 'u8', doc: '0x01' },
    { name: 'aidTail', kind: 'bytes', size: 8, doc: 'AID bytes 8..15, zero padded' },
    { name: 'reserved', kind: 'bytes', size: 6, doc: 'reserved, zero' },
  ] as const,
  BLOCK_SIZE,
);

export const shareGrantRecord = defineRecord(
  'shareGrantRecord',
  'Type 07h (1 block): the applets of area `granteeArea` may read service `serviceCode` of another area.',
  [
    { name: 'type', kind: 'u8', doc: '0x07 (0x87 once revoked)' },
    { name: 'index', kind: 'u8', doc: '0x00' },
    { name: 'systemNumber', kind: 'u8', doc: 'system of both areas' },
    { name: 'serviceCode', kind: 'u16be', doc: "the shared service (inside the owner applet's area)" },
    { name: 'granteeArea', kind: 'u16be', doc: 'area code of the applets given read access' },
    { name: 'rights', kind: 'u8', doc: 'bit 0: read (the only right defined)' },
    { name: 'reserved', kind: 'bytes', size: 8, doc: 'reserved, zero' },
  ] as const,
  BLOCK_SIZE,
);

export const purseBlock = defineRecord(
  'purseBlock',
  "Purse service data: FeliCa's little-endian purse block (eeprom.md 4.5).",
  [
    { name: 'balance', kind: 'u32le', doc: 'balance' },
    { name: 'userData', kind: 'bytes', size: 6, doc: 'user data' },
    { name: 'lastAmount', kind: 'u32le', doc: 'last cashback or decrement amount' },
    { name: 'executionId', kind: 'u16le', doc: 'execution ID' },
  ] as const,
  BLOCK_SIZE,
);

/** Log record kinds (flows.md 1.4). */
export const LogKind = Object.freeze({ add: 1, subtract: 2, overwrite: 3 } as const);

export const logRecord = defineRecord(
  'logRecord',
  "Transaction log record: one block of a purse's cyclic log service (flows.md 1.4).",
  [
    { name: 'chargeId', kind: 'bytes', size: 8, doc: 'charge ID (first 8 bytes of the txId)' },
    { name: 'amount', kind: 'u32be', doc: 'amount' },
    { name: 'kind', kind: 'u8', doc: '1 add, 2 subtract, 3 overwrite' },
    { name: 'day', kind: 'u16be', doc: 'days since 2000-01-01 JST' },
    { name: 'origin', kind: 'u8', doc: 'channel, merchant or terminal index' },
  ] as const,
  BLOCK_SIZE,
);

export type ManufactureIdBlock = ReturnType<typeof manufactureIdBlock.decode>;
export type IssuanceIdBlock = ReturnType<typeof issuanceIdBlock.decode>;
export type SystemDefinitionBlock = ReturnType<typeof systemDefinitionBlock.decode>;
export type SystemRecord = ReturnType<typeof systemRecord.decode>;
export type AreaRecord = ReturnType<typeof areaRecord.decode>;
export type ServiceRecord = ReturnType<typeof serviceRecord.decode>;
export type PursePolicyRecord = ReturnType<typeof pursePolicyRecord.decode>;
export type PurseBlock = ReturnType<typeof purseBlock.decode>;
export type LogRecord = ReturnType<typeof logRecord.decode>;

/** Every layout, in the order the reference documents them. */
export const EEPROM_LAYOUTS = Object.freeze([
  manufactureIdBlock,
  issuanceIdBlock,
  systemDefinitionBlock,
  systemRecord,
  areaRecord,
  serviceRecord,
  pursePolicyRecord,
  identityBlock0,
  identityBlock1,
  identityBlock2,
  appletRecordBlock0,
  appletRecordBlock1,
  shareGrantRecord,
  purseBlock,
  logRecord,
]);
