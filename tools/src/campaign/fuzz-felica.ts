// FeliCa frame fuzzing: the commands of every felica-transcript vector, mutated (and readdressed to the
// card), plus random frames, sent to the plain transcripts' cards. Every answer is silence or a
// well-formed response (LEN = its length, code + 1, the IDm echoed); an input that writes EEPROM must
// have been accepted (status flags 00), and its write is undone before the next input.
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { Card } from '@mica/card-os/card';
import { sameBytes } from './attack';
import type { Draw } from './draw';
import { thrown, type FuzzSession, type FuzzTarget } from './fuzz-target';
import { mutateBytes } from './mutate';
import { loadTranscripts, transcriptFiles } from './transcripts';

const POLLING = 0x00;

interface Target {
  readonly card: Card;
  readonly idm: Uint8Array;
  readonly snapshot: Uint8Array;
}

/** Why an answer to `frame` is not one the protocol allows, or undefined. */
export function felicaAnswerProblem(frame: Uint8Array, r: Uint8Array | null): string | undefined {
  if (r === null) return undefined;
  if (r.length < 10 || r[0] !== r.length)
    return `answer ${bytesToHex(r)}: LEN is not its length (or shorter than 10)`;
  if (r[1] !== ((frame[1]! + 1) & 0xff))
    return `answer ${bytesToHex(r)}: response code is not the command code + 1`;
  if (frame[1] === POLLING) {
    if (r.length !== 18 && r.length !== 20)
      return `Polling answer ${bytesToHex(r)} is neither 18 nor 20 bytes`;
    return undefined;
  }
  for (let i = 2; i < 10; i++)
    if (r[i] !== frame[i]) return `answer ${bytesToHex(r)}: the IDm is not the command's`;
  return undefined;
}

export interface FelicaFuzzOptions {
  /** The cards under test (default: one per plain felica transcript vector); the seam for a broken card. */
  readonly cards?: () => Card[];
}

function defaultCards(): Card[] {
  return transcriptFiles('felica')
    .flatMap((f) => loadTranscripts(f))
    .filter((t) => !t.secure)
    .map((t) => t.replay(0));
}

export function felicaFuzzTarget(options: FelicaFuzzOptions = {}): FuzzTarget {
  return {
    name: 'felica frames',
    share: 3,
    open(d: Draw): FuzzSession {
      const templates = transcriptFiles('felica')
        .flatMap((f) => loadTranscripts(f))
        .flatMap((t) => t.exchanges.map((e) => e.command));
      const targets: Target[] = (options.cards?.() ?? defaultCards()).map((card) => {
        if (!card.isPowered) card.powerOn();
        return { card, idm: card.fs.idm(0), snapshot: card.eeprom.snapshot() };
      });
      if (targets.length === 0 || templates.length === 0)
        throw new Error('no FeliCa cards or frames to fuzz');
      return {
        next(log) {
          const t = d.pick(targets);
          let frame: Uint8Array;
          let how: string;
          if (d.byte() < 40) {
            how = 'random';
            frame = Uint8Array.from(d.bytes(d.below(d.byte() < 200 ? 40 : 300)));
            if (frame.length > 0 && d.byte() < 200) frame[0] = frame.length & 0xff;
            if (frame.length >= 10 && d.byte() < 128) frame.set(t.idm, 2);
          } else {
            how = 'mutated';
            const base = d.pick(templates).slice();
            if (base.length >= 10 && base[1] !== POLLING && d.byte() < 230) base.set(t.idm, 2);
            frame = mutateBytes(d, base, 300);
            if (frame.length > 0 && d.byte() < 230) frame[0] = frame.length & 0xff;
          }
          const e = t.card.eeprom;
          const written = e.physical.bytesWritten;
          let r: Uint8Array | null;
          try {
            r = t.card.felica(frame);
          } catch (err) {
            log.fail(bytesToHex(frame), thrown(err));
            return how;
          }
          const problem = felicaAnswerProblem(frame, r);
          if (problem !== undefined) log.fail(bytesToHex(frame), problem);
          if (e.physical.bytesWritten !== written) {
            if (r === null || r.length < 12 || r[10] !== 0)
              log.fail(
                bytesToHex(frame),
                `a refused frame (${r === null ? 'silence' : bytesToHex(r)}) wrote ${e.physical.bytesWritten - written} EEPROM bytes`,
              );
            e.restore(t.snapshot);
          }
          if (!t.card.isPowered) {
            log.fail(bytesToHex(frame), 'the card lost power');
            t.card.powerOn();
          }
          return how;
        },
        finish(log) {
          for (const t of targets) {
            if (!sameBytes(t.card.eeprom.snapshot(), t.snapshot))
              log.fail('(all frames)', 'a card image differs from its snapshot after the run');
            const r = t.card.felica(Uint8Array.of(6, POLLING, 0xff, 0xff, 0, 0));
            if (r === null) log.fail('0600ffff0000', 'a card no longer answers Polling');
          }
        },
      };
    },
  };
}
