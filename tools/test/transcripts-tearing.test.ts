// Every mutating exchange of every felica-transcript vector: power cut at every byte write, then
// old or new state after recovery; every refused exchange leaves the image and its counters unchanged.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { ListRandom, SeededRandom, type RandomSource } from '@mica/card-os/random';
import { tearingSweep } from '../src/campaign/tearing';

const dir = new URL('../../test-vectors/', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.startsWith('felica-transcript') && f.endsWith('.json'));

interface Vec {
  id: string;
  profile: unknown;
  cardRandom?: string[];
  exchanges: { tx: string; rx: string | null }[];
}

function randomOf(v: Vec): RandomSource {
  return v.cardRandom ? new ListRandom(v.cardRandom.map((r) => hexToBytes(r))) : new SeededRandom(0);
}

function replay(v: Vec, upTo: number): Card {
  const card = new Card(cardImageFromProfile(parseProfile(v.profile)), { random: randomOf(v) });
  card.powerOn();
  for (let i = 0; i < upTo; i++) card.felica(hexToBytes(v.exchanges[i]!.tx));
  return card;
}

/** A status-flag answer (LEN 0Ch) with SF1 ≠ 0: the command was refused. */
function refused(rx: string | null): boolean {
  if (rx === null) return true;
  const b = hexToBytes(rx);
  return b.length === 12 && b[10] !== 0;
}

describe('felica transcripts under tearing', () => {
  it('has transcript files to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const file of files) {
    const vectors = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { vectors: Vec[] }).vectors;
    it(`${file}: old or new state at every cut point; refusals change nothing`, () => {
      let cuts = 0;
      let mutating = 0;
      for (const v of vectors) {
        for (let i = 0; i < v.exchanges.length; i++) {
          const ex = v.exchanges[i]!;
          if (refused(ex.rx)) {
            const card = replay(v, i);
            const image = card.eeprom.snapshot();
            const counts = card.eeprom.physical.writeCounts.slice();
            card.felica(hexToBytes(ex.tx));
            expect(card.eeprom.snapshot(), `${v.id} #${i + 1} changed the image`).toEqual(image);
            expect(card.eeprom.physical.writeCounts, `${v.id} #${i + 1} changed write counters`).toEqual(
              counts,
            );
            continue;
          }
          // Plain transcripts restart from a copy of the chip; secure ones replay the session (RAM state).
          const base = replay(v, i).eeprom;
          const setup = (): Card => {
            if (v.cardRandom) return replay(v, i);
            const c = new Card(base.clone(), { random: new SeededRandom(0) });
            c.powerOn();
            return c;
          };
          const r = tearingSweep({ setup, command: (c) => c.felica(hexToBytes(ex.tx)) });
          expect(r.failures, `${v.id} #${i + 1}`).toEqual([]);
          if (r.bytes > 0) {
            mutating += 1;
            cuts += r.cuts;
            expect(r.oldState).toBeGreaterThan(0);
            expect(r.newState).toBeGreaterThan(0);
          }
        }
      }
      console.log(`${file}: ${mutating} mutating exchanges, ${cuts} cut points, all old-or-new`);
    });
  }
});
