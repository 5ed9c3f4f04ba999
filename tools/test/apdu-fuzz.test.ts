// Structure-aware APDU fuzzing of an issued card: never a throw, always a status word, EEPROM untouched.
import { describe, expect, it } from 'vitest';
import { FELICA_COMMANDS as C } from '@mica/apdu-specs/felica-commands';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';

const COUNT = 100_000;
const IDM = Uint8Array.of(0x02, 0xfe, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06);

const profile = parseProfile({
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
});

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

/** Bytes from the seeded ChaCha20 stream, drawn a buffer at a time. */
class Draw {
  private readonly source: SeededRandom;
  private readonly buf = new Uint8Array(8192);
  private at = this.buf.length;
  constructor(seed: number) {
    this.source = new SeededRandom(seed);
  }
  byte(): number {
    if (this.at === this.buf.length) {
      this.source.fill(this.buf);
      this.at = 0;
    }
    return this.buf[this.at++]!;
  }
  /** 0 ≤ n < bound (bound ≤ 65536). */
  below(bound: number): number {
    return ((this.byte() << 8) | this.byte()) % bound;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }
  bytes(n: number): number[] {
    return Array.from({ length: n }, () => this.byte());
  }
}

const CLAS = [0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x13, 0x04, 0x0c, 0x40, 0x4f, 0x60, 0x80, 0x84, 0x90, 0xff];
const INSS = [0xa4, 0x70, 0xc0, 0xca, 0xfe, 0xb0, 0xd6, 0x01, 0x82, 0x84, 0x88];
const PS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x0c, 0x80, 0x81];

/** A header then a body of a random length case, sometimes with an Lc that does not match. */
function structured(d: Draw): number[] {
  const r = d.byte();
  const cla = r < 200 ? d.pick(CLAS) : d.byte();
  let ins = d.byte() < 200 ? d.pick(INSS) : d.byte();
  if (cla === 0x80 && ins === 0xfe) ins = 0xfd; // the bridge gets only read frames (bridgeFrame)
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
function bridgeFrame(d: Draw): number[] {
  const code = d.pick(READ_CODES);
  const body =
    code === C.polling.code
      ? [d.pick([0xff, 0x12]), d.pick([0xff, 0xfc, 0x00]), d.below(4), d.below(4)]
      : [...(d.byte() < 240 ? IDM : d.bytes(8)), ...d.bytes(d.below(24))];
  const len = 2 + body.length + (d.byte() < 20 ? d.pick([-1, 1]) : 0);
  const frame = [len & 0xff, code, ...body];
  const apdu = [0x80, 0xfe, d.byte() < 245 ? 0 : d.byte(), 0, frame.length, ...frame];
  return d.byte() < 128 ? apdu : [...apdu, 0x00];
}

describe('APDU fuzzing', () => {
  it(`answers ${COUNT} fuzzed APDUs with a status word, never throws and never writes EEPROM`, () => {
    const eeprom = cardImageFromProfile(profile);
    const card = new Card(eeprom, { random: new SeededRandom(7) });
    card.powerOn();
    const before = eeprom.snapshot();
    const d = new Draw(20261121);
    const failures: string[] = [];
    const sws = new Map<number, number>();
    let sent = 0;
    for (let i = 0; i < COUNT; i++) {
      const kind = d.byte();
      const apdu = Uint8Array.from(
        kind < 40 ? d.bytes(d.below(kind < 8 ? 300 : 12)) : kind < 90 ? bridgeFrame(d) : structured(d),
      );
      // Random bytes reach the bridge only with read frames too.
      if (apdu.length >= 2 && apdu[0] === 0x80 && apdu[1] === 0xfe && kind < 40) apdu[1] = 0xfd;
      let r: Uint8Array | null;
      try {
        r = card.apdu(apdu);
      } catch (e) {
        failures.push(`${bytesToHex(apdu)} threw ${(e as Error).message}`);
        continue;
      } finally {
        sent += 1;
      }
      if (r === null || r.length < 2) {
        failures.push(`${bytesToHex(apdu)} → ${r === null ? 'silence' : bytesToHex(r)}`);
        continue;
      }
      const sw = (r[r.length - 2]! << 8) | r[r.length - 1]!;
      sws.set(sw & 0xff00, (sws.get(sw & 0xff00) ?? 0) + 1);
    }
    console.log(
      `fuzzed ${sent} APDUs; SW1 counts: ${[...sws]
        .sort((a, b) => b[1] - a[1])
        .map(([sw, n]) => `${(sw >> 8).toString(16)}xx ${n}`)
        .join(', ')}`,
    );
    expect(failures.slice(0, 5)).toEqual([]);
    expect(sent).toBe(COUNT);
    expect(card.isPowered).toBe(true);
    expect(bytesToHex(eeprom.snapshot()) === bytesToHex(before)).toBe(true);
    // The card still works after all that.
    expect(bytesToHex(card.apdu(Uint8Array.of(0xff, 0xca, 0x00, 0x00, 0x00))!)).toBe('fe0102030405069000');
  }, 60_000);
});
