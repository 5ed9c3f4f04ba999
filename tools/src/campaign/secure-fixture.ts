// A keyed card issued through commands, a key holder for it, and a recorder of the frames a host
// exchanges with it (so a session can be replayed byte for byte onto copies of the card).
import { hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { manufactureFromProfile } from '@mica/card-os/factory';
import type { Eeprom } from '@mica/card-os/hal/eeprom';
import { SeededRandom } from '@mica/card-os/random';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import { issueProfile } from '@mica/host-sdk/issuing/issuing-machine';
import { LocalKeyHolder } from '@mica/host-sdk/keys/local-key-holder';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
import { traced } from '@mica/host-sdk/transport/transport';

export const TK = hexToBytes('000102030405060708090a0b0c0d0e0f');
export const SYS = 0x12fc;
export const KEYS = {
  system: hexToBytes('11'.repeat(16)),
  root: hexToBytes('22'.repeat(16)),
  issuerA: hexToBytes('a1'.repeat(16)),
  issuerB: hexToBytes('b1'.repeat(16)),
  purse: hexToBytes('33'.repeat(16)),
  log: hexToBytes('44'.repeat(16)),
  data: hexToBytes('55'.repeat(16)),
  dataB: hexToBytes('66'.repeat(16)),
} as const;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export const PROFILE = parseProfile({
  chip: { blocks: 1024, transportKey: hex(TK) },
  systems: [
    {
      systemCode: '12fc',
      key: { version: 1, value: hex(KEYS.system) },
      areas: [
        {
          code: '0000',
          end: 'fffe',
          capacity: 200,
          key: { version: 1, value: hex(KEYS.root) },
          areas: [
            {
              code: '1000',
              end: '17ff',
              capacity: 40,
              key: { version: 1, value: hex(KEYS.issuerA) },
              services: [
                {
                  code: '1010',
                  key: { version: 1, value: hex(KEYS.purse) },
                  purse: { balance: 5000, maxBalance: 50000, log: '104c', requireLog: true },
                },
                { code: '104c', blocks: 4, key: { version: 1, value: hex(KEYS.log) } },
                {
                  code: '1088',
                  blocks: 2,
                  key: { version: 1, value: hex(KEYS.data) },
                  data: ['0a'.repeat(16)],
                },
              ],
            },
            {
              code: '2000',
              end: '27ff',
              capacity: 40,
              key: { version: 1, value: hex(KEYS.issuerB) },
              services: [
                {
                  code: '2008',
                  blocks: 2,
                  key: { version: 1, value: hex(KEYS.dataB) },
                  data: ['0b'.repeat(16)],
                },
              ],
            },
          ],
        },
      ],
    },
  ],
});

export function hostRandom(seed: number): (n: number) => Uint8Array {
  const r = new SeededRandom(seed);
  return (n) => {
    const b = new Uint8Array(n);
    r.fill(b);
    return b;
  };
}

/** The issued chip (powered off); copies are cheap. */
export async function issuedChip(): Promise<Eeprom> {
  const card = new Card(manufactureFromProfile(PROFILE), { random: new SeededRandom(1) });
  card.powerOn();
  await issueProfile(new FelicaClient(new InProcessTransport(card)), PROFILE, {
    suite: '2k3des',
    transportKey: TK,
    random: hostRandom(2),
  });
  card.powerOff();
  return card.eeprom;
}

/** A holder that knows every key of the profile (or only those named). */
export function holder(seed: number, nodes: Partial<Record<number, Uint8Array>> = allKeys()): LocalKeyHolder {
  const h = new LocalKeyHolder(hostRandom(seed));
  for (const [node, key] of Object.entries(nodes))
    if (key) h.set(SYS, Number(node), { version: 1, value: key });
  return h;
}

export function allKeys(): Record<number, Uint8Array> {
  return {
    0xffff: KEYS.system,
    0x0000: KEYS.root,
    0x1000: KEYS.issuerA,
    0x2000: KEYS.issuerB,
    0x1010: KEYS.purse,
    0x104c: KEYS.log,
    0x1088: KEYS.data,
    0x2008: KEYS.dataB,
  };
}

export interface Live {
  readonly card: Card;
  readonly client: FelicaClient;
  /** Every command frame sent, in order. */
  readonly sent: Uint8Array[];
  readonly idm: Uint8Array;
}

/** A powered copy of `chip` with a seeded card random source and a recording client. */
export async function live(chip: Eeprom, cardSeed = 7): Promise<Live> {
  const card = new Card(chip.clone(), { random: new SeededRandom(cardSeed) });
  card.powerOn();
  const sent: Uint8Array[] = [];
  const client = new FelicaClient(
    traced(
      new InProcessTransport(card),
      (e) => e.direction === 'command' && e.bytes && sent.push(e.bytes.slice()),
    ),
  );
  const idm = (await client.polling(SYS)).idm;
  return { card, client, sent, idm };
}

/** Replays `frames` onto a fresh powered copy of `chip` (same card seed) and returns the card. */
export function replay(chip: Eeprom, frames: readonly Uint8Array[], cardSeed = 7): Card {
  const card = new Card(chip.clone(), { random: new SeededRandom(cardSeed) });
  card.powerOn();
  for (const f of frames) card.felica(f);
  return card;
}
