// The BER sweep of `mica rf ber` (rf.md §9.5): random frames at each Eb/N0 point through the full
// channel and receiver, counting coded-bit errors, lost frames and CRC failures.
import { crcBytes } from '@mica/apdu-specs/crc';
import { concatBytes } from '@mica/apdu-specs/hex';
import { bytesToBitsMsb } from '@mica/apdu-specs/rf/bits';
import { typeABits, withCrcA } from '@mica/apdu-specs/rf/type-a';
import { typeBChars, withCrcB } from '@mica/apdu-specs/rf/type-b';
import { bitFcOf } from '@mica/card-os/rf/chips';
import { receiveFrame, transmitFrame } from '@mica/card-os/rf/link';
import { RfRandom, RF_STREAM } from '@mica/card-os/rf/prng';
import { theoryBer } from '@mica/card-os/rf/theory';
import type { RfOptions } from './options';

export interface BerConfig {
  readonly o: RfOptions;
  readonly snrPoints: readonly number[];
  /** Run each point until at least this many bits and `minErrors` errors, or `maxBits`. */
  readonly bits: number;
  readonly minErrors: number;
  readonly maxBits: number;
  /** Data bytes per frame. */
  readonly payload: number;
  readonly idealSync: boolean;
}

export interface BerRow {
  readonly snrDb: number;
  readonly frames: number;
  readonly bits: number;
  readonly bitErrors: number;
  readonly ber: number;
  readonly berTheory: number | undefined;
  readonly framesLost: number;
  readonly framesCrcFail: number;
  readonly fer: number;
}

interface TestFrame {
  readonly bytes: Uint8Array;
  /** The coded data bits compared (LEN..CRC, data + parity, characters). */
  readonly coded: Uint8Array;
}

function testFrame(o: RfOptions, data: Uint8Array): TestFrame {
  if (o.tech === 'f') {
    const payload = concatBytes(Uint8Array.of(data.length + 1), data);
    return { bytes: payload, coded: bytesToBitsMsb(concatBytes(payload, crcBytes('felica', payload))) };
  }
  if (o.tech === 'a') {
    const bytes = withCrcA(data);
    return { bytes, coded: typeABits({ bytes }) };
  }
  const bytes = withCrcB(data);
  return { bytes, coded: typeBChars(bytes) };
}

/** Runs one Eb/N0 point; `onFrame` is called after every frame (progress). */
export function berPoint(cfg: BerConfig, snrDb: number, onFrame?: (bits: number) => void): BerRow {
  const { o } = cfg;
  const choices = new RfRandom(o.seed, RF_STREAM.choices);
  const noise = new RfRandom(o.seed, o.dir === 'r2c' ? RF_STREAM.noiseR2c : RF_STREAM.noiseC2r);
  const data = new Uint8Array(cfg.payload);
  let frames = 0;
  let bits = 0;
  let spent = 0;
  let errors = 0;
  let lost = 0;
  let crcFail = 0;
  while (!((bits >= cfg.bits && errors >= cfg.minErrors) || spent >= cfg.maxBits)) {
    choices.fillBytes(data);
    const f = testFrame(o, data);
    const tx = transmitFrame(o.tech, o.dir, f.bytes, {
      spb: o.spb,
      k: o.k,
      lm: o.lm,
      v10: o.v10,
      ppm: o.ppm,
      snrDb,
      rng: noise,
      ...(o.tech === 'f' ? { rate: o.rate as 212 | 424, diff: o.diff } : {}),
    });
    const scale = 1 / (1 + o.ppm * 1e-6);
    const bitFc = bitFcOf(tx.stream);
    const lead = o.tech === 'f' ? 48 * bitFc : o.tech === 'b' && o.dir === 'c2r' ? 10 * bitFc : 0;
    const d = receiveFrame(tx, o.tech, o.dir, {
      measureBits: f.coded.length,
      sentBits: f.coded,
      ...(o.diff ? { diff: true } : {}),
      ...(cfg.idealSync ? { idealSync: { startFc: tx.startFc + lead * scale, ppm: o.ppm } } : {}),
    });
    frames++;
    spent += f.coded.length;
    if (d.outcome === 'no-sync' || d.outcome === 'no-signal') lost++;
    else {
      bits += f.coded.length;
      errors += d.bitErrors ?? 0;
      if (d.outcome !== 'ok' || d.crc !== 'ok') crcFail++;
    }
    onFrame?.(Math.min(spent, cfg.maxBits));
  }
  return {
    snrDb,
    frames,
    bits,
    bitErrors: errors,
    ber: bits > 0 ? errors / bits : 0,
    berTheory: theoryBer(o.tech, snrDb, o.diff),
    framesLost: lost,
    framesCrcFail: crcFail,
    fer: frames > 0 ? (lost + crcFail) / frames : 0,
  };
}

export const BER_COLUMNS = 'snr_db,frames,bits,bit_errors,ber,ber_theory,frames_lost,frames_crc_fail,fer';

function exp4(v: number): string {
  return v.toExponential(4);
}

/** One CSV line in the column order of rf.md §9.5 (ber in %.4e, snr with one decimal). */
export function berCsvLine(r: BerRow): string {
  return [
    r.snrDb.toFixed(1),
    r.frames,
    r.bits,
    r.bitErrors,
    exp4(r.ber),
    r.berTheory === undefined ? '' : exp4(r.berTheory),
    r.framesLost,
    r.framesCrcFail,
    exp4(r.fer),
  ].join(',');
}
