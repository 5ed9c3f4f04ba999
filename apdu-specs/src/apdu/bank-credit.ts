// The bank and credit applets of flows.md §2 and §3: service layout, token slots and every APDU, declared once.
import { defineRecord } from '../record-layout';
import type { ApduDeclaration } from './declarations';

/**
 * Services of each applet, as offsets from its area code (the area's own numbers 0, 1, 2, ...).
 * bank:   +08h account identity (keyed, 2 blocks), +48h token store (keyed, 19 blocks per slot).
 * credit: +08h PIN (keyed, 2 blocks), +48h card data (keyed, 3 blocks), +88h token store (keyed,
 *         19 blocks per slot), +C8h used marks (keyed, one tokenId per block), +108h key pair (keyed, 4 blocks),
 *         +148h PK data (keyed, 14 blocks: PK_DATA below).
 */
export const BANK_SERVICES = Object.freeze({ account: 0x08, tokenStore: 0x48 } as const);
export const CREDIT_SERVICES = Object.freeze({
  pin: 0x08,
  cardData: 0x48,
  tokenStore: 0x88,
  usedMarks: 0xc8,
  keyPair: 0x108,
  pkData: 0x148,
} as const);

/**
 * The credit applet's AUTHENTICATE PK data (service +148h, flows.md 2.5): blocks 0-1 the trust anchor's
 * Ed25519 public key [32], blocks 2-3 its issuerId char[24] ‖ 8 zero bytes (both filled from the
 * profile's config.trustAnchor), blocks 4-13 the credit-AP certificate [155] ‖ 5 zero bytes (PUT
 * CERTIFICATE). All zero = not there yet.
 */
export const PK_DATA = Object.freeze({
  blocks: 14,
  anchorKeyBlock: 0,
  anchorIdBlock: 2,
  certificateBlock: 4,
  certificateBlocks: 10,
} as const);

/** AUTHENTICATE PK (flows.md 2.5): the sizes of its messages and the strings of its signatures and keys. */
export const PKMA = Object.freeze({
  random: 16,
  ephemeral: 32,
  signature: 64,
  /** Step 1 data: bankCertificate [155] ‖ rB [16] ‖ eB [32]. */
  step1Data: 203,
  /** Step 1 answer: creditApCertificate [155] ‖ rC [16] ‖ eC [32] ‖ signature [64]. */
  step1Answer: 267,
  cardLabel: 'mica-pkma-card',
  bankLabel: 'mica-pkma-bank',
  smInfo: 'mica-pkma-sm',
} as const);

/** Largest envelope a slot holds: 17 blocks (the largest §2.2 envelope, keyMode 1/2, is 261 bytes). */
export const MAX_ENVELOPE = 272;
/** Blocks of one slot: two metadata blocks, then the envelope blocks. */
export const SLOT_BLOCKS = 2 + MAX_ENVELOPE / 16;
export const TOKEN_STATE = Object.freeze({ empty: 0, stored: 1, used: 2 } as const);

/** Bank account identity (service +08h, blocks 0-1). */
export const accountRecord = defineRecord(
  'accountRecord',
  'bank applet: the account reference read after AUTHENTICATE (flows.md 2.3 A2)',
  [
    { name: 'bankId', kind: 'bytes', size: 8, doc: 'ascii[8], 00-padded' },
    { name: 'accountNo', kind: 'bytes', size: 16, doc: 'ascii[16], 00-padded' },
    { name: 'userId', kind: 'bytes', size: 8, doc: 'ascii[8] short user reference, 00-padded' },
  ] as const,
  32,
);

/** Credit card data (service +48h, blocks 0-2), answered by READ BINARY. */
export const cardDataRecord = defineRecord(
  'cardDataRecord',
  'credit applet: card number, expiry and holder (flows.md 3.2 P5)',
  [
    {
      name: 'cardNo',
      kind: 'bytes',
      size: 10,
      doc: 'digits left-aligned, F-padded (987654321 → 98 76 54 32 1F FF ..)',
    },
    { name: 'expiry', kind: 'bytes', size: 2, doc: 'YY MM as BCD' },
    { name: 'reserved', kind: 'bytes', size: 4, doc: 'zero' },
    { name: 'holder', kind: 'bytes', size: 32, doc: 'utf8[32], 00-padded' },
  ] as const,
  48,
);

