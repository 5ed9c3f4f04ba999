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
import { ApduClient } from '../src/apdu/apdu-client';
import { LocalAppletKeys } from '../src/applets/applet-keys';
import { CardManagerClient } from '../src/applets/card-manager-client';
import { CreditClient } from '../src/applets/credit-client';

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
              { code: '2000', end: '27ff', capacity: 4, key: key(1, '99') },
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
    // Installed through the card manager (AUTHENTICATE with the area key, diversified for 0000).
    applets: [
      {
        kind: 'credit',
        aid: 'a0000006ef435244',
        area: '1000',
        config: {
          pin: { value: '2468', unblock: '13579135', tries: 4 },
          grants: [{ service: '1008', to: '2000' }],
        },
      },
      { kind: 'emoney', aid: 'a0000006ef454d', area: '0000' },
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

describe('applets personalised by the issuing machine', () => {
  const CREDIT = hexToBytes('a0000006ef435244');

  async function issued(): Promise<{ card: Card; apdu: ApduClient; p: Profile }> {
    const p = profileFor('2k3des', 16);
    const card = await issueByCommands(p, '2k3des', p.chip.transportKey!);
    return { card, apdu: new ApduClient(new InProcessTransport(card)), p };
  }

  it('the credit PIN comes from applets[].config.pin: 4 tries, the configured digits', async () => {
    const { apdu } = await issued();
    const credit = new CreditClient(apdu, CREDIT);
    expect((await credit.select()).sw).toBe(0x9000);
    expect((await credit.verify('1111')).sw).toBe(0x63c3);
    expect((await credit.verify('2468')).sw).toBe(0x9000);
  });

  it('GRANT through the card manager: only the holder of the service area, never to its own area', async () => {
    const { card, apdu } = await issued();
    const manager = new CardManagerClient(apdu);
    expect((await manager.select()).sw).toBe(0x9000);
    const area1000 = new LocalAppletKeys(
      '2k3des',
      [{ code: 0x1000, key: hexToBytes('66'.repeat(16)) }],
      rng(),
    );
    expect((await manager.authenticate(area1000, 0)).ok).toBe(true);
    const before = card.eeprom.snapshot();
    expect((await manager.grant(0x1008, 0x1000)).sw).toBe(0x6a80);
    expect((await manager.grant(0x0009, 0x2000)).sw).toBe(0x6982);
    expect((await manager.grant(0x1048, 0x2000)).sw).toBe(0x6a88);
    expect((await manager.grant(0x1008, 0x3000)).sw).toBe(0x6a88);
    expect(card.eeprom.snapshot()).toEqual(before);
    expect((await manager.grant(0x1008, 0x0000)).sw).toBe(0x6a80);
    expect((await manager.grant(0x1008, 0x2000)).sw).toBe(0x9000);
    expect(() => manager.grant(0x10000, 0x2000)).toThrow(RangeError);
  });
});
