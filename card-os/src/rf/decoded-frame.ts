// The demodulator's result (rf.md §7.7) and its assembly from decoded bits through the L1 frame codecs.
import { bitsToBytesMsb } from '@mica/apdu-specs/rf/bits';
import { isFrameError } from '@mica/apdu-specs/rf/frame-error';
import { crcAOk, SEL_CODES, typeAFromBits } from '@mica/apdu-specs/rf/type-a';
import { crcBOk, typeBFromLevels } from '@mica/apdu-specs/rf/type-b';
import { parseFelicaAfterSync } from '@mica/apdu-specs/rf/type-f';

export type Tech = 'a' | 'b' | 'f';
export type Dir = 'r2c' | 'c2r';
export type Outcome =
  'ok' | 'no-signal' | 'no-sync' | 'truncated' | 'bad-length' | 'coding-violation' | 'framing';

export interface DecodedFrame {
  readonly tech: Tech;
  readonly dir: Dir;
  readonly outcome: Outcome;
  /** As decoded, CRC bytes included (Type F: LEN..CRC after the sync word). */
  readonly bytes: Uint8Array;
  /** 7 for short frames, the valid bits for split frames, otherwise 8. */
  readonly bitsInLastByte: number;
  readonly crc: 'ok' | 'bad' | 'none';
  /** Indexes of bytes whose parity bit was wrong (Type A). */
  readonly parityErrors: number[];
  /** Type A card→reader: collided data-bit indexes (parity bits not counted). */
  readonly collisions: number[];
  /** Type A card→reader: indexes of bytes whose parity bit collided. */
  readonly parityCollisions?: number[];
  readonly polarity: 'normal' | 'inverted';
  readonly startFc: number;
  readonly endFc: number;
  /** Type A reader→card: end of the last pause, which fixes the card's answer time (rf.md §8.3). */
  readonly lastPauseEndFc?: number;
  readonly snrEstimateDb?: number;
  /** Only when the sent bits were given. */
  readonly bitErrors?: number;
  /** Coded data bits as decided (Type F LEN..CRC, Type A data + parity, Type B characters), for BER counts. */
  readonly codedBits?: Uint8Array;
  /** Bit indexes with a line-coding violation. */
  readonly violations?: number[];
}

/** Whether a Type A frame carries CRC_A (rf.md §4.2 table), judged from the decoded frame itself. */
export function typeACrc(
  dir: Dir,
  bytes: Uint8Array,
  bitsInLastByte: number,
  firstBit: number,
): 'ok' | 'bad' | 'none' {
  if (bitsInLastByte !== 8 || firstBit !== 0 || bytes.length < 3) return 'none';
  if (crcAOk(bytes)) return 'ok';
  if (dir === 'r2c' && (SEL_CODES as readonly number[]).includes(bytes[0]!) && bytes[1]! < 0x70)
    return 'none';
  if (dir === 'c2r' && bytes.length === 5 && (bytes[0]! ^ bytes[1]! ^ bytes[2]! ^ bytes[3]!) === bytes[4])
    return 'none';
  return 'bad';
}

export interface AssembleInput {
  readonly tech: Tech;
  readonly dir: Dir;
  /** Decoded bits in transmission order: Type F from the first bit after sync; Type A data + parity
   *  (SoF/EoF removed); Type B logic levels including SOF and EOF. */
  readonly bits: Uint8Array;
  readonly polarity: 'normal' | 'inverted';
  readonly startFc: number;
  readonly endFc: number;
  readonly violations?: number[];
  /** Type A card→reader: coded-bit indexes that collided. */
  readonly collisionBits?: number[];
  /** Type A: the other side's bits of a split first byte (anticollision answers). */
  readonly firstBit?: number;
  /** Type A: an end of frame was seen (otherwise `truncated`). */
  readonly ended?: boolean;
  readonly lastPauseEndFc?: number;
  readonly snrEstimateDb?: number;
}

