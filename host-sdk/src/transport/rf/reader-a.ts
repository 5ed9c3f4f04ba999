// The reader's ISO/IEC 14443-3 Type A procedures (rf.md §4.2, §9.1, §9.3, §10.2): REQA/WUPA, bit-oriented
// anticollision per cascade level (collision bit set to 1, mica's collisionChoice), SELECT, RATS, HLTA;
// a failed activation restarts with WUPA after the guard time, by the retry policy.
import { concatBytes } from '@mica/apdu-specs/hex';
import { parseAts, ratsFrame, type Ats } from '@mica/apdu-specs/rf/activation';
import { isFrameError } from '@mica/apdu-specs/rf/frame-error';
import {
  anticollisionFrame,
  CASCADE_TAG,
  HLTA,
  REQA,
  SAK_UID_INCOMPLETE,
  SEL_CODES,
  selectFrame,
  withCrcA,
  WUPA,
} from '@mica/apdu-specs/rf/type-a';
import type { ExchangeOutcome } from '@mica/card-os/rf/timeline';
import { sfgtFc, TYPE_A } from '@mica/card-os/rf/timing';
import type { ReaderFrame } from './air';
import { ReaderCore } from './reader-core';

/** How long the reader listens for an ISO 14443-3 answer after its frame (mica default, 302 µs). */
export const ACTIVATION_WINDOW_FC = 4096;
/** The bit a reader takes at a collision (rf.md §9.3, mica default). */
export const COLLISION_CHOICE = 1;

export interface TypeASelected {
  readonly uid: Uint8Array;
  readonly atqa: Uint8Array;
  readonly sak: number;
}

export interface TypeAActivated extends TypeASelected {
  readonly atsBytes: Uint8Array;
  readonly ats: Ats;
  /** The CID the reader asked for in RATS, when the card supports CIDs. */
  readonly cid?: number;
}

class ActivationFailure extends Error {
  constructor(readonly outcome: ExchangeOutcome) {
    super(outcome);
  }
}

/** One frame of the activation, recorded as an exchange; returns what was heard. */
function step(core: ReaderCore, kind: string, frame: ReaderFrame, firstBit = 0) {
  const f = { ...frame, activation: true };
  const r = core.send('a', f, { windowFc: ACTIVATION_WINDOW_FC, ...(firstBit ? { firstBit } : {}) });
  const heard = r.heard[0];
  return { r, heard, frame: f, outcome: ReaderCore.judge(heard), kind };
}

/** One cascade level: the 5 bytes UID part ‖ BCC, resolving collisions bit by bit. */
function anticollide(core: ReaderCore, level: number): Uint8Array {
  const sel = SEL_CODES[level]!;
  const cl = new Uint8Array(5);
  let known = 0;
  for (let guard = 0; guard < 41; guard++) {
    const ac = anticollisionFrame(sel, cl, known);
    const s = step(
      core,
      'a:ANTICOLLISION',
      { bytes: ac.bytes, ...(ac.validBitsInLastByte ? { bitsInLastByte: ac.validBitsInLastByte } : {}) },
      known & 7,
    );
    const h = s.heard;
    const collided = h !== undefined && h.frame.collisions.length > 0;
    if (!h || (h.frame.outcome !== 'ok' && !collided)) {
      core.record(s.kind, 1, h ? 'crc-error' : 'timeout', s.r, s.frame, h);
      throw new ActivationFailure(h ? 'crc-error' : 'timeout');
    }
    const rx = h.frame.bytes;
    const base = known >>> 3;
    const bitOf = (k: number): number => ((rx[(k >>> 3) - base] ?? 0) >>> (k & 7)) & 1;
    const until = collided ? known + h.frame.collisions[0]! : 40;
    for (let k = known; k < Math.min(until, 40); k++) if (bitOf(k)) cl[k >>> 3]! |= 1 << (k & 7);
    if (collided) {
      core.record(s.kind, 1, 'collision', s.r, s.frame, h, { recovered: true });
      if (until >= 40) throw new ActivationFailure('collision');
      if (COLLISION_CHOICE) cl[until >>> 3]! |= 1 << (until & 7);
      else cl[until >>> 3]! &= ~(1 << (until & 7));
      known = until + 1;
      continue;
    }
    if ((cl[0]! ^ cl[1]! ^ cl[2]! ^ cl[3]!) !== cl[4]) {
      core.record(s.kind, 1, 'crc-error', s.r, s.frame, h);
      throw new ActivationFailure('crc-error');
    }
    core.record(s.kind, 1, 'ok', s.r, s.frame, h);
    return cl;
  }
  throw new ActivationFailure('protocol-error');
}

