// Type A card→reader receiver, reader side (rf.md §7.4): after acquisition (ook-acquire), the subcarrier
// per half bit against the phase of the frame, D/E/F per bit, collisions where both halves carry
// subcarrier, mid-bit clock tracking; parity picks among close frame-start hypotheses.
import { typeAFromBits } from '@mica/apdu-specs/rf/type-a';
import { assembleFrame, type DecodedFrame } from './decoded-frame';
import {
  bitErrorsOf,
  SILENT_VARIANCE,
  timeOf,
  variance,
  type DemodOpts,
  type Received,
} from './demod-common';
import { ClockTracker } from './edges';
import { acquireOok, ookSignal, referenceAfter, type OokSignal, type SofHypothesis } from './ook-acquire';
import { decodeOokLetters } from './subcarrier-codes';

export { OOK_SOF_FACTOR } from './ook-acquire';

/**
 * Threshold for "subcarrier present", as a fraction of the on-level of a half bit. rf.md §7.4 says 0.5 of
 * the SoF's first half; with two equally strong cards the SoF carries both and a collided half only one,
 * exactly 0.5 of it, so mica uses 0.35 of the frame's on-level.
 */
export const OOK_THRESHOLD = 0.35;

interface Reading {
  readonly letters: string;
  readonly collisions: number[];
  readonly parityErrors: number;
}

/** Reads bits from a SoF hypothesis until F (or `want` bits). */
function readFrom(
  sig: OokSignal,
  h: SofHypothesis,
  want: number | undefined,
  track: boolean,
  firstBit: number,
): Reading {
  const { n, hb, bitS } = sig;
  const proj = (a: number, b: number): number => {
    const [i, q] = sig.iq(a, b);
    return i * h.ci + q * h.cq;
  };
  const theta = OOK_THRESHOLD * h.level;
  const perSample = h.level / hb;
  const qw = hb / 2;
  const clock = new ClockTracker(bitS);
  let tau = h.sof;
  let letters = 'D';
  const collisions: number[] = [];
  let lastStrength = 0;
  for (;;) {
    tau += bitS;
    if (tau + bitS > n) break;
    const s1 = proj(tau, tau + hb);
    const s2 = proj(tau + hb, tau + bitS);
    if (Math.max(s1, s2) <= theta && want === undefined) {
      letters += 'F';
      break;
    }
    // The bit is the stronger half; both halves above the threshold also mark a collision there.
    const lo = Math.min(s1, s2);
    lastStrength = Math.max(s1, s2) / h.level;
    // Two cards sending different bits put subcarrier in both halves at similar strength; noise on one
    // card's bit lifts the empty half only now and then, and rarely to half the other's.
    if (lo > theta && lo > 0.5 * Math.max(s1, s2)) collisions.push(letters.length - 1);
    const l = s1 > s2 ? 'D' : 'E';
    letters += l;
    if (track && lo <= theta) {
      // Mid-bit transition: on-samples minus half the window, signed by the bit, measures the lateness.
      const mid = tau + hb;
      const e = proj(mid - qw, mid + qw) - perSample * qw;
      tau += clock.update(Math.max(-qw, Math.min(qw, (l === 'D' ? -e : e) / perSample)));
    }
    if (want !== undefined && letters.length - 1 >= want) break;
  }
  // Card frames are whole bytes with parity (9 bits each, a split first byte 9 − firstBit): one bit too
  // many is noise that hid the end of frame (the idle half bits read as a weak D or E), so the frame ends
  // a bit earlier.
  if (
    want === undefined &&
    letters.endsWith('F') &&
    (letters.length - 2 + firstBit) % 9 === 1 &&
    lastStrength < 0.9 &&
    collisions[collisions.length - 1] !== letters.length - 3
  )
    letters = `${letters.slice(0, -2)}F`;
  const bits = decodeOokLetters(letters).bits;
  const parityErrors = typeAFromBits(bits, { firstBit }).parityOk.filter((ok) => !ok).length;
  return { letters, collisions, parityErrors };
}

export function demodulateAC2r(rx: Received, opts: DemodOpts & { firstBit?: number } = {}): DecodedFrame {
  const n = rx.samples.length;
  const bitS = rx.spb;
  const empty = (outcome: 'no-signal' | 'no-sync'): DecodedFrame => ({
    ...assembleFrame({
      tech: 'a',
      dir: 'c2r',
      bits: new Uint8Array(0),
      polarity: 'normal',
      startFc: rx.t0Fc,
      endFc: timeOf(rx, n),
    }),
    outcome,
  });
  if (n < 4 * bitS || variance(rx.samples) < SILENT_VARIANCE)
    return empty(n < 4 * bitS ? 'no-sync' : 'no-signal');
  const sig = ookSignal(rx);
  let hyps: SofHypothesis[];
  if (opts.idealSync) {
    const sof = (opts.idealSync.startFc - rx.t0Fc) / rx.tsFc;
    hyps = [{ sof, ...referenceAfter(sig, sof - bitS, 1) }];
  } else hyps = acquireOok(sig);
  if (hyps.length === 0) return empty('no-sync');
  const want = opts.measureBits;
  const firstBit = opts.firstBit ?? 0;
  // The most likely start first; a close alternative wins only if it reads at least a byte with fewer
  // parity errors (an empty reading has no parity to check, so it never wins over a frame).
  const rank = (r: Reading): number => (r.letters.length - 2 < 8 ? 1e6 : 0) + r.parityErrors;
  let best: { h: SofHypothesis; r: Reading } | undefined;
  for (const h of hyps) {
    const r = readFrom(sig, h, want, !opts.idealSync, firstBit);
    if (!best || rank(r) < rank(best.r)) best = { h, r };
    if (rank(r) === 0) break;
  }
  const { h, r } = best!;
  const decoded = decodeOokLetters(r.letters);
  const bits = decoded.bits;
  const frame = assembleFrame({
    tech: 'a',
    dir: 'c2r',
    bits,
    polarity: 'normal',
    startFc: timeOf(rx, h.sof),
    endFc: timeOf(rx, h.sof + (bits.length + 2) * bitS),
    violations: decoded.violations,
    collisionBits: r.collisions,
    ended: want === undefined ? r.letters.endsWith('F') : true,
    ...(opts.firstBit !== undefined ? { firstBit: opts.firstBit } : {}),
  });
  return { ...frame, ...bitErrorsOf(bits, opts.sentBits) };
}
