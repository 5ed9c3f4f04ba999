// Air-interface timing (rf.md §3, §8.1–§8.3, §8.5, §8.6): bit periods, frame and exchange airtime,
// turnaround and guard times, ISO-DEP FWT/SFGT/WTX and FeliCa Polling slots, in integer carrier cycles.

/** Carrier frequency in Hz. */
export const FC_HZ = 13_560_000;
/** etu of ISO/IEC 14443 at 106 kbps. */
export const ETU_FC = 128;
/** Type F bit period by rate. */
export const FELICA_BIT_FC = Object.freeze({ 212: 64, 424: 32 } as const);
/** T_u = 4096/fc: unit of the FeliCa PMm formula and of ISO-DEP FWT/SFGT. */
export const TU_FC = 4096;

/** Carrier cycles → µs, rounded to 0.01 µs (rf.md §2 rule 5). */
export function fcToUs(fc: number): number {
  return Math.round((fc / FC_HZ) * 1e8) / 100;
}

/** µs → carrier cycles, rounded to a whole cycle. */
export function usToFc(us: number): number {
  return Math.round((us * FC_HZ) / 1e6);
}

function nonNegInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  return v;
}

export function felicaBitFc(rate: number): number {
  if (rate !== 212 && rate !== 424) throw new RangeError(`rate must be 212 or 424, got ${rate}`);
  return FELICA_BIT_FC[rate];
}

/** Type F: 8 · (P + 2 + LEN + 2) bit periods. */
export function felicaAirtimeFc(len: number, rate: 212 | 424 = 212, preambleBytes = 6): number {
  nonNegInt(len, 'len');
  nonNegInt(preambleBytes, 'preambleBytes');
  return 8 * (preambleBytes + 2 + len + 2) * felicaBitFc(rate);
}

/** Type A, either direction: (2 + b) · 128 for b coded bits (7 short, 9·n standard, 9·n + v split). */
export function typeAAirtimeFc(codedBits: number): number {
  return (2 + nonNegInt(codedBits, 'codedBits')) * ETU_FC;
}

export interface TypeBTiming {
  readonly sofLow?: number;
  readonly sofHigh?: number;
  readonly eof?: number;
  readonly egt?: number;
  readonly tr1?: number;
}

/**
 * Type B: reader→card (SOF + 10·n + EGT·(n − 1) + EOF) etu, default 22 + 10·n; card→reader adds TR1
 * (default 32 + 10·n). TR0 is a gap, not airtime.
 */
export function typeBAirtimeFc(dir: 'r2c' | 'c2r', chars: number, t: TypeBTiming = {}): number {
  nonNegInt(chars, 'chars');
  const sof = (t.sofLow ?? 10) + (t.sofHigh ?? 2);
  const egt = (t.egt ?? 0) * Math.max(0, chars - 1);
  const tr1 = dir === 'c2r' ? (t.tr1 ?? TYPE_B.tr1Etu) : 0;
  return (tr1 + sof + 10 * chars + egt + (t.eof ?? 10)) * ETU_FC;
}

/** Exchange airtime: command, gap, response and their sum (rf.md §8.2). */
export function exchangeAirtime(cmdFc: number, gapFc: number, rspFc: number | null) {
  return { cmdFc, gapFc, rspFc, totalFc: cmdFc + gapFc + (rspFc ?? 0) };
}

// ---- Turnaround and guard times (rf.md §8.3) ----

/** Type A frame delay time from the end of the last pause: (128·n + 84) after a 1, (128·n + 20) after a 0. */
export function typeAFdtFc(lastBit: 0 | 1, n = 9): number {
  if (!Number.isInteger(n) || n < 9) throw new RangeError(`n must be an integer of at least 9, got ${n}`);
  return 128 * n + (lastBit ? 84 : 20);
}

/** The card's answer delay: the smallest n ≥ 9 whose FDT is at least the processing time. */
export function typeAAnswerDelayFc(lastBit: 0 | 1, processingFc = 0): number {
  const extra = lastBit ? 84 : 20;
  const n = Math.max(9, Math.ceil((processingFc - extra) / 128));
  return typeAFdtFc(lastBit, n);
}

export const TYPE_A = Object.freeze({
  /** Reader's next frame at least this long after a card frame. */
  readerGuardFc: 1172,
  /** Between REQA starts when repeating (mica default). */
  reqaRepeatFc: 7000,
} as const);

export const TYPE_B = Object.freeze({ tr0Etu: 8, tr1Etu: 10, readerGuardEtu: 14 } as const);

export const TYPE_F = Object.freeze({
  /** Card turnaround for commands other than Polling (mica default, 197.05 µs). */
  turnaroundFc: 2672,
  /** Reader's next command after a response, and between command starts. */
  readerGuardFc: 2672,
  commandSpacingFc: 6800,
} as const);

/** The start of a card's answer: max(turnaround, processing) (rf.md §8.3). */
export function answerStartFc(turnaroundFc: number, processingFc = 0): number {
  return Math.max(turnaroundFc, processingFc);
}

// ---- ISO-DEP (rf.md §8.5) ----

export const DELTA_FWT_FC = 49152;

/** FWT = T_u · 2^FWI, FWI 0..14 (default 4). */
export function fwtFc(fwi = 4): number {
  if (!Number.isInteger(fwi) || fwi < 0 || fwi > 14) throw new RangeError(`fwi must be 0..14, got ${fwi}`);
  return TU_FC * 2 ** fwi;
}

/** SFGT after the ATS = T_u · 2^SFGI (SFGI 0 = none needed beyond the guard; 15 is RFU). */
export function sfgtFc(sfgi: number): number {
  if (!Number.isInteger(sfgi) || sfgi < 0 || sfgi > 14)
    throw new RangeError(`sfgi must be 0..14, got ${sfgi}`);
  return TU_FC * 2 ** sfgi;
}

/** WTXM a card asks for when processing exceeds FWT: min(59, ⌈processing / FWT⌉); 0 = no WTX needed. */
export function wtxmFor(processingFc: number, fwi = 4): number {
  const fwt = fwtFc(fwi);
  return processingFc <= fwt ? 0 : Math.min(59, Math.ceil(processingFc / fwt));
}

/** The response window after S(WTX): WTXM × FWT, capped at the FWT of FWI 14. */
export function wtxWindowFc(wtxm: number, fwi = 4): number {
  if (!Number.isInteger(wtxm) || wtxm < 1 || wtxm > 59)
    throw new RangeError(`wtxm must be 1..59, got ${wtxm}`);
  return Math.min(wtxm * fwtFc(fwi), fwtFc(14));
}

// ---- FeliCa Polling time slots (rf.md §8.3, §8.6) ----

export const POLLING_TSN = Object.freeze([0x00, 0x01, 0x03, 0x07, 0x0f] as const);
const SLOT0_FC = 512 * 64;
const SLOT_FC = 256 * 64;

/** Start of slot s after the end of the Polling frame: 512·64/fc + s · 256·64/fc. */
export function pollingSlotStartFc(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot > 15)
    throw new RangeError(`slot must be 0..15, got ${slot}`);
  return SLOT0_FC + slot * SLOT_FC;
}

/** How long after the Polling frame the reader listens: to the end of slot TSN. */
export function pollingListenFc(tsn: number): number {
  if (!(POLLING_TSN as readonly number[]).includes(tsn))
    throw new RangeError(`tsn must be one of 00, 01, 03, 07, 0F, got ${tsn}`);
  return SLOT0_FC + (tsn + 1) * SLOT_FC;
}

export const SLOT_LENGTH_FC = SLOT_FC;
