// Transaction IDs (flows.md 1.4): 16 random bytes in lowercase hex, chosen by the initiator of a
// money-moving request; the first 8 bytes are the charge ID a card write carries.
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import type { Rng } from './rng';

const TX_ID = /^[0-9a-f]{32}$/;

export function newTxId(rng: Rng): string {
  return bytesToHex(rng.bytes(16));
}

export function isTxId(value: unknown): value is string {
  return typeof value === 'string' && TX_ID.test(value);
}

/** The charge ID of a txId: its first 8 bytes. */
export function chargeIdOf(txId: string): Uint8Array {
  if (!isTxId(txId)) throw new RangeError(`txId must be 32 lowercase hex digits, got "${txId}"`);
  return hexToBytes(txId.slice(0, 16));
}
