// The FeliCa client against an in-process card: every plain command, byte for byte with the card.
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { FelicaClient } from '../src/felica/client';
import { InProcessTransport } from '../src/transport/in-process';
import { TransportError, traced, type TraceEvent } from '../src/transport/transport';

const profile = parseProfile({
  chip: { blocks: 512 },
  systems: [
    {
      systemCode: '12fc',
      areas: [
        {
          code: '0000',
          end: 'fffe',
          capacity: 300,
          services: [
            { code: '0009', blocks: 300 },
            { code: '000b', overlaps: '0009' },
          ],
        },
      ],
    },
    { systemCode: 'fe00', key: { version: 3, value: '00112233445566778899aabbccddeeff' } },
  ],
});

function setup(events: TraceEvent[] = []): { client: FelicaClient; card: Card } {
  const card = new Card(cardImageFromProfile(profile));
  card.powerOn();
  return { card, client: new FelicaClient(traced(new InProcessTransport(card), (e) => events.push(e))) };
}

describe('FelicaClient', () => {
  it('polls, asks for system codes, key versions, block information and the mode', async () => {
    const { client } = setup();
    const p = await client.polling(0xffff, 1);
    expect(bytesToHex(p.idm)).toBe('02fe010203040506');
    expect(bytesToHex(p.requestData)).toBe('12fc');
    expect(await client.requestSystemCode(p.idm)).toEqual([0x12fc, 0xfe00]);
    expect(await client.requestService(p.idm, [0xffff, 0x0000, 0x0009, 0x1234])).toEqual([0, 0, 0, 0xffff]);
    expect(await client.requestBlockInformation(p.idm, [0x0000, 0x000b])).toEqual([0, 300]);
    expect(await client.requestResponse(p.idm)).toBe(0);
    const sys1 = await client.polling(0xfe00);
    expect(await client.requestService(sys1.idm, [0xffff])).toEqual([3]);
  });

  it('walks Search Service Code to the end', async () => {
    const { client } = setup();
    const idm = (await client.polling(0x12fc)).idm;
    const seen = [];
    for (let i = 0; ; i++) {
      const e = await client.searchServiceCode(idm, i);
      if (e.kind === 'end') break;
      seen.push(e);
    }
    expect(seen).toEqual([
      { kind: 'area', code: 0, end: 0xfffe },
      { kind: 'service', code: 0x0009 },
      { kind: 'service', code: 0x000b },
    ]);
  });

  it('writes and reads with 2- and 3-byte elements and returns status flags as values', async () => {
    const events: TraceEvent[] = [];
    const { client } = setup(events);
    const idm = (await client.polling(0x12fc)).idm;
    const data = [new Uint8Array(16).fill(1), new Uint8Array(16).fill(2)];
    (
      await client.writeWithoutEncryption(
        idm,
        [0x0009],
        [
          { serviceIndex: 0, block: 3 },
          { serviceIndex: 0, block: 299 },
        ],
        data,
      )
    ).expectOk();
    const r = await client.readWithoutEncryption(
      idm,
      [0x000b],
      [
        { serviceIndex: 0, block: 299 },
        { serviceIndex: 0, block: 3 },
      ],
    );
    expect(r.expectOk()).toEqual([data[1], data[0]]);
    const bad = await client.readWithoutEncryption(idm, [0x000b], [{ serviceIndex: 0, block: 300 }]);
    expect([bad.ok, bad.sf1, bad.sf2]).toEqual([false, 1, 0xa8]);
    expect(() => bad.expectOk()).toThrow(/SF1 01 SF2 a8 \(BLOCK_NUMBER\)/);
    const w = events.find((e) => e.direction === 'command' && e.bytes?.[1] === 0x08);
    expect(bytesToHex(w!.bytes!.subarray(10, 19))).toBe('010900028003002b01');
    expect((await client.resetMode(idm)).ok).toBe(true);
  });

  it('turns silence into a timeout and a closed transport into a closed error', async () => {
    const { client } = setup();
    await expect(client.requestResponse(new Uint8Array(8))).rejects.toMatchObject({ kind: 'timeout' });
    await client.transport.close();
    await expect(client.polling(0xffff)).rejects.toBeInstanceOf(TransportError);
    await expect(client.polling(0xffff)).rejects.toMatchObject({ kind: 'closed' });
  });
});
