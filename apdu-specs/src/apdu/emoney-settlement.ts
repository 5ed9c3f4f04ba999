// The e-money (seed 001) and settlement (seed 002) applets' APDUs, layouts and status words as data.
import type { ApduDeclaration } from './declarations';

/**
 * Value-rule refusals (eeprom.md 4.6) as status words: SW1 69 ‖ SW2 = the SF2 code. They are
 * answered inside the MAC'd SM response, and nothing changes on the card.
 */
export const VALUE_SW = Object.freeze({
  /** SF2 E1h: the purse's log already holds a record with this charge ID. */
  DUPLICATE_CHARGE_ID: 0x69e1,
  /** SF2 E2h: overwrite whose execution ID is not the stored one (the balance changed meanwhile). */
  STALE_BALANCE: 0x69e2,
  /** SF2 E3h: the purse policy requires a log record (never answered: the applets always log). */
  LOG_REQUIRED: 0x69e3,
  /** SF2 E4h: relative write repeating the stored execution ID (never answered: the applet picks another). */
  DUPLICATE_EXECUTION_ID: 0x69e4,
  /** SF2 01: the result would be below 0 (INSUFFICIENT). */
  INSUFFICIENT: 0x6901,
  /** SF2 02: the result would be above the purse's maxBalance (OVER_MAX). */
  OVER_MAX: 0x6902,
} as const);

/** The value-rule status word of an SF2 code. */
export function valueSw(sf2: number): number {
  return 0x6900 | (sf2 & 0xff);
}

/** Amount change kinds = log record kinds (flows.md 1.4). */
export const AMOUNT_KIND = Object.freeze({ add: 0x01, subtract: 0x02, overwrite: 0x03 } as const);

/** The e-money applet: the APDU view of its area's purse and log (kind `emoney`). */
export const EMONEY = Object.freeze({
  cla: 0x80,
  smCla: 0x8c,
  insGetBalance: 0x5c,
  insReadLog: 0xb2,
  insAmountChange: 0x30,
  /** AMOUNT CHANGE data: chargeId 8 ‖ amount u32 BE ‖ day u16 BE ‖ origin 1 (‖ executionId u16 BE for overwrite). */
  relativeDataLength: 15,
  overwriteDataLength: 17,
  /** GET BALANCE / AMOUNT CHANGE answer: balance u32 BE ‖ executionId u16 BE. */
  balanceLength: 6,
  logRecordLength: 16,
} as const);

/** The settlement applet of seed 002 (kind `settlement`). */
export const SETTLEMENT = Object.freeze({
  cla: 0x80,
  smCla: 0x8c,
  /** GET DATA (plain): cardId 8 ‖ balance u32 BE. */
  insGetData: 0xca,
  /** SECURE COMMAND: P1 = the inner command. */
  insSecure: 0xc2,
  inner: Object.freeze({ brc: 0x01, spc: 0x02, valueUpdate: 0x03, readLog: 0x04 } as const),
  /** SPC: chargeId 8 ‖ orderNo 8 ‖ amount u32 BE ‖ day u16 BE ‖ origin 1 ‖ 00 ‖ billHash 32. */
  spcLength: 56,
  /** PCN: orderNo 8 ‖ debited u32 BE ‖ newBalance u32 BE. */
  pcnLength: 16,
  /** VALUE UPDATE: chargeId 8 ‖ topUpId 8 ‖ op 1 (01 add, 02 subtract) ‖ amount u32 BE ‖ day u16 BE ‖ origin 1. */
  valueUpdateLength: 24,
  cardIdLength: 8,
} as const);

