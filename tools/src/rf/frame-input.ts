// What `mica rf encode` puts on air for a hex argument: the frame bytes with their CRC where the frame
// type needs one (rf.md §4.2 table), split-byte bit counts for anticollision frames, and a field layout
// for printing and for the waveform's markers.
import { bcc, crcAOk, REQA, SEL_CODES, withCrcA, WUPA } from '@mica/apdu-specs/rf/type-a';
import { crcBOk, withCrcB } from '@mica/apdu-specs/rf/type-b';
import { FELICA_PREAMBLE_BYTES } from '@mica/apdu-specs/rf/type-f';
import type { AirFrameOpts } from '@mica/card-os/rf/air-frame';
import { UsageError } from '../cli-error';
import type { RfOptions } from './options';

export type CrcMode = 'auto' | 'yes' | 'no';

export interface PreparedFrame {
  /** Type F: LEN ‖ data; Type A/B: the frame as sent, CRC included. */
  readonly bytes: Uint8Array;
  readonly air: AirFrameOpts;
  /** What kind of frame this is, for people. */
  readonly kind: string;
  readonly crcAdded: boolean;
}

function typeAKind(o: RfOptions, b: Uint8Array): { kind: string; crc: boolean; validBits?: number } {
  if (o.dir === 'r2c') {
    if (b.length === 1 && (b[0] === REQA || b[0] === WUPA))
      return { kind: b[0] === REQA ? 'REQA (short frame)' : 'WUPA (short frame)', crc: false, validBits: 7 };
    if (b.length >= 2 && (SEL_CODES as readonly number[]).includes(b[0]!) && b[1]! < 0x70) {
      const extra = b[1]! & 7;
      const whole = (b[1]! >>> 4) - 2;
      const need = whole + (extra > 0 ? 1 : 0);
      if (b.length !== 2 + need)
        throw new UsageError(
          `an anticollision frame with NVB ${b[1]!.toString(16).padStart(2, '0')} has ${2 + need} bytes, got ${b.length}`,
        );
      return extra > 0
        ? { kind: `anticollision, ${whole} UID bytes + ${extra} bits (no CRC)`, crc: false, validBits: extra }
        : { kind: `anticollision, ${whole} UID bytes (no CRC)`, crc: false };
    }
    return { kind: 'standard frame', crc: true };
  }
  if (b.length === 2) return { kind: 'ATQA (no CRC)', crc: false };
  if (b.length === 5 && bcc(b.subarray(0, 4)) === b[4]) return { kind: 'UID + BCC (no CRC)', crc: false };
  return { kind: 'standard frame', crc: true };
}

export function prepareFrame(o: RfOptions, input: Uint8Array, crc: CrcMode = 'auto'): PreparedFrame {
  const air: { rate?: 212 | 424; diff?: boolean; validBitsInLastByte?: number } = {};
  if (o.tech === 'f') {
    if (o.rate === 424) air.rate = 424;
    if (o.diff) air.diff = true;
    if (input.length < 2 || input.length > 255)
      throw new UsageError(`a Type F frame is LEN ‖ data of 2 to 255 bytes, got ${input.length}`);
    if (input[0] !== input.length)
      throw new UsageError(`the LEN byte is ${input[0]!}, but the frame has ${input.length} bytes`);
    return {
      bytes: input,
      air,
      kind: `FeliCa frame, command ${input[1]!.toString(16).padStart(2, '0')}`,
      crcAdded: true,
    };
  }
  if (input.length === 0) throw new UsageError('the frame is empty');
  if (o.tech === 'a') {
    const k = typeAKind(o, input);
    if (k.validBits !== undefined) air.validBitsInLastByte = k.validBits;
    const want = crc === 'yes' || (crc === 'auto' && k.crc && !(input.length >= 3 && crcAOk(input)));
    return { bytes: want ? withCrcA(input) : input, air, kind: k.kind, crcAdded: want };
  }
  const want = crc === 'yes' || (crc === 'auto' && !(input.length >= 3 && crcBOk(input)));
  return { bytes: want ? withCrcB(input) : input, air, kind: 'Type B frame', crcAdded: want };
}

export interface Field {
  readonly label: string;
  /** Range in L2 input bits (Type F frame bits; Type A coded bits; Type B logic levels). */
  readonly from: number;
  readonly to: number;
}

/** The frame's fields over its L2 input bits: preamble/sync/LEN/data/CRC, SoF/bytes/CRC, TR1/SOF/chars/EOF. */
export function frameFields(o: RfOptions, f: PreparedFrame): Field[] {
  const b = f.bytes;
  if (o.tech === 'f') {
    const p = 8 * FELICA_PREAMBLE_BYTES;
    const end = p + 16 + 8 * b.length;
    return [
      { label: 'preamble', from: 0, to: p },
      { label: 'sync b24d', from: p, to: p + 16 },
      { label: `LEN ${hex2(b[0]!)}`, from: p + 16, to: p + 24 },
      ...Array.from(b.subarray(1), (v, i) => ({ label: hex2(v), from: p + 24 + 8 * i, to: p + 32 + 8 * i })),
      { label: 'CRC', from: end, to: end + 16 },
    ];
  }
  if (o.tech === 'a') {
    const v = f.air.validBitsInLastByte ?? 8;
    if (v === 7 && b.length === 1) return [{ label: hex2(b[0]!), from: 0, to: 7 }];
    return Array.from(b, (x, i) => ({
      label: f.crcAdded && i >= b.length - 2 ? `CRC ${hex2(x)}` : hex2(x),
      from: 9 * i,
      to: i === b.length - 1 && v < 8 ? 9 * i + v : 9 * i + 9,
    }));
  }
  const tr1 = o.dir === 'c2r' ? 10 : 0;
  const chars = Array.from(b, (x, i) => ({
    label: i >= b.length - 2 ? `CRC ${hex2(x)}` : hex2(x),
    from: tr1 + 12 + 10 * i,
    to: tr1 + 22 + 10 * i,
  }));
  return [
    ...(tr1 > 0 ? [{ label: 'TR1', from: 0, to: tr1 }] : []),
    { label: 'SOF', from: tr1, to: tr1 + 12 },
    ...chars,
    { label: 'EOF', from: tr1 + 12 + 10 * b.length, to: tr1 + 22 + 10 * b.length },
  ];
}

function hex2(v: number): string {
  return v.toString(16).padStart(2, '0');
}
