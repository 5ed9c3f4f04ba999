// The L4 demodulator interface (rf.md §7): received envelope samples → DecodedFrame for every technology
// and direction; each receiver lives in its own module.
import { codeFor, type Dir, type Tech } from './air-frame';
import { checkSpb } from './channel';
import type { DecodedFrame } from './decoded-frame';
import { demodulateAC2r } from './demod-a-c2r';
import { demodulateAR2c } from './demod-a-r2c';
import { demodulateB } from './demod-b';
import type { DemodOpts, Received } from './demod-common';
import { demodulateF, type DemodFOpts } from './demod-f';

export type { DecodedFrame, Outcome } from './decoded-frame';
export type { DemodOpts, IdealSync, Received } from './demod-common';

export interface DemodulateOpts extends DemodFOpts, DemodOpts {
  /** Type A card→reader: bits of a split first byte already sent by the reader. */
  readonly firstBit?: number;
}

export function demodulate(rx: Received, tech: Tech, dir: Dir, opts: DemodulateOpts = {}): DecodedFrame {
  if (typeof rx !== 'object' || rx === null || !(rx.samples instanceof Float32Array))
    throw new TypeError('rx.samples must be a Float32Array');
  if (!(rx.tsFc > 0)) throw new RangeError(`rx.tsFc must be above 0, got ${rx.tsFc}`);
  checkSpb(codeFor(tech, dir), rx.spb);
  if (tech === 'f') return demodulateF(rx, dir, opts);
  if (tech === 'a') return dir === 'r2c' ? demodulateAR2c(rx, opts) : demodulateAC2r(rx, opts);
  return demodulateB(rx, dir, opts);
}
