// Structure-aware APDU fuzzing of an issued card: every input gets a status word, nothing throws, and no
// EEPROM byte is written (the FeliCa bridge is only given reading frames; the card has no PIN service).
import { FELICA_COMMANDS as C } from '@mica/apdu-specs/felica-commands';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';
import type { Draw } from './draw';
import { thrown, type FuzzSession, type FuzzTarget } from './fuzz-target';
import { sameBytes } from './attack';

export const APDU_FUZZ_IDM = Uint8Array.of(0x02, 0xfe, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06);

export const APDU_FUZZ_PROFILE = {
  chip: { blocks: 256, iso14443: { ats: '0978807002 4d494341' } },
  systems: [
    {
      systemCode: '12fc',
      key: { version: 1, value: '11111111111111112222222222222222' },
      areas: [
        {
          code: '0000',
          end: 'fffe',
          capacity: 16,
          services: [
            { code: '0009', blocks: 2, data: ['00112233445566778899aabbccddeeff'] },
            { code: '000b', overlaps: '0009' },
            { code: '0048', blocks: 1, key: { version: 2, value: '55555555555555556666666666666666' } },
          ],
        },
      ],
    },
  ],
};

/** FeliCa commands that never write EEPROM: the only ones the bridge is given. */
const READ_CODES = [
  C.polling.code,
  C.requestService.code,
  C.requestResponse.code,
  C.readWithoutEncryption.code,
  C.searchServiceCode.code,
  C.requestSystemCode.code,
  C.requestBlockInformation.code,
];

const CLAS = [0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x13, 0x04, 0x0c, 0x40, 0x4f, 0x60, 0x80, 0x84, 0x90, 0xff];
const INSS = [0xa4, 0x70, 0xc0, 0xca, 0xfe, 0xb0, 0xd6, 0x01, 0x82, 0x84, 0x88];
const PS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x0c, 0x80, 0x81];

/** A header then a body of a random length case, sometimes with an Lc that does not match. */
export function structuredApdu(d: Draw): number[] {
  const r = d.byte();
  const cla = r < 200 ? d.pick(CLAS) : d.byte();
  let ins = d.byte() < 200 ? d.pick(INSS) : d.byte();
  if (cla === 0x80 && ins === 0xfe) ins = 0xfd; // the bridge gets only read frames (bridgeApdu)
  const head = [cla, ins, d.byte() < 200 ? d.pick(PS) : d.byte(), d.byte() < 200 ? d.pick(PS) : d.byte()];
  const shape = d.below(8);
  const nc = d.byte() < 230 ? d.below(20) : d.below(600);
  const data = d.bytes(nc);
  const le = d.below(300);
  const skew = d.byte() < 20 ? d.pick([-1, 1, 2]) : 0;
  switch (shape) {
    case 0:
      return head;
    case 1:
      return [...head, le & 0xff];
    case 2:
      return nc === 0 || nc > 255 ? [...head, 0, nc >> 8, nc & 0xff, ...data] : [...head, nc + skew, ...data];
    case 3:
      return nc === 0 || nc > 255
        ? [...head, 0, nc >> 8, nc & 0xff, ...data, le >> 8, le & 0xff]
        : [...head, (nc + skew) & 0xff, ...data, le & 0xff];
    case 4:
      return [...head, 0, le >> 8, le & 0xff];
    case 5:
      return [...head, 0, nc >> 8, (nc + skew) & 0xff, ...data, le >> 8, le & 0xff];
    case 6:
      // SELECT by AID prefixes, channels and GET RESPONSE: the dispatcher's own commands.
      return d.pick([
        [cla & 0x03, 0xa4, 0x04, d.pick(PS), 5, 0xa0, 0x00, 0x00, 0x06, 0xef, 0x00],
        [cla & 0x13, 0x70, d.pick([0x00, 0x80]), d.below(6), 1],
        [cla & 0x03, 0xc0, 0x00, 0x00, le & 0xff],
        [0xff, 0xca, d.below(3), d.below(2), 0x00],
      ]);
    default:
      return [...head, ...d.bytes(d.below(8))];
  }
}

/** A bridge APDU with a read-only FeliCa frame, mostly well-formed, addressed to the card's IDm. */
export function bridgeApdu(d: Draw): number[] {
  const code = d.pick(READ_CODES);
  const body =
    code === C.polling.code
      ? [d.pick([0xff, 0x12]), d.pick([0xff, 0xfc, 0x00]), d.below(4), d.below(4)]
      : [...(d.byte() < 240 ? APDU_FUZZ_IDM : d.bytes(8)), ...d.bytes(d.below(24))];
  const len = 2 + body.length + (d.byte() < 20 ? d.pick([-1, 1]) : 0);
  const frame = [len & 0xff, code, ...body];
  const apdu = [0x80, 0xfe, d.byte() < 245 ? 0 : d.byte(), 0, frame.length, ...frame];
  return d.byte() < 128 ? apdu : [...apdu, 0x00];
}

/** The next fuzzed APDU and how it was made. */
export function fuzzedApdu(d: Draw): { apdu: Uint8Array; how: string } {
  const kind = d.byte();
  if (kind < 40) {
    const apdu = Uint8Array.from(d.bytes(d.below(kind < 8 ? 300 : 12)));
    // Random bytes reach the bridge only with read frames too.
    if (apdu.length >= 2 && apdu[0] === 0x80 && apdu[1] === 0xfe) apdu[1] = 0xfd;
    return { apdu, how: 'random' };
  }
  if (kind < 90) return { apdu: Uint8Array.from(bridgeApdu(d)), how: 'felica bridge' };
  return { apdu: Uint8Array.from(structuredApdu(d)), how: 'structured' };
}

export interface ApduFuzzOptions {
  /** The card under test (default: a card of APDU_FUZZ_PROFILE); the seam for a deliberately broken card. */
  readonly card?: () => Card;
}

export function apduFuzzTarget(options: ApduFuzzOptions = {}): FuzzTarget {
  return {
    name: 'apdus',
    share: 3,
    open(d: Draw): FuzzSession {
      const card =
        options.card?.() ??
        new Card(cardImageFromProfile(parseProfile(APDU_FUZZ_PROFILE)), { random: new SeededRandom(7) });
      card.powerOn();
      const e = card.eeprom;
      const before = e.snapshot();
      return {
        next(log) {
          const { apdu, how } = fuzzedApdu(d);
          const written = e.physical.bytesWritten;
          let r: Uint8Array | null;
          try {
            r = card.apdu(apdu);
          } catch (err) {
            log.fail(bytesToHex(apdu), thrown(err));
            return how;
          }
          if (r === null || r.length < 2)
            log.fail(
              bytesToHex(apdu),
              `answered ${r === null ? 'nothing' : bytesToHex(r)}, not a status word`,
            );
          if (e.physical.bytesWritten !== written) {
            log.fail(bytesToHex(apdu), `wrote ${e.physical.bytesWritten - written} EEPROM bytes`);
            e.restore(before);
          }
          return how;
        },
        finish(log) {
          if (!sameBytes(e.snapshot(), before)) log.fail('(all APDUs)', 'the image changed');
          const uid = card.apdu(Uint8Array.of(0xff, 0xca, 0x00, 0x00, 0x00));
          if (uid === null || bytesToHex(uid) !== `${bytesToHex(APDU_FUZZ_IDM.subarray(1))}9000`)
            log.fail('ffca000000', 'the card no longer answers GET DATA with its UID');
        },
      };
    },
  };
}
