// The ISO 7816 dispatcher with test applets: SELECT variants, channels, chaining, GET RESPONSE, 6Cxx,
// the error boundary, GET DATA and the FeliCa bridge.
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card, type CardTraceEvent } from '../src/card';
import { cardImageFromProfile } from '../src/factory';
import type { Applet } from '../src/apdu/applet';
import { IsoError } from '../src/apdu/iso-error';

const profile = parseProfile({ chip: { blocks: 256 }, systems: [{ systemCode: '12fc' }] });

function echoApplet(aid: string, tag: number, log: string[]): Applet {
  return {
    aid: hexToBytes(aid),
    select: (ctx) => {
      log.push(`select ${tag} @${ctx.channel}`);
      return Uint8Array.of(0x6f, 0x01, tag);
    },
    deselect: (ctx) => void log.push(`deselect ${tag} @${ctx.channel}`),
    process: (apdu) => {
      if (apdu.ins === 0x01) return { data: apdu.data, sw: 0x9000 };
      if (apdu.ins === 0x02)
        return { data: Uint8Array.from({ length: apdu.p1 * 10 }, (_, i) => i & 0xff), sw: 0x9000 };
      if (apdu.ins === 0x03) throw new IsoError(0x6985);
      if (apdu.ins === 0x04) throw new Error('boom');
      return { data: new Uint8Array(0), sw: 0x6d00 };
    },
  };
}

function setup(): { card: Card; log: string[]; traces: CardTraceEvent[]; x: (hex: string) => string } {
  const log: string[] = [];
  const traces: CardTraceEvent[] = [];
  const applets = [
    echoApplet('a0000006ef0101', 1, log),
    echoApplet('a0000006ef0102', 2, log),
    echoApplet('a0000006ef0201', 3, log),
  ];
  const card = new Card(cardImageFromProfile(profile), {
    applets: () => applets,
    onTrace: (t) => traces.push(t),
  });
  card.powerOn();
  return { card, log, traces, x: (hex) => bytesToHex(card.apdu(hexToBytes(hex))!) };
}

describe('ISO 7816 dispatcher', () => {
  it('selects by full and partial AID, first and next occurrence', () => {
    const { x, log } = setup();
    expect(x('00a4040007a0000006ef010100')).toBe('6f01019000');
    expect(x('00a4040005a0000006ef00')).toBe('6f01019000');
    expect(x('00a4040205a0000006ef00')).toBe('6f01029000');
    expect(x('00a4040205a0000006ef00')).toBe('6f01039000');
    expect(x('00a4040205a0000006ef00')).toBe('6a82');
    expect(x('00a4040003a0000700')).toBe('6a82');
    expect(x('00a4040c05a0000006ef')).toBe('9000');
    expect(log.slice(0, 3)).toEqual(['select 1 @0', 'deselect 1 @0', 'select 1 @0']);
  });

  it('returns long answers through GET RESPONSE (61xx) and asks for the right Le with 6Cxx', () => {
    const { x } = setup();
    x('00a4040007a0000006ef0101');
    expect(x('0002030010')).toBe('6c1e');
    expect(x('000203001e')).toBe(`${bytesToHex(Uint8Array.from({ length: 30 }, (_, i) => i))}9000`);
    const r = x('00021e0000');
    expect(r.slice(-4)).toBe('612c');
    expect(r.length).toBe(2 * 256 + 4);
    expect(x('00c0000000')).toBe(
      `${bytesToHex(Uint8Array.from({ length: 44 }, (_, i) => (256 + i) & 0xff))}9000`,
    );
    expect(x('00c0000000')).toBe('6985');
    expect(x('0002030003aa')).toBe('6700');
    // Extended Le returns everything at once.
    expect(x('00020300000000').length).toBe(2 * 30 + 4);
  });

  it('chains command data and runs the command on the last part', () => {
    const { x } = setup();
    x('00a4040007a0000006ef0101');
    expect(x('1001000002aabb')).toBe('9000');
    expect(x('1001000001cc')).toBe('9000');
    expect(x('0001000001dd00')).toBe('aabbccdd9000');
    expect(x('1001000001aa')).toBe('9000');
    expect(x('0002000001bb00')).toBe('6883');
  });

  it('opens and closes logical channels, each with its own selection', () => {
    const { x } = setup();
    expect(x('0070000001')).toBe('019000');
    expect(x('01a4040007a0000006ef010200')).toBe('6f01029000');
    expect(x('00a4040007a0000006ef010100')).toBe('6f01019000');
    expect(x('010100000211 2200'.replace(' ', ''))).toBe('11229000');
    expect(x('0070800100')).toBe('9000');
    expect(x('0101000001aa00')).toBe('6881');
    expect(x('40a4040007a0000006ef0101')).toBe('6881');
  });

  it('turns applet errors into status words and anything unexpected into 6F00 plus a trace event', () => {
    const { x, traces } = setup();
    expect(x('0001000000')).toBe('6986');
    x('00a4040007a0000006ef0101');
    expect(x('0003000000')).toBe('6985');
    expect(x('0004000000')).toBe('6f00');
    expect(traces.map((t) => t.message)).toEqual(['unexpected: Error: boom']);
    expect(x('00090000')).toBe('6d00');
    expect(x('00')).toBe('6700');
  });

  it('answers PC/SC GET DATA and carries FeliCa frames over the bridge', () => {
    const { x, card } = setup();
    expect(x('ffca000000')).toBe('fe01020304050609000'.slice(0, 14) + '9000');
    expect(x('ffca010000')).toBe('6a81');
    expect(x('ff00000000')).toBe('6d00');
    expect(x('80fe0000060600ffff0000')).toBe('1201' + '02fe010203040506' + '0120220427674eff' + '9000');
    expect(x('80fe0000060700ffff0000')).toBe('6400');
    expect(bytesToHex(card.atr())).toBe('3b8080010101'.slice(0, 10));
  });
});
