// The seed 001 e-money card as a terminal sees it (flows.md 3.1): a FeliCa-style system with a card
// number (read-only, no key), a purse with overlaps for the balance (read-only, no key), add
// (cashback), subtract (decrement) and overwrite (direct), and a cyclic log of charge-ID records
// (flows.md 1.4) with a read-only overlap. The layout is configuration: the service codes come from
// the card's profile. Here: reading without a key, and the blocks of an amount change.
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { LogKind, logRecord, purseBlock } from '@mica/apdu-specs/eeprom-records';
import type { FelicaClient } from '../felica/client';
import type { StatusResult } from '../felica/responses';

export interface EmoneyCardLayout {
  readonly systemCode: number;
  readonly suite: string;
  /** Random, read-only without key: the e-money number (digits, F-padded). */
  readonly number: number;
  /** The purse base service (direct access = overwrite). */
  readonly purse: number;
  readonly purseAdd: number;
  readonly purseSubtract: number;
  readonly purseRead: number;
  /** The cyclic log (keyed) and its read-only overlap without key. */
  readonly log: number;
  readonly logRead: number;
  readonly logBlocks: number;
}

export interface LogEntry {
  readonly chargeId: string;
  readonly amount: number;
  readonly kind: 'add' | 'subtract' | 'overwrite' | number;
  readonly day: number;
  readonly origin: number;
}

export interface PurseState {
  readonly balance: number;
  readonly executionId: number;
}

const KIND_NAMES: Record<number, LogEntry['kind']> = { 1: 'add', 2: 'subtract', 3: 'overwrite' };

/** The e-money number as stored: digits left-aligned, F-padded to 16 bytes. */
export function numberBlock(emoneyNo: string): Uint8Array {
  if (!/^\d{1,32}$/.test(emoneyNo))
    throw new RangeError(`e-money number must be 1-32 digits, got "${emoneyNo}"`);
  return hexToBytes(emoneyNo.padEnd(32, 'f'));
}

export function parseNumberBlock(block: Uint8Array): string {
  return bytesToHex(block).replace(/f+$/, '');
}

export function parseLogBlock(block: Uint8Array): LogEntry | null {
  if (block.every((b) => b === 0)) return null; // an empty ring slot (README Decisions)
  const r = logRecord.decode(block);
  return {
    chargeId: bytesToHex(r.chargeId),
    amount: r.amount,
    kind: KIND_NAMES[r.kind] ?? r.kind,
    day: r.day,
    origin: r.origin,
  };
}

export function logBlock(e: {
  chargeId: string;
  amount: number;
  kind: keyof typeof LogKind;
  day: number;
  origin: number;
}): Uint8Array {
  return logRecord.encode({
    chargeId: hexToBytes(e.chargeId),
    amount: e.amount,
    kind: LogKind[e.kind],
    day: e.day,
    origin: e.origin,
  });
}

/** A relative purse write (cashback or decrement): the amount in bytes 10-13, the execution ID. */
export function relativePurseBlock(amount: number, executionId: number): Uint8Array {
  return purseBlock.encode({ balance: 0, userData: new Uint8Array(6), lastAmount: amount, executionId });
}

/** A direct purse write: the new balance, conditional on executionId = stored + 1. */
export function directPurseBlock(balance: number, executionId: number): Uint8Array {
  return purseBlock.encode({
    balance,
    userData: new Uint8Array(6),
    lastAmount: 0,
    executionId: executionId & 0xffff,
  });
}

/** eeprom.md 4.5: a relative write uses chargeId bytes 0-1 (as stored, little-endian) as its execution ID. */
export function executionIdOf(chargeId: string): number {
  const b = hexToBytes(chargeId);
  return b[0]! | (b[1]! << 8);
}

export function parsePurse(block: Uint8Array): PurseState {
  const p = purseBlock.decode(block);
  return { balance: p.balance, executionId: p.executionId };
}

/** Status flags as a transcript shows them. */
export function flags(r: StatusResult<unknown>): string {
  return `SF ${bytesToHex(Uint8Array.of(r.sf1, r.sf2)).toUpperCase().replace(/^(..)/, '$1 ')}`;
}

/** What anyone can read without a key: the number, the balance (R1) and the log. */
export async function readOpen(
  client: FelicaClient,
  layout: EmoneyCardLayout,
  /** A known IDm: no Polling (which would end an authenticated session in progress). */
  knownIdm?: Uint8Array,
): Promise<{ idm: Uint8Array; emoneyNo: string; purse: PurseState; log: LogEntry[] }> {
  const idm = knownIdm ?? (await client.polling(layout.systemCode)).idm;
  const [num] = (
    await client.readWithoutEncryption(idm, [layout.number], [{ serviceIndex: 0, block: 0 }])
  ).expectOk();
  const [purse] = (
    await client.readWithoutEncryption(idm, [layout.purseRead], [{ serviceIndex: 0, block: 0 }])
  ).expectOk();
  const blocks = (
    await client.readWithoutEncryption(
      idm,
      [layout.logRead],
      Array.from({ length: layout.logBlocks }, (_, i) => ({ serviceIndex: 0, block: i })),
    )
  ).expectOk();
  return {
    idm,
    emoneyNo: parseNumberBlock(num!),
    purse: parsePurse(purse!),
    log: blocks.map(parseLogBlock).filter((e): e is LogEntry => e !== null),
  };
}
