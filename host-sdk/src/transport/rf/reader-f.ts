// The reader's FeliCa procedures over the Type F physical layer (rf.md §8.4, §8.6, §9.1, §9.2, §10.2):
// Polling with time slots, commands with the PMm response-time budget, the checks every transport makes
// (LEN, response code, IDm), and retries by policy with double execution marked.
import { crcFelica } from '@mica/apdu-specs/crc';
import { felicaBudgetFc, felicaBudgetN } from '@mica/card-os/rf/felica-budget';
import type { ExchangeOutcome, ExchangeRecord } from '@mica/card-os/rf/timeline';
import {
  pollingListenFc,
  pollingSlotStartFc,
  POLLING_TSN,
  SLOT_LENGTH_FC,
  usToFc,
} from '@mica/card-os/rf/timing';
import { TransportError } from '../transport';
import type { Heard } from './air';
import { ReaderCore } from './reader-core';

/** Listening time when the card's PMm is unknown (no Polling answer yet): 100 ms (mica default). */
export const UNKNOWN_BUDGET_FC = usToFc(100_000);

export interface FelicaLink {
  pmm: Uint8Array | null;
}

/** The frame with its CRC (high byte first), as on air after the sync word. */
export function withCrcF(frame: Uint8Array): Uint8Array {
  const c = crcFelica(frame);
  return Uint8Array.of(...frame, c >>> 8, c & 0xff);
}

/** n of the PMm formula (rf.md §8.4), also for the commands whose frame the budget module leaves open. */
export function budgetN(frame: Uint8Array): number {
  const n = felicaBudgetN(frame);
  if (n !== undefined) return n;
  const code = frame[1];
  if (code === 0x10) {
    const nA = frame[10] ?? 0;
    return nA + (frame[11 + 2 * nA] ?? 0);
  }
  if (code === 0x14 || code === 0x16) return frame[11 + 2 * (frame[10] ?? 0)] ?? 1;
  return 0;
}

function payloadOf(h: Heard): Uint8Array {
  return h.frame.bytes.slice(0, h.frame.bytes[0] ?? 0);
}

/** LEN, response code = command code + 1, and the IDm of an addressed command. */
function checkAnswer(cmd: Uint8Array, rsp: Uint8Array): boolean {
  if (rsp.length < 2 || rsp[1] !== (((cmd[1] ?? 0) + 1) & 0xff)) return false;
  if (cmd[1] === 0x00) return rsp.length >= 18;
  if (cmd.length < 10) return true;
  for (let i = 2; i < 10; i++) if (rsp[i] !== cmd[i]) return false;
  return true;
}

