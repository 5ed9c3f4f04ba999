// The card image file (`.img`): one chip's physical memory and write counters behind a checked header.
//
// Layout (all integers big-endian):
//   0   8  magic "MICA-IMG"
//   8   2  format version (1)
//   10  2  header length (64)
//   12  4  N, logical block count (256..65536)
//   16  2  J, journal slots
//   18  1  parity scheme: 1 = RS(20,16) over GF(2^8)/0x11D + CRC-16/XMODEM check value
//   19  1  physical block size (22: data 16, parity 4, check 2)
//   20  4  endurance limit (write count past which SF2 = 71h is reported)
//   24  8  reserved, zero
//   32 32  SHA-256 of bytes 0..31 and the whole body
//   64 ..  body: (N + J) physical blocks of 22 bytes (logical blocks 0..N-1, then the journal), then
//          (N + J) write counters, u32 BE each
import { createHash } from 'node:crypto';
import { Eeprom } from './eeprom';
import { PHYSICAL_BYTES } from './physical-block';
import { PhysicalStore } from './physical-store';

export const IMAGE_MAGIC = 'MICA-IMG';
export const IMAGE_VERSION = 1;
export const IMAGE_HEADER_BYTES = 64;
export const PARITY_SCHEME_RS20_16_CRC16 = 1;

export class ImageFormatError extends Error {
  override readonly name = 'ImageFormatError';
}

function sha256(parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function serializeImage(eeprom: Eeprom): Uint8Array {
  const slots = eeprom.blocks + eeprom.journalSlots;
  const out = new Uint8Array(IMAGE_HEADER_BYTES + slots * (PHYSICAL_BYTES + 4));
  const v = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = IMAGE_MAGIC.charCodeAt(i);
  v.setUint16(8, IMAGE_VERSION);
  v.setUint16(10, IMAGE_HEADER_BYTES);
  v.setUint32(12, eeprom.blocks);
  v.setUint16(16, eeprom.journalSlots);
  out[18] = PARITY_SCHEME_RS20_16_CRC16;
  out[19] = PHYSICAL_BYTES;
  v.setUint32(20, eeprom.endurance);
  out.set(eeprom.physical.bytes, IMAGE_HEADER_BYTES);
  const countsAt = IMAGE_HEADER_BYTES + slots * PHYSICAL_BYTES;
  const counts = eeprom.physical.writeCounts;
  for (let i = 0; i < slots; i++) v.setUint32(countsAt + 4 * i, counts[i]!);
  out.set(sha256([out.subarray(0, 32), out.subarray(IMAGE_HEADER_BYTES)]), 32);
  return out;
}

/** Parses an image; refuses a foreign, damaged or truncated file with a message saying which. */
export function parseImage(file: Uint8Array): Eeprom {
  if (!(file instanceof Uint8Array)) throw new TypeError('image must be a Uint8Array');
  if (file.length < IMAGE_HEADER_BYTES)
    throw new ImageFormatError(`not a mica card image: only ${file.length} bytes`);
  const magic = String.fromCharCode(...file.subarray(0, 8));
  if (magic !== IMAGE_MAGIC)
    throw new ImageFormatError('not a mica card image: bad magic (expected "MICA-IMG")');
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = v.getUint16(8);
  if (version !== IMAGE_VERSION)
    throw new ImageFormatError(`unsupported image format version ${version} (expected ${IMAGE_VERSION})`);
  if (v.getUint16(10) !== IMAGE_HEADER_BYTES) throw new ImageFormatError('damaged image: bad header length');
  const blocks = v.getUint32(12);
  const journalSlots = v.getUint16(16);
  if (file[18] !== PARITY_SCHEME_RS20_16_CRC16 || file[19] !== PHYSICAL_BYTES)
    throw new ImageFormatError(`unsupported parity scheme ${file[18]} / physical block size ${file[19]}`);
  const slots = blocks + journalSlots;
  const expected = IMAGE_HEADER_BYTES + slots * (PHYSICAL_BYTES + 4);
  if (file.length !== expected)
    throw new ImageFormatError(
      `damaged image: ${file.length} bytes, expected ${expected} for ${blocks} blocks`,
    );
  const digest = sha256([file.subarray(0, 32), file.subarray(IMAGE_HEADER_BYTES)]);
  for (let i = 0; i < 32; i++)
    if (digest[i] !== file[32 + i])
      throw new ImageFormatError('damaged image: checksum mismatch (the file was altered or truncated)');
  const bytes = file.slice(IMAGE_HEADER_BYTES, IMAGE_HEADER_BYTES + slots * PHYSICAL_BYTES);
  const counts = new Uint32Array(slots);
  const countsAt = IMAGE_HEADER_BYTES + slots * PHYSICAL_BYTES;
  for (let i = 0; i < slots; i++) counts[i] = v.getUint32(countsAt + 4 * i);
  try {
    return new Eeprom(
      { blocks, journalSlots, endurance: v.getUint32(20) },
      new PhysicalStore(slots, bytes, counts),
    );
  } catch (e) {
    throw new ImageFormatError(`damaged image: ${(e as Error).message}`);
  }
}
