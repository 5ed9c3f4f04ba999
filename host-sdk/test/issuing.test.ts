// Issuance through the card's own commands gives, byte for byte, the chip the factory path gives; and
// the secure session reads and writes what it should.
import { describe, expect, it } from 'vitest';
import { parseProfile, type Profile } from '@mica/apdu-specs/profile';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { purseBlock } from '@mica/apdu-specs/eeprom-records';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile, manufactureFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';
import { FelicaClient } from '../src/felica/client';
import { SecureFelicaSession } from '../src/felica/secure-session';
import { issueProfile } from '../src/issuing/issuing-machine';
import { LocalKeyHolder } from '../src/keys/local-key-holder';
import { RemoteKeyHolder, keyHolderService } from '../src/keys/remote-key-holder';
import { InProcessTransport } from '../src/transport/in-process';

const TK = '000102030405060708090a0b0c0d0e0f';
const K = (v: number, hex: string) => ({ version: v, value: hexToBytes(hex.repeat(32 / hex.length)) });
const M = (v: number, hex: string) => ({ version: v, master: hexToBytes(hex.repeat(32 / hex.length)) });

function profileFor(suite: string, keyBytes: number): Profile {
  const key = (v: number, h: string) => ({ version: v, value: h.repeat((2 * keyBytes) / h.length) });
  const master = (v: number, h: string) => ({ version: v, master: h.repeat((2 * keyBytes) / h.length) });
  return parseProfile({
    chip: { blocks: 1024, suite, transportKey: TK.repeat(3).slice(0, 2 * keyBytes) },
    issue: { cardId: '0011223344556677', date: '20261121', sequence: 7 },
    systems: [
      {
        systemCode: '12fc',
        key: key(1, '11'),
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 200,
            key: master(1, '22'),
            services: [
              {
                code: '0009',
                blocks: 14,
                data: Array.from({ length: 13 }, (_, i) => i.toString(16).padStart(2, '0').repeat(16)),
              },
              { code: '004c', blocks: 3, key: key(2, '33'), data: ['aa'.repeat(16), 'bb'.repeat(16)] },
              {
                code: '0090',
                key: master(3, '44'),
                purse: { balance: 1234, maxBalance: 40000, log: '004c', requireLog: true },
              },
              { code: '0096', overlaps: '0090', key: key(1, '55') },
              { code: '00d1', data: ['01000000000000000000000000000900'] },
            ],
            areas: [
              {
                code: '1000',
                end: '17ff',
                capacity: 20,
                key: key(4, '66'),
                services: [{ code: '1008', blocks: 2, key: key(1, '77') }],
              },
            ],
          },
        ],
      },
      {
        systemCode: 'fe00',
        key: key(2, '88'),
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 8,
            services: [{ code: '1a8b', blocks: 1, data: ['42'.repeat(16)] }],
          },
        ],
      },
    ],
  });
}

function rng(): (n: number) => Uint8Array {
  const r = new SeededRandom(99);
  return (n) => {
    const b = new Uint8Array(n);
    r.fill(b);
    return b;
  };
}

async function issueByCommands(p: Profile, suite: string, transportKey: Uint8Array): Promise<Card> {
  const card = new Card(manufactureFromProfile(p), { random: new SeededRandom(5) });
  card.powerOn();
  await issueProfile(new FelicaClient(new InProcessTransport(card)), p, {
    suite,
    transportKey,
    random: rng(),
  });
  return card;
}

describe('issuing machine', () => {
  for (const [suite, bytes] of [
    ['2k3des', 16],
    ['des', 8],
    ['3k3des', 24],
    ['aes128', 16],
  ] as const) {
    it(`${suite}: issuance commands build the same chip as the factory path, byte for byte`, async () => {
      const p = profileFor(suite, bytes);
      const card = await issueByCommands(p, suite, p.chip.transportKey!);
      const factory = cardImageFromProfile(p);
      factory.powerOn();
      expect(card.eeprom.snapshot()).toEqual(factory.snapshot());
    });
  }

  it('refuses a wrong transport key and writes nothing', async () => {
    const p = profileFor('2k3des', 16);
    const card = new Card(manufactureFromProfile(p), { random: new SeededRandom(5) });
    card.powerOn();
    const before = card.eeprom.snapshot();
    await expect(
      issueProfile(new FelicaClient(new InProcessTransport(card)), p, {
        suite: '2k3des',
        transportKey: new Uint8Array(16).fill(9),
        random: rng(),
      }),
    ).rejects.toThrow(/did not prove the key|Authentication2 refused/);
    expect(card.eeprom.snapshot()).toEqual(before);
  });
});

describe('secure session', () => {
  it('reads and writes keyed services through a remote key holder, the purse with its log', async () => {
    const p = profileFor('2k3des', 16);
    const card = await issueByCommands(p, '2k3des', p.chip.transportKey!);
    const local = new LocalKeyHolder(rng())
      .set(0x12fc, 0x004c, K(2, '33'))
      .set(0x12fc, 0x0090, M(3, '44'))
      .set(0x12fc, 0x0096, K(1, '55'));
    const holder = new RemoteKeyHolder(keyHolderService(local));
    const client = new FelicaClient(new InProcessTransport(card));
    const idm = (await client.polling(0x12fc)).idm;
    const s = await SecureFelicaSession.open(client, holder, {
      idm,
      systemCode: 0x12fc,
      suite: '2k3des',
      areas: [],
      services: [0x0090, 0x004c],
    });
    expect(await client.requestResponse(idm)).toBe(2);
    const [purse, log0] = (
      await s.read(
        [0x0090, 0x004c],
        [
          { serviceIndex: 0, block: 0 },
          { serviceIndex: 1, block: 0 },
        ],
      )
    ).expectOk();
    expect(purseBlock.decode(purse!)).toMatchObject({ balance: 1234, executionId: 0 });
    expect(log0).toEqual(new Uint8Array(16).fill(0xaa));
    const newPurse = purseBlock.encode({
      balance: 1000,
      userData: new Uint8Array(6),
      lastAmount: 0,
      executionId: 1,
    });
    const log = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 234, 2, 0x24, 0x74, 1]);
    // requireLog: the purse alone is refused (E3), with a MAC'd answer; then purse + log in one write.
    const alone = await s.write([0x0090], [{ serviceIndex: 0, block: 0 }], [newPurse]);
    expect([alone.sf1, alone.sf2]).toEqual([0xff, 0xe3]);
    (
      await s.write(
        [0x0090, 0x004c],
        [
          { serviceIndex: 0, block: 0 },
          { serviceIndex: 1, block: 0 },
        ],
        [newPurse, log],
      )
    ).expectOk();
    const back = (
      await s.read(
        [0x0090, 0x004c],
        [
          { serviceIndex: 0, block: 0 },
          { serviceIndex: 1, block: 0 },
          { serviceIndex: 1, block: 1 },
        ],
      )
    ).expectOk();
    expect(purseBlock.decode(back[0]!).balance).toBe(1000);
    expect(back[1]).toEqual(log);
    expect(back[2]).toEqual(new Uint8Array(16).fill(0xaa));
    // A service outside the session: B1, still MAC'd; the session goes on.
    const outside = await s.read([0x0096], [{ serviceIndex: 0, block: 0 }]);
    expect([outside.sf1, outside.sf2]).toEqual([1, 0xb1]);
    expect((await s.read([0x0090], [{ serviceIndex: 0, block: 0 }])).ok).toBe(true);
    await s.close();
  });
});
