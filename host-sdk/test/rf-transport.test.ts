// The rf: transport (rf.md §9, §10): activation and exchanges over every technology, two cards in one field
// (Type A anticollision, FeliCa time slots, Type B collision), fault injection with retries and double
// execution, distance, WTX, chaining, timing violations, determinism and option parsing.
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';
import { RfTransport, type RfTransportInit } from '../src/transport/rf/rf-transport';
import { parseRfQuery, RfOptionError, splitRfTarget } from '../src/transport/rf/rf-options';
import { TransportError } from '../src/transport/transport';
import type { WireEvent } from '../src/transport/wire-trace';

const IDM = '02fe010203040506';
const PURSE_PROFILE = {
  chip: { blocks: 512, idm: IDM },
  systems: [
    {
      systemCode: '12fc',
      key: { version: 1, value: '11111111111111112222222222222222' },
      areas: [
        {
          code: '0000',
          end: 'fffe',
          capacity: 64,
          services: [
            { code: '0009', blocks: 4, data: ['00112233445566778899aabbccddeeff'] },
            { code: '0051', purse: { balance: 1000, log: '008d' } },
            { code: '0053', overlaps: '0051' },
            { code: '0055', overlaps: '0051' },
            { code: '0057', overlaps: '0051' },
            { code: '008d', blocks: 3 },
            { code: '008f', overlaps: '008d' },
          ],
        },
      ],
    },
  ],
};

function card(idm = IDM, iso14443: Record<string, string> = {}): Card {
  const profile = parseProfile({ ...PURSE_PROFILE, chip: { ...PURSE_PROFILE.chip, idm, iso14443 } });
  const c = new Card(cardImageFromProfile(profile), { random: new SeededRandom(1) });
  c.powerOn();
  return c;
}

function felicaFrame(hex: string): Uint8Array {
  const b = hexToBytes(hex);
  return Uint8Array.of(b.length + 1, ...b);
}

const READ0 = felicaFrame(`06${IDM}010900018000`);
const hex = (b: Uint8Array | null): string => (b === null ? '-' : bytesToHex(b));

async function rejection(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TransportError);
    return e as TransportError;
  }
  throw new Error('expected a rejection');
}

describe('rf: transport, one card', () => {
  for (const init of [
    {},
    { snrR2c: 18, snrC2r: 18 },
    { level: 'chips' as const },
    { rate: 424 as const, snrR2c: 18, snrC2r: 18 },
  ]) {
    it(`FeliCa and APDUs answer as in-process (${JSON.stringify(init)})`, async () => {
      const direct = card();
      const c = card();
      const t = new RfTransport(c.airEndpoint(), init);
      expect(hex(await t.felica(READ0))).toBe(hex(direct.felica(READ0)));
      expect(hex(await t.apdu(hexToBytes('ffca000000')))).toBe(hex(direct.apdu(hexToBytes('ffca000000'))));
      const bridge = hexToBytes(`80fe000010${bytesToHex(READ0)}`);
      expect(hex(await t.apdu(bridge))).toBe(hex(direct.apdu(bridge)));
      await t.close();
      const r = t.report();
      expect(r.transaction.outcome).toBe('ok');
      expect(r.exchanges[0]!.kind).toBe('felica:00');
      expect(r.exchanges.map((e) => e.kind)).toContain('a:RATS');
      expect(r.exchanges[r.exchanges.length - 1]!.kind).toBe('iso-dep:S(DESELECT)');
    });
  }

  it('Type B: REQB, ATTRIB, I-blocks with CRC_B; the ATR from the ATQB', async () => {
    const c = card();
    const t = new RfTransport(c.airEndpoint(), { tech: 'b' });
    expect(hex(await t.apdu(hexToBytes('ffca000000')))).toBe(hex(c.apdu(hexToBytes('ffca000000'))));
    const atr = await t.atr();
    expect(bytesToHex(atr.subarray(0, 4))).toBe('3b888001');
    expect(
      t
        .report()
        .exchanges.map((e) => e.kind)
        .slice(0, 2),
    ).toEqual(['b:REQB', 'b:ATTRIB']);
    await expect(t.felica(READ0)).rejects.toMatchObject({ kind: 'protocol' });
  });

  it('FeliCa report: timing of rf.md §8.7 (Polling slot 0 at 2416.52 µs, airtimes of §8.1)', async () => {
    const t = new RfTransport(card().airEndpoint(), { tech: 'f' });
    await t.felica(READ0);
    await t.close();
    const [poll, read] = t.report().exchanges;
    expect(poll).toMatchObject({ kind: 'felica:00', slot: 0, gapUs: 2416.52 });
    expect(poll!.cmd).toMatchObject({ hex: '06 00 ff ff 01 00', startUs: 5000, airtimeUs: 604.13 });
    expect(poll!.rsp).toMatchObject({ airtimeUs: 1132.74, crc: 'ok' });
    expect(read!.cmd.airtimeUs).toBe(981.71);
    expect(read!.rsp!.airtimeUs).toBe(1472.57);
    expect(read!.gapUs).toBe(197.05);
    expect(read!.budgetUs).toBeGreaterThan(0);
  });

  it('ISO-DEP chaining both ways with FSD 16 and a CID', async () => {
    const c = card(IDM, { ats: '0570807002' }); // FSCI 0: the card takes 16-byte frames
    const t = new RfTransport(c.airEndpoint(), { fsd: 16, cid: 3 });
    const bridge = hexToBytes(`80fe000010${bytesToHex(READ0)}`);
    expect(hex(await t.apdu(bridge))).toBe(hex(c.apdu(bridge)));
    const kinds = t.exchanges.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'iso-dep:R(ACK)').length).toBeGreaterThan(1);
    expect(bytesToHex(t.exchanges.find((e) => e.kind === 'iso-dep:I')!.cmd.bytes.subarray(0, 2))).toBe(
      '1a03',
    );
  });

  it('S(WTX) when the card needs longer than FWT (FWI 7)', async () => {
    const c = card();
    const ep = c.airEndpoint({ processingFc: (tech) => (tech === 'f' ? 0 : 4096 * 2 ** 7 * 3) });
    const t = new RfTransport(ep, {});
    expect(hex(await t.apdu(hexToBytes('ffca000000')))).toMatch(/9000$/);
    expect(t.exchanges.map((e) => e.kind)).toContain('iso-dep:S(WTX)');
  });
});