/** REQA/WUPA, then every cascade level to a SAK that says the UID is complete. */
function selectOnce(core: ReaderCore, wakeUp: boolean): TypeASelected {
  const s = step(core, wakeUp ? 'a:WUPA' : 'a:REQA', {
    bytes: Uint8Array.of(wakeUp ? WUPA : REQA),
    bitsInLastByte: 7,
  });
  // Several cards answer ATQA together; any signal means someone is there (ISO/IEC 14443-3).
  const h = s.heard;
  if (!h || (h.frame.outcome !== 'ok' && h.frame.collisions.length === 0)) {
    core.record(s.kind, 1, h ? 'crc-error' : 'timeout', s.r, s.frame, h);
    throw new ActivationFailure(h ? 'crc-error' : 'timeout');
  }
  core.record(s.kind, 1, 'ok', s.r, s.frame, h);
  const atqa = h.frame.bytes.slice(0, 2);
  const parts: Uint8Array[] = [];
  for (let level = 0; level < 3; level++) {
    const cl = anticollide(core, level);
    const sel = step(core, 'a:SELECT', { bytes: selectFrame(SEL_CODES[level]!, cl) });
    if (sel.outcome !== 'ok' || sel.heard!.frame.bytes.length !== 3 || sel.heard!.frame.crc !== 'ok') {
      const outcome = sel.outcome === 'ok' ? 'protocol-error' : sel.outcome;
      core.record(sel.kind, 1, outcome, sel.r, sel.frame, sel.heard);
      throw new ActivationFailure(outcome);
    }
    core.record(sel.kind, 1, 'ok', sel.r, sel.frame, sel.heard);
    const sak = sel.heard!.frame.bytes[0]!;
    const more = (sak & SAK_UID_INCOMPLETE) !== 0;
    if (more && cl[0] !== CASCADE_TAG) throw new ActivationFailure('protocol-error');
    parts.push(more ? cl.slice(1, 4) : cl.slice(0, 4));
    if (!more) return { uid: concatBytes(...parts), atqa, sak };
  }
  throw new ActivationFailure('protocol-error');
}

/** Runs `once` with restarts by WUPA after the guard time, as the retry policy allows. */
function withRestarts<T>(core: ReaderCore, what: string, once: (wakeUp: boolean) => T, wakeFirst = false): T {
  const from = core.records.length;
  for (let attempts = 1; ; attempts++) {
    try {
      const out = once(wakeFirst || attempts > 1);
      core.markRecovered(from);
      return out;
    } catch (e) {
      if (!(e instanceof ActivationFailure)) throw e;
      const command = Uint8Array.of(attempts > 1 ? WUPA : REQA);
      if (!core.policy.retry({ tech: 'a', layer: 'activation', command, attempts, outcome: e.outcome }))
        throw core.failure(e.outcome, what);
      core.air.wait(TYPE_A.reqaRepeatFc);
    }
  }
}

/** Selects one card (anticollision resolves several); the UID, ATQA and SAK. */
export function selectTypeA(core: ReaderCore, wakeUp = false): TypeASelected {
  return withRestarts(core, 'Type A activation', (w) => selectOnce(core, w), wakeUp);
}

/** The whole activation up to the ATS (rf.md §10.2): select, then RATS with FSDI and CID. */
export function activateTypeA(core: ReaderCore, fsdi: number, cid: number | undefined): TypeAActivated {
  return withRestarts(core, 'Type A activation', (w) => {
    const sel = selectOnce(core, w);
    const s = step(core, 'a:RATS', { bytes: ratsFrame(fsdi, cid ?? 0) });
    const atsBytes = s.heard?.frame.bytes.slice(0, -2);
    const ats =
      atsBytes && s.outcome === 'ok' && s.heard!.frame.crc === 'ok' ? parseAts(atsBytes) : undefined;
    if (s.outcome !== 'ok' || ats === undefined || isFrameError(ats)) {
      const outcome = s.outcome === 'ok' ? 'protocol-error' : s.outcome;
      core.record(s.kind, 1, outcome, s.r, s.frame, s.heard);
      throw new ActivationFailure(outcome);
    }
    core.record(s.kind, 1, 'ok', s.r, s.frame, s.heard);
    if (ats.sfgi > 0) core.air.wait(sfgtFc(ats.sfgi));
    const out = { ...sel, atsBytes: atsBytes!, ats };
    return cid !== undefined && ats.cidSupported ? { ...out, cid } : out;
  });
}

/** HLTA: the selected card goes to HALT (it does not answer). */
export function haltTypeA(core: ReaderCore): void {
  const s = step(core, 'a:HLTA', { bytes: withCrcA(Uint8Array.from(HLTA)) });
  core.record(s.kind, 1, s.heard ? 'protocol-error' : 'ok', s.r, s.frame, s.heard);
}

/** Every card in the field (rf.md §9.3): select one, HLTA it, REQA again until nobody answers. */
export function inventoryTypeA(core: ReaderCore, max = 16): Uint8Array[] {
  const uids: Uint8Array[] = [];
  for (let i = 0; i < max; i++) {
    let sel: TypeASelected;
    try {
      // REQA only: a halted card must stay out of the inventory.
      sel = withRestarts(core, 'Type A inventory', () => selectOnce(core, false));
    } catch {
      break;
    }
    uids.push(sel.uid);
    haltTypeA(core);
    core.air.wait(TYPE_A.reqaRepeatFc);
  }
  return uids;
}
