// Every exchange of every apdu-transcript vector that writes: power cut at every byte write, then old
// or new state after recovery (the sessions are replayed, since they live in RAM). Every refused
// exchange leaves the image and its write counters unchanged, except a wrong PIN (63Cx), whose
// decremented counter is the point of the command. A successful PIN command (VERIFY, CHANGE REFERENCE
// DATA, RESET RETRY COUNTER) commits twice by design, the decrement before the comparison and then the
// restore, so a cut between them costs the try: card-os/test/apdu-pin.test.ts judges those.
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
const files = readdirSync(dir).filter((f) => f.startsWith('apdu-transcript') && f.endsWith('.json'));

interface Vec {
  id: string;
  profile: unknown;
  cardRandom?: string[];
  exchanges: { c: string; r: string }[];
}

function randomOf(v: Vec): RandomSource {
  return v.cardRandom ? new ListRandom(v.cardRandom.map((r) => hexToBytes(r))) : new SeededRandom(0);
}

function replay(v: Vec, upTo: number): Card {
  const card = new Card(cardImageFromProfile(parseProfile(v.profile)), { random: randomOf(v) });
  card.powerOn();
  for (let i = 0; i < upTo; i++) card.apdu(hexToBytes(v.exchanges[i]!.c));
  return card;
}

function statusWord(r: string): number {
  const b = hexToBytes(r);
  return (b[b.length - 2]! << 8) | b[b.length - 1]!;
}

/** Refused and so unchanging: any SW but 9000, 61xx and a wrong PIN's 63Cx. */
function refused(r: string): boolean {
  const sw = statusWord(r);
  return sw !== 0x9000 && sw >> 8 !== 0x61 && sw >> 4 !== 0x63c;
}

/** A PIN command that succeeded: two commits, judged by apdu-pin.test.ts. */
function pinSuccess(c: string, r: string): boolean {
  const b = hexToBytes(c);
  return (b[0]! & 0x80) === 0 && [0x20, 0x24, 0x2c].includes(b[1]!) && statusWord(r) === 0x9000;
}

describe('apdu transcripts under tearing', () => {
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
          if (refused(ex.r)) {
            const card = replay(v, i);
            const image = card.eeprom.snapshot();
            const counts = card.eeprom.physical.writeCounts.slice();
            card.apdu(hexToBytes(ex.c));
            expect(card.eeprom.snapshot(), `${v.id} #${i + 1} changed the image`).toEqual(image);
            expect(card.eeprom.physical.writeCounts, `${v.id} #${i + 1} changed write counters`).toEqual(
              counts,
            );
            continue;
          }
          if (pinSuccess(ex.c, ex.r)) continue;
          const r = tearingSweep({ setup: () => replay(v, i), command: (c) => c.apdu(hexToBytes(ex.c)) });
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
