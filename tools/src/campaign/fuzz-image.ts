// Card image fuzzing: the bytes of image files, mutated. A mutation left unsealed must be refused
// (ImageFormatError: the checksum covers every byte); a resealed one (checksum recomputed) reaches the
// header checks and the body: it loads, or is refused with an ImageFormatError; a loaded chip powers on
// (journal recovery) and answers Polling with silence or a well-formed answer, and its definitions
// rebuild or fail with a MemoryError or FsError. The input bytes are never changed by loading.
import { createHash } from 'node:crypto';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { Card } from '@mica/card-os/card';
import { FsError } from '@mica/card-os/fs/fs-error';
import { MemoryError } from '@mica/card-os/hal/errors';
import { IMAGE_HEADER_BYTES, ImageFormatError, parseImage, serializeImage } from '@mica/card-os/hal/image';
import { buildIndex } from '@mica/card-os/fs/file-system';
import { SeededRandom } from '@mica/card-os/random';
import { sameBytes } from './attack';
import type { Draw } from './draw';
import { felicaAnswerProblem } from './fuzz-felica';
import { thrown, type FuzzSession, type FuzzTarget } from './fuzz-target';
import { loadTranscripts } from './transcripts';

const POLLING = Uint8Array.of(6, 0x00, 0xff, 0xff, 0x01, 0x00);

function reseal(file: Uint8Array): void {
  if (file.length < IMAGE_HEADER_BYTES) return;
  const h = createHash('sha256');
  h.update(file.subarray(0, 32));
  h.update(file.subarray(IMAGE_HEADER_BYTES));
  file.set(h.digest(), 32);
}

/** Images of a few chips: a blank one, an issued one with purses and logs, one mid-transcript. */
function baseImages(): Uint8Array[] {
  const purse = loadTranscripts('felica-transcript-purse.json');
  const secure = loadTranscripts('felica-transcript-secure.json');
  const cards = [purse[0]!.replay(0), purse[1]!.replay(purse[1]!.exchanges.length), secure[1]!.replay(0)];
  return cards.map((c) => serializeImage(c.eeprom));
}

/** A mutated copy of `file`: a header field, a body byte, a parity or check byte, or the length. */
function mutateImage(d: Draw, file: Uint8Array): Uint8Array {
  const r = d.below(10);
  if (r === 0) return file.slice(0, d.below(file.length));
  if (r === 1) {
    const out = new Uint8Array(file.length + 1 + d.below(64));
    out.set(file);
    return out;
  }
  const out = file.slice();
  const rounds = 1 + (d.byte() < 200 ? 0 : d.below(8));
  for (let i = 0; i < rounds; i++) {
    // Header fields (0-31) a third of the time, else anywhere in the body.
    const at = d.below(3) === 0 ? d.below(32) : IMAGE_HEADER_BYTES + d.below(out.length - IMAGE_HEADER_BYTES);
    out[at] = d.byte() < 128 ? out[at]! ^ (1 << d.below(8)) : d.byte();
  }
  return out;
}

export function imageFuzzTarget(): FuzzTarget {
  return {
    name: 'card images',
    share: 1,
    open(d: Draw): FuzzSession {
      const bases = baseImages();
      return {
        next(log) {
          const base = d.pick(bases);
          const file = mutateImage(d, base);
          const sealed = d.byte() < 200;
          if (sealed) reseal(file);
          const copy = file.slice();
          const input = (): string =>
            `${sealed ? 'resealed' : 'unsealed'} image of ${file.length} bytes, first change at ${firstDifference(base, file)}`;
          let how = sealed ? 'resealed' : 'unsealed';
          let eeprom: ReturnType<typeof parseImage>;
          try {
            eeprom = parseImage(file);
          } catch (e) {
            if (!(e instanceof ImageFormatError))
              log.fail(input(), `refused without an ImageFormatError: ${thrown(e)}`);
            if (!sameBytes(file, copy)) log.fail(input(), 'loading changed the input bytes');
            return `${how}, refused`;
          }
          if (!sameBytes(file, copy)) log.fail(input(), 'loading changed the input bytes');
          if (!sealed && !sameBytes(file, base))
            log.fail(input(), 'an altered image loaded without its checksum');
          how = `${how}, loaded`;
          try {
            const card = new Card(eeprom, { random: new SeededRandom(0) });
            card.powerOn();
            const problem = felicaAnswerProblem(POLLING, card.felica(POLLING));
            if (problem !== undefined) log.fail(input(), problem);
          } catch (e) {
            if (!(e instanceof MemoryError || e instanceof FsError))
              log.fail(input(), `power-on or Polling ${thrown(e)}`);
            return `${how}, damage found at power-on`;
          }
          try {
            buildIndex(eeprom);
          } catch (e) {
            if (!(e instanceof MemoryError || e instanceof FsError))
              log.fail(input(), `rebuilding the definitions ${thrown(e)}`);
            return `${how}, definitions refused`;
          }
          return how;
        },
        finish() {},
      };
    },
  };
}

function firstDifference(a: Uint8Array, b: Uint8Array): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++)
    if (a[i] !== b[i])
      return `byte ${i} (${bytesToHex(a.subarray(i, i + 1))} → ${bytesToHex(b.subarray(i, i + 1))})`;
  return a.length === b.length ? 'none' : `the length (${a.length} → ${b.length})`;
}
