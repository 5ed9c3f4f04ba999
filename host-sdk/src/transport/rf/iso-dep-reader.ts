// The reader's ISO-DEP exchange (rf.md §4.4, §8.5, §9.1): an APDU as I-blocks chained by FSC, the card's
// chain acknowledged, S(WTX) echoed with the longer window, and on a timeout or an invalid block R(NAK)
// (R(ACK) while receiving a chain) by the retry policy, so the card re-sends without executing again.
import { isFrameError } from '@mica/apdu-specs/rf/frame-error';
import { isoDep, type IsoDepBlock, type IsoDepTech } from '@mica/apdu-specs/rf/iso-dep';
import {
  readerReceive,
  readerSend,
  type LinkEvent,
  type ReaderLink,
} from '@mica/apdu-specs/rf/iso-dep-rules';
import type { ExchangeOutcome } from '@mica/card-os/rf/timeline';
import { DELTA_FWT_FC, fwtFc, wtxWindowFc } from '@mica/card-os/rf/timing';
import { TransportError } from '../transport';
import type { Heard } from './air';
import { ReaderCore } from './reader-core';

export interface IsoDepSession {
  readonly tech: IsoDepTech;
  link: ReaderLink;
  readonly fwi: number;
}

function kindOf(b: IsoDepBlock): string {
  if (b.type === 'I') return 'iso-dep:I';
  if (b.type === 'R') return b.ack ? 'iso-dep:R(ACK)' : 'iso-dep:R(NAK)';
  return b.command === 'wtx' ? 'iso-dep:S(WTX)' : 'iso-dep:S(DESELECT)';
}

function eventOf(
  tech: IsoDepTech,
  judged: ReturnType<typeof ReaderCore.judge>,
  h: Heard | undefined,
): LinkEvent {
  if (judged === 'timeout') return 'timeout';
  // A block is whole bytes with a good CRC (a stray zero byte after a frame keeps CRC_A/CRC_B "valid").
  if (judged !== 'ok' || !h || h.frame.crc !== 'ok' || h.frame.bitsInLastByte !== 8) return 'invalid';
  const d = isoDep.decode(h.frame.bytes, { tech });
  return isFrameError(d) ? 'invalid' : d;
}

/** Sends a command APDU and returns the card's complete answer (response data ‖ SW1 SW2). */
export function isoDepExchange(core: ReaderCore, s: IsoDepSession, apdu: Uint8Array): Uint8Array {
  const first = readerSend(s.link, apdu);
  s.link = first.state;
  let block = first.send!;
  let kind = kindOf(block);
  let windowFc = fwtFc(s.fwi) + DELTA_FWT_FC;
  let attempts = 1;
  for (;;) {
    const frame = { bytes: isoDep.encode(block, { tech: s.tech }) };
    const r = core.send(s.tech, frame, { windowFc }, attempts);
    const h = r.heard[0];
    const judged = ReaderCore.judge(h);
    const event = eventOf(s.tech, judged, h);
    const outcome: ExchangeOutcome = event === 'invalid' && judged === 'ok' ? 'crc-error' : judged;
    const step = readerReceive(s.link, event);
    if (event === 'timeout' || event === 'invalid') {
      if (!core.policy.retry({ tech: s.tech, layer: 'iso-dep', command: frame.bytes, attempts, outcome })) {
        core.record(kind, attempts, outcome, r, frame, h);
        throw core.failure(outcome, `ISO-DEP ${kind}`);
      }
      // Rule 5: R(NAK), or R(ACK) while receiving a chain; the same exchange, one more attempt.
      block = step.send!;
      attempts += 1;
      windowFc = fwtFc(s.fwi) + DELTA_FWT_FC;
      continue;
    }
    if (step.error) {
      core.record(kind, attempts, 'protocol-error', r, frame, h);
      throw new TransportError('protocol', `ISO-DEP: ${step.error}`);
    }
    core.record(kind, attempts, 'ok', r, frame, h);
    s.link = step.state;
    if (step.response) return step.response;
    block = step.send!;
    kind = kindOf(block);
    attempts = 1;
    windowFc = (step.wtxm ? wtxWindowFc(step.wtxm, s.fwi) : fwtFc(s.fwi)) + DELTA_FWT_FC;
  }
}

/** S(DESELECT) and its answer; failures are recorded, not thrown (the field goes off next anyway). */
export function deselect(core: ReaderCore, s: IsoDepSession): void {
  const cid = s.link.cid;
  const block: IsoDepBlock =
    cid === undefined ? { type: 'S', command: 'deselect' } : { type: 'S', command: 'deselect', cid };
  const frame = { bytes: isoDep.encode(block, { tech: s.tech }) };
  for (let attempts = 1; ; attempts++) {
    const r = core.send(s.tech, frame, { windowFc: fwtFc(s.fwi) + DELTA_FWT_FC }, attempts);
    const h = r.heard[0];
    const outcome = ReaderCore.judge(h);
    if (
      outcome === 'ok' ||
      !core.policy.retry({ tech: s.tech, layer: 'iso-dep', command: frame.bytes, attempts, outcome })
    ) {
      core.record('iso-dep:S(DESELECT)', attempts, outcome, r, frame, h);
      return;
    }
  }
}