/** One FeliCa command (LEN ‖ code ‖ …) with its retries; the answer, or null for silence. */
export function felicaExchange(
  core: ReaderCore,
  link: FelicaLink,
  frame: Uint8Array,
  opts: { activation?: boolean; noRetry?: boolean } = {},
): Uint8Array | null {
  const code = frame[1] ?? 0xff;
  // Any command code 00 is listened to as a Polling (its answer comes in the time slots, not by PMm).
  const polling = code === 0x00;
  const tsn = frame[5] ?? 0;
  const budgetFc = polling
    ? null
    : link.pmm === null
      ? UNKNOWN_BUDGET_FC
      : felicaBudgetFc(link.pmm, code, budgetN(frame));
  const windowFc = polling
    ? pollingListenFc((POLLING_TSN as readonly number[]).includes(tsn) ? tsn : 0x0f)
    : budgetFc! + usToFc(core.o.marginUs);
  const onAir = { bytes: withCrcF(frame), activation: opts.activation ?? false };
  const kind = `felica:${code.toString(16).padStart(2, '0')}`;
  let attempts = 0;
  let executed = false;
  let retriedAfterExecution = false;
  for (;;) {
    attempts += 1;
    const r = core.send('f', onAir, { windowFc, allSlots: polling }, attempts);
    if (r.answered.length > 0) {
      if (executed) retriedAfterExecution = true;
      executed = true;
    }
    let outcome: ExchangeOutcome;
    let heard: Heard | undefined;
    let slots: ExchangeRecord['slots'];
    let timingViolation = false;
    if (polling) {
      // The reader tells the slot by when the answer started (rf.md §8.6); a slot without one is empty.
      const heardIn = new Map<number, Heard>();
      for (const h of r.heard) {
        const s = Math.max(0, Math.floor((h.startFc - r.cmdEndFc - pollingSlotStartFc(0)) / SLOT_LENGTH_FC));
        if (!heardIn.has(s)) heardIn.set(s, h);
      }
      const last = (POLLING_TSN as readonly number[]).includes(tsn) ? tsn : 0x0f;
      slots = Array.from({ length: last + 1 }, (_, s) => {
        const h = heardIn.get(s);
        if (!h) return { slot: s, outcome: 'empty' as const };
        const p = payloadOf(h);
        return ReaderCore.judge(h) === 'ok' && p.length >= 10
          ? { slot: s, outcome: 'ok' as const, idm: p.slice(2, 10) }
          : { slot: s, outcome: 'collision' as const };
      });
      heard = r.heard.find((h) => ReaderCore.judge(h) === 'ok');
      outcome = heard ? 'ok' : r.heard.length > 0 ? ReaderCore.judge(r.heard[0]) : 'timeout';
      if (!heard) heard = r.heard[0];
    } else {
      heard = r.heard[0];
      outcome = ReaderCore.judge(heard);
      if (heard && outcome === 'ok' && heard.startFc - r.cmdEndFc > budgetFc!) {
        timingViolation = true;
        outcome = core.o.strictTiming ? 'timeout' : 'timing-violation';
      }
    }
    const answer = heard && (outcome === 'ok' || outcome === 'timing-violation') ? payloadOf(heard) : null;
    if (answer !== null && !checkAnswer(frame, answer)) outcome = 'protocol-error';
    const retry =
      !opts.noRetry &&
      outcome !== 'ok' &&
      outcome !== 'timing-violation' &&
      core.policy.retry({ tech: 'f', layer: 'felica', command: frame, attempts, outcome });
    if (retry) continue;
    core.record(kind, attempts, outcome, r, onAir, heard, {
      budgetFc,
      timingViolation,
      retriedAfterExecution,
      stripCrc: true,
      ...(slots ? { slots } : {}),
    });
    if (outcome === 'ok' || outcome === 'timing-violation') {
      if (polling && answer !== null && answer.length >= 18) link.pmm = answer.slice(10, 18);
      return answer;
    }
    // Silence is the card's answer in FeliCa: a timeout resolves null, as on every transport (an unpowered
    // in-process card is silent too). A frame heard with a bad CRC or a collision is a transmission failure.
    if (outcome === 'timeout') return null;
    if (outcome === 'protocol-error')
      throw new TransportError('protocol', `FeliCa ${kind}: answer with a wrong LEN, response code or IDm`);
    throw core.failure(outcome, `FeliCa command ${kind}`);
  }
}

/** Polling over every slot of `tsn`: what each slot held (rf.md §8.6). */
export function pollSlots(
  core: ReaderCore,
  link: FelicaLink,
  systemCode = 0xffff,
  tsn = 0x0f,
): NonNullable<ExchangeRecord['slots']> {
  const frame = Uint8Array.of(6, 0x00, systemCode >>> 8, systemCode & 0xff, 0x00, tsn);
  try {
    // One Polling: a retry would hide the very collisions the slots are read for.
    felicaExchange(core, link, frame, { noRetry: true });
  } catch (e) {
    if (!(e instanceof TransportError) || e.kind !== 'transmission') throw e;
  }
  return core.records[core.records.length - 1]!.slots ?? [];
}