const sm = '8C-8F (SM: b4-b3 = 11; b2-b1 = logical channel)';
const plain = '80-83 (b2-b1 = logical channel)';
const smRefusals = [
  ['SECURITY_STATUS', 'plain CLA, no session, or the session names neither the area nor the services'],
  ['SM_DATA_INCORRECT', 'a missing or wrong DO or MAC; the session ends, nothing changes'],
] as const;
const valueRefusals = 'Value-rule refusals answer 69 ‖ SF2 inside the MAC’d response (VALUE_SW).';
const faithful =
  'Faithful mode (byte 8 of the ID block = 01, settlement-envelope.ts): the data field is DO 87 (‖ DO 97) encrypted under KSenc with IV = E(KSenc, 0), no DO 8E and no counter; the answer is DO 87 ‖ DO 99 without a MAC; only a malformed envelope is 6988.';

export const EMONEY_APDUS: readonly ApduDeclaration[] = Object.freeze([
  {
    name: 'GET BALANCE (e-money)',
    cla: sm,
    ins: EMONEY.insGetBalance,
    p1: '00',
    p2: '00',
    data: [],
    le: '00 (in DO 97)',
    response: [
      { name: 'balance', size: '4', doc: 'u32 BE' },
      { name: 'executionId', size: '2', doc: 'u16 BE, the stored execution ID (for an overwrite)' },
    ],
    statusWords: [['OK', 'the purse'], ...smRefusals, ['WRONG_P1P2', 'P1-P2 not 00 00']],
  },
  {
    name: 'READ LOG (e-money)',
    cla: sm,
    ins: EMONEY.insReadLog,
    p1: 'first record (00 = newest)',
    p2: 'most records to return (00 = all)',
    data: [],
    le: '00 (in DO 97)',
    response: [
      { name: 'records', size: '16n', doc: 'log records (flows.md 1.4), newest first; empty slots left out' },
    ],
    statusWords: [['OK', 'the records'], ...smRefusals, ['WRONG_P1P2', 'P1 beyond the log']],
  },
  {
    name: 'AMOUNT CHANGE (e-money)',
    cla: sm,
    ins: EMONEY.insAmountChange,
    p1: '01 add, 02 subtract, 03 overwrite',
    p2: '00',
    data: [
      { name: 'chargeId', size: '8', doc: 'first 8 bytes of the txId; written into the log record' },
      { name: 'amount', size: '4', doc: 'u32 BE; for an overwrite the new balance' },
      { name: 'day', size: '2', doc: 'u16 BE, days since 2000-01-01 JST' },
      { name: 'origin', size: '1', doc: 'channel, merchant or terminal index' },
      { name: 'executionId', size: '2 (overwrite only)', doc: 'u16 BE, as GET BALANCE read it' },
    ],
    le: '00 (in DO 97)',
    response: [
      { name: 'balance', size: '4', doc: 'u32 BE after the change' },
      { name: 'executionId', size: '2', doc: 'u16 BE after the change' },
    ],
    statusWords: [
      ['OK', 'purse and log record written in one atomic commit'],
      ...smRefusals,
      ['WRONG_P1P2', 'P1 not 01-03 or P2 not 00'],
      ['WRONG_LENGTH', 'data not 15 bytes (17 for an overwrite)'],
    ],
    notes: `${valueRefusals} 69E1 DUPLICATE_CHARGE_ID, 69E2 STALE_BALANCE (overwrite), 6901 INSUFFICIENT, 6902 OVER_MAX. The applet picks the execution ID: add and subtract go through the area's cashback or decrement overlap of the purse when it has one, with chargeId bytes 0-1 as purse bytes 14-15 (the little-endian execution ID, so c0 ff reads back as FFC0; +1 when that equals the stored one), otherwise they are direct writes with the stored ID + 1; an overwrite carries the given one + 1.`,
  },
]);