describe('rf: error behaviour (rf.md §9)', () => {
  it('a FeliCa Read with a CRC fault: the card is silent, the reader retries, the second attempt answers', async () => {
    const t = new RfTransport(card().airEndpoint(), { inject: [{ exchange: 1, kind: 'crc' }] });
    expect(hex(await t.felica(READ0))).toMatch(/^1d07/);
    const e = t.report().exchanges[1]!;
    expect(e).toMatchObject({ attempts: 2, outcome: 'ok', retriedAfterExecution: false });
    expect(t.report().transaction.retries).toBe(1);
  });

  it('a lost answer to a keyless purse decrement: the retry is refused (E4), the purse moved once', async () => {
    const c = card();
    // Decrement purse 0055 by 100 with execution ID 0002 (little-endian 0200).
    const decrement = felicaFrame(`08${IDM}01550001800000000000444444444444640000000200`);
    const t = new RfTransport(c.airEndpoint(), { inject: [{ exchange: 1, kind: 'drop' }] });
    const answer = await t.felica(decrement);
    expect(hex(answer)).toBe(`0c09${IDM}ffe4`);
    expect(t.report().exchanges[1]).toMatchObject({ attempts: 2, retriedAfterExecution: true });
    const balance = await t.felica(felicaFrame(`06${IDM}015100018000`));
    expect(hex(balance).slice(26, 34)).toBe('84030000'); // 1000 − 100 = 900
  });

  it('secure commands are never re-sent: a lost Authentication1 answer is silence after one attempt', async () => {
    const t = new RfTransport(card().airEndpoint(), { inject: [{ exchange: 1, kind: 'drop' }] });
    const auth1 = felicaFrame(`10${IDM}0001000000`);
    expect(await t.felica(auth1)).toBeNull();
    expect(t.report().exchanges[1]).toMatchObject({ attempts: 1, outcome: 'timeout' });
  });

  it('ISO-DEP: a lost I-block answer is recovered by R(NAK) and executes the command once', async () => {
    let executed = 0;
    const c = card();
    const ep = c.airEndpoint();
    const counting = {
      ...ep,
      techs: ep.techs,
      field: (on: boolean) => ep.field(on),
      receive: ep.receive.bind(ep),
    };
    const spy: typeof counting = {
      ...counting,
      receive(tech, frame) {
        if (tech === 'a' && (frame.bytes[0]! & 0xe2) === 0x02) executed++;
        return counting.receive(tech, frame);
      },
    };
    const t = new RfTransport(spy, { tech: 'a', inject: [{ exchange: 6, kind: 'drop' }] });
    expect(hex(await t.apdu(hexToBytes('ffca000000')))).toMatch(/9000$/);
    const i = t.exchanges.find((e) => e.kind === 'iso-dep:I')!;
    expect(i.attempts).toBe(2);
    expect(bytesToHex(i.cmd.bytes.subarray(0, 1))).toBe('b2');
    expect(executed).toBe(1);
  });

  it('an inverted card answer decodes with polarity inverted', async () => {
    const t = new RfTransport(card().airEndpoint(), { inject: [{ exchange: 1, kind: 'invert' }] });
    expect(hex(await t.felica(READ0))).toMatch(/^1d07/);
    expect(t.report().exchanges[1]!.rsp!.polarity).toBe('inverted');
  });

  it('a late FeliCa answer is a timing violation, or a timeout with strictTiming', async () => {
    // Read of one block under PMm byte 5 = 67h: T = 52 · T_u = 15707.4 µs; the margin is 1 ms.
    const late = [{ exchange: 1, kind: 'late' as const, value: 16000 }];
    const t = new RfTransport(card().airEndpoint(), { inject: late });
    expect(hex(await t.felica(READ0))).toMatch(/^1d07/);
    expect(t.report().exchanges[1]).toMatchObject({ outcome: 'timing-violation', timingViolation: true });
    const strict = new RfTransport(card().airEndpoint(), { inject: late, strictTiming: true, retries: 0 });
    expect(await strict.felica(READ0)).toBeNull();
  });

  it('distance: 3 cm answers, 5 cm has no power (FeliCa silent, APDU link-lost)', async () => {
    const near = new RfTransport(card().airEndpoint(), { distance: [0.03], snrR2c: 30, snrC2r: 30 });
    expect(hex(await near.felica(READ0))).toMatch(/^1d07/);
    const far = new RfTransport(card().airEndpoint(), { distance: [0.05] });
    expect(await far.felica(READ0)).toBeNull();
    expect((await rejection(far.apdu(hexToBytes('ffca000000')))).kind).toBe('link-lost');
  });

  it('a card answering with noise far below the bound gives a transmission error after the retries', async () => {
    const t = new RfTransport(card().airEndpoint(), { tech: 'a', snrC2r: -5, snrR2c: 30 });
    const e = await rejection(t.apdu(hexToBytes('ffca000000')));
    expect(['transmission', 'timeout']).toContain(e.kind);
  });
});

