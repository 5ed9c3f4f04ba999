// Radio frame fuzzing (rf.md §10.3): activation frames of Types A, B and F and ISO-DEP blocks carrying
// fuzzed APDUs, mutated, then handed to the card's frame endpoint as the demodulator would (CRC judged
// from the bytes), with the field switched now and then; and random bits, levels and bytes for the L1
// decoders. Nothing throws; every answer is silence or bytes; Type F answers are well-formed frames; a
// frame that writes EEPROM must have been an accepted FeliCa command (its write is undone).
import { bytesToHex } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { crcFelicaBytes } from '@mica/apdu-specs/rf/l1';
import { isFrameError } from '@mica/apdu-specs/rf/frame-error';
import { isoDep } from '@mica/apdu-specs/rf/iso-dep';
import { attribFrame, hltbFrame, reqbFrame, ratsFrame } from '@mica/apdu-specs/rf/activation';
import {
  HLTA,
  REQA,
  WUPA,
  SEL_CODES,
  crcAOk,
  selectFrame,
  typeAFromBits,
  uidCascadeLevels,
  withCrcA,
} from '@mica/apdu-specs/rf/type-a';
import { crcBOk, typeBFromLevels } from '@mica/apdu-specs/rf/type-b';
import { parseFelicaAfterSync } from '@mica/apdu-specs/rf/type-f';
import type { AirTech, ReceivedAirFrame } from '@mica/apdu-specs/rf/endpoint';
import { concatBytes } from '@mica/apdu-specs/hex';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';
import { sameBytes } from './attack';
import type { Draw } from './draw';
import { APDU_FUZZ_IDM, APDU_FUZZ_PROFILE, fuzzedApdu } from './fuzz-apdu';
import { felicaAnswerProblem } from './fuzz-felica';
import { thrown, type FuzzSession, type FuzzTarget } from './fuzz-target';
import { mutateBytes } from './mutate';

interface Template {
  readonly tech: AirTech;
  readonly bytes: Uint8Array;
  readonly shortFrame?: boolean;
}

/** Valid reader frames for the fuzz card, by technology (fresh APDUs in the I-blocks each time). */
function template(d: Draw, uid: Uint8Array, pupi: Uint8Array): Template {
  const apdu = (): Uint8Array => fuzzedApdu(d).apdu.subarray(0, 250);
  const iBlock = (tech: 'a' | 'b'): Uint8Array =>
    isoDep.encode({ type: 'I', blockNumber: d.below(2) as 0 | 1, chaining: false, inf: apdu() }, { tech });
  const levels = uidCascadeLevels(uid);
  switch (d.below(14)) {
    case 0:
      return { tech: 'a', bytes: Uint8Array.of(d.pick([REQA, WUPA])), shortFrame: true };
    case 1:
      return { tech: 'a', bytes: Uint8Array.of(d.pick(SEL_CODES), 0x20) };
    case 2:
      return { tech: 'a', bytes: selectFrame(SEL_CODES[0], d.pick(levels)) };
    case 3:
      return { tech: 'a', bytes: ratsFrame(d.below(9), d.below(2)) };
    case 4:
    case 5:
      return { tech: 'a', bytes: iBlock('a') };
    case 6:
      return { tech: 'a', bytes: withCrcA(Uint8Array.from(HLTA)) };
    case 7:
      return { tech: 'b', bytes: reqbFrame({ wakeUp: d.below(2) === 1 }) };
    case 8:
      return { tech: 'b', bytes: attribFrame(pupi, { fsdi: d.below(9) }) };
    case 9:
    case 10:
      return { tech: 'b', bytes: iBlock('b') };
    case 11:
      return { tech: 'b', bytes: hltbFrame(pupi) };
    default: {
      // Type F: LEN ‖ payload ‖ CRC; Polling, or a reading command to the card's IDm.
      const payload =
        d.below(2) === 0
          ? Uint8Array.of(6, 0x00, 0xff, 0xff, d.below(4), d.below(4))
          : concatBytes(Uint8Array.of(16, 0x06), APDU_FUZZ_IDM, Uint8Array.of(1, 0x09, 0x00, 1, 0x80, 0x00));
      return { tech: 'f', bytes: concatBytes(payload, crcFelicaBytes(payload)) };
    }
  }
}

/** The CRC verdict a demodulator would give these bytes. */
function crcOf(tech: AirTech, b: Uint8Array, shortFrame: boolean): ReceivedAirFrame['crc'] {
  if (tech === 'a') {
    if (shortFrame || b.length < 3 || (SEL_CODES.includes(b[0]! as 0x93) && b[1] !== 0x70)) return 'none';
    return crcAOk(b) ? 'ok' : 'bad';
  }
  if (tech === 'b') return b.length >= 3 && crcBOk(b) ? 'ok' : 'bad';
  const f = parseFelicaAfterSync(b);
  return !isFrameError(f) && f.crcOk ? 'ok' : 'bad';
}

