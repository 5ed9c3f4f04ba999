// The APDU client against an in-process card with test applets: GET RESPONSE, 6Cxx, chaining, channels, the FeliCa bridge.
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import type { Applet } from '@mica/card-os/apdu/applet';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { ApduClient, claForChannel } from '../src/apdu/apdu-client';
import { ApduResponse, ApduStatusError } from '../src/apdu/apdu-response';
import { FelicaOverApduTransport } from '../src/apdu/felica-over-apdu';
import { FelicaClient } from '../src/felica/client';
import { SecureFelicaSession } from '../src/felica/secure-session';
import { LocalKeyHolder } from '../src/keys/local-key-holder';
import { InProcessTransport } from '../src/transport/in-process';
import { TransportError, traced, type TraceEvent } from '../src/transport/transport';

const profile = parseProfile({
  chip: { blocks: 256, iso14443: { uid: '04a1b2c3d4e5f6', ats: '0978807002 4d494341' } },
  systems: [
    {
      systemCode: '12fc',
      areas: [
        {
          code: '0000',
          end: 'fffe',
          capacity: 16,
          services: [
            { code: '0009', blocks: 2, data: ['00112233445566778899aabbccddeeff'] },
            { code: '0048', blocks: 1, key: { version: 2, value: '55555555555555556666666666666666' } },
          ],
        },
      ],
    },
  ],
});

const IDM = hexToBytes('02fe010203040506');

/** INS 01 echoes the data, INS 02 answers P1 × 10 bytes 00 01 02 …, INS 03 answers the channel. */
function testApplet(aid: string, tag: number): Applet {
  return {
    aid: hexToBytes(aid),
    select: () => Uint8Array.of(0x6f, 0x01, tag),
    deselect: () => undefined,
    process: (apdu, ctx) => {
      if (apdu.ins === 0x01) return { data: apdu.data, sw: 0x9000 };
      if (apdu.ins === 0x02)
        return { data: Uint8Array.from({ length: apdu.p1 * 10 }, (_, i) => i & 0xff), sw: 0x9000 };
      if (apdu.ins === 0x03) return { data: Uint8Array.of(ctx.channel, tag), sw: 0x9000 };
      return { data: new Uint8Array(0), sw: 0x6d00 };
    },
  };
}

const AID1 = hexToBytes('a0000006ef0101');
const AID2 = hexToBytes('a0000006ef0102');

function setup(): {
  card: Card;
  transport: InProcessTransport;
  events: TraceEvent[];
  commands: () => string[];
} {
  const applets = [testApplet('a0000006ef0101', 1), testApplet('a0000006ef0102', 2)];
  const card = new Card(cardImageFromProfile(profile), { applets: () => applets });
  card.powerOn();
  const events: TraceEvent[] = [];
  const transport = new InProcessTransport(card);
  return {
    card,
    transport,
    events,
    commands: () =>
      events
        .filter((e) => e.interface === 'apdu' && e.direction === 'command')
        .map((e) => bytesToHex(e.bytes!)),
  };
}

function client(s: ReturnType<typeof setup>, options = {}): ApduClient {
  return new ApduClient(
    traced(s.transport, (e) => s.events.push(e)),
    options,
  );
}

const counting = (n: number): string => bytesToHex(Uint8Array.from({ length: n }, (_, i) => i & 0xff));

