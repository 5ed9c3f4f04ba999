// The BILL of seed 002 (flows.md 4.1): {v:1, storeId, mallId?, orderNo, amount, currency:"JPY",
// itemsDigest, issuedAt, expiresAt, smdId}. Default encoding: canonical JSON (UTF-8, sorted keys, no
// whitespace, integers only, an absent mallId omitted); alternative `binary`: the fixed layout below,
// declared with buffer-layout. billHash = SHA-256 of those exact bytes. Times are Unix seconds.
// orderNo is 8 ASCII characters (the project's decision, README "Decisions"): the SPC carries it as
// its 8 bytes, and the settlement's txId starts with them, so the card log's charge ID is the orderNo.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { defineRecord } from '@mica/apdu-specs/record-layout';
import { canonicalJson } from '../backend/canonical-json';

export type BillEncoding = 'json' | 'binary';

export interface Bill {
  readonly v: 1;
  readonly storeId: string;
  readonly mallId?: string;
  readonly orderNo: string;
  readonly amount: number;
  readonly currency: 'JPY';
  /** SHA-256 of the canonical JSON of the items, lowercase hex. */
  readonly itemsDigest: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly smdId: string;
}

export class BillError extends Error {
  override readonly name = 'BillError';
}

const ID_BYTES = 24;

export const billLayout = defineRecord(
  'bill',
  'The binary BILL (flows.md 4.1, billEncoding binary): 128 bytes; text fields UTF-8 (ASCII), 00-padded.',
  [
    { name: 'v', kind: 'u8', doc: '1' },
    { name: 'storeId', kind: 'bytes', size: ID_BYTES, doc: 'char[24]' },
    { name: 'mallId', kind: 'bytes', size: ID_BYTES, doc: 'char[24]; all 00 when absent' },
    { name: 'orderNo', kind: 'bytes', size: 8, doc: 'ascii[8]' },
    { name: 'amount', kind: 'u32be', doc: 'JPY' },
    { name: 'currency', kind: 'bytes', size: 3, doc: 'ascii[3] "JPY"' },
    { name: 'itemsDigest', kind: 'bytes', size: 32, doc: 'SHA-256 of the items' },
    { name: 'issuedAt', kind: 'u32be', doc: 'Unix seconds' },
    { name: 'expiresAt', kind: 'u32be', doc: 'Unix seconds' },
    { name: 'smdId', kind: 'bytes', size: ID_BYTES, doc: 'char[24]' },
  ] as const,
);

const ORDER_NO = /^[\x21-\x7e]{8}$/;
const ID = /^[\w.-]{1,24}$/;

/** Checks every field; a BillError names the first wrong one. */
export function checkBill(b: Bill): Bill {
  const keys = Object.keys(b).sort();
  const allowed = [
    'amount',
    'currency',
    'expiresAt',
    'issuedAt',
    'itemsDigest',
    'mallId',
    'orderNo',
    'smdId',
    'storeId',
    'v',
  ];
  for (const k of keys) if (!allowed.includes(k)) throw new BillError(`BILL has an unknown field ${k}`);
  if (b.v !== 1) throw new BillError(`BILL.v must be 1, got ${String(b.v)}`);
  for (const k of ['storeId', 'smdId'] as const)
    if (typeof b[k] !== 'string' || !ID.test(b[k]))
      throw new BillError(`BILL.${k} must be an id of 1-24 characters`);
  if (b.mallId !== undefined && (typeof b.mallId !== 'string' || !ID.test(b.mallId)))
    throw new BillError('BILL.mallId must be an id of 1-24 characters when present');
  if (typeof b.orderNo !== 'string' || !ORDER_NO.test(b.orderNo))
    throw new BillError(
      `BILL.orderNo must be 8 printable ASCII characters, got ${JSON.stringify(b.orderNo)}`,
    );
  if (!Number.isSafeInteger(b.amount) || b.amount < 1 || b.amount > 0xffffffff)
    throw new BillError(`BILL.amount must be a positive u32 integer, got ${String(b.amount)}`);
  if (b.currency !== 'JPY') throw new BillError(`BILL.currency must be JPY, got ${String(b.currency)}`);
  if (typeof b.itemsDigest !== 'string' || !/^[0-9a-f]{64}$/.test(b.itemsDigest))
    throw new BillError('BILL.itemsDigest must be 32 bytes of lowercase hex');
  for (const k of ['issuedAt', 'expiresAt'] as const)
    if (!Number.isSafeInteger(b[k]) || b[k] < 0 || b[k] > 0xffffffff)
      throw new BillError(`BILL.${k} must be Unix seconds (u32), got ${String(b[k])}`);
  if (b.expiresAt < b.issuedAt) throw new BillError('BILL.expiresAt is before issuedAt');
  return b;
}

