// The settlement applet of seed 002: GET DATA, AUTHENTICATE under KC, BRC, SPC, VALUE UPDATE and READ LOG under SM, and tearing of the debit.
import { describe, expect, it } from 'vitest';
import { buildCommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { SETTLEMENT, VALUE_SW } from '@mica/apdu-specs/apdu/emoney-settlement';
import { logRecord } from '@mica/apdu-specs/eeprom-records';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import { tearingSweep } from '@mica/tools/campaign/tearing';
import type { Card } from '../src/card';
import { authenticate, body, imageHex, opened, selectAid, send, sw, type HostSession } from './apdu-fixtures';
import { SETTLEMENT_AID, VKEYS, defaultCard, settlementProfile } from './applet-value-fixtures';

const SM = SETTLEMENT.smCla;
const INS = SETTLEMENT.insSecure;
const { brc, spc, valueUpdate, readLog } = SETTLEMENT.inner;
const be32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const u32 = (d: Uint8Array, i = 0): number =>
  ((d[i]! << 24) | (d[i + 1]! << 16) | (d[i + 2]! << 8) | d[i + 3]!) >>> 0;
const ORDER = hexToBytes('4f52442d30303031');
const BILL_HASH = new Uint8Array(32).fill(0xb1);

function spcData(chargeId: string, amount: number): Uint8Array {
  return Uint8Array.of(
    ...hexToBytes(chargeId),
    ...ORDER,
    ...be32(amount),
    0x1b,
    0x3c,
    0x02,
    0x00,
    ...BILL_HASH,
  );
}

function updateData(chargeId: string, op: number, amount: number): Uint8Array {
  return Uint8Array.of(
    ...hexToBytes(chargeId),
    ...hexToBytes('70757030303031aa'),
    op,
    ...be32(amount),
    0x1b,
    0x3c,
    0x09,
  );
}

function cardWith(suite: '2k3des' | 'aes128' = '2k3des', balance = 5000): Card {
  const card = defaultCard(settlementProfile(suite, balance));
  expect(selectAid(card, SETTLEMENT_AID)).toBe(0x9000);
  return card;
}

const session = (card: Card, suite = '2k3des'): HostSession =>
  opened(authenticate(card, suiteByName(suite), [0x3000], [VKEYS.area]));

describe('settlement applet', () => {
  it('answers SELECT with its FCI and GET DATA in plaintext without authentication', () => {
    const card = defaultCard(settlementProfile());
    const r = card.apdu(buildCommandApdu(0, 0xa4, 4, 0, hexToBytes(SETTLEMENT_AID), 256));
    expect(bytesToHex(r!)).toBe(`6f098407${SETTLEMENT_AID}9000`);
    expect(bytesToHex(card.apdu(hexToBytes('80ca000000'))!)).toBe('0102030405060708000013889000');
    expect(send(card, '80ca010000')).toBe(0x6a86);
    expect(send(card, '80c2010000')).toBe(0x6982);
    expect(send(card, '80ee000000')).toBe(0x6d00);
    expect(send(card, '00ca000000')).toBe(0x6d00);
  });

  for (const name of ['2k3des', 'aes128'] as const) {
    it(`reads the balance (BRC), debits (SPC → PCN), tops up and reads the log (${name})`, () => {
      const card = cardWith(name);
      const s = session(card, name);
      const bi = s.send(SM, INS, brc, 0, undefined, 256);
      expect([bi.sw, u32(bi.data), bi.protected]).toEqual([0x9000, 5000, true]);
      const pcn = s.send(SM, INS, spc, 0, spcData('5e00000000000001', 1200), 256);
      expect(pcn.sw).toBe(0x9000);
      expect(bytesToHex(pcn.data)).toBe(`${bytesToHex(ORDER)}000004b000000ed8`);
      const up = s.send(SM, INS, valueUpdate, 0, updateData('7a00000000000002', 1, 700), 256);
      expect([up.sw, bytesToHex(up.data)]).toEqual([0x9000, '0100001194']);
      const down = s.send(SM, INS, valueUpdate, 0, updateData('7a00000000000003', 2, 500), 256);
      expect([down.sw, u32(down.data, 1)]).toEqual([0x9000, 4000]);
      const log = s.send(SM, INS, readLog, 0, undefined, 256).data;
      const recs = [0, 1, 2].map((i) => logRecord.decode(log.subarray(16 * i, 16 * i + 16)));
      expect(log).toHaveLength(48);
      expect(recs.map((r) => [bytesToHex(r.chargeId), r.amount, r.kind, r.origin])).toEqual([
        ['7a00000000000003', 500, 2, 9],
        ['7a00000000000002', 700, 1, 9],
        ['5e00000000000001', 1200, 2, 2],
      ]);
      expect(s.send(SM, INS, readLog, 1, undefined, 256).data).toHaveLength(16);
      expect(bytesToHex(body(card.apdu(hexToBytes('80ca000000'))).subarray(8))).toBe('00000fa0');
    });
  }

  it('refuses a debit above the balance, a duplicate charge ID and a top-up over the maximum, changing nothing', () => {
    const card = cardWith('2k3des', 1000);
    const s = session(card);
    s.send(SM, INS, spc, 0, spcData('5e00000000000001', 100), 256);
    const before = imageHex(card);
    const r1 = s.send(SM, INS, spc, 0, spcData('5e00000000000002', 901), 256);
    expect([r1.sw, r1.protected]).toEqual([VALUE_SW.INSUFFICIENT, true]);
    expect(s.send(SM, INS, spc, 0, spcData('5e00000000000001', 100), 256).sw).toBe(
      VALUE_SW.DUPLICATE_CHARGE_ID,
    );
    expect(s.send(SM, INS, valueUpdate, 0, updateData('5e00000000000001', 1, 1), 256).sw).toBe(
      VALUE_SW.DUPLICATE_CHARGE_ID,
    );
    expect(s.send(SM, INS, valueUpdate, 0, updateData('5e00000000000003', 1, 99_101), 256).sw).toBe(
      VALUE_SW.OVER_MAX,
    );
    expect(imageHex(card)).toBe(before);
  });

  it('refuses malformed inner commands inside SM', () => {
    const card = cardWith();
    const s = session(card);
    expect(s.send(SM, INS, 0x05, 0, undefined, 256).sw).toBe(0x6a86);
    expect(s.send(SM, INS, brc, 1, undefined, 256).sw).toBe(0x6a86);
    expect(s.send(SM, INS, spc, 0, spcData('5e00000000000001', 1).subarray(0, 55), 256).sw).toBe(0x6700);
    expect(s.send(SM, INS, valueUpdate, 0, updateData('5e00000000000001', 3, 1), 256).sw).toBe(0x6a80);
    expect(s.send(SM, INS, valueUpdate, 0, updateData('5e00000000000001', 1, 1).subarray(1), 256).sw).toBe(
      0x6700,
    );
    expect(s.send(SM, INS, brc, 0, undefined, 256).sw).toBe(0x9000);
  });

  it('needs KC: another key fails AUTHENTICATE, a flipped ciphertext bit gives 6988 and nothing debited', () => {
    const card = cardWith();
    expect(authenticate(card, suiteByName('2k3des'), [0x3000], [VKEYS.other])).toBe(0x6982);
    const s = session(card);
    const raw = s.wrap(SM, INS, spc, 0, spcData('5e00000000000001', 1200));
    // The amount's cipher block (bytes 16-23 of the plaintext) sits at DO 87 bytes 3 + 16.
    raw[5 + 3 + 16]! ^= 0x01;
    const before = imageHex(card);
    expect(sw(card.apdu(raw))).toBe(0x6988);
    expect(imageHex(card)).toBe(before);
    expect(send(card, bytesToHex(s.wrap(SM, INS, brc, 0)))).toBe(0x6982);
  });

  it('opens only with the common key: a session on a service alone is refused inside SM', () => {
    const card = cardWith();
    const s = opened(authenticate(card, suiteByName('2k3des'), [0x304c], [VKEYS.area]));
    const r = s.send(SM, INS, brc, 0, undefined, 256);
    expect([r.sw, r.protected]).toEqual([0x6982, true]);
    expect(selectAid(card, SETTLEMENT_AID)).toBe(0x9000);
    expect(send(card, bytesToHex(s.wrap(SM, INS, brc, 0)))).toBe(0x6982);
  });

  it('leaves the old or the new state at every power cut of the SPC debit', () => {
    let raw: Uint8Array = new Uint8Array(0);
    const setup = (): Card => {
      const card = cardWith();
      raw = session(card).wrap(SM, INS, spc, 0, spcData('5e00000000000009', 1200));
      return card;
    };
    const r = tearingSweep({ setup, command: (card) => card.apdu(raw) });
    expect(r.failures).toEqual([]);
    expect(r.oldState).toBeGreaterThan(0);
    expect(r.newState).toBeGreaterThan(0);
  });
});