describe('ApduClient', () => {
  it('returns responses as values and throws only when asked', async () => {
    const s = setup();
    const c = client(s);
    const r = await c.send({ cla: 0, ins: 0x01, p1: 0, p2: 0, data: Uint8Array.of(1), ne: 256 });
    expect(r.sw).toBe(0x6986);
    expect(r.ok).toBe(false);
    expect(() => r.expectOk()).toThrow(ApduStatusError);
    expect(() => r.expectOk()).toThrow(/6986 \(COMMAND_NOT_ALLOWED\)/);
    expect(bytesToHex((await c.select(AID1)).expectOk())).toBe('6f0101');
    expect(bytesToHex(ApduResponse.fromBytes(hexToBytes('aabb9000')).toBytes())).toBe('aabb9000');
    expect(() => ApduResponse.fromBytes(Uint8Array.of(0x90))).toThrow(RangeError);
  });

  it('collects a long answer with GET RESPONSE (61xx) and concatenates the parts', async () => {
    const s = setup();
    const c = client(s);
    await c.select(AID1);
    const r = await c.send({ cla: 0, ins: 0x02, p1: 30, p2: 0, ne: 256 });
    expect(r.sw).toBe(0x9000);
    expect(bytesToHex(r.data)).toBe(counting(300));
    expect(s.commands().slice(1)).toEqual(['00021e0000', '00c000002c']);
    // 600 bytes: 256, then 61 00 (256 or more), then 61 58.
    const long = await c.send({
      cla: 0,
      ins: 0x01,
      p1: 0,
      p2: 0,
      data: new Uint8Array(600).fill(7),
      ne: 256,
    });
    expect(long.data.length).toBe(600);
    expect(long.sw).toBe(0x9000);
    expect(s.commands().filter((x) => x.startsWith('00c0'))).toEqual([
      '00c000002c',
      '00c0000000',
      '00c0000058',
    ]);
  });

  it('sends the command again with the exact Le on 6Cxx', async () => {
    const s = setup();
    const c = client(s);
    await c.select(AID1);
    const r = await c.send({ cla: 0, ins: 0x02, p1: 3, p2: 0, ne: 16 });
    expect(bytesToHex(r.expectOk())).toBe(counting(30));
    expect(s.commands().slice(1)).toEqual(['0002030010', '000203001e']);
  });

  it('chains long command data (CLA b5) in parts of 255 or the configured size', async () => {
    const s = setup();
    const data = Uint8Array.from({ length: 600 }, (_, i) => (i * 7) & 0xff);
    const c = client(s);
    await c.select(AID1);
    const r = await c.send({ cla: 0, ins: 0x01, p1: 0, p2: 0, data, ne: 256 });
    expect(bytesToHex(r.expectOk())).toBe(bytesToHex(data));
    const sent = s.commands().slice(1, 4);
    expect(sent.map((x) => x.slice(0, 10))).toEqual(['10010000ff', '10010000ff', '000100005a']);
    const small = client(s, { chainSize: 100 });
    s.events.length = 0;
    expect(bytesToHex((await small.send({ cla: 0, ins: 0x01, p1: 0, p2: 0, data, ne: 256 })).data)).toBe(
      bytesToHex(data),
    );
    expect(s.commands().filter((x) => x.startsWith('1001')).length).toBe(5);
    s.events.length = 0;
    const r150 = await small.send({ cla: 0, ins: 0x01, p1: 0, p2: 0, data: data.subarray(0, 150), ne: 256 });
    expect(r150.data.length).toBe(150);
    expect(s.commands().map((x) => x.slice(0, 10))).toEqual(['1001000064', '0001000032']);
    expect(() => new ApduClient(s.transport, { chainSize: 256 })).toThrow(RangeError);
  });

  it('sends one extended-length APDU when asked to', async () => {
    const s = setup();
    const data = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
    const c = client(s, { extendedLength: true });
    await c.select(AID1);
    const r = await c.send({ cla: 0, ins: 0x01, p1: 0, p2: 0, data, ne: 65536 });
    expect(bytesToHex(r.expectOk())).toBe(bytesToHex(data));
    const [cmd] = s.commands().slice(1);
    expect(cmd!.slice(0, 14)).toBe('00010000000258');
    expect(cmd!.slice(-4)).toBe('0000');
    expect(s.commands().length).toBe(2);
  });

  it('selects by AID prefix, next occurrence and without an answer', async () => {
    const s = setup();
    const c = client(s);
    const prefix = hexToBytes('a0000006ef');
    expect(bytesToHex((await c.select(prefix)).data)).toBe('6f0101');
    expect(bytesToHex((await c.selectNext(prefix)).data)).toBe('6f0102');
    expect((await c.selectNext(prefix)).sw).toBe(0x6a82);
    const quiet = await c.select(AID1, { answer: 'none' });
    expect(quiet.ok && quiet.data.length === 0).toBe(true);
    expect((await c.select(AID1, { occurrence: 'last' })).sw).toBe(0x6a86);
    expect(s.commands().slice(-2)).toEqual(['00a4040c07a0000006ef0101', '00a4040107a0000006ef010100']);
  });

  it('opens logical channels, encodes them in CLA and closes them', async () => {
    const s = setup();
    const c = client(s);
    const opening = await c.openChannel();
    expect(opening.channel).toBe(1);
    const ch1 = opening.expectOk();
    expect(ch1.channel).toBe(1);
    await c.select(AID1);
    await ch1.select(AID2);
    expect(bytesToHex((await ch1.send({ cla: 0, ins: 0x03, p1: 0, p2: 0, ne: 256 })).data)).toBe('0102');
    expect(bytesToHex((await c.send({ cla: 0, ins: 0x03, p1: 0, p2: 0, ne: 256 })).data)).toBe('0001');
    // GET RESPONSE travels on the channel of the command.
    const long = await ch1.send({ cla: 0, ins: 0x02, p1: 30, p2: 0, ne: 256 });
    expect(long.data.length).toBe(300);
    expect(s.commands()).toContain('01c000002c');
    const ch3 = (await c.openChannel(3)).expectOk();
    expect((await ch3.send({ cla: 0, ins: 0x03, p1: 0, p2: 0, ne: 256 })).sw).toBe(0x6986);
    expect((await ch1.closeChannel()).sw).toBe(0x9000);
    expect((await c.closeChannel(3)).sw).toBe(0x9000);
    const gone = await ch1.send({ cla: 0, ins: 0x03, p1: 0, p2: 0, ne: 256 });
    expect(gone.sw).toBe(0x6881);
    expect(() => gone.expectOk()).toThrow(ApduStatusError);
    for (let i = 0; i < 3; i++) (await c.openChannel()).expectOk();
    const full = await c.openChannel();
    expect(full.channel).toBeUndefined();
    expect(() => full.expectOk()).toThrow(ApduStatusError);
    expect([claForChannel(0x00, 3), claForChannel(0x10, 2), claForChannel(0x0c, 1)]).toEqual([
      0x03, 0x12, 0x0d,
    ]);
    expect([claForChannel(0x00, 4), claForChannel(0x80, 19), claForChannel(0x0c, 5)]).toEqual([
      0x40, 0xcf, 0x61,
    ]);
    expect(() => claForChannel(0, 20)).toThrow(RangeError);
  });

  it('reads the UID, the historical bytes and the ATR', async () => {
    const s = setup();
    const c = client(s);
    expect(bytesToHex((await c.getUid()).expectOk())).toBe('04a1b2c3d4e5f6');
    expect(bytesToHex((await c.getHistoricalBytes()).expectOk())).toBe('4d494341');
    expect(bytesToHex((await c.atr())!)).toBe(bytesToHex(s.card.atr()));
    const plain = new Card(cardImageFromProfile(parseProfile({ systems: [{ systemCode: '12fc' }] })));
    plain.powerOn();
    const p = new ApduClient(new InProcessTransport(plain));
    expect(bytesToHex((await p.getUid()).data)).toBe('fe010203040506');
    expect((await p.getHistoricalBytes()).sw).toBe(0x6a81);
  });

  it('traces APDUs and reports an unpowered card as link-lost', async () => {
    const s = setup();
    const c = client(s);
    await c.getUid();
    expect(
      s.events.map((e) => `${e.interface} ${e.direction} ${e.bytes ? bytesToHex(e.bytes) : '-'}`),
    ).toEqual(['apdu command ffca000000', 'apdu response 04a1b2c3d4e5f69000']);
    s.card.powerOff();
    const err = await c.getUid().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).kind).toBe('link-lost');
    expect(s.events.at(-1)).toEqual({ interface: 'apdu', direction: 'response', bytes: null });
    await s.transport.close();
    expect(
      ((await s.transport.apdu(Uint8Array.of(0, 0, 0, 0)).catch((e: unknown) => e)) as TransportError).kind,
    ).toBe('closed');
  });
});