export const SETTLEMENT_APDUS: readonly ApduDeclaration[] = Object.freeze([
  {
    name: 'GET DATA (settlement)',
    cla: plain,
    ins: SETTLEMENT.insGetData,
    p1: '00',
    p2: '00',
    data: [],
    le: '00',
    response: [
      {
        name: 'cardId',
        size: '8',
        doc: 'block 0 of the ID service (else the IDm); byte 8 of that block is the mode',
      },
      { name: 'balance', size: '4', doc: 'u32 BE' },
    ],
    statusWords: [
      ['OK', 'plaintext, no authentication'],
      ['WRONG_P1P2', 'P1-P2 not 00 00'],
    ],
  },
  {
    name: 'SECURE COMMAND BRC (settlement)',
    cla: sm,
    ins: SETTLEMENT.insSecure,
    p1: '01',
    p2: '00',
    data: [],
    le: '00 (in DO 97)',
    response: [{ name: 'BI balance', size: '4', doc: 'u32 BE' }],
    statusWords: [['OK', 'the balance'], ...smRefusals, ['WRONG_P1P2', 'unknown inner command']],
    notes: faithful,
  },
  {
    name: 'SECURE COMMAND SPC (settlement)',
    cla: sm,
    ins: SETTLEMENT.insSecure,
    p1: '02',
    p2: '00',
    data: [
      { name: 'chargeId', size: '8', doc: 'cipher block 0' },
      { name: 'orderNo', size: '8', doc: 'ASCII or binary, echoed in the PCN' },
      { name: 'amount', size: '4', doc: 'u32 BE at byte 16: another cipher block than the charge ID' },
      { name: 'day', size: '2', doc: 'u16 BE' },
      { name: 'origin', size: '1', doc: 'store index' },
      { name: 'RFU', size: '1', doc: '00' },
      { name: 'billHash', size: '32', doc: 'SHA-256 of the BILL' },
    ],
    le: '00 (in DO 97)',
    response: [
      { name: 'orderNo', size: '8', doc: 'echo' },
      { name: 'debited', size: '4', doc: 'u32 BE' },
      { name: 'newBalance', size: '4', doc: 'u32 BE' },
    ],
    statusWords: [
      ['OK', 'balance and log record written atomically'],
      ...smRefusals,
      ['WRONG_LENGTH', 'data not 56 bytes'],
    ],
    notes: `${valueRefusals} 6901 INSUFFICIENT, 69E1 DUPLICATE_CHARGE_ID. ${faithful} A flipped cipher bit then changes the amount undetected (flows.md 4.4).`,
  },
  {
    name: 'SECURE COMMAND VALUE UPDATE (settlement)',
    cla: sm,
    ins: SETTLEMENT.insSecure,
    p1: '03',
    p2: '00',
    data: [
      { name: 'chargeId', size: '8', doc: 'cipher block 0' },
      { name: 'topUpId', size: '8', doc: 'first 8 bytes of the topUpId' },
      { name: 'op', size: '1', doc: '01 add, 02 subtract' },
      { name: 'amount', size: '4', doc: 'u32 BE at byte 17' },
      { name: 'day', size: '2', doc: 'u16 BE' },
      { name: 'origin', size: '1', doc: 'index' },
    ],
    le: '00 (in DO 97)',
    response: [
      { name: 'applied', size: '1', doc: '01' },
      { name: 'newBalance', size: '4', doc: 'u32 BE' },
    ],
    statusWords: [
      ['OK', 'balance and log record written atomically'],
      ...smRefusals,
      ['WRONG_DATA', 'op not 01 or 02'],
      ['WRONG_LENGTH', 'data not 24 bytes'],
    ],
    notes: `${valueRefusals} 6901 INSUFFICIENT, 6902 OVER_MAX, 69E1 DUPLICATE_CHARGE_ID. ${faithful} Faithful only: P2 b8 = 1 (SETTLEMENT_KC_DIRECT) sends it directly under KC (the access key of the area node alone) without a session; hardened, that is 6982 or 6988.`,
  },
  {
    name: 'SECURE COMMAND READ LOG (settlement)',
    cla: sm,
    ins: SETTLEMENT.insSecure,
    p1: '04',
    p2: 'most records to return (00 = all)',
    data: [],
    le: '00 (in DO 97)',
    response: [{ name: 'records', size: '16n', doc: 'log records, newest first' }],
    statusWords: [['OK', 'the records'], ...smRefusals],
    notes: faithful,
  },
]);
