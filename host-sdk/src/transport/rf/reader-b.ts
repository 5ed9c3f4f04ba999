// The reader's ISO/IEC 14443-3 Type B procedures (rf.md §4.3, §10.2): REQB (WUPB on a restart) → ATQB,
// ATTRIB → its answer, HLTB. Two Type B cards answering together collide (no slotted anticollision in v1).
import { attribFrame, hltbFrame, parseAtqb, reqbFrame, type Atqb } from '@mica/apdu-specs/rf/activation';
import { isFrameError } from '@mica/apdu-specs/rf/frame-error';
import type { ExchangeOutcome } from '@mica/card-os/rf/timeline';
import { ETU_FC, fwtFc, TYPE_B } from '@mica/card-os/rf/timing';
import { ReaderCore } from './reader-core';

/** How long the reader waits for ATQB and the answer to ATTRIB: TR0 + FWT of FWI 4 (mica default). */
export const TYPE_B_WINDOW_FC = TYPE_B.tr0Etu * ETU_FC + fwtFc(4);

export interface TypeBActivated {
  readonly atqb: Atqb;
  readonly atqbBytes: Uint8Array;
  readonly mbli: number;
  readonly cid?: number;
}

class ActivationFailure extends Error {
  constructor(readonly outcome: ExchangeOutcome) {
    super(outcome);
  }
}

function once(core: ReaderCore, wakeUp: boolean, fsdi: number, cid: number | undefined): TypeBActivated {
  const reqb = { bytes: reqbFrame({ wakeUp }), activation: true };
  const r = core.send('b', reqb, { windowFc: TYPE_B_WINDOW_FC });
  const h = r.heard[0];
  let outcome = ReaderCore.judge(h);
  const atqbBytes = h?.frame.bytes.slice(0, -2);
  const atqb = outcome === 'ok' && atqbBytes ? parseAtqb(atqbBytes) : undefined;
  if (outcome === 'ok' && (atqb === undefined || isFrameError(atqb))) outcome = 'protocol-error';
  core.record(wakeUp ? 'b:WUPB' : 'b:REQB', 1, outcome, r, reqb, h);
  if (outcome !== 'ok' || atqb === undefined || isFrameError(atqb)) throw new ActivationFailure(outcome);
  const useCid = cid !== undefined && atqb.cidSupported ? cid : undefined;
  const attrib = { bytes: attribFrame(atqb.pupi, { fsdi, cid: useCid ?? 0 }), activation: true };
  const r2 = core.send('b', attrib, { windowFc: TYPE_B_WINDOW_FC });
  const h2 = r2.heard[0];
  let o2 = ReaderCore.judge(h2);
  if (o2 === 'ok' && (h2!.frame.bytes.length < 3 || (h2!.frame.bytes[0]! & 0x0f) !== (useCid ?? 0)))
    o2 = 'protocol-error';
  core.record('b:ATTRIB', 1, o2, r2, attrib, h2);
  if (o2 !== 'ok') throw new ActivationFailure(o2);
  const out = { atqb, atqbBytes: atqbBytes!, mbli: h2!.frame.bytes[0]! >>> 4 };
  return useCid === undefined ? out : { ...out, cid: useCid };
}

/** REQB → ATTRIB, restarting with WUPB after the guard as the retry policy allows. */
export function activateTypeB(core: ReaderCore, fsdi: number, cid: number | undefined): TypeBActivated {
  const from = core.records.length;
  for (let attempts = 1; ; attempts++) {
    try {
      const out = once(core, attempts > 1, fsdi, cid);
      core.markRecovered(from);
      return out;
    } catch (e) {
      if (!(e instanceof ActivationFailure)) throw e;
      const command = reqbFrame({ wakeUp: attempts > 1 });
      if (!core.policy.retry({ tech: 'b', layer: 'activation', command, attempts, outcome: e.outcome }))
        throw core.failure(e.outcome, 'Type B activation');
      core.air.wait(TYPE_B.readerGuardEtu * ETU_FC);
    }
  }
}

/** HLTB: the card answers 00 and goes to HALT. */
export function haltTypeB(core: ReaderCore, pupi: Uint8Array): void {
  const f = { bytes: hltbFrame(pupi) };
  const r = core.send('b', f, { windowFc: TYPE_B_WINDOW_FC });
  core.record('b:HLTB', 1, ReaderCore.judge(r.heard[0]), r, f, r.heard[0]);
}
