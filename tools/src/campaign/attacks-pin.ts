// security.md §8, the PIN attack: guesses past the retry limit, with power cycles between them, block the
// PIN for good (the counter reaches 0 and stays 0, the right PIN is refused too), and nothing but the
// counter block changes. The card is the credit applet of apdu-transcript-credit.json.
import { pinBlock } from '@mica/apdu-specs/apdu/applet-commands';
import { pinCounterBlock } from '@mica/apdu-specs/apdu/pin-blocks';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import type { Card } from '@mica/card-os/card';
import { PHYSICAL_BYTES } from '@mica/card-os/hal/physical-block';
import { expectThat, type Attack } from './attack';
import { loadTranscripts, statusWord } from './transcripts';

const VECTOR_FILE = 'apdu-transcript-credit.json';
const VECTOR_ID = 'credit-pin-tries-block';
const SELECT = hexToBytes('00a4040008a0000006ef43524400');
/** The credit applet's PIN service: its area (4000h) + 08h; block 0 holds the counters. */
const PIN_SERVICE = 0x4008;
const RIGHT_PIN = '9999';

function sw(card: Card, apdu: Uint8Array): number {
  const r = card.apdu(apdu);
  return r === null ? -1 : statusWord(r);
}

const verify = (digits: string): Uint8Array =>
  Uint8Array.from([0x00, 0x20, 0x00, 0x80, 0x08, ...pinBlock(digits)]);

function counterBlock(card: Card): number {
  const s = card.fs.system(0)?.byCode.get(PIN_SERVICE);
  if (s?.kind !== 'service')
    throw new Error(`${VECTOR_FILE} ${VECTOR_ID}: no PIN service ${PIN_SERVICE.toString(16)}h`);
  return s.firstBlock;
}

/** Every physical byte but those of the counter block. */
function besidesCounter(card: Card, block: number): string {
  const b = card.eeprom.snapshot();
  return (
    bytesToHex(b.subarray(0, block * PHYSICAL_BYTES)) + bytesToHex(b.subarray((block + 1) * PHYSICAL_BYTES))
  );
}

function powerCycle(card: Card): number {
  card.powerOff();
  card.powerOn();
  return sw(card, SELECT);
}

export function pinAttack(): Attack {
  return {
    name: 'PIN guessed past the retry limit, across power cycles',
    async run(limit, log) {
      const vector = loadTranscripts(VECTOR_FILE).find((t) => t.id === VECTOR_ID);
      if (!vector) throw new Error(`${VECTOR_FILE} has no vector ${VECTOR_ID}`);
      const card = vector.replay(0);
      expectThat(log, sw(card, SELECT) === 0x9000, 'SELECT credit', 'the credit applet did not select');
      const block = counterBlock(card);
      const rest = besidesCounter(card, block);
      const tries = () => pinCounterBlock.decode(card.eeprom.read(block)).pinTriesLeft;
      const start = tries();
      // Wrong guesses, a power cycle after each, past the limit: up to `limit` of them, at least start + 2.
      const guesses = Math.max(start + 2, Math.min(limit, 10_000));
      for (let g = 0; g < guesses; g++) {
        const guess = String(g).padStart(4, '0');
        if (guess === RIGHT_PIN) continue;
        log.attempt();
        const left = tries();
        const answer = sw(card, verify(guess));
        const expected = left > 0 ? 0x63c0 | (left - 1) : 0x6983;
        expectThat(
          log,
          answer === expected,
          `VERIFY ${guess}`,
          `answered ${answer.toString(16)}, not ${expected.toString(16)}`,
        );
        expectThat(
          log,
          tries() === Math.max(0, left - 1),
          `VERIFY ${guess}`,
          `the counter went from ${left} to ${tries()}`,
        );
        expectThat(log, powerCycle(card) === 0x9000, 'power cycle', 'the credit applet did not select again');
      }
      log.attempt();
      const right = sw(card, verify(RIGHT_PIN));
      expectThat(
        log,
        right === 0x6983,
        `VERIFY ${RIGHT_PIN} (the right PIN)`,
        `answered ${right.toString(16)} after the block, not 6983`,
      );
      for (let cycle = 0; cycle < 3; cycle++) {
        powerCycle(card);
        expectThat(log, tries() === 0, `power cycle ${cycle + 1}`, `the counter came back as ${tries()}`);
        const status = sw(card, Uint8Array.of(0x00, 0x20, 0x00, 0x80));
        expectThat(
          log,
          status === 0x6983,
          `VERIFY status after power cycle ${cycle + 1}`,
          `answered ${status.toString(16)}`,
        );
      }
      expectThat(
        log,
        besidesCounter(card, block) === rest,
        'the whole attack',
        'bytes other than the PIN counter block changed',
      );
    },
  };
}