describe('FelicaOverApduTransport', () => {
  it('runs the FelicaClient unchanged over the FeliCa-bridge APDU', async () => {
    const s = setup();
    const felica = new FelicaClient(
      new FelicaOverApduTransport(traced(s.transport, (e) => s.events.push(e))),
    );
    const { idm, pmm } = await felica.polling(0x12fc, 1);
    expect(bytesToHex(idm)).toBe(bytesToHex(IDM));
    expect(bytesToHex(pmm)).toBe('0120220427674eff');
    expect(s.commands()[0]).toBe('80fe000006060012fc010000');
    const [block] = (
      await felica.readWithoutEncryption(idm, [0x0009], [{ serviceIndex: 0, block: 0 }])
    ).expectOk();
    expect(bytesToHex(block!)).toBe('00112233445566778899aabbccddeeff');
    expect(await felica.requestService(idm, [0x0000, 0x0009, 0x0048, 0x0049])).toEqual([0, 0, 2, 0xffff]);
  });

  it('turns 6400 into silence and other status words into protocol errors', async () => {
    const s = setup();
    const bridge = new FelicaOverApduTransport(new ApduClient(s.transport, { channel: 2 }));
    expect(bridge.description).toBe('felica-bridge:sim:in-process');
    expect(await bridge.felica(hexToBytes('060088b40000'))).toBeNull();
    const felica = new FelicaClient(bridge);
    const err = await felica.polling(0x88b4).catch((e: unknown) => e);
    expect((err as TransportError).kind).toBe('timeout');
    await expect(bridge.felica(new Uint8Array(0))).rejects.toThrow(RangeError);
    // APDUs pass straight through; the ATR comes from the inner transport.
    expect(bytesToHex(await bridge.apdu(hexToBytes('ffca000000')))).toBe('04a1b2c3d4e5f69000');
    expect(bytesToHex(await bridge.atr())).toBe(bytesToHex(s.card.atr()));
    const refusing = new FelicaOverApduTransport({
      description: 'refusing',
      felica: () => Promise.resolve(null),
      apdu: () => Promise.resolve(hexToBytes('6d00')),
      close: () => Promise.resolve(),
    });
    const e2 = await refusing.felica(hexToBytes('0600ffff0000')).catch((e: unknown) => e);
    expect((e2 as TransportError).kind).toBe('protocol');
    await expect(refusing.atr()).rejects.toThrow(TransportError);
  });

  it('carries a secure FeliCa session (Authentication1/2, secure read) unchanged', async () => {
    const key = '00112233445566778899aabbccddeeff';
    const card = new Card(
      cardImageFromProfile(
        parseProfile({
          systems: [
            {
              systemCode: '12fc',
              areas: [
                {
                  code: '0000',
                  end: 'fffe',
                  capacity: 8,
                  services: [
                    {
                      code: '0008',
                      blocks: 1,
                      key: { version: 1, value: key },
                      data: ['48656c6c6f2c20736563726574212121'],
                    },
                  ],
                },
              ],
            },
          ],
        }),
      ),
    );
    card.powerOn();
    const client = new FelicaClient(new FelicaOverApduTransport(new InProcessTransport(card)));
    const { idm } = await client.polling(0x12fc);
    const holder = new LocalKeyHolder((n) => crypto.getRandomValues(new Uint8Array(n))).set(0x12fc, 0x0008, {
      version: 1,
      value: hexToBytes(key),
    });
    const session = await SecureFelicaSession.open(client, holder, {
      idm,
      systemCode: 0x12fc,
      suite: '2k3des',
      areas: [],
      services: [0x0008],
    });
    const [block] = (await session.read([0x0008], [{ serviceIndex: 0, block: 0 }])).expectOk();
    expect(new TextDecoder().decode(block)).toBe('Hello, secret!!!');
    await session.close();
  });
});