/** Slot metadata block 1 (block 0 is the 16-byte tokenId). */
export const slotMeta = defineRecord(
  'slotMeta',
  'token slot block 1: state, envelope length, validity, credit company',
  [
    { name: 'state', kind: 'u8', doc: 'TOKEN_STATE: 0 empty, 1 stored, 2 used' },
    { name: 'length', kind: 'u16be', doc: 'envelope bytes, 1..272' },
    { name: 'effectiveUntil', kind: 'u32be', doc: 'JST day number; the token is valid while today < it' },
    { name: 'creditCompanyId', kind: 'bytes', size: 8, doc: 'ascii[8]' },
    { name: 'reserved', kind: 'u8', doc: 'zero' },
  ] as const,
  16,
);

/** PUT TOKEN data before the envelope: today u32 ‖ tokenId [16] ‖ creditCompanyId [8] ‖ effectiveUntil u32. */
export const PUT_TOKEN_HEADER = 32;
/** One LIST TOKENS entry: slot u8 ‖ state u8 ‖ tokenId [16] ‖ creditCompanyId [8] ‖ effectiveUntil u32. */
export const LIST_ENTRY = 30;

export const BANK_CREDIT = Object.freeze({
  cla: 0x80,
  smCla: 0x8c,
  readBinary: 0xb0,
  putToken: 0xe2,
  listTokens: 0xe8,
  getToken: 0xea,
  transferToken: 0xec,
  markTokenUsed: 0xee,
  internalAuthenticate: 0x88,
  generateKeyPair: 0x46,
  pso: 0x2a,
  putCertificate: 0xda,
  authenticatePk: 0x86,
  /** AUTHENTICATE PK P1: step 1 (certificates and ephemeral keys), step 2 (the bank's signature). */
  pkStep1: 0x00,
  pkStep2: 0x01,
  /** GET TOKEN / LIST TOKENS P2 on the credit applet: its own store, or the bank store shared with it. */
  storeOwn: 0x00,
  storeShared: 0x01,
  sign: Object.freeze({ p1: 0x9e, p2: 0x9a } as const),
  decrypt: Object.freeze({ p1: 0x80, p2: 0x86 } as const),
} as const);

/** The ECIES info prefix (flows.md 1.5); the context follows it. */
export const ECIES_INFO = 'mica-ecies-v1';

const sm = '8C (SM, security.md 6; channel bits allowed)';
const interindustry = '00 (channel bits allowed)';
const tokenId = { name: 'tokenId', size: '16', doc: 'the token ID' };
const smErrors = [
  ['SECURITY_STATUS', 'plain CLA or no AUTHENTICATE session'],
  ['SM_DATA_INCORRECT', 'a missing or wrong DO or MAC; the session ends'],
] as const;

