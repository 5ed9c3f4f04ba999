// The transcript vectors (felica-transcript-*, apdu-transcript-*) as replayable card states: the
// chip of each vector is built from its profile once, and every replay starts from a copy of it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import type { Eeprom } from '@mica/card-os/hal/eeprom';
import { ListRandom, SeededRandom, type RandomSource } from '@mica/card-os/random';

export const VECTORS_DIR = new URL('../../../test-vectors/', import.meta.url).pathname;

export type TranscriptInterface = 'felica' | 'apdu';

/** One exchange: the command and the answer the vector expects (null: silence). */
export interface TranscriptExchange {
  readonly command: Uint8Array;
  readonly answer: Uint8Array | null;
}

export interface Transcript {
  readonly file: string;
  readonly id: string;
  readonly iface: TranscriptInterface;
  readonly exchanges: readonly TranscriptExchange[];
  /** A transcript with a card random list runs sessions whose state lives in RAM. */
  readonly secure: boolean;
  /** A powered card after the first `upTo` exchanges. */
  replay(upTo: number): Card;
}

interface RawVector {
  readonly id: string;
  readonly profile: unknown;
  readonly cardRandom?: readonly string[];
  readonly exchanges: readonly { tx?: string; rx?: string | null; c?: string; r?: string }[];
}

/** The transcript files of one interface in `dir`, sorted by name. */
export function transcriptFiles(iface: TranscriptInterface, dir = VECTORS_DIR): string[] {
  const prefix = iface === 'felica' ? 'felica-transcript' : 'apdu-transcript';
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort();
}

export function loadTranscripts(file: string, dir = VECTORS_DIR): Transcript[] {
  const iface: TranscriptInterface = file.startsWith('felica') ? 'felica' : 'apdu';
  const raw = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { vectors: RawVector[] }).vectors;
  return raw.map((v) => {
    let chip: Eeprom | undefined;
    const exchanges = v.exchanges.map((e, i): TranscriptExchange => {
      const command = iface === 'felica' ? e.tx : e.c;
      const answer = iface === 'felica' ? e.rx : e.r;
      if (typeof command !== 'string' || answer === undefined)
        throw new Error(`${file} ${v.id} exchange ${i + 1}: no ${iface === 'felica' ? 'tx/rx' : 'c/r'}`);
      return { command: hexToBytes(command), answer: answer === null ? null : hexToBytes(answer) };
    });
    const random = (): RandomSource =>
      v.cardRandom ? new ListRandom(v.cardRandom.map((r) => hexToBytes(r))) : new SeededRandom(0);
    return {
      file,
      id: v.id,
      iface,
      exchanges,
      secure: v.cardRandom !== undefined,
      replay(upTo: number): Card {
        chip ??= cardImageFromProfile(parseProfile(v.profile));
        const card = new Card(chip.clone(), { random: random() });
        card.powerOn();
        for (let i = 0; i < upTo; i++) {
          const c = exchanges[i]!.command;
          if (iface === 'felica') card.felica(c);
          else card.apdu(c);
        }
        return card;
      },
    };
  });
}

/** The status word of an APDU answer. */
export function statusWord(answer: Uint8Array): number {
  return (answer[answer.length - 2]! << 8) | answer[answer.length - 1]!;
}
