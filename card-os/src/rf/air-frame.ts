// Frames on air at chip level: which code each technology and direction uses, frame bytes → coded bits →
// chips (L1 then L2), and the way back for `level=chips` (rf.md §2 rule 2).
import { typeABits } from '@mica/apdu-specs/rf/type-a';
import { TYPE_B_DEFAULTS, typeBFrameLevels, type TypeBFraming } from '@mica/apdu-specs/rf/type-b';
import { felicaFrame, felicaFrameBits } from '@mica/apdu-specs/rf/type-f';
import { findSync, manchesterChipFc, manchesterPack, type FelicaRate } from './manchester';
import { bitFcOf, type ChipCode, type ChipStream } from './chips';
import { assembleFrame, type DecodedFrame, type Dir, type Tech } from './decoded-frame';
import { decodeChips, encodeChips } from './line-code';

export type { Dir, Tech } from './decoded-frame';

export function codeFor(tech: Tech, dir: Dir): ChipCode {
  if (tech === 'f') return 'manchester-f';
  if (tech === 'a') return dir === 'r2c' ? 'miller-a' : 'ook-sc-a';
  if (tech === 'b') return dir === 'r2c' ? 'nrz-b' : 'bpsk-sc-b';
  throw new RangeError(`tech must be a, b or f, got "${String(tech)}"`);
}

export interface AirFrameOpts {
  /** Type F: 212 (default) or 424. */
  readonly rate?: FelicaRate;
  /** Type F preamble bytes (default 6). */
  readonly preambleBytes?: number;
  /** Type F differential conversion. */
  readonly diff?: boolean;
  /** Type A: bits of the last byte sent (7 for short frames, split bytes 1..7). */
  readonly validBitsInLastByte?: number;
  /** Type A: bits of the first byte already sent by the other side. */
  readonly firstBit?: number;
  /** Type B framing; TR1 defaults to 10 etu card→reader and 0 reader→card. */
  readonly framing?: TypeBFraming;
}

/**
 * The bits L2 codes for a frame. Type F: `bytes` = LEN ‖ data; preamble, sync and CRC are added, MSB first.
 * Type A: `bytes` as sent (CRC included), LSB first with parity. Type B: `bytes` as sent (CRC included),
 * as logic levels with TR1 (card→reader), SOF, start/stop bits and EOF.
 */
export function frameBits(tech: Tech, dir: Dir, bytes: Uint8Array, opts: AirFrameOpts = {}): Uint8Array {
  if (tech === 'f')
    return felicaFrameBits(
      bytes,
      opts.preambleBytes === undefined ? {} : { preambleBytes: opts.preambleBytes },
    );
  if (tech === 'a') {
    const f: { bytes: Uint8Array; validBitsInLastByte?: number; firstBit?: number } = { bytes };
    if (opts.validBitsInLastByte !== undefined) f.validBitsInLastByte = opts.validBitsInLastByte;
    if (opts.firstBit !== undefined) f.firstBit = opts.firstBit;
    return typeABits(f);
  }
  return typeBFrameLevels(bytes, { tr1: dir === 'c2r' ? TYPE_B_DEFAULTS.tr1 : 0, ...opts.framing });
}

/** L1 + L2: a frame's chip stream. */
export function encodeFrame(tech: Tech, dir: Dir, bytes: Uint8Array, opts: AirFrameOpts = {}): ChipStream {
  if (tech === 'f' && !opts.diff) {
    // Packed fast path: one 16-chip word per byte (rf.md §5.7).
    const frame = felicaFrame(
      bytes,
      opts.preambleBytes === undefined ? {} : { preambleBytes: opts.preambleBytes },
    );
    return {
      code: 'manchester-f',
      chipFc: manchesterChipFc(opts.rate ?? 212),
      length: frame.length * 16,
      value: manchesterPack(frame),
    };
  }
  const bits = frameBits(tech, dir, bytes, opts);
  const o: { rate?: FelicaRate; diff?: boolean } = {};
  if (opts.rate !== undefined) o.rate = opts.rate;
  if (opts.diff !== undefined) o.diff = opts.diff;
  return encodeChips(codeFor(tech, dir), bits, o);
}

export interface ChipDecodeOpts {
  readonly diff?: boolean;
  /** Type F: polarity detection by the sync word (default true). */
  readonly polarityDetection?: boolean;
  /** Type A: first bit of a split first byte (anticollision answer). */
  readonly firstBit?: number;
  /** Time of the stream's first chip, for startFc/endFc (default 0). */
  readonly startFc?: number;
}

/** L2 + L1 upwards for `level=chips`: a chip stream straight from a coder (aligned) → DecodedFrame. */
export function decodeFrameChips(
  tech: Tech,
  dir: Dir,
  stream: ChipStream,
  opts: ChipDecodeOpts = {},
): DecodedFrame {
  const t0 = opts.startFc ?? 0;
  const bitFc = bitFcOf(stream);
  const d = decodeChips(stream, {
    ...(opts.diff !== undefined ? { diff: opts.diff } : {}),
    polarity: opts.polarityDetection === false ? 'normal' : 'auto',
  });
  const endFc = t0 + stream.length * stream.chipFc;
  if (tech === 'f') {
    const at = findSync(d.bits, false);
    if (at < 0)
      return {
        ...assembleFrame({ tech, dir, bits: new Uint8Array(0), polarity: d.polarity, startFc: t0, endFc }),
        outcome: 'no-sync',
      };
    const after = d.bits.subarray(at + 16);
    const violations = d.violations.filter((v) => v >= at).map((v) => v - at - 16);
    const f = assembleFrame({
      tech,
      dir,
      bits: after,
      polarity: d.polarity,
      startFc: t0 + at * bitFc,
      endFc,
      violations,
    });
    const end = t0 + (at + 16 + f.bytes.length * 8) * bitFc;
    return f.outcome === 'ok' ? { ...f, endFc: end } : f;
  }
  return assembleFrame({
    tech,
    dir,
    bits: d.bits,
    polarity: d.polarity,
    startFc: t0,
    endFc,
    violations: d.violations,
    ...(d.collisions !== undefined ? { collisionBits: d.collisions } : {}),
    ...(d.ended !== undefined ? { ended: d.ended } : {}),
    ...(opts.firstBit !== undefined ? { firstBit: opts.firstBit } : {}),
  });
}