function text(value: string, n: number): Uint8Array {
  const b = new TextEncoder().encode(value);
  if (b.length > n) throw new BillError(`"${value}" is longer than ${n} bytes`);
  const out = new Uint8Array(n);
  out.set(b);
  return out;
}

function untext(b: Uint8Array): string {
  let n = b.indexOf(0);
  if (n < 0) n = b.length;
  return new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(0, n));
}

/** The exact bytes that are hashed and signed. */
export function encodeBill(bill: Bill, encoding: BillEncoding): Uint8Array {
  checkBill(bill);
  if (encoding === 'json') return new TextEncoder().encode(canonicalJson(bill));
  return billLayout.encode({
    v: 1,
    storeId: text(bill.storeId, ID_BYTES),
    mallId: text(bill.mallId ?? '', ID_BYTES),
    orderNo: text(bill.orderNo, 8),
    amount: bill.amount,
    currency: text(bill.currency, 3),
    itemsDigest: hexToBytes(bill.itemsDigest),
    issuedAt: bill.issuedAt,
    expiresAt: bill.expiresAt,
    smdId: text(bill.smdId, ID_BYTES),
  });
}

/** Parses BILL bytes; in JSON they must already be canonical (re-encoding gives the same bytes). */
export function decodeBill(bytes: Uint8Array, encoding: BillEncoding): Bill {
  let bill: Bill;
  if (encoding === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (e) {
      throw new BillError(`BILL is not UTF-8 JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new BillError('BILL must be a JSON object');
    bill = checkBill(parsed as Bill);
  } else {
    if (bytes.length !== billLayout.span)
      throw new BillError(`a binary BILL is ${billLayout.span} bytes, got ${bytes.length}`);
    const r = billLayout.decode(bytes);
    const mallId = untext(r.mallId);
    bill = checkBill({
      v: r.v as 1,
      storeId: untext(r.storeId),
      ...(mallId ? { mallId } : {}),
      orderNo: untext(r.orderNo),
      amount: r.amount,
      currency: untext(r.currency) as 'JPY',
      itemsDigest: bytesToHex(r.itemsDigest),
      issuedAt: r.issuedAt,
      expiresAt: r.expiresAt,
      smdId: untext(r.smdId),
    });
  }
  if (bytesToHex(encodeBill(bill, encoding)) !== bytesToHex(bytes))
    throw new BillError(`BILL bytes are not in the canonical ${encoding} encoding`);
  return bill;
}

export function billHash(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}

/** The 8 bytes of an orderNo (SPC, PCN, the charge ID of the card log). */
export function orderNoBytes(orderNo: string): Uint8Array {
  if (!ORDER_NO.test(orderNo))
    throw new BillError(`orderNo must be 8 printable ASCII characters, got "${orderNo}"`);
  return new TextEncoder().encode(orderNo);
}

/** The items digest: SHA-256 of the items' canonical JSON. */
export function itemsDigest(items: unknown): string {
  return bytesToHex(sha256(new TextEncoder().encode(canonicalJson(items))));
}
