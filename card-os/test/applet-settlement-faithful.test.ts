// The settlement applet's faithful mode (flows.md 4.2 (F)): mode byte 01 in the ID block; SECURE
// COMMAND is the encrypted DO only (no MAC, no counter), and VALUE UPDATE may come directly under KC.
// The CBC bit flip over the SPC amount and the replay with a corrupted charge-ID block succeed here and
// fail (6988 / 6982) on the same card in hardened mode.
import { describe, expect, it } from 'vitest';
import { buildCommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { SETTLEMENT } from '@mica/apdu-specs/apdu/emoney-settlement';
import {
  SETTLEMENT_KC_DIRECT,
  faithfulCommandData,
  openFaithfulResponse,
} from '@mica/apdu-specs/apdu/settlement-envelope';
import { createBlockCipher, type BlockCipher } from '@mica/apdu-specs/crypto/block-cipher';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import { synthesizeAccessKey } from '@mica/apdu-specs/secure/synthesis';
import type { Card } from '../src/card';
import { authenticate, body, opened, selectAid, sw } from './apdu-fixtures';
import { SETTLEMENT_AID, VKEYS, defaultCard, felicaRead } from './applet-value-fixtures';

const { spc, valueUpdate, brc } = SETTLEMENT.inner;
const be32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const u32 = (d: Uint8Array, i = 0): number =>
  ((d[i]! << 24) | (d[i + 1]! << 16) | (d[i + 2]! << 8) | d[i + 3]!) >>> 0;

function card(mode: 0 | 1): Card {
  const profile = parseProfile(
    JSON.parse(
      JSON.stringify({
        chip: { blocks: 512, suite: '2k3des' },
        systems: [
          {
            systemCode: '12fc',
            areas: [
              {
                code: '0000',
                end: 'fffe',
                capacity: 200,
                key: { value: VKEYS.root },
                areas: [
                  {
                    code: '3000',
                    end: '37ff',
                    capacity: 40,
                    key: { value: VKEYS.area },
                    services: [
                      {
                        code: '300b',
                        blocks: 1,
                        data: [`0102030405060708${mode ? '01' : '00'}`.padEnd(32, '0')],
                      },
                      { code: '304c', blocks: 16, key: { value: VKEYS.area } },
                      {
                        code: '3090',
                        key: { value: VKEYS.area },
                        purse: { balance: 5000, maxBalance: 100_000, log: '304c' },
                      },
                    ],
                  },
                ],
              },
            ],
          },
        ],
        // config.mode: byte 8 of the ID block (300b) becomes 01 for faithful.
        applets: [
          {
            kind: 'settlement',
            aid: SETTLEMENT_AID,
            area: '3000',
            config: { mode: mode ? 'faithful' : 'hardened' },
          },
        ],
      }),
    ) as unknown,
  );
  const c = defaultCard(profile);
  expect(selectAid(c, SETTLEMENT_AID)).toBe(0x9000);
  return c;
}

function felicaReadIdBlock(c: Card): Uint8Array {
  return felicaRead(c, 0x300b);
}

const balanceOf = (c: Card): number => u32(body(c.apdu(hexToBytes('80ca000000'))!), 8);

function spcData(chargeId: string, amount: number): Uint8Array {
  return Uint8Array.of(
    ...hexToBytes(chargeId),
    ...hexToBytes('4f52442d30303031'),
    ...be32(amount),
    0x1b,
    0x3c,
    2,
    0,
    ...new Uint8Array(32).fill(0xb1),
  );
}

function updateData(chargeId: string, amount: number): Uint8Array {
  return Uint8Array.of(
    ...hexToBytes(chargeId),
    ...hexToBytes('70757030303031aa'),
    1,
    ...be32(amount),
    0x1b,
    0x3c,
    9,
  );
}

function kcCipher(): BlockCipher {
  const suite = suiteByName('2k3des');
  return createBlockCipher(suite.cipher, synthesizeAccessKey(suite, [hexToBytes(VKEYS.area)]));
}

function faithful(
  c: Card,
  cipher: BlockCipher,
  p1: number,
  p2: number,
  data: Uint8Array,
  mutate?: (d: Uint8Array) => void,
) {
  const d = faithfulCommandData(cipher, { cla: 0x80, ins: SETTLEMENT.insSecure, p1, p2, data, ne: 256 });
  mutate?.(d);
  const raw = c.apdu(buildCommandApdu(SETTLEMENT.smCla, SETTLEMENT.insSecure, p1, p2, d, 256))!;
  const b = body(raw);
  return { sw: sw(raw), inner: b.length ? openFaithfulResponse(cipher, b) : undefined, raw: d };
}

describe('settlement applet, faithful mode', () => {
  it('takes its mode from config.mode, written as byte 8 of the ID block; bad values are named', () => {
    const c = card(1);
    expect(bytesToHex(body(c.apdu(hexToBytes('80ca000000'))!))).toBe('0102030405060708' + '00001388');
    const blocks = felicaReadIdBlock(c);
    expect(bytesToHex(blocks)).toBe('010203040506070801' + '00'.repeat(7));
    const base = {
      chip: { blocks: 512, suite: '2k3des' },
      systems: [
        {
          systemCode: '12fc',
          areas: [
            {
              code: '0000',
              end: 'fffe',
              capacity: 10,
              areas: [{ code: '3000', end: '37ff', capacity: 10, services: [] }],
            },
          ],
        },
      ],
    };
    expect(() =>
      parseProfile({
        ...base,
        applets: [{ kind: 'settlement', aid: SETTLEMENT_AID, area: '3000', config: { mode: 'loose' } }],
      }),
    ).toThrow(/config.mode: must be "hardened" or "faithful"/);
    expect(() =>
      parseProfile({
        ...base,
        applets: [{ kind: 'settlement', aid: SETTLEMENT_AID, area: '3000', config: { mode: 'faithful' } }],
      }),
    ).toThrow(/needs the ID service/);
    expect(() =>
      parseProfile({
        ...base,
        applets: [{ kind: 'emoney', aid: SETTLEMENT_AID, area: '3000', config: { mode: 'faithful' } }],
      }),
    ).toThrow(/mode/);
  });

  it('runs BRC and SPC under the session key without a MAC, and answers without one', () => {
    const c = card(1);
    const s = opened(authenticate(c, suiteByName('2k3des'), [0x3000], [VKEYS.area]));
    const bi = faithful(c, s.keys.enc, brc, 0, new Uint8Array(0));
    expect([bi.sw, u32(bi.inner!.data)]).toEqual([0x9000, 5000]);
    const pcn = faithful(c, s.keys.enc, spc, 0, spcData('4f52442d30303031', 1200));
    expect([pcn.sw, u32(pcn.inner!.data, 8), u32(pcn.inner!.data, 12)]).toEqual([0x9000, 1200, 3800]);
  });

  it('debits an altered amount when a relay flips the ciphertext bits over it (integrity attack, F)', () => {
    const c = card(1);
    const s = opened(authenticate(c, suiteByName('2k3des'), [0x3000], [VKEYS.area]));
    // DO 87 = 87 41 01 ‖ C0 C1 C2 …: flipping C1 byte 2 (data offset 3 + 8 + 2) flips plaintext byte 18,
    // the amount's third byte: 00 00 04 b0 (1200) → 00 00 00 b0 (176).
    const pcn = faithful(c, s.keys.enc, spc, 0, spcData('4f52442d30303031', 1200), (d) => {
      d[3 + 8 + 2]! ^= 0x04;
    });
    expect([pcn.sw, u32(pcn.inner!.data, 8), u32(pcn.inner!.data, 12)]).toEqual([0x9000, 176, 4824]);
    expect(balanceOf(c)).toBe(4824);
  });

  it('credits twice when a KC-direct top-up is replayed with its charge-ID block corrupted (replay attack, F)', () => {
    const c = card(1);
    const kc = kcCipher();
    const first = faithful(c, kc, valueUpdate, SETTLEMENT_KC_DIRECT, updateData('7a00000000000002', 700));
    expect([first.sw, u32(first.inner!.data, 1)]).toEqual([0x9000, 5700]);
    const same = c.apdu(
      buildCommandApdu(
        SETTLEMENT.smCla,
        SETTLEMENT.insSecure,
        valueUpdate,
        SETTLEMENT_KC_DIRECT,
        first.raw,
        256,
      ),
    )!;
    expect(sw(same)).toBe(0x69e1);
    const replay = first.raw.slice();
    replay[3]! ^= 0xff;
    const again = c.apdu(
      buildCommandApdu(
        SETTLEMENT.smCla,
        SETTLEMENT.insSecure,
        valueUpdate,
        SETTLEMENT_KC_DIRECT,
        replay,
        256,
      ),
    )!;
    expect(sw(again)).toBe(0x9000);
    expect(balanceOf(c)).toBe(6400);
  });

  it('refuses both attacks in hardened mode, and KC-direct envelopes altogether', () => {
    const c = card(0);
    const kc = kcCipher();
    const direct = faithful(c, kc, valueUpdate, SETTLEMENT_KC_DIRECT, updateData('7a00000000000002', 700));
    expect(direct.sw).toBe(0x6982);
    const s = opened(authenticate(c, suiteByName('2k3des'), [0x3000], [VKEYS.area]));
    const apdu = s.wrap(SETTLEMENT.smCla, SETTLEMENT.insSecure, spc, 0, spcData('4f52442d30303031', 1200));
    apdu[5 + 3 + 8 + 2]! ^= 0x04;
    expect(sw(c.apdu(apdu)!)).toBe(0x6988);
    expect(balanceOf(c)).toBe(5000);
  });

  it('refuses a KC-direct envelope for any inner command but VALUE UPDATE, and a malformed envelope', () => {
    const c = card(1);
    expect(faithful(c, kcCipher(), brc, SETTLEMENT_KC_DIRECT, new Uint8Array(0)).sw).toBe(0x6982);
    opened(authenticate(c, suiteByName('2k3des'), [0x3000], [VKEYS.area]));
    expect(
      sw(
        c.apdu(
          buildCommandApdu(SETTLEMENT.smCla, SETTLEMENT.insSecure, spc, 0, Uint8Array.of(0x87, 2, 1, 0), 256),
        )!,
      ),
    ).toBe(0x6988);
    expect(balanceOf(c)).toBe(5000);
  });
});
