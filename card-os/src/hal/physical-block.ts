// One physical block: 16 data bytes, 4 RS(20,16) parity bytes, 2 check bytes (CRC-16/XMODEM of the data).
import { crcFelica } from '@mica/apdu-specs/crc';
import { rsDecode, rsParityInto } from './reed-solomon';

export const DATA_BYTES = 16;
export const PARITY_BYTES = 4;
export const CHECK_BYTES = 2;
export const PHYSICAL_BYTES = DATA_BYTES + PARITY_BYTES + CHECK_BYTES;

/** Fills `out[o..o+22)` with the physical image of 16 data bytes taken from `data[d..d+16)`. */
export function encodePhysical(data: Uint8Array, d: number, out: Uint8Array, o: number): void {
  out.set(data.subarray(d, d + DATA_BYTES), o);
  rsParityInto(out, o, out, o + DATA_BYTES);
  const crc = crcFelica(out.subarray(o, o + DATA_BYTES));
  out[o + 20] = crc >> 8;
  out[o + 21] = crc & 0xff;
}

export type PhysicalRead =
  | { readonly status: 'clean' }
  | { readonly status: 'corrected'; readonly data: Uint8Array; readonly positions: readonly number[] }
  | { readonly status: 'failed'; readonly reason: 'parity' | 'check' };

/** Decodes the physical block at `store[o..o+22)`: RS correction, then the check value over the result. */
export function decodePhysical(store: Uint8Array, o: number): PhysicalRead {
  const rs = rsDecode(store.subarray(o, o + DATA_BYTES + PARITY_BYTES));
  const data =
    rs.status === 'corrected'
      ? rs.data
      : rs.status === 'clean'
        ? store.subarray(o, o + DATA_BYTES)
        : undefined;
  if (data === undefined) return { status: 'failed', reason: 'parity' };
  const crc = crcFelica(data);
  if (store[o + 20] !== crc >> 8 || store[o + 21] !== (crc & 0xff))
    return { status: 'failed', reason: 'check' };
  return rs.status === 'corrected'
    ? { status: 'corrected', data: rs.data, positions: rs.positions }
    : { status: 'clean' };
}
