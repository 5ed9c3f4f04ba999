// Parsing of the service code list and block list of Read/Write commands (2- and 3-byte elements).
import { BLOCK_ELEMENT_SHORT } from '@mica/apdu-specs/felica-commands';
import { readNodeCodeLE } from '@mica/apdu-specs/node-code';
import { SF2 } from '@mica/apdu-specs/status-flags';
import { FsError } from '../fs/fs-error';

export interface BlockElement {
  /** 1-based position in the block list. */
  readonly position: number;
  readonly serviceIndex: number;
  readonly accessMode: number;
  readonly blockNumber: number;
}

export interface ParsedLists {
  readonly serviceCodes: readonly number[];
  readonly elements: readonly BlockElement[];
  /** Offset just past the block list. */
  readonly end: number;
}

/**
 * Reads nS, the service codes, nB and the block list starting at `at` (just after the IDm).
 * Returns undefined (silence) when the frame cannot hold nS, its service list and nB; throws FsError
 * for counts out of range (A1, A2) and a block list shorter than announced (A2).
 */
export function parseLists(frame: Uint8Array, at: number, maxBlocks: number): ParsedLists | undefined {
  if (frame.length < at + 1) return undefined;
  const nS = frame[at]!;
  if (nS < 1 || nS > 16) throw new FsError(SF2.SERVICE_COUNT, `number of services ${nS} outside 1-16`);
  let o = at + 1;
  if (frame.length < o + 2 * nS + 1) return undefined;
  const serviceCodes: number[] = [];
  for (let i = 0; i < nS; i++, o += 2) serviceCodes.push(readNodeCodeLE(frame, o));
  const nB = frame[o++]!;
  if (nB < 1 || nB > maxBlocks)
    throw new FsError(SF2.BLOCK_COUNT, `number of blocks ${nB} outside 1-${maxBlocks}`);
  const elements: BlockElement[] = [];
  for (let i = 0; i < nB; i++) {
    const b0 = frame[o];
    if (b0 === undefined) throw new FsError(SF2.BLOCK_COUNT, `block list ends after ${i} of ${nB} elements`);
    const short = (b0 & BLOCK_ELEMENT_SHORT) !== 0;
    const len = short ? 2 : 3;
    if (o + len > frame.length) throw new FsError(SF2.BLOCK_COUNT, `block list ends inside element ${i + 1}`);
    const blockNumber = short ? frame[o + 1]! : frame[o + 1]! | (frame[o + 2]! << 8);
    elements.push({ position: i + 1, serviceIndex: b0 & 0x0f, accessMode: (b0 >> 4) & 0x07, blockNumber });
    o += len;
  }
  return { serviceCodes, elements, end: o };
}
