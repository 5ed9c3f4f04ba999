// ISO/IEC 14443-4 (ISO-DEP) blocks (rf.md §4.4): PCB coding, I/R/S blocks with CRC_A or CRC_B, frame sizes, chaining.
import { crcA, crcB } from '../crc';
import { frameError, type FrameError } from './frame-error';

export type IsoDepTech = 'a' | 'b';

export type IsoDepBlock =
  | {
      readonly type: 'I';
      readonly blockNumber: 0 | 1;
      readonly chaining: boolean;
      readonly cid?: number;
      readonly nad?: number;
      readonly inf: Uint8Array;
    }
  | { readonly type: 'R'; readonly ack: boolean; readonly blockNumber: 0 | 1; readonly cid?: number }
  | { readonly type: 'S'; readonly command: 'deselect'; readonly cid?: number }
  | { readonly type: 'S'; readonly command: 'wtx'; readonly wtxm: number; readonly cid?: number };

export const PCB = Object.freeze({
  I: 0x02,
  R: 0xa2,
  S_DESELECT: 0xc2,
  S_WTX: 0xf2,
  CHAINING: 0x10,
  NAK: 0x10,
  CID: 0x08,
  NAD: 0x04,
  BLOCK_NUMBER: 0x01,
} as const);

/** FSCI/FSDI → frame size in bytes (0..8 of ISO/IEC 14443-4; 9..C from a later amendment). */
export const FRAME_SIZES = Object.freeze([
  16, 24, 32, 40, 48, 64, 96, 128, 256, 512, 1024, 2048, 4096,
] as const);

export function frameSize(fsci: number): number {
  if (!Number.isInteger(fsci) || fsci < 0 || fsci > 15)
    throw new RangeError(`FSCI must be 0..15, got ${fsci}`);
  // Values above C are RFU and read as 4096 (the largest defined size).
  return FRAME_SIZES[Math.min(fsci, FRAME_SIZES.length - 1)]!;
}

function byteArg(v: number | undefined, name: string): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 0xff))
    throw new RangeError(`${name} must be a byte, got ${v}`);
}

/** The PCB byte of a block. */
export function pcbOf(block: IsoDepBlock): number {
  const cid = block.cid !== undefined ? PCB.CID : 0;
  switch (block.type) {
    case 'I':
      return (
        PCB.I |
        (block.chaining ? PCB.CHAINING : 0) |
        cid |
        (block.nad !== undefined ? PCB.NAD : 0) |
        block.blockNumber
      );
    case 'R':
      return PCB.R | (block.ack ? 0 : PCB.NAK) | cid | block.blockNumber;
    case 'S':
      return (block.command === 'wtx' ? PCB.S_WTX : PCB.S_DESELECT) | cid;
  }
}

function checkBlock(block: unknown): asserts block is IsoDepBlock {
  if (typeof block !== 'object' || block === null) throw new TypeError('block must be an object');
  const b = block as IsoDepBlock;
  if (b.type !== 'I' && b.type !== 'R' && b.type !== 'S')
    throw new RangeError('block.type must be I, R or S');
  if (b.cid !== undefined && (!Number.isInteger(b.cid) || b.cid < 0 || b.cid > 14))
    throw new RangeError(`block.cid must be 0..14, got ${b.cid}`);
  if (b.type !== 'S' && b.blockNumber !== 0 && b.blockNumber !== 1)
    throw new RangeError('block.blockNumber must be 0 or 1');
  if (b.type === 'I') {
    if (!(b.inf instanceof Uint8Array)) throw new TypeError('block.inf must be a Uint8Array');
    byteArg(b.nad, 'block.nad');
  }
  if (b.type === 'S' && b.command === 'wtx' && (!Number.isInteger(b.wtxm) || b.wtxm < 1 || b.wtxm > 59))
    throw new RangeError(`block.wtxm must be 1..59, got ${b.wtxm}`);
}

function crcOf(tech: IsoDepTech, data: Uint8Array): number {
  return tech === 'a' ? crcA(data) : crcB(data);
}

/** PCB [CID] [NAD] [INF] CRC; the CRC is CRC_A for Type A (default) and CRC_B for Type B, low byte first. */
function encode(block: IsoDepBlock, opts: { tech?: IsoDepTech } = {}): Uint8Array {
  checkBlock(block);
  const tech = opts.tech ?? 'a';
  if (tech !== 'a' && tech !== 'b') throw new RangeError(`opts.tech must be a or b, got ${String(tech)}`);
  const head: number[] = [pcbOf(block)];
  if (block.cid !== undefined) head.push(block.cid);
  if (block.type === 'I' && block.nad !== undefined) head.push(block.nad);
  if (block.type === 'S' && block.command === 'wtx') head.push(block.wtxm);
  const inf = block.type === 'I' ? block.inf : new Uint8Array(0);
  const out = new Uint8Array(head.length + inf.length + 2);
  out.set(head, 0);
  out.set(inf, head.length);
  const c = crcOf(tech, out.subarray(0, out.length - 2));
  out[out.length - 2] = c & 0xff;
  out[out.length - 1] = c >>> 8;
  return out;
}

