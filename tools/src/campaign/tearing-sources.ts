// What the tearing campaign cuts: each source lists exchanges, either refused ones (which must change
// nothing) or candidates to sweep. Flow-level tearing is one more source (tearing-flows.ts).
import { Card } from '@mica/card-os/card';
import { manufactureFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import { issueProfile } from '@mica/host-sdk/issuing/issuing-machine';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
import { traced } from '@mica/host-sdk/transport/transport';
import { purseBlock } from '@mica/apdu-specs/eeprom-records';
import { SecureFelicaSession } from '@mica/host-sdk/felica/secure-session';
import type { TearingCase } from './tearing';
import { PROFILE, SYS, TK, holder, hostRandom, issuedChip, live, replay } from './secure-fixture';
import { loadTranscripts, statusWord, transcriptFiles, type Transcript } from './transcripts';

/** A refused exchange: `check` returns a problem if it changed the image or its write counters. */
export interface RefusalItem {
  readonly kind: 'refusal';
  readonly label: string;
  check(): string | undefined;
}

/** An exchange to cut at every byte write (one that writes nothing has no cut point). */
export interface SweepItem {
  readonly kind: 'sweep';
  readonly label: string;
  readonly case: TearingCase;
}

/** An exchange left out by design, with the reason (counted, never silently dropped). */
export interface ExcludedItem {
  readonly kind: 'excluded';
  readonly label: string;
  readonly reason: string;
}

export type TearingItem = RefusalItem | SweepItem | ExcludedItem;

export interface TearingSource {
  /** The report's category prefix. */
  readonly name: string;
  items(): Promise<TearingItem[]>;
}

function same(a: Uint8Array, b: Uint8Array | Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Sends `command` to `card` and reports whether the image or the write counters moved. */
function unchangedBy(card: Card, send: (card: Card) => unknown): string | undefined {
  const image = card.eeprom.snapshot();
  const counts = card.eeprom.physical.writeCounts.slice();
  send(card);
  if (!same(card.eeprom.snapshot(), image)) return 'a refused exchange changed the image';
  if (!same(new Uint8Array(card.eeprom.physical.writeCounts.buffer), new Uint8Array(counts.buffer)))
    return 'a refused exchange changed the write counters';
  return undefined;
}

/** A refused exchange: `send` on the card `setup` returns must change neither image nor write counters. */
export function refusalItem(label: string, setup: () => Card, send: (card: Card) => unknown): RefusalItem {
  return { kind: 'refusal', label, check: () => unchangedBy(setup(), send) };
}

/** FeliCa: silence or a status-flag answer (LEN 0Ch) with SF1 ≠ 0 is a refusal. */
function felicaRefused(answer: Uint8Array | null): boolean {
  return answer === null || (answer.length === 12 && answer[10] !== 0);
}

/** APDU: any SW but 9000, 61xx and a wrong PIN's 63Cx (whose counter decrement is the point). */
function apduRefused(answer: Uint8Array | null): boolean {
  if (answer === null) return true;
  const sw = statusWord(answer);
  return sw !== 0x9000 && sw >> 8 !== 0x61 && sw >> 4 !== 0x63c;
}

/**
 * A PIN command that succeeded (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER) commits twice by
 * design: the decrement before the comparison, then the restore; a cut between them costs the try,
 * which is neither the old nor the new state. card-os/test/apdu-pin.test.ts judges those.
 */
export function pinSuccess(command: Uint8Array, answer: Uint8Array | null): boolean {
  return (
    answer !== null &&
    (command[0]! & 0x80) === 0 &&
    [0x20, 0x24, 0x2c].includes(command[1]!) &&
    statusWord(answer) === 0x9000
  );
}

function send(t: Transcript, card: Card, command: Uint8Array): void {
  if (t.iface === 'felica') card.felica(command);
  else card.apdu(command);
}

/** Every exchange of every vector of one transcript file. */
export function transcriptItems(file: string): TearingItem[] {
  const out: TearingItem[] = [];
  for (const t of loadTranscripts(file)) {
    t.exchanges.forEach((ex, i) => {
      const label = `${file} ${t.id} #${i + 1}`;
      const refused = t.iface === 'felica' ? felicaRefused(ex.answer) : apduRefused(ex.answer);
      if (refused) {
        out.push(
          refusalItem(
            label,
            () => t.replay(i),
            (c) => send(t, c, ex.command),
          ),
        );
        return;
      }
      if (t.iface === 'apdu' && pinSuccess(ex.command, ex.answer)) {
        out.push({ kind: 'excluded', label, reason: 'a successful PIN command commits twice by design' });
        return;
      }
      // Sessions live in RAM: secure transcripts replay; plain ones restart from a copy of the chip.
      let setup: () => Card;
      if (t.secure) setup = () => t.replay(i);
      else {
        let base: Card | undefined;
        setup = () => {
          base ??= t.replay(i);
          const c = new Card(base.eeprom.clone(), { random: new SeededRandom(0) });
          c.powerOn();
          return c;
        };
      }
      out.push({ kind: 'sweep', label, case: { setup, command: (c) => send(t, c, ex.command) } });
    });
  }
  return out;
}

export function felicaTranscriptSource(file: string): TearingSource {
  return { name: 'felica transcripts', items: () => Promise.resolve(transcriptItems(file)) };
}

export function apduTranscriptSource(file: string): TearingSource {
  return { name: 'apdu transcripts', items: () => Promise.resolve(transcriptItems(file)) };
}

/** Every transcript file of both interfaces, as one source each. */
export function transcriptSources(): TearingSource[] {
  return [
    ...transcriptFiles('felica').map((f) => ({
      name: 'felica transcripts',
      items: () => Promise.resolve(transcriptItems(f)),
    })),
    ...transcriptFiles('apdu').map((f) => ({
      name: 'apdu transcripts',
      items: () => Promise.resolve(transcriptItems(f)),
    })),
  ];
}

/** A whole personalisation through the issuing machine over the in-process transport. */
export const issuanceSource: TearingSource = {
  name: 'issuance',
  async items() {
    const blank = manufactureFromProfile(PROFILE);
    const card = new Card(blank.clone(), { random: new SeededRandom(7) });
    card.powerOn();
    const sent: Uint8Array[] = [];
    const client = new FelicaClient(
      traced(new InProcessTransport(card), (e) => {
        if (e.direction === 'command' && e.bytes) sent.push(e.bytes.slice());
      }),
    );
    await issueProfile(client, PROFILE, { suite: '2k3des', transportKey: TK, random: hostRandom(2) });
    return sent.map((frame, i): TearingItem => {
      const code = frame[1]!;
      const label = `issuance frame ${i + 1} (command ${code.toString(16).padStart(2, '0')}h)`;
      // Issuance commands (80h and up), Write Without Encryption and the secure Write change EEPROM.
      if (code < 0x80 && code !== 0x16 && code !== 0x08)
        return { kind: 'excluded', label, reason: 'a reading command of the issuing machine' };
      return {
        kind: 'sweep',
        label,
        case: { setup: () => replay(blank, sent.slice(0, i)), command: (c) => c.felica(frame) },
      };
    });
  },
};

/** Purse 1010h and its log 104Ch of the secure fixture: the balance moves iff a log record appears. */
export const purseLogSource: TearingSource = {
  name: 'purse + log',
  async items() {
    const chip = await issuedChip();
    const l = await live(chip);
    const s = await SecureFelicaSession.open(l.client, holder(21), {
      idm: l.idm,
      systemCode: SYS,
      suite: '2k3des',
      areas: [],
      services: [0x1010, 0x104c],
    });
    const purse = purseBlock.encode({
      balance: 4700,
      userData: new Uint8Array(6),
      lastAmount: 0,
      executionId: 1,
    });
    const log = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 1, 44, 3, 0x24, 0x74, 0);
    const w = await s.write(
      [0x1010, 0x104c],
      [
        { serviceIndex: 0, block: 0 },
        { serviceIndex: 1, block: 0 },
      ],
      [purse, log],
    );
    if (w.sf1 !== 0) throw new Error(`the purse + log fixture write was refused (SF2 ${w.sf2.toString(16)})`);
    const frames = l.sent.slice();
    const write = frames.length - 1;
    const judge = (card: Card): string | undefined => {
      const fs = card.fs.system(0);
      const p = fs?.byCode.get(0x1010);
      const lg = fs?.byCode.get(0x104c);
      if (p?.kind !== 'service' || lg?.kind !== 'service') return 'the purse or its log service is gone';
      const balance = purseBlock.decode(card.eeprom.read(p.firstBlock)).balance;
      let logged = false;
      for (let i = 0; i < lg.blockCount; i++) if (card.eeprom.read(lg.firstBlock + i)[0] === 9) logged = true;
      if ((balance === 4700) !== logged)
        return `purse and log disagree (balance ${balance}, ${logged ? 'with' : 'without'} the log record)`;
      return undefined;
    };
    return [
      {
        kind: 'sweep',
        label: 'secure Write of purse 1010h + log 104Ch',
        case: {
          setup: () => replay(chip, frames.slice(0, write)),
          command: (c) => c.felica(frames[write]!),
          judge,
        },
      },
    ];
  },
};
