// Secure FeliCa-style commands (security.md 5): mutual authentication, secure Read/Write and the
// issuance commands, with the layouts of their encrypted packages.
import { IDM_FIELD, SF_FIELDS, felicaSpec, type FelicaCommandSpec, type FrameField } from './felica-commands';

const IDM = IDM_FIELD;
const SF = SF_FIELDS;
const MAC: FrameField = {
  name: 'MAC',
  size: 8,
  doc: 'first 8 bytes of MAC(KSmac, CTR(4, BE) ‖ frame from the code to the byte before the MAC): ISO 9797-1 algorithm 3, padding 2 (DES suites) or AES-CMAC',
};
const RESPONSE_MAC: FrameField = {
  name: 'MAC',
  size: '8 (while a session exists, except after B2)',
  doc: 'MAC over CTR ‖ response from the code to the byte before the MAC',
};
const PACKAGE: FrameField = {
  name: 'package',
  size: 'multiple of the block size',
  doc: 'E_CBC(KSenc, IV, pad2(parameters)), IV = E_ECB(KSenc, CTR left-padded to the block size); layouts below',
};
const issuance = (name: string, c: number, authorisedBy: string): FelicaCommandSpec =>
  felicaSpec(
    name,
    c,
    [IDM, PACKAGE, MAC],
    [IDM, ...SF, RESPONSE_MAC],
    `Mode 2 or 3; atomic. Authenticated to ${authorisedBy}.`,
  );

export const FELICA_SECURE_COMMANDS = Object.freeze({
  authentication1: felicaSpec(
    'Authentication1',
    0x10,
    [
      IDM,
      { name: 'nA', size: 1, doc: 'number of area codes, 0-16 (FFFFh = the system key)' },
      { name: 'areaCodes', size: '2·nA', doc: 'area codes, little-endian' },
      { name: 'nS', size: 1, doc: 'number of service codes, 0-16 (nA + nS from 1 to 16)' },
      { name: 'serviceCodes', size: '2·nS', doc: 'service codes, little-endian' },
    ],
    [IDM, ...SF, { name: 'cardChallenge', size: '8 or 16 (success only)', doc: 'E_CBC(K, IV = 0, RndB)' }],
    'Access key K synthesised from the listed nodes (areas first): K = key(node0); K = E_ECB(key(node i), K). A missing node: A6; a node without key: A5. Enters Mode 1.',
  ),
  authentication2: felicaSpec(
    'Authentication2',
    0x12,
    [
      IDM,
      {
        name: 'readerResponse',
        size: '16 or 32',
        doc: 'E_CBC(K, IV = last block of cardChallenge, RndA ‖ rotl8(RndB))',
      },
    ],
    [
      IDM,
      ...SF,
      {
        name: 'cardResponse',
        size: '8 or 16 (success only)',
        doc: 'E_CBC(K, IV = last block of readerResponse, rotl8(RndA))',
      },
    ],
    'Mode 2 (3 when the list held an area or the system) on success; CTR = 0. A wrong cryptogram: SF2 = B2, Mode 0, session cleared. Outside Mode 1: B1.',
  ),
  read: felicaSpec(
    'Read',
    0x14,
    [
      IDM,
      { name: 'nS', size: 1, doc: 'number of services, 1-16' },
      { name: 'serviceCodes', size: '2·nS', doc: 'service codes, little-endian' },
      { name: 'nB', size: 1, doc: 'number of blocks, 1-15' },
      { name: 'blockList', size: '2 or 3 per element', doc: 'as Read Without Encryption' },
      MAC,
    ],
    [
      IDM,
      ...SF,
      { name: 'nB', size: '1 (success only)', doc: 'number of blocks' },
      { name: 'encBlocks', size: '16·nB (success only)', doc: 'E_CBC(KSenc, IV, blocks)' },
      RESPONSE_MAC,
    ],
    'Services must be in the session (else B1). Checks as Read Without Encryption after the MAC.',
  ),
  write: felicaSpec(
    'Write',
    0x16,
    [
      IDM,
      { name: 'nS', size: 1, doc: 'number of services, 1-16' },
      { name: 'serviceCodes', size: '2·nS', doc: 'service codes, little-endian' },
      { name: 'nB', size: 1, doc: 'number of blocks, 1-12' },
      { name: 'blockList', size: '2 or 3 per element', doc: 'as Write Without Encryption' },
      { name: 'encBlocks', size: '16·nB', doc: 'E_CBC(KSenc, IV, blocks)' },
      MAC,
    ],
    [IDM, ...SF, RESPONSE_MAC],
    'Atomic; value rules of eeprom.md 4.6 after the MAC (step 1) and the block-list checks (step 2).',
  ),
  registerIssueId: issuance('Register Issue ID', 0x80, 'the system (node FFFFh in the session)'),
  registerArea: issuance('Register Area', 0x82, 'the parent area, one of its ancestors, or the system'),
  registerService: issuance(
    'Register Service',
    0x84,
    'the area that will hold it, one of its ancestors, or the system',
  ),
  changeKey: issuance(
    'Change Key',
    0x86,
    "the node's parent: the system for FFFFh and the root area, the parent area (or an ancestor, or the system) for an area, the holding area (or an ancestor, or the system) for a service",
  ),
  separateSystem: issuance('Separate System', 0x88, 'system 0 (node FFFFh of system 0)'),
} as const);

