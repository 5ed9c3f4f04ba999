// The e-money and settlement clients against the card's default runtime, in process: values, refusals, the FeliCa view.
import { describe, expect, it } from 'vitest';
import { VALUE_SW } from '@mica/apdu-specs/apdu/emoney-settlement';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';
import { ApduClient } from '../src/apdu/apdu-client';
import { LocalAppletKeys, type RandomBytes } from '../src/applets/applet-keys';
import { EmoneyClient } from '../src/applets/emoney-client';
import { SettlementClient } from '../src/applets/settlement-client';
import { InProcessTransport } from '../src/transport/in-process';

const ROOT = '00112233445566778899aabbccddeeff';
const KC = '0f0e0d0c0b0a09080706050403020100';
const EMONEY_AID = hexToBytes('a0000006ef454d');
const SETTLEMENT_AID = hexToBytes('a0000006ef5354');

function profile(suite: '2k3des' | 'aes128') {
  return parseProfile({
    chip: { blocks: 512, suite },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 200,
            key: { value: ROOT },
            areas: [
              {
                code: '1000',
                end: '17ff',
                capacity: 40,
                key: { value: KC },
                services: [
                  { code: '118c', blocks: 4, key: { value: KC } },
                  {
                    code: '1050',
                    key: { value: KC },
                    purse: { balance: 1000, maxBalance: 5000, log: '118c' },
                  },
                  { code: '1117', overlaps: '1050' },
                ],
              },
              {
                code: '3000',
                end: '37ff',
                capacity: 40,
                key: { value: KC },
                services: [
                  { code: '300b', blocks: 1, data: ['c0ffee0000000001'.padEnd(32, '0')] },
                  { code: '304c', blocks: 16, key: { value: KC } },
                  { code: '3090', key: { value: KC }, purse: { balance: 5000, log: '304c' } },
                ],
              },
            ],
          },
        ],
      },
    ],
    applets: [
      { kind: 'emoney', aid: bytesToHex(EMONEY_AID), area: '1000' },
      { kind: 'settlement', aid: bytesToHex(SETTLEMENT_AID), area: '3000' },
    ],
  });
}

/** A deterministic random source for the reader's RndA. */
function counterRandom(): RandomBytes {
  let n = 0;
  return (len) => Uint8Array.from({ length: len }, () => (n = (n * 73 + 41) & 0xff));
}

function setup(suite: '2k3des' | 'aes128') {
  const card = new Card(cardImageFromProfile(profile(suite)), { random: new SeededRandom(3) });
  card.powerOn();
  const client = new ApduClient(new InProcessTransport(card));
  const keys = (area: number, key = KC) =>
    new LocalAppletKeys(suite, [{ code: area, key: hexToBytes(key) }], counterRandom());
  return { card, client, keys };
}

const id = (hex: string): Uint8Array => hexToBytes(hex);