function randomBits(d: Draw, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = d.byte() & 1;
  return out;
}

export function rfFuzzTarget(): FuzzTarget {
  return {
    name: 'radio frames',
    share: 2,
    open(d: Draw): FuzzSession {
      const card = new Card(cardImageFromProfile(parseProfile(APDU_FUZZ_PROFILE)), {
        random: new SeededRandom(7),
      });
      const endpoint = card.airEndpoint();
      endpoint.field(true);
      const identity = card.identity();
      const e = card.eeprom;
      const snapshot = e.snapshot();
      let atFc = 0;
      return {
        next(log) {
          const r = d.byte();
          if (r < 20) return decoders(d, log);
          if (r < 22) {
            endpoint.field(false);
            endpoint.field(true);
          }
          const t = template(d, identity.uid, identity.pupi);
          const mutated = d.byte() < 160;
          const bytes = mutated ? mutateBytes(d, t.bytes, 300) : t.bytes;
          const short = t.shortFrame === true && bytes.length === 1;
          const frame: ReceivedAirFrame = {
            bytes,
            bitsInLastByte: short ? 7 : 8,
            crc: crcOf(t.tech, bytes, short),
            parityOk: d.byte() < 250,
            ...(d.byte() < 5 ? { codingError: true } : {}),
            atFc: (atFc += 10_000),
          };
          const how = `type ${t.tech.toUpperCase()}${mutated ? ', mutated' : ''}`;
          const written = e.physical.bytesWritten;
          let answer: ReturnType<typeof endpoint.receive>;
          try {
            answer = endpoint.receive(t.tech, frame);
          } catch (err) {
            log.fail(`${t.tech}: ${bytesToHex(bytes)}`, thrown(err));
            return how;
          }
          let accepted = false;
          if (answer !== null) {
            if (!(answer.bytes instanceof Uint8Array) || answer.bytes.length === 0)
              log.fail(`${t.tech}: ${bytesToHex(bytes)}`, 'answered without bytes');
            else if (t.tech === 'f') {
              const f = parseFelicaAfterSync(answer.bytes);
              if (isFrameError(f) || !f.crcOk)
                log.fail(
                  `f: ${bytesToHex(bytes)}`,
                  `answer ${bytesToHex(answer.bytes)} is not a well-formed frame`,
                );
              else {
                const problem = felicaAnswerProblem(bytes.subarray(0, bytes[0]), f.payload);
                if (problem !== undefined) log.fail(`f: ${bytesToHex(bytes)}`, problem);
                accepted = f.payload.length >= 12 && f.payload[10] === 0;
              }
            }
          }
          if (e.physical.bytesWritten !== written) {
            if (!accepted) log.fail(`${t.tech}: ${bytesToHex(bytes)}`, 'a refused frame wrote EEPROM');
            e.restore(snapshot);
          }
          if (!card.isPowered) endpoint.field(true);
          return how;
        },
        finish(log) {
          if (!sameBytes(e.snapshot(), snapshot))
            log.fail('(all frames)', 'the image differs from its snapshot after the run');
          endpoint.field(false);
          endpoint.field(true);
          const answer = endpoint.receive('a', {
            bytes: Uint8Array.of(REQA),
            bitsInLastByte: 7,
            crc: 'none',
            parityOk: true,
            atFc: 0,
          });
          if (answer === null) log.fail('REQA', 'the card no longer answers REQA after a field reset');
        },
      };
    },
  };
}

/** The L1 decoders on random input: a frame or a FrameError, never a throw. */
function decoders(d: Draw, log: { fail(input: string, problem: string): void }): string {
  const which = d.below(4);
  const n = d.below(400);
  const input = which === 0 || which === 1 ? randomBits(d, n) : Uint8Array.from(d.bytes(n % 300));
  try {
    if (which === 0) typeAFromBits(input, { firstBit: d.below(2) === 0 ? 0 : d.below(8) });
    else if (which === 1) typeBFromLevels(input);
    else if (which === 2) parseFelicaAfterSync(input);
    else isoDep.decode(input, { tech: d.below(2) === 0 ? 'a' : 'b' });
  } catch (err) {
    log.fail(
      `decoder ${['type A bits', 'type B levels', 'type F bytes', 'ISO-DEP block'][which]}: ${bytesToHex(input)}`,
      thrown(err),
    );
  }
  return 'L1 decoders';
}
