// Card-level behaviour the transcripts cannot show: memory errors, the endurance warning, power loss.
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card, type CardTraceEvent } from '../src/card';
import { cardImageFromProfile } from '../src/factory';

const IDM = '02fe010203040506';
const PROFILE = parseProfile({
  chip: { blocks: 512 },
  systems: [
    {
      systemCode: '12fc',
      areas: [{ code: '0000', end: 'fffe', capacity: 32, services: [{ code: '0009', blocks: 2 }] }],
    },
  ],
});

function frame(code: string, body: string): Uint8Array {
  const b = hexToBytes(code + IDM + body);
  return Uint8Array.of(b.length + 1, ...b);
}

function card(events: CardTraceEvent[] = []): Card {
  const c = new Card(cardImageFromProfile(PROFILE), { onTrace: (e) => events.push(e) });
  c.powerOn();
  return c;
}

const read0 = frame('06', '010900018000');
const write0 = (fill: string): Uint8Array => frame('08', `010900018000${fill.repeat(16)}`);

describe('card', () => {
  it('answers SF2 70 for an uncorrectable block and stays healthy elsewhere', () => {
    const c = card();
    const s = c.fs.system(0)!.byCode.get(9)!;
    if (s.kind !== 'service') throw new Error('no service');
    for (const i of [0, 5, 9]) c.eeprom.inject(s.firstBlock, i, 0x40);
    expect(bytesToHex(c.felica(read0)!)).toBe(`0c07${IDM}ff70`);
    expect(bytesToHex(c.felica(frame('06', '010900018001'))!)).toMatch(new RegExp(`^1d07${IDM}000001`));
  });

  it('reads through 2 corrupted bytes', () => {
    const c = card();
    c.felica(write0('ab'));
    c.eeprom.inject(0, 1, 0xff);
    c.eeprom.inject(0, 17, 0x01);
    expect(bytesToHex(c.felica(read0)!)).toBe(`1d07${IDM}000001${'ab'.repeat(16)}`);
  });

  it('warns with SF2 71 past the endurance, and the write still happens', () => {
    const c = card();
    c.eeprom.endurance = 3;
    const answers = [1, 2, 3, 4, 5].map((i) => bytesToHex(c.felica(write0(`0${i}`))!));
    expect(answers.slice(0, 2)).toEqual([`0c09${IDM}0000`, `0c09${IDM}0000`]);
    expect(answers.at(-1)).toBe(`0c09${IDM}0071`);
    expect(bytesToHex(c.felica(read0)!)).toBe(`1d07${IDM}000001${'05'.repeat(16)}`);
  });

  it('goes silent after a power cut and recovers the old state at the next power-on', () => {
    const events: CardTraceEvent[] = [];
    const c = card(events);
    c.eeprom.cutPowerAfter(c.eeprom.physical.bytesWritten + 30);
    expect(c.felica(write0('77'))).toBeNull();
    expect(c.felica(read0)).toBeNull();
    expect(events.map((e) => e.kind)).toEqual(['power-lost']);
    c.eeprom.cutPowerAfter(undefined);
    c.powerOn();
    expect(bytesToHex(c.felica(read0)!)).toBe(`1d07${IDM}000001${'00'.repeat(16)}`);
  });

  it('is silent when unpowered, and to frames whose LEN lies', () => {
    const c = new Card(cardImageFromProfile(PROFILE));
    expect(c.felica(hexToBytes('0600ffff0000'))).toBeNull();
    c.powerOn();
    expect(c.felica(hexToBytes('0700ffff0000'))).toBeNull();
    expect(c.felica(new Uint8Array(0))).toBeNull();
    expect(() => c.felica('0600' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