function base(input: AssembleInput) {
  const extra: { lastPauseEndFc?: number; snrEstimateDb?: number; violations?: number[] } = {};
  if (input.lastPauseEndFc !== undefined) extra.lastPauseEndFc = input.lastPauseEndFc;
  if (input.snrEstimateDb !== undefined) extra.snrEstimateDb = input.snrEstimateDb;
  if (input.violations !== undefined && input.violations.length > 0) extra.violations = input.violations;
  return {
    tech: input.tech,
    dir: input.dir,
    polarity: input.polarity,
    startFc: input.startFc,
    endFc: input.endFc,
    parityErrors: [] as number[],
    collisions: [] as number[],
    ...extra,
  };
}

/** Splits coded-bit collision indexes of a Type A frame into data-bit and parity-byte indexes. */
function splitCollisions(coded: readonly number[], firstBit: number): { data: number[]; parity: number[] } {
  const data: number[] = [];
  const parity: number[] = [];
  for (const j of coded) {
    const firstGroup = 9 - firstBit;
    if (j < firstGroup) {
      if (j === firstGroup - 1) parity.push(0);
      else data.push(j);
      continue;
    }
    const k = j - firstGroup;
    const byte = 1 + Math.floor(k / 9);
    const pos = k % 9;
    if (pos === 8) parity.push(byte);
    else data.push(firstGroup - 1 + (byte - 1) * 8 + pos);
  }
  return { data, parity };
}

/** Bytes, parity and CRC from decoded bits (rf.md §7.1 step 5). */
export function assembleFrame(input: AssembleInput): DecodedFrame {
  const b = base(input);
  if (input.tech === 'f') {
    const bytes = bitsToBytesMsb(input.bits.subarray(0, input.bits.length & ~7));
    const parsed = parseFelicaAfterSync(bytes);
    if (isFrameError(parsed)) {
      const outcome = parsed.error === 'bad-length' ? 'bad-length' : 'truncated';
      return { ...b, outcome, bytes, bitsInLastByte: 8, crc: 'none', codedBits: input.bits };
    }
    const len = parsed.payload.length;
    const all = bytes.slice(0, len + 2);
    return {
      ...b,
      outcome: 'ok',
      bytes: all,
      bitsInLastByte: 8,
      crc: parsed.crcOk ? 'ok' : 'bad',
      codedBits: input.bits.subarray(0, (len + 2) * 8),
    };
  }
  if (input.tech === 'a') {
    const firstBit = input.firstBit ?? 0;
    const f = typeAFromBits(input.bits, { firstBit });
    const parityErrors: number[] = [];
    f.parityOk.forEach((ok, i) => {
      if (!ok) parityErrors.push(i);
    });
    const split = splitCollisions(input.collisionBits ?? [], firstBit);
    const violated = (input.violations ?? []).length > 0;
    const outcome = violated ? 'coding-violation' : input.ended === false ? 'truncated' : 'ok';
    const frame = {
      ...b,
      outcome,
      bytes: f.bytes,
      bitsInLastByte: f.validBitsInLastByte,
      crc: typeACrc(input.dir, f.bytes, f.validBitsInLastByte, firstBit),
      parityErrors,
      collisions: split.data,
      codedBits: input.bits,
    } as const;
    return split.parity.length > 0 ? { ...frame, parityCollisions: split.parity } : frame;
  }
  const decoded = typeBFromLevels(input.bits);
  if (isFrameError(decoded)) {
    const outcome =
      decoded.error === 'truncated' ? 'truncated' : decoded.error === 'bad-length' ? 'no-sync' : 'framing';
    return { ...b, outcome, bytes: new Uint8Array(0), bitsInLastByte: 8, crc: 'none', codedBits: input.bits };
  }
  const chars = input.bits.subarray(decoded.sofAt, decoded.endAt);
  return {
    ...b,
    outcome: 'ok',
    bytes: decoded.bytes,
    bitsInLastByte: 8,
    crc: decoded.bytes.length >= 2 ? (crcBOk(decoded.bytes) ? 'ok' : 'bad') : 'none',
    codedBits: chars,
  };
}
