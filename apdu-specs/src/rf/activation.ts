// Activation data of ISO/IEC 14443-3/-4 (rf.md §4.2–§4.4): RATS and ATS (Type A), REQB/WUPB, ATQB, ATTRIB, HLTB (Type B).
import { concatBytes } from '../hex';
import { frameError, type FrameError } from './frame-error';
import { frameSize } from './iso-dep';
import { withCrcA } from './type-a';
import { withCrcB } from './type-b';

/** FWI and SFGI when the card does not give them (rf.md §8.5: FWI 4). */
export const DEFAULT_FWI = 4;
export const DEFAULT_SFGI = 0;
/** FSCI when the ATS has no T0 (32 bytes). */
export const DEFAULT_FSCI = 2;

function nibble(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 15) throw new RangeError(`${name} must be 0..15, got ${v}`);
  return v;
}

/** RATS `E0 (FSDI<<4 | CID)` with CRC_A. */
export function ratsFrame(fsdi: number, cid = 0): Uint8Array {
  return withCrcA(Uint8Array.of(0xe0, (nibble(fsdi, 'fsdi') << 4) | nibble(cid, 'cid')));
}

export interface Ats {
  readonly fsci: number;
  readonly fsc: number;
  readonly ta1?: number;
  readonly fwi: number;
  readonly sfgi: number;
  readonly cidSupported: boolean;
  readonly nadSupported: boolean;
  readonly historical: Uint8Array;
}

/** Parses an ATS without its CRC: TL T0 [TA1] [TB1] [TC1] historical bytes. */
export function parseAts(ats: Uint8Array): Ats | FrameError {
  if (!(ats instanceof Uint8Array)) throw new TypeError('ats must be a Uint8Array');
  if (ats.length < 1) return frameError('truncated', 0);
  const tl = ats[0]!;
  if (tl !== ats.length) return frameError('bad-length', 0);
  if (tl === 1) {
    return {
      fsci: DEFAULT_FSCI,
      fsc: frameSize(DEFAULT_FSCI),
      fwi: DEFAULT_FWI,
      sfgi: DEFAULT_SFGI,
      cidSupported: true,
      nadSupported: false,
      historical: new Uint8Array(0),
    };
  }
  const t0 = ats[1]!;
  let at = 2;
  const take = (): number | undefined => (at < tl ? ats[at++] : undefined);
  const ta1 = t0 & 0x10 ? take() : undefined;
  const tb1 = t0 & 0x20 ? take() : undefined;
  const tc1 = t0 & 0x40 ? take() : undefined;
  const declared = 2 + ((t0 >>> 4) & 1) + ((t0 >>> 5) & 1) + ((t0 >>> 6) & 1);
  if (declared > tl) return frameError('truncated', tl);
  const fsci = t0 & 0x0f;
  const base = {
    fsci,
    fsc: frameSize(fsci),
    fwi: tb1 === undefined ? DEFAULT_FWI : tb1 >>> 4,
    sfgi: tb1 === undefined ? DEFAULT_SFGI : tb1 & 0x0f,
    cidSupported: tc1 === undefined ? true : (tc1 & 0x02) !== 0,
    nadSupported: tc1 === undefined ? false : (tc1 & 0x01) !== 0,
    historical: ats.slice(at),
  };
  return ta1 === undefined ? base : { ...base, ta1 };
}

/** REQB (or WUPB) `05 AFI PARAM` with CRC_B; v1 uses N = 1 (PARAM low bits 000). */
export function reqbFrame(opts: { afi?: number; wakeUp?: boolean } = {}): Uint8Array {
  const afi = opts.afi ?? 0;
  if (!Number.isInteger(afi) || afi < 0 || afi > 0xff) throw new RangeError(`afi must be a byte, got ${afi}`);
  return withCrcB(Uint8Array.of(0x05, afi, opts.wakeUp ? 0x08 : 0x00));
}

export interface Atqb {
  readonly pupi: Uint8Array;
  readonly appData: Uint8Array;
  readonly protInfo: Uint8Array;
  readonly fsci: number;
  readonly fsc: number;
  readonly isoDep: boolean;
  readonly fwi: number;
  readonly nadSupported: boolean;
  readonly cidSupported: boolean;
}

/** ATQB `50 PUPI(4) AppData(4) ProtInfo(3)` with CRC_B. */
export function atqbFrame(pupi: Uint8Array, appData: Uint8Array, protInfo: Uint8Array): Uint8Array {
  if (pupi.length !== 4 || appData.length !== 4 || protInfo.length !== 3)
    throw new RangeError('pupi, appData and protInfo must be 4, 4 and 3 bytes');
  return withCrcB(concatBytes(Uint8Array.of(0x50), pupi, appData, protInfo));
}

/** Parses an ATQB without its CRC (12 bytes; ProtInfo may carry more bytes in later amendments). */
export function parseAtqb(atqb: Uint8Array): Atqb | FrameError {
  if (!(atqb instanceof Uint8Array)) throw new TypeError('atqb must be a Uint8Array');
  if (atqb.length < 12) return frameError('truncated', atqb.length);
  if (atqb[0] !== 0x50) return frameError('bad-pcb', 0);
  const p2 = atqb[10]!;
  const p3 = atqb[11]!;
  return {
    pupi: atqb.slice(1, 5),
    appData: atqb.slice(5, 9),
    protInfo: atqb.slice(9),
    fsci: p2 >>> 4,
    fsc: frameSize(p2 >>> 4),
    isoDep: (p2 & 0x01) !== 0,
    fwi: p3 >>> 4,
    nadSupported: (p3 & 0x02) !== 0,
    cidSupported: (p3 & 0x01) !== 0,
  };
}

/** ATTRIB `1D PUPI Param1 Param2 Param3 Param4 [INF]` with CRC_B; Param2 = FSDI, Param3 = 01, Param4 = CID. */
export function attribFrame(
  pupi: Uint8Array,
  opts: { fsdi?: number; cid?: number; param1?: number; inf?: Uint8Array } = {},
): Uint8Array {
  if (pupi.length !== 4) throw new RangeError('pupi must be 4 bytes');
  const fsdi = nibble(opts.fsdi ?? 8, 'fsdi');
  const cid = nibble(opts.cid ?? 0, 'cid');
  return withCrcB(
    concatBytes(
      Uint8Array.of(0x1d),
      pupi,
      Uint8Array.of(opts.param1 ?? 0x00, fsdi, 0x01, cid),
      opts.inf ?? new Uint8Array(0),
    ),
  );
}

/** The card's answer to ATTRIB `MBLI<<4 | CID [INF]` with CRC_B. */
export function attribAnswer(cid = 0, mbli = 0, inf: Uint8Array = new Uint8Array(0)): Uint8Array {
  return withCrcB(concatBytes(Uint8Array.of((nibble(mbli, 'mbli') << 4) | nibble(cid, 'cid')), inf));
}

/** HLTB `50 PUPI` with CRC_B (the card answers `00` with CRC_B). */
export function hltbFrame(pupi: Uint8Array): Uint8Array {
  if (pupi.length !== 4) throw new RangeError('pupi must be 4 bytes');
  return withCrcB(concatBytes(Uint8Array.of(0x50), pupi));
}
