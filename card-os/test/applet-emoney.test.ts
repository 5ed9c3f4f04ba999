// The e-money applet: every command and refusal, parity with the FeliCa view, duplicates, and tearing of AMOUNT CHANGE.
import { describe, expect, it } from 'vitest';
import { AUTHENTICATE } from '@mica/apdu-specs/apdu/applet-commands';
import { buildCommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { EMONEY, VALUE_SW } from '@mica/apdu-specs/apdu/emoney-settlement';
import { logRecord, purseBlock } from '@mica/apdu-specs/eeprom-records';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import { tearingSweep } from '@mica/tools/campaign/tearing';
import { APPLET_KINDS } from '@mica/apdu-specs/apdu/applet-kinds';
import { parseProfile } from '@mica/apdu-specs/profile';
import { appletRuntime } from '../src/apdu/runtime';
import { EmoneyApplet } from '../src/applets/emoney';
import { Card } from '../src/card';
import { cardImageFromProfile } from '../src/factory';
import type { AppletEntry } from '../src/fs/applet-registry';
import { SeededRandom } from '../src/random';
import { authenticate, imageHex, opened, selectAid, send, sw, type HostSession } from './apdu-fixtures';
import {
  EMONEY_AID,
  VKEYS,
  defaultCard,
  emoneyProfile,
  felicaFrame,
  felicaRead,
} from './applet-value-fixtures';

const suite2 = suiteByName('2k3des');
const SM = EMONEY.smCla;

function cardWith(suite: '2k3des' | 'aes128' = '2k3des', max = 50_000): Card {
  const card = defaultCard(emoneyProfile(suite, max));
  expect(selectAid(card, EMONEY_AID)).toBe(0x9000);
  return card;
}

function session(card: Card, suite = suite2, nodes = [0x1000], keys: string[] = [VKEYS.area]): HostSession {
  return opened(authenticate(card, suite, nodes, keys));
}

function change(kind: number, chargeId: string, amount: number, eid?: number): Uint8Array {
  const d = [
    ...hexToBytes(chargeId),
    amount >>> 24,
    (amount >>> 16) & 0xff,
    (amount >>> 8) & 0xff,
    amount & 0xff,
  ];
  d.push(0x1a, 0x2b, 0x05);
  if (eid !== undefined) d.push(eid >> 8, eid & 0xff);
  return Uint8Array.from(d);
}

const balanceOf = (d: Uint8Array): number => ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
const eidOf = (d: Uint8Array): number => (d[4]! << 8) | d[5]!;
const feliBalance = (card: Card): number => purseBlock.decode(felicaRead(card, 0x1117)).balance;

describe('e-money applet', () => {
  it('answers SELECT with its FCI and the commands only under SM', () => {
    const card = defaultCard(emoneyProfile());
    const r = card.apdu(buildCommandApdu(0, 0xa4, 4, 0, hexToBytes(EMONEY_AID), 256));
    expect(bytesToHex(r!)).toBe(`6f098407${EMONEY_AID}9000`);
    expect(send(card, '805c000000')).toBe(0x6982);
    expect(send(card, '80b2000000')).toBe(0x6982);
    expect(send(card, `8030010000`)).toBe(0x6982);
    expect(send(card, '80ee000000')).toBe(0x6d00);
    expect(send(card, '005c000000')).toBe(0x6d00);
    // SM CLA without a session: 6982.
    const fake = buildCommandApdu(
      SM,
      EMONEY.insGetBalance,
      0,
      0,
      hexToBytes(`970100${'8e08'}${'00'.repeat(8)}`),
      256,
    );
    expect(sw(card.apdu(fake))).toBe(0x6982);
  });

  for (const name of ['2k3des', 'aes128'] as const) {
    it(`reads the balance and the log, and applies add, subtract and overwrite (${name})`, () => {
      const card = cardWith(name);
      const s = session(card, suiteByName(name));
      const b = s.send(SM, EMONEY.insGetBalance, 0, 0, undefined, 256);
      expect([b.sw, balanceOf(b.data), eidOf(b.data), b.protected]).toEqual([0x9000, 1000, 0, true]);
      expect(s.send(SM, EMONEY.insReadLog, 0, 0, undefined, 256).data).toHaveLength(0);
      const add = s.send(SM, EMONEY.insAmountChange, 1, 0, change(1, '1122334455667788', 2000), 256);
      expect([add.sw, balanceOf(add.data), eidOf(add.data)]).toEqual([0x9000, 3000, 0x2211]);
      const sub = s.send(SM, EMONEY.insAmountChange, 2, 0, change(2, '99aabbccddeeff00', 500), 256);
      expect([sub.sw, balanceOf(sub.data)]).toEqual([0x9000, 2500]);
      const eid = eidOf(sub.data);
      const ow = s.send(SM, EMONEY.insAmountChange, 3, 0, change(3, '0102030405060708', 777, eid), 256);
      expect([ow.sw, balanceOf(ow.data), eidOf(ow.data)]).toEqual([0x9000, 777, (eid + 1) & 0xffff]);
      const log = s.send(SM, EMONEY.insReadLog, 0, 0, undefined, 256).data;
      expect(log).toHaveLength(48);
      const recs = [0, 1, 2].map((i) => logRecord.decode(log.subarray(16 * i, 16 * i + 16)));
      expect(recs.map((r) => [bytesToHex(r.chargeId), r.amount, r.kind, r.day, r.origin])).toEqual([
        ['0102030405060708', 777, 3, 0x1a2b, 5],
        ['99aabbccddeeff00', 500, 2, 0x1a2b, 5],
        ['1122334455667788', 2000, 1, 0x1a2b, 5],
      ]);
      const two = s.send(SM, EMONEY.insReadLog, 1, 1, undefined, 256).data;
      expect(bytesToHex(two)).toBe(bytesToHex(log.subarray(16, 32)));
      expect(s.send(SM, EMONEY.insReadLog, 4, 0, undefined, 256).sw).toBe(0x6a86);
      expect(feliBalance(card)).toBe(777);
    });
  }

  it('shows an APDU charge through FeliCa Read, and a FeliCa write through the APDU view', () => {
    const card = cardWith();
    const s = session(card);
    s.send(SM, EMONEY.insAmountChange, 1, 0, change(1, 'aa00000000000001', 2000), 256);
    expect(feliBalance(card)).toBe(3000);
    expect(bytesToHex(felicaRead(card, 0x11cf).subarray(0, 8))).toBe('aa00000000000001');
    // FeliCa Write Without Encryption: cashback 500 through 1153 with a log record through 120D.
    const purse = purseBlock.encode({
      balance: 0,
      userData: new Uint8Array(6),
      lastAmount: 500,
      executionId: 9,
    });
    const rec = logRecord.encode({
      chargeId: hexToBytes('bb00000000000002'),
      amount: 500,
      kind: 1,
      day: 2,
      origin: 7,
    });
    const w = card.felica(
      felicaFrame(card, 0x08, `0253110d120280008100${bytesToHex(purse)}${bytesToHex(rec)}`),
    );
    expect(bytesToHex(w!.subarray(10, 12))).toBe('0000');
    const b = s.send(SM, EMONEY.insGetBalance, 0, 0, undefined, 256);
    expect([balanceOf(b.data), eidOf(b.data)]).toEqual([3500, 9]);
    const log = s.send(SM, EMONEY.insReadLog, 0, 1, undefined, 256).data;
    expect(bytesToHex(log)).toBe(bytesToHex(rec));
  });

  it('refuses a duplicate charge ID, and the image is unchanged', () => {
    const card = cardWith();
    const s = session(card);
    s.send(SM, EMONEY.insAmountChange, 1, 0, change(1, 'cc00000000000003', 100), 256);
    const before = imageHex(card);
    for (const kind of [1, 2]) {
      const r = s.send(SM, EMONEY.insAmountChange, kind, 0, change(kind, 'cc00000000000003', 50), 256);
      expect([r.sw, r.protected, r.data.length]).toEqual([VALUE_SW.DUPLICATE_CHARGE_ID, true, 0]);
    }
    const r = s.send(SM, EMONEY.insAmountChange, 3, 0, change(3, 'cc00000000000003', 5, 1), 256);
    expect(r.sw).toBe(VALUE_SW.DUPLICATE_CHARGE_ID);
    expect(imageHex(card)).toBe(before);
  });

  it('refuses INSUFFICIENT, OVER_MAX and STALE_BALANCE with MACed answers, changing nothing', () => {
    const card = cardWith('2k3des', 5000);
    const s = session(card);
    const before = imageHex(card);
    expect(s.send(SM, EMONEY.insAmountChange, 2, 0, change(2, 'd000000000000001', 1001), 256).sw).toBe(
      VALUE_SW.INSUFFICIENT,
    );
    expect(s.send(SM, EMONEY.insAmountChange, 1, 0, change(1, 'd000000000000002', 4001), 256).sw).toBe(
      VALUE_SW.OVER_MAX,
    );
    expect(s.send(SM, EMONEY.insAmountChange, 3, 0, change(3, 'd000000000000003', 6000, 0), 256).sw).toBe(
      VALUE_SW.OVER_MAX,
    );
    expect(s.send(SM, EMONEY.insAmountChange, 3, 0, change(3, 'd000000000000004', 10, 7), 256).sw).toBe(
      VALUE_SW.STALE_BALANCE,
    );
    expect(imageHex(card)).toBe(before);
    // Subtracting to exactly 0 and adding to exactly the maximum are allowed.
    expect(
      balanceOf(s.send(SM, EMONEY.insAmountChange, 2, 0, change(2, 'd000000000000005', 1000), 256).data),
    ).toBe(0);
    expect(
      balanceOf(s.send(SM, EMONEY.insAmountChange, 1, 0, change(1, 'd000000000000006', 5000), 256).data),
    ).toBe(5000);
  });

  it('picks another execution ID when chargeId bytes 0-1 repeat the stored one', () => {
    const card = cardWith();
    const s = session(card);
    expect(eidOf(s.send(SM, EMONEY.insAmountChange, 1, 0, change(1, '3412000000000001', 1), 256).data)).toBe(
      0x1234,
    );
    const r = s.send(SM, EMONEY.insAmountChange, 1, 0, change(1, '3412000000000002', 1), 256);
    expect([r.sw, eidOf(r.data), balanceOf(r.data)]).toEqual([0x9000, 0x1235, 1002]);
  });

  it('refuses wrong P1-P2 and lengths inside SM', () => {
    const card = cardWith();
    const s = session(card);
    expect(s.send(SM, EMONEY.insGetBalance, 1, 0, undefined, 256).sw).toBe(0x6a86);
    expect(s.send(SM, EMONEY.insAmountChange, 4, 0, change(1, 'e000000000000001', 1), 256).sw).toBe(0x6a86);
    expect(s.send(SM, EMONEY.insAmountChange, 0, 0, change(1, 'e000000000000001', 1), 256).sw).toBe(0x6a86);
    expect(s.send(SM, EMONEY.insAmountChange, 1, 1, change(1, 'e000000000000001', 1), 256).sw).toBe(0x6a86);
    expect(s.send(SM, EMONEY.insAmountChange, 1, 0, change(1, 'e000000000000001', 1, 0), 256).sw).toBe(
      0x6700,
    );
    expect(s.send(SM, EMONEY.insAmountChange, 3, 0, change(3, 'e000000000000001', 1), 256).sw).toBe(0x6700);
    expect(s.send(SM, EMONEY.insGetBalance, 0, 0, undefined, 256).sw).toBe(0x9000);
  });

  it('ends the session on a wrong MAC, and needs a session naming the area or the services', () => {
    const card = cardWith();
    const s = session(card);
    const raw = s.wrap(SM, EMONEY.insAmountChange, 1, 0, change(1, 'f000000000000001', 5));
    raw[raw.length - 3]! ^= 1;
    const before = imageHex(card);
    expect(sw(card.apdu(raw))).toBe(0x6988);
    expect(send(card, bytesToHex(s.wrap(SM, EMONEY.insGetBalance, 0, 0)))).toBe(0x6982);
    expect(imageHex(card)).toBe(before);
    // A session on the purse service alone reads the balance but cannot write without the log.
    const p = session(card, suite2, [0x1092], [VKEYS.purse]);
    expect(p.send(SM, EMONEY.insGetBalance, 0, 0, undefined, 256).sw).toBe(0x9000);
    expect(p.send(SM, EMONEY.insAmountChange, 1, 0, change(1, 'f000000000000002', 5), 256).sw).toBe(0x6982);
    expect(imageHex(card)).toBe(before);
    // Outside the area: 6982 at AUTHENTICATE (the firewall).
    expect(authenticate(card, suite2, [0x2000], [VKEYS.other])).toBe(0x6982);
    expect(sw(card.apdu(buildCommandApdu(0x80, AUTHENTICATE.ins, 1, 0, new Uint8Array(16), 256)))).toBe(
      0x6985,
    );
  });

  it('needs a purse service for the change (6A81) and a purse it can name (6A88); SELECT ends the session', () => {
    // A cashback-only purse: add works, subtract and overwrite have no service (no decrement, no direct).
    const profile = parseProfile({
      chip: { blocks: 256 },
      systems: [
        {
          systemCode: '12fc',
          areas: [
            {
              code: '0000',
              end: 'fffe',
              capacity: 40,
              key: { value: VKEYS.root },
              services: [
                { code: '004c', blocks: 2, key: { value: VKEYS.log } },
                { code: '0052', key: { value: VKEYS.purse }, purse: { balance: 10, log: '004c' } },
              ],
            },
          ],
        },
      ],
      applets: [
        { kind: 'emoney', aid: EMONEY_AID, area: '0000' },
        { kind: 'emoney', aid: `${EMONEY_AID}02`, area: '0000' },
      ],
    });
    const factories = new Map([
      [
        APPLET_KINDS.emoney,
        (e: AppletEntry) => new EmoneyApplet(e, e.aid.length > 7 ? { purse: 0x0090 } : {}),
      ],
    ]);
    const card = new Card(cardImageFromProfile(profile), {
      random: new SeededRandom(1),
      applets: appletRuntime(factories),
    });
    card.powerOn();
    expect(selectAid(card, EMONEY_AID)).toBe(0x9000);
    const s = session(card, suite2, [0x0000], [VKEYS.root]);
    expect(
      balanceOf(s.send(SM, EMONEY.insAmountChange, 1, 0, change(1, '0100000000000001', 5), 256).data),
    ).toBe(15);
    expect(s.send(SM, EMONEY.insAmountChange, 2, 0, change(2, '0100000000000002', 5), 256).sw).toBe(0x6a81);
    expect(s.send(SM, EMONEY.insAmountChange, 3, 0, change(3, '0100000000000003', 5, 0), 256).sw).toBe(
      0x6a81,
    );
    expect(selectAid(card, `${EMONEY_AID}02`)).toBe(0x9000);
    // The old session ended with the SELECT.
    expect(send(card, bytesToHex(s.wrap(SM, EMONEY.insGetBalance, 0, 0)))).toBe(0x6982);
    const t = session(card, suite2, [0x0000], [VKEYS.root]);
    expect(t.send(SM, EMONEY.insGetBalance, 0, 0, undefined, 256).sw).toBe(0x6a88);
  });

  for (const [kind, amount, after] of [
    [1, 300, 1310],
    [2, 300, 710],
    [3, 4321, 4321],
  ] as const) {
    it(`leaves the old or the new state at every power cut of AMOUNT CHANGE (P1 0${kind})`, () => {
      let raw: Uint8Array = new Uint8Array(0);
      const setup = (): Card => {
        const card = cardWith();
        const s = session(card);
        s.send(SM, EMONEY.insAmountChange, 1, 0, change(1, '0a00000000000001', 10), 256);
        // The add stored execution ID 000A (chargeId bytes 0-1, little-endian).
        const eid = kind === 3 ? 0x000a : undefined;
        raw = s.wrap(SM, EMONEY.insAmountChange, kind, 0, change(kind, '0b00000000000002', amount, eid));
        return card;
      };
      const r = tearingSweep({ setup, command: (card) => card.apdu(raw) });
      // Every recovered image is the old or the new one, so purse and log always agree.
      expect(r.failures).toEqual([]);
      expect(r.bytes).toBeGreaterThan(0);
      expect(r.oldState).toBeGreaterThan(0);
      expect(r.newState).toBeGreaterThan(0);
      const card = setup();
      expect(sw(card.apdu(raw))).toBe(0x9000);
      expect(feliBalance(card)).toBe(after);
      expect(bytesToHex(felicaRead(card, 0x11cf).subarray(0, 8))).toBe('0b00000000000002');
    });
  }
});