/**
 * Decodes `PCB [CID] [NAD] [INF] CRC`. Errors: fewer than 3 bytes or a missing CID/NAD/WTXM byte
 * `truncated`; wrong CRC `bad-crc`; a PCB that is none of the blocks of rf.md §4.4 `bad-pcb`; INF in an
 * R-block or S(DESELECT), or more than one WTXM byte, `bad-length`. Never throws on contents.
 */
function decode(bytes: Uint8Array, opts: { tech?: IsoDepTech } = {}): IsoDepBlock | FrameError {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  const tech = opts.tech ?? 'a';
  if (tech !== 'a' && tech !== 'b') throw new RangeError(`opts.tech must be a or b, got ${String(tech)}`);
  if (bytes.length < 3) return frameError('truncated', bytes.length);
  const n = bytes.length - 2;
  if (crcOf(tech, bytes.subarray(0, n)) !== (bytes[n]! | (bytes[n + 1]! << 8)))
    return frameError('bad-crc', n);
  const pcb = bytes[0]!;
  let at = 1;
  const hasCid = (pcb & PCB.CID) !== 0;
  let cid: number | undefined;
  if (hasCid) {
    if (at >= n) return frameError('truncated', at);
    cid = bytes[at++]! & 0x0f;
  }
  const withCid = <T extends object>(o: T): T & { cid?: number } => (cid === undefined ? o : { ...o, cid });
  const bn = (pcb & 1) as 0 | 1;
  if ((pcb & 0xe2) === 0x02) {
    // I-block: 000x xx1x
    let nad: number | undefined;
    if (pcb & PCB.NAD) {
      if (at >= n) return frameError('truncated', at);
      nad = bytes[at++]!;
    }
    const base = { type: 'I' as const, blockNumber: bn, chaining: (pcb & PCB.CHAINING) !== 0 };
    const inf = bytes.slice(at, n);
    return nad === undefined ? withCid({ ...base, inf }) : withCid({ ...base, nad, inf });
  }
  if ((pcb & 0xe6) === 0xa2) {
    // R-block: 101x x01x
    if (at !== n) return frameError('bad-length', at);
    return withCid({ type: 'R' as const, ack: (pcb & PCB.NAK) === 0, blockNumber: bn });
  }
  if ((pcb & 0xc7) === 0xc2) {
    // S-block: 11xx x010
    const kind = pcb & 0x30;
    if (kind === 0x00) {
      if (at !== n) return frameError('bad-length', at);
      return withCid({ type: 'S' as const, command: 'deselect' as const });
    }
    if (kind === 0x30) {
      if (at >= n) return frameError('truncated', at);
      if (at + 1 !== n) return frameError('bad-length', at + 1);
      return withCid({ type: 'S' as const, command: 'wtx' as const, wtxm: bytes[at]! & 0x3f });
    }
  }
  return frameError('bad-pcb', 0);
}

export const isoDep = Object.freeze({ encode, decode });

/** Largest INF per block: FS − (PCB + [CID] + [NAD] + 2 CRC). */
export function maxInf(fs: number, opts: { cid?: boolean; nad?: boolean } = {}): number {
  if (!Number.isInteger(fs) || fs < 16)
    throw new RangeError(`fs must be an integer of at least 16, got ${fs}`);
  return fs - 1 - (opts.cid ? 1 : 0) - (opts.nad ? 1 : 0) - 2;
}

/**
 * Splits a message into the INF fields of a chain for frame size `fs` (FSC reader→card, FSD card→reader).
 * NAD, when used, is present in the first block of a chain only, so later blocks may carry one byte more.
 * An empty message gives one empty INF.
 */
export function chainInf(
  message: Uint8Array,
  fs: number,
  opts: { cid?: boolean; nad?: boolean } = {},
): Uint8Array[] {
  if (!(message instanceof Uint8Array)) throw new TypeError('message must be a Uint8Array');
  const first = maxInf(fs, opts);
  const later = maxInf(fs, { cid: opts.cid ?? false });
  if (first < 1) throw new RangeError(`fs ${fs} leaves no room for INF`);
  const out: Uint8Array[] = [];
  let at = 0;
  do {
    const room = out.length === 0 ? first : later;
    out.push(message.slice(at, at + room));
    at += room;
  } while (at < message.length);
  return out;
}