export const BANK_CREDIT_APDUS: readonly ApduDeclaration[] = Object.freeze([
  {
    name: 'SELECT bank / credit (FCI)',
    cla: interindustry,
    ins: 0xa4,
    p1: '04',
    p2: '00',
    data: [{ name: 'AID', size: '5-16', doc: 'the applet AID' }],
    le: '00',
    response: [{ name: 'FCI', size: '2 + 2 + AID', doc: '6F L 84 n AID' }],
    statusWords: [['OK', 'selected; sessions and PIN state of the channel are cleared']],
  },
  {
    name: 'READ BINARY account (bank)',
    cla: sm,
    ins: BANK_CREDIT.readBinary,
    p1: '00',
    p2: '00',
    data: [],
    le: '00',
    response: [
      { name: 'accountRecord', size: '32', doc: 'bankId ascii[8] ‖ accountNo ascii[16] ‖ userId ascii[8]' },
    ],
    statusWords: [['OK', 'account reference'], ...smErrors, ['WRONG_P1P2', 'P1-P2 not 00 00']],
  },
  {
    name: 'READ BINARY card data (credit)',
    cla: `${interindustry}, or 0C under SM`,
    ins: BANK_CREDIT.readBinary,
    p1: '00',
    p2: '00',
    data: [],
    le: '00',
    response: [
      { name: 'cardNo', size: '10', doc: 'F-padded digits' },
      { name: 'expiry', size: '2', doc: 'YY MM (BCD)' },
      { name: 'reserved', size: '4', doc: 'zero' },
      { name: 'holder', size: '32', doc: 'utf8, 00-padded' },
    ],
    statusWords: [
      ['OK', 'readable right after SELECT, without PIN or session'],
      ['WRONG_P1P2', 'P1-P2 not 00 00'],
    ],
  },
  {
    name: 'PUT TOKEN (bank; credit for the direct method)',
    cla: sm,
    ins: BANK_CREDIT.putToken,
    p1: '00',
    p2: '00',
    data: [
      {
        name: 'today',
        size: '4',
        doc: 'JST day number: used slots and slots with effectiveUntil <= today are evicted first',
      },
      tokenId,
      { name: 'creditCompanyId', size: '8', doc: 'ascii[8]' },
      { name: 'effectiveUntil', size: '4', doc: 'JST day number' },
      { name: 'envelope', size: '1-272', doc: 'flows.md 2.2 envelope, opaque; over 255 bytes with chaining' },
    ],
    le: '00 (the SM answer)',
    response: [{ name: 'slot', size: '1', doc: 'the slot that holds the token' }],
    statusWords: [
      ['OK', 'stored (an identical re-put is a no-op)'],
      ['CONDITIONS_OF_USE', 'the token is there and used, or there with other content'],
      ['NOT_ENOUGH_MEMORY', 'every slot holds a stored, unexpired token'],
      ['WRONG_LENGTH', 'data shorter than 33 or envelope longer than 272 bytes'],
      ...smErrors,
      ['WRONG_P1P2', 'P1-P2 not 00 00'],
    ],
    notes:
      "Used means the slot's state, or (bank) a used mark of a credit applet whose +C8h service the profile granted (07h) to the bank area; such slots are also evicted first.",
  },
  {
    name: 'LIST TOKENS',
    cla: sm,
    ins: BANK_CREDIT.listTokens,
    p1: '00',
    p2: 'bank: 00; credit: 00 own store, 01 the bank store shared with it',
    data: [],
    le: '00',
    response: [
      {
        name: 'entries',
        size: '30 each',
        doc: 'slot ‖ state ‖ tokenId ‖ creditCompanyId ‖ effectiveUntil, non-empty slots',
      },
    ],
    statusWords: [
      ['OK', 'the list (may be empty)'],
      ['SECURITY_STATUS', 'as below, or no grant (07h) of the bank store to the credit area (firewall)'],
      ['SM_DATA_INCORRECT', 'a missing or wrong DO or MAC; the session ends'],
      ['REFERENCED_DATA_NOT_FOUND', 'P2 01 without a bank applet'],
      ['WRONG_P1P2', 'other P1-P2'],
    ],
    notes: 'On the credit applet the state of a shared token also reflects its used mark (+C8h).',
  },
  {
    name: 'GET TOKEN',
    cla: sm,
    ins: BANK_CREDIT.getToken,
    p1: 'slot',
    p2: 'as LIST TOKENS',
    data: [],
    le: '00',
    response: [{ name: 'envelope', size: '1-272', doc: 'the stored envelope' }],
    statusWords: [
      ['OK', 'the envelope'],
      ['REFERENCED_DATA_NOT_FOUND', 'the slot is empty'],
      ['WRONG_P1P2', 'no such slot or P2'],
      ['SECURITY_STATUS', 'plain CLA, no session, or no grant for P2 01'],
      ['SM_DATA_INCORRECT', 'a missing or wrong DO or MAC; the session ends'],
    ],
  },
  {
    name: 'TRANSFER TOKEN (bank)',
    cla: sm,
    ins: BANK_CREDIT.transferToken,
    p1: 'slot',
    p2: '00',
    data: [],
    le: '00 (the SM answer)',
    response: [{ name: 'slot', size: '1', doc: "the credit store's slot" }],
    statusWords: [
      ['OK', "moved in one commit: written into the credit applet's store, emptied here"],
      ['SECURITY_STATUS', 'as for SM, or no grant (07h) of this store to a credit applet area'],
      ['SM_DATA_INCORRECT', 'a missing or wrong DO or MAC; the session ends'],
      ['REFERENCED_DATA_NOT_FOUND', 'the slot is empty, or no credit applet'],
      ['CONDITIONS_OF_USE', 'the token is used'],
      ['NOT_ENOUGH_MEMORY', "the credit store's slots are all taken"],
      ['WRONG_P1P2', 'no such slot, or P2 not 00'],
    ],
    notes: "The credit area's grant to read the bank store is the declared path (Fig. 14 transfer).",
  },
  {
    name: 'MARK TOKEN USED (credit)',
    cla: sm,
    ins: BANK_CREDIT.markTokenUsed,
    p1: '00',
    p2: '00',
    data: [tokenId],
    le: '00 (the SM answer)',
    response: [],
    statusWords: [
      ['OK', "one block written: the slot's state (own store) or a used mark (shared store)"],
      ['CONDITIONS_OF_USE', 'already used'],
      ['REFERENCED_DATA_NOT_FOUND', 'no such token'],
      ['NOT_ENOUGH_MEMORY', 'no free used-mark block'],
      ['WRONG_LENGTH', 'data not 16 bytes'],
      ...smErrors,
    ],
  },
  {
    name: 'VERIFY (credit)',
    cla: interindustry,
    ins: 0x20,
    p1: '00',
    p2: '80',
    data: [{ name: 'PIN block', size: '8', doc: 'ISO 9564 format-2' }],
    le: 'absent',
    response: [],
    statusWords: [
      ['OK', 'verified: one INTERNAL AUTHENTICATE proof may follow'],
      ['VERIFY_FAILED', '63Cx'],
      ['AUTH_BLOCKED', 'blocked, also after power cycles'],
    ],
    notes: 'As APPLET_APDUS VERIFY; the PIN service is +08h.',
  },
  {
    name: 'INTERNAL AUTHENTICATE (credit, PIN proof)',
    cla: interindustry,
    ins: BANK_CREDIT.internalAuthenticate,
    p1: '00',
    p2: '00',
    data: [
      { name: 'nonce', size: '8', doc: 'server nonce' },
      { name: 'amount', size: '4', doc: 'u32 BE' },
    ],
    le: '00',
    response: [
      {
        name: 'MAC',
        size: '8',
        doc: 'suite MAC (retail MAC pad 2 / AES-CMAC, 8 bytes) under the credit area key over nonce ‖ amount ‖ cardNo ‖ 01',
      },
    ],
    statusWords: [
      ['OK', 'the proof; it uses up the verification'],
      ['SECURITY_STATUS', 'no successful VERIFY since SELECT or since the last proof'],
      ['WRONG_LENGTH', 'data not 12 bytes'],
      ['WRONG_P1P2', 'P1-P2 not 00 00'],
    ],
  },
  {
    name: 'GENERATE KEY PAIR (credit)',
    cla: sm,
    ins: BANK_CREDIT.generateKeyPair,
    p1: '00',
    p2: '00',
    data: [],
    le: '00',
    response: [
      { name: 'ed25519 public key', size: '32', doc: 'signing key' },
      { name: 'x25519 public key', size: '32', doc: 'ECIES key' },
    ],
    statusWords: [
      ['OK', 'both keys made from the card random source; the private keys stay in +108h'],
      ['CONDITIONS_OF_USE', 'a key pair already exists'],
      ['REFERENCE_DATA_UNUSABLE', 'the key-pair service is not keyed'],
      ...smErrors,
    ],
  },
  {
    name: 'SIGN (credit, PSO COMPUTE DIGITAL SIGNATURE)',
    cla: sm,
    ins: BANK_CREDIT.pso,
    p1: '9E',
    p2: '9A',
    data: [{ name: 'message', size: '1-255', doc: 'the bytes to sign' }],
    le: '00',
    response: [{ name: 'signature', size: '64', doc: 'Ed25519' }],
    statusWords: [
      ['OK', 'signature'],
      ['CONDITIONS_OF_USE', 'no key pair yet'],
      ['WRONG_LENGTH', 'no data'],
      ...smErrors,
    ],
  },
  {
    name: 'DECRYPT (credit, PSO DECIPHER, ECIES)',
    cla: sm,
    ins: BANK_CREDIT.pso,
    p1: '80',
    p2: '86',
    data: [
      { name: 'n', size: '1', doc: 'context length' },
      { name: 'context', size: 'n', doc: 'e.g. "token"' },
      { name: 'ephPub ‖ ciphertext ‖ tag', size: '48+', doc: 'flows.md 1.5, no AAD' },
    ],
    le: '00',
    response: [{ name: 'plaintext', size: 'n', doc: 'returned inside SM (encrypted on the link)' }],
    statusWords: [
      ['OK', 'plaintext'],
      ['WRONG_DATA', 'tag check failed or malformed'],
      ['CONDITIONS_OF_USE', 'no key pair yet'],
      ...smErrors,
    ],
  },
  {
    name: 'PUT CERTIFICATE (credit)',
    cla: `${sm}, under an AUTHENTICATE (3-pass) session`,
    ins: BANK_CREDIT.putCertificate,
    p1: '00',
    p2: '00',
    data: [
      { name: 'creditApCertificate', size: '155', doc: 'the bureau certificate (apdu-specs certificate)' },
    ],
    le: 'absent (the SM answer)',
    response: [],
    statusWords: [
      ['OK', 'written to blocks 4-13 of +148h in one commit'],
      [
        'WRONG_DATA',
        'not version 1, role credit-ap (4), key type Ed25519 (1), the public key of the card key pair, subjectId = the IDm as 16 uppercase hex digits, issuerId = the anchor issuerId, or a signature that does not verify under the anchor key; nothing written',
      ],
      ['CONDITIONS_OF_USE', 'no trust anchor (config.trustAnchor) or no key pair yet'],
      ['WRONG_LENGTH', 'data not 155 bytes'],
      ['SECURITY_STATUS', 'plain CLA, no session, or an AUTHENTICATE PK session'],
      ['SM_DATA_INCORRECT', 'a missing or wrong DO or MAC; the session ends'],
      ['WRONG_P1P2', 'P1-P2 not 00 00'],
    ],
    notes:
      'Personalisation of AUTHENTICATE PK (flows.md 2.5): the card checks the certificate before it keeps it. A new certificate replaces the old one.',
  },
  {
    name: 'AUTHENTICATE PK step 1 (credit)',
    cla: '80 (plain; channel bits allowed)',
    ins: BANK_CREDIT.authenticatePk,
    p1: '00',
    p2: '00',
    data: [
      { name: 'bankCertificate', size: '155', doc: 'role bank (2), Ed25519, issued by the trust anchor' },
      { name: 'rB', size: '16', doc: 'the bank random' },
      { name: 'eB', size: '32', doc: 'the bank ephemeral X25519 public key' },
    ],
    le: '00 (61xx and GET RESPONSE for the rest), or 0000 extended',
    response: [
      { name: 'creditApCertificate', size: '155', doc: 'as stored by PUT CERTIFICATE' },
      { name: 'rC', size: '16', doc: 'the card random (drawn first)' },
      { name: 'eC', size: '32', doc: 'the card ephemeral X25519 public key (its private key drawn second)' },
      {
        name: 'signature',
        size: '64',
        doc: 'Ed25519 by the card key (+108h) over "mica-pkma-card" ‖ rB ‖ rC ‖ eB ‖ eC ‖ bankId (the bank certificate subjectId field, 24 bytes as sent)',
      },
    ],
    statusWords: [
      ['OK', 'pending in card RAM for step 2 (per channel)'],
      [
        'SECURITY_STATUS',
        'the bank certificate is not version 1, role bank, Ed25519, issued by the anchor issuerId, or its signature does not verify; nothing kept',
      ],
      ['CONDITIONS_OF_USE', 'no trust anchor, no key pair or no credit-AP certificate'],
      ['WRONG_LENGTH', 'data not 203 bytes'],
      ['WRONG_P1P2', 'P2 not 00'],
    ],
    notes:
      'Any session of the channel (AUTHENTICATE or AUTHENTICATE PK) ends first. The card has no clock: validity dates are for the back-ends (flows.md 2.5).',
  },
  {
    name: 'AUTHENTICATE PK step 2 (credit)',
    cla: '80 (plain; channel bits allowed)',
    ins: BANK_CREDIT.authenticatePk,
    p1: '01',
    p2: '00',
    data: [
      {
        name: 'signature',
        size: '64',
        doc: 'Ed25519 by the bank certificate key over "mica-pkma-bank" ‖ rC ‖ rB ‖ eC ‖ eB ‖ cardId (the IDm, 8 bytes)',
      },
    ],
    le: 'absent',
    response: [],
    statusWords: [
      [
        'OK',
        'a PK session: okm = HKDF-SHA256(X25519 shared, salt rB ‖ rC, info "mica-pkma-sm", 32), KSenc = okm[0..15], KSmac = okm[16..31], AES SM rules of security.md 6, SSC 0',
      ],
      ['SECURITY_STATUS', 'the signature does not verify; the pending state is wiped'],
      ['CONDITIONS_OF_USE', 'no step 1 pending (also a replayed step 2)'],
      ['WRONG_LENGTH', 'data not 64 bytes; the pending state is wiped'],
    ],
    notes:
      'The PK session allows PUT TOKEN (own store, the direct method) and LIST TOKENS P2 00 only; any other SM command answers 6982 inside SM and changes nothing. It ends at SELECT, DESELECT, reset, power-off and on 6988.',
  },
]);