describe('rf: two cards in one field (rf.md §9.3)', () => {
  it('Type A: collision at UID bit 24, NVB 51, the …57 card first, both listed after HLTA + REQA', () => {
    const a = card('02fe010203040506', { uid: '08123456' });
    const b = card('02fe010203040507', { uid: '08123457' });
    const t = new RfTransport([a.airEndpoint(), b.airEndpoint()], { tech: 'a' });
    const uids = t.inventoryTypeA().map(bytesToHex);
    expect(uids).toEqual(['08123457', '08123456']);
    const ac = t.exchanges.filter((e) => e.kind === 'a:ANTICOLLISION');
    expect(ac[0]!.outcome).toBe('collision');
    expect(bytesToHex(ac[1]!.cmd.bytes.subarray(0, 2))).toBe('9351');
  });

  it('Type A: APDUs reach the selected card after anticollision', async () => {
    const a = card('02fe010203040506', { uid: '08123456' });
    const b = card('02fe010203040507', { uid: '08123457' });
    const t = new RfTransport([a.airEndpoint(), b.airEndpoint()], { snrR2c: 20, snrC2r: 20 });
    expect(hex(await t.apdu(hexToBytes('ffca000000')))).toBe('081234579000');
  });

  it('FeliCa TSN 00: two cards collide and no IDm is reported', () => {
    const t = new RfTransport([card().airEndpoint(), card('02fe0102030405ff').airEndpoint()]);
    const slots = t.pollSlots(0xffff, 0x00);
    expect(slots).toEqual([{ slot: 0, outcome: 'collision' }]);
  });

  it('FeliCa capture: with the distance model a much stronger card is heard despite the overlap', () => {
    const eps = () => [card().airEndpoint(), card('02fe0102030405ff').airEndpoint()];
    const slots = new RfTransport(eps(), { distance: [0, 0.035] }).pollSlots(0xffff, 0x00);
    expect(slots.map((s) => [s.outcome, s.idm && bytesToHex(s.idm)])).toEqual([['ok', '02fe010203040506']]);
  });

  it('FeliCa TSN 0F: cards in different slots both answer', () => {
    const eps = [
      card().airEndpoint({ slotRandom: new SeededRandom(1) }),
      card('02fe0102030405ff').airEndpoint({ slotRandom: new SeededRandom(2) }),
    ];
    const t = new RfTransport(eps);
    const slots = t.pollSlots(0xffff, 0x0f);
    expect(slots).toHaveLength(16);
    const ok = slots.filter((s) => s.outcome === 'ok');
    expect(ok).toHaveLength(2);
    expect(slots.filter((s) => s.outcome === 'empty')).toHaveLength(14);
    expect(ok.map((s) => bytesToHex(s.idm!)).sort()).toEqual(['02fe010203040506', '02fe0102030405ff']);
  });

  it('FeliCa TSN 03 over 1000 rounds: the same-slot fraction is 0.25 ± 0.05', () => {
    const eps = [
      card().airEndpoint({ slotRandom: new SeededRandom(11) }),
      card('02fe0102030405ff').airEndpoint({ slotRandom: new SeededRandom(12) }),
    ];
    const t = new RfTransport(eps, { level: 'chips' });
    let same = 0;
    for (let i = 0; i < 1000; i++)
      if (t.pollSlots(0xffff, 0x03).some((s) => s.outcome === 'collision')) same++;
    expect(Math.abs(same / 1000 - 0.25)).toBeLessThanOrEqual(0.05);
  });

  it('Type B: two cards answering REQB collide (no slotted anticollision in v1)', async () => {
    const t = new RfTransport([card().airEndpoint(), card('02fe0102030405ff').airEndpoint()], {
      tech: 'b',
    });
    const e = await rejection(t.apdu(hexToBytes('ffca000000')));
    expect(e.kind).toBe('transmission');
    expect(t.exchanges.some((x) => x.outcome === 'collision')).toBe(true);
  });
});