describe('applet clients', () => {
  for (const suite of ['2k3des', 'aes128'] as const) {
    it(`e-money: balance, add, subtract, overwrite, log and refusals as values (${suite})`, async () => {
      const { card, client, keys } = setup(suite);
      const em = new EmoneyClient(client, EMONEY_AID);
      expect((await em.select()).ok).toBe(true);
      await expect(em.getBalance()).rejects.toThrow(/AUTHENTICATE first/);
      expect((await em.authenticate(keys(0x1000))).ok).toBe(true);
      expect(await em.getBalance()).toEqual({ ok: true, balance: 1000, executionId: 0 });
      const add = await em.amountChange({
        kind: 'add',
        amount: 2000,
        chargeId: id('0101010101010101'),
        day: 1,
        origin: 2,
      });
      expect(add).toMatchObject({ ok: true, balance: 3000 });
      const dup = await em.amountChange({
        kind: 'add',
        amount: 2000,
        chargeId: id('0101010101010101'),
        day: 1,
        origin: 2,
      });
      expect(dup).toEqual({ ok: false, sw: VALUE_SW.DUPLICATE_CHARGE_ID, name: 'DUPLICATE_CHARGE_ID' });
      const over = await em.amountChange({
        kind: 'add',
        amount: 2001,
        chargeId: id('0202020202020202'),
        day: 1,
        origin: 2,
      });
      expect(over).toMatchObject({ ok: false, name: 'OVER_MAX' });
      const low = await em.amountChange({
        kind: 'subtract',
        amount: 3001,
        chargeId: id('0303030303030303'),
        day: 1,
        origin: 2,
      });
      expect(low).toMatchObject({ ok: false, name: 'INSUFFICIENT' });
      const b = await em.getBalance();
      if (!b.ok) throw new Error('balance');
      const stale = await em.amountChange({
        kind: 'overwrite',
        amount: 10,
        chargeId: id('0404040404040404'),
        day: 1,
        origin: 2,
        executionId: (b.executionId + 5) & 0xffff,
      });
      expect(stale).toMatchObject({ ok: false, name: 'STALE_BALANCE' });
      const ow = await em.amountChange({
        kind: 'overwrite',
        amount: 2500,
        chargeId: id('0505050505050505'),
        day: 1,
        origin: 2,
        executionId: b.executionId,
      });
      expect(ow).toEqual({ ok: true, balance: 2500, executionId: (b.executionId + 1) & 0xffff });
      const log = await em.readLog();
      if (!log.ok) throw new Error('log');
      expect(log.records.map((r) => [bytesToHex(r.chargeId), r.amount, r.kind])).toEqual([
        ['0505050505050505', 2500, 3],
        ['0101010101010101', 2000, 1],
      ]);
      // The same purse through FeliCa Read Without Encryption of the keyless read-only overlap 1117.
      const frame = Uint8Array.of(0, 0x06, ...card.fs.idm(0), 1, 0x17, 0x11, 1, 0x80, 0);
      frame[0] = frame.length;
      const f = card.felica(frame)!;
      expect(bytesToHex(f.subarray(13, 17))).toBe('c4090000');
      // A wrong key: AUTHENTICATE refused.
      expect(await em.authenticate(keys(0x1000, ROOT))).toEqual({ ok: false, sw: 0x6982 });
    });

    it(`settlement: GET DATA, authenticate under KC, BRC, SPC, VALUE UPDATE, READ LOG (${suite})`, async () => {
      const { client, keys } = setup(suite);
      const st = new SettlementClient(client, SETTLEMENT_AID);
      expect((await st.select()).ok).toBe(true);
      const data = await st.getData();
      expect(data.ok && [bytesToHex(data.cardId), data.balance]).toEqual(['c0ffee0000000001', 5000]);
      expect((await st.authenticate(keys(0x3000))).ok).toBe(true);
      expect(await st.balance()).toEqual({ ok: true, balance: 5000 });
      const pay = {
        chargeId: id('5e5e5e5e5e5e5e01'),
        orderNo: id('4f52442d30303031'),
        amount: 1200,
        day: 3,
        origin: 4,
        billHash: new Uint8Array(32).fill(7),
      };
      const pcn = await st.pay(pay);
      expect(pcn.ok && [bytesToHex(pcn.orderNo), pcn.debited, pcn.newBalance]).toEqual([
        '4f52442d30303031',
        1200,
        3800,
      ]);
      expect(await st.pay(pay)).toMatchObject({ ok: false, name: 'DUPLICATE_CHARGE_ID' });
      expect(await st.pay({ ...pay, chargeId: id('5e5e5e5e5e5e5e02'), amount: 3801 })).toMatchObject({
        ok: false,
        name: 'INSUFFICIENT',
      });
      const up = await st.valueUpdate({
        chargeId: id('70707070707070a1'),
        topUpId: id('a1a1a1a1a1a1a1a1'),
        op: 'add',
        amount: 200,
        day: 3,
        origin: 1,
      });
      expect(up).toEqual({ ok: true, newBalance: 4000 });
      const log = await st.readLog();
      expect(log.ok && log.records.map((r) => [bytesToHex(r.chargeId), r.amount, r.kind])).toEqual([
        ['70707070707070a1', 200, 1],
        ['5e5e5e5e5e5e5e01', 1200, 2],
      ]);
      // Another system's KC cannot open the card.
      expect(await st.authenticate(keys(0x3000, ROOT))).toEqual({ ok: false, sw: 0x6982 });
    });
  }
});