/**
 * Issuance package parameters (plaintext, before ISO 9797-1 padding method 2 and encryption).
 * Node codes are little-endian as everywhere on the FeliCa wire; system codes and other integers
 * big-endian. Key material is the stored form: 16 bytes (DES as K ‖ K, 2K3DES, AES-128) or 24 (3K3DES);
 * keyLength 0 = the node has no key.
 */
export const ISSUANCE_PACKAGES: Readonly<Record<string, readonly FrameField[]>> = Object.freeze({
  'Register Issue ID': [
    { name: 'cardId', size: 8, doc: 'card ID (IDi)' },
    { name: 'issueDate', size: 4, doc: 'BCD YYYYMMDD' },
    { name: 'sequence', size: 4, doc: 'issuance sequence number, BE' },
  ],
  'Register Area': [
    { name: 'areaCode', size: 2, doc: 'area code, LE' },
    { name: 'endServiceCode', size: 2, doc: 'end service code, LE' },
    { name: 'capacity', size: 2, doc: 'capacity in user blocks, BE' },
    { name: 'keyVersion', size: 2, doc: 'key version, BE' },
    { name: 'keyLength', size: 1, doc: '0, 16 or 24' },
    { name: 'key', size: 'keyLength', doc: 'key material' },
  ],
  'Register Service': [
    { name: 'serviceCode', size: 2, doc: 'service code, LE' },
    { name: 'blockCount', size: 2, doc: 'number of blocks, BE (ignored for an overlap)' },
    { name: 'overlapOf', size: 2, doc: 'overlapped service code, LE; FFFFh none' },
    { name: 'keyVersion', size: 2, doc: 'key version, BE' },
    { name: 'keyLength', size: 1, doc: '0, 16 or 24' },
    { name: 'key', size: 'keyLength', doc: 'key material' },
    { name: 'maxBalance', size: '4 (base purse only)', doc: 'purse policy: maximum balance, BE' },
    {
      name: 'logServiceCode',
      size: '2 (base purse only)',
      doc: 'purse policy: log service code, LE; FFFFh none',
    },
    { name: 'flags', size: '1 (base purse only)', doc: 'purse policy: bit 0 = a log record is required' },
  ],
  'Change Key': [
    { name: 'nodeCode', size: 2, doc: 'node code, LE (FFFFh = the system)' },
    { name: 'keyVersion', size: 2, doc: 'new key version, BE' },
    { name: 'keyLength', size: 1, doc: '16 or 24' },
    { name: 'key', size: 'keyLength', doc: 'new key material' },
  ],
  'Separate System': [
    { name: 'systemCode', size: 2, doc: 'system code of the new system, BE' },
    { name: 'capacity', size: 2, doc: 'capacity in user blocks, BE (FFFFh: shares all free space)' },
    { name: 'keyVersion', size: 2, doc: 'system key version, BE' },
    { name: 'keyLength', size: 1, doc: '16 or 24' },
    { name: 'key', size: 'keyLength', doc: 'system key material' },
  ],
});