describe('rf: determinism and options', () => {
  async function run(init: RfTransportInit) {
    const events: WireEvent[] = [];
    const t = new RfTransport(card().airEndpoint(), { ...init, onWire: (e) => events.push(e) });
    await t.felica(READ0);
    await t.apdu(hexToBytes('ffca000000'));
    await t.close();
    return JSON.stringify({ report: t.report(), events });
  }

  it('the same seed twice gives the same report and trace; another seed another noise', async () => {
    const a = await run({ snrR2c: 16, snrC2r: 16, seed: 5 });
    expect(await run({ snrR2c: 16, snrC2r: 16, seed: 5 })).toBe(a);
    expect(await run({ snrR2c: 16, snrC2r: 16, seed: 6 })).not.toBe(a);
    expect(JSON.parse(a).events[0]).toEqual({ t: 0, dir: 'tx', layer: 'event', hex: '', event: 'field-on' });
  });

  it('parses rf: targets and refuses unknown keys and bad values', () => {
    expect(splitRfTarget('sim:x.img?snr=14&rate=424')).toEqual({
      inner: 'sim:x.img',
      query: 'snr=14&rate=424',
    });
    const o = parseRfQuery('snr=14&rate=424&spb=8&seed=7&inject=1:crc,2:late:300&distance=0.03');
    expect(o).toMatchObject({ snrR2c: 14, snrC2r: 14, rate: 424, spbR2c: 8, spbC2r: 8, seed: 7 });
    expect(o.inject).toEqual([
      { exchange: 1, kind: 'crc' },
      { exchange: 2, kind: 'late', value: 300 },
    ]);
    expect(() => parseRfQuery('snr=14&bogus=1')).toThrow(RfOptionError);
    expect(() => parseRfQuery('k=2')).toThrow(/k must be/);
    expect(() => parseRfQuery('inject=1:zap')).toThrow(/inject/);
    expect(() => parseRfQuery('level=carrier')).toThrow(/level/);
  });
});
