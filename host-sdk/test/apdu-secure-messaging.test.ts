// The APDU client's secure messaging against a test applet that unwraps and wraps with the shared SM codec.
import { describe, expect, it } from 'vitest';
import { isSecureMessaging } from '@mica/apdu-specs/apdu/command-apdu';
import {
  createSmKeys,
  initialSsc,
  unwrapCommand,
  wrapResponse,
  type SmKeys,
} from '@mica/apdu-specs/apdu/secure-messaging';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import type { Applet } from '@mica/card-os/apdu/applet';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { ApduClient } from '../src/apdu/apdu-client';
import { InProcessTransport } from '../src/transport/in-process';
import { TransportError, traced, type TraceEvent, type Transport } from '../src/transport/transport';

const AID = hexToBytes('f0010203040506');

function keys(suite: string, enc: string, mac: string): SmKeys {
  return createSmKeys(suiteByName(suite), hexToBytes(enc), hexToBytes(mac));
}

/** Answers only SM commands: INS 01 echoes, INS 02 answers P1 × 10 bytes, INS 03 refuses with 6985. */
function smApplet(k: SmKeys): Applet {
  let ssc: Uint8Array | undefined;
  return {
    aid: AID,
    select: () => {
      ssc = initialSsc(k);
      return new Uint8Array(0);
    },
    deselect: () => undefined,
    process: (apdu) => {
      if (!ssc || !isSecureMessaging(apdu.cla)) return { data: new Uint8Array(0), sw: 0x6982 };
      const u = unwrapCommand(k, ssc, apdu);
      if (!u.ok) {
        ssc = undefined;
        return { data: new Uint8Array(0), sw: 0x6988 };
      }
      const c = u.command;
      const r =
        c.ins === 0x01
          ? { data: c.data, sw: 0x9000 }
          : c.ins === 0x02
            ? { data: Uint8Array.from({ length: c.p1 * 10 }, (_, i) => i & 0xff), sw: 0x9000 }
            : { data: new Uint8Array(0), sw: 0x6985 };
      const w = wrapResponse(k, u.ssc, r.data, r.sw);
      ssc = w.ssc;
      return { data: w.data, sw: r.sw };
    },
  };
}

const profile = parseProfile({ chip: { blocks: 256 }, systems: [{ systemCode: '12fc' }] });

function setup(
  k: SmKeys,
  around: (t: Transport) => Transport = (t) => t,
): { plain: ApduClient; events: TraceEvent[] } {
  const applet = smApplet(k);
  const card = new Card(cardImageFromProfile(profile), { applets: () => [applet] });
  card.powerOn();
  const events: TraceEvent[] = [];
  const plain = new ApduClient(around(traced(new InProcessTransport(card), (e) => events.push(e))));
  return { plain, events };
}

const commands = (events: TraceEvent[]): string[] =>
  events.filter((e) => e.direction === 'command').map((e) => bytesToHex(e.bytes!));

describe.each([
  ['aes128', '000102030405060708090a0b0c0d0e0f', '101112131415161718191a1b1c1d1e1f'],
  ['2k3des', '0123456789abcdeffedcba9876543210', '00112233445566778899aabbccddeeff'],
])('ApduClient secure messaging (%s)', (suite, enc, mac) => {
  const k = keys(suite, enc, mac);

  it('wraps commands, unwraps answers and keeps the SSC in step', async () => {
    const { plain, events } = setup(k);
    expect((await plain.select(AID)).sw).toBe(0x9000);
    const sm = plain.withSecureMessaging(k);
    expect(sm.secureMessagingActive).toBe(true);
    for (const data of ['01', '0203', '040506']) {
      const r = await sm.send({ cla: 0x00, ins: 0x01, p1: 0, p2: 0, data: hexToBytes(data), ne: 256 });
      expect(bytesToHex(r.expectOk())).toBe(data);
    }
    const sent = commands(events).slice(1);
    expect(sent.every((c) => c.startsWith('0c010000'))).toBe(true);
    // 87 (cryptogram), 97 (Le), 8E (MAC), outer Le 00.
    expect(sent[0]!.slice(10, 12)).toBe('87');
    expect(sent[0]!.slice(-2)).toBe('00');
    const refused = await sm.send({ cla: 0x00, ins: 0x03, p1: 0, p2: 0 });
    expect(refused.sw).toBe(0x6985);
    expect(sm.secureMessagingActive).toBe(true);
  });

  it('chains long protected data and collects long protected answers with GET RESPONSE', async () => {
    const { plain, events } = setup(k);
    await plain.select(AID);
    const sm = plain.withSecureMessaging(k);
    const data = Uint8Array.from({ length: 600 }, (_, i) => (i * 3) & 0xff);
    expect(bytesToHex((await sm.send({ cla: 0, ins: 0x01, p1: 0, p2: 0, data, ne: 65536 })).expectOk())).toBe(
      bytesToHex(data),
    );
    expect(commands(events).some((c) => c.startsWith('1c01'))).toBe(true);
    expect(commands(events).some((c) => c.startsWith('00c0'))).toBe(true);
    const long = await sm.send({ cla: 0, ins: 0x02, p1: 40, p2: 0, ne: 256 });
    expect(long.expectOk().length).toBe(400);
    const ext = new ApduClient(plain.transport, { extendedLength: true }).withSecureMessaging(k);
    await plain.select(AID);
    expect(bytesToHex((await ext.send({ cla: 0, ins: 0x01, p1: 0, p2: 0, data, ne: 65536 })).data)).toBe(
      bytesToHex(data),
    );
  });

  it('ends the session on an answer without SM and refuses an answer whose MAC does not check', async () => {
    const { plain } = setup(k);
    await plain.select(AID);
    const wrong = plain.withSecureMessaging(keys(suite, mac, enc));
    const r = await wrong.send({ cla: 0, ins: 0x01, p1: 0, p2: 0, data: Uint8Array.of(1), ne: 256 });
    expect(r.sw).toBe(0x6988);
    expect(wrong.secureMessagingActive).toBe(false);
    await expect(wrong.send({ cla: 0, ins: 0x01, p1: 0, p2: 0 })).rejects.toThrow(TransportError);

    // A transport that flips the last byte of the MAC in every answer longer than a status word.
    const flipping = (t: Transport): Transport => ({
      ...t,
      apdu: async (c) => {
        const a = (await t.apdu(c)).slice();
        if (a.length > 2) a[a.length - 3]! ^= 1;
        return a;
      },
    });
    const { plain: p2 } = setup(k, flipping);
    await p2.select(AID);
    const sm = p2.withSecureMessaging(k);
    const err = await sm
      .send({ cla: 0, ins: 0x01, p1: 0, p2: 0, data: Uint8Array.of(1), ne: 256 })
      .catch((e: unknown) => e);
    expect((err as TransportError).kind).toBe('protocol');
    expect((err as TransportError).message).toMatch(/bad-mac/);
    expect(sm.secureMessagingActive).toBe(false);
  });
});
