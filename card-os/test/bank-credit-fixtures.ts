// Fixtures of the bank and credit applet tests: a profile with both applets, personalisation, tokens.
import { pinBlock } from '@mica/apdu-specs/apdu/applet-commands';
import { BANK_CREDIT, SLOT_BLOCKS } from '@mica/apdu-specs/apdu/bank-credit';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { installPin } from '../src/apdu/pin';
import { Card } from '../src/card';
import { cardImageFromProfile } from '../src/factory';
import { grantShare } from '../src/fs/applet-registry';
import { FileSystem } from '../src/fs/fs';
import type { Eeprom } from '../src/hal/eeprom';
import { SeededRandom } from '../src/random';

export const BC_KEYS = {
  root: '00112233445566778899aabbccddeeff',
  bankArea: '101112131415161718191a1b1c1d1e1f',
  bankAccount: '202122232425262728292a2b2c2d2e2f',
  bankStore: '303132333435363738393a3b3c3d3e3f',
  creditArea: '404142434445464748494a4b4c4d4e4f',
  creditPin: '505152535455565758595a5b5c5d5e5f',
  creditData: '606162636465666768696a6b6c6d6e6f',
  creditStore: '707172737475767778797a7b7c7d7e7f',
  creditMarks: '808182838485868788898a8b8c8d8e8f',
  creditKeys: '909192939495969798999a9b9c9d9e9f',
} as const;

export const BANK_AID = 'a0000006ef42414e4b';
export const CREDIT_AID = 'a0000006ef435244';
export const BANK_AREA = 0x3000;
export const CREDIT_AREA = 0x4000;
export const PIN = pinBlock('9999');

const ascii = (s: string, n: number): string =>
  bytesToHex(Uint8Array.from({ length: n }, (_, i) => (i < s.length ? s.charCodeAt(i) : 0)));

/** bankId "MICABANK", accountNo "0012345678", userId "U0001". */
export const ACCOUNT_HEX = ascii('MICABANK', 8) + ascii('0012345678', 16) + ascii('U0001', 8);
/** 987654321, expiry 27/12, YAMADA TARO. */
export const CARD_DATA_HEX = '987654321fffffffffff' + '2712' + '00000000' + ascii('YAMADA TARO', 32);

/** Bank area 3000 (account 3008, store 3048), credit area 4000 (PIN, data, store, marks, keys). */
export function bankCreditProfile(suite: '2k3des' | 'aes128' = '2k3des', slots = 2) {
  const svc = (code: string, blocks: number, key: string, data?: string) => ({
    code,
    blocks,
    key: { value: key },
    ...(data ? { data: data.match(/.{32}/g) ?? [] } : {}),
  });
  return parseProfile({
    chip: { blocks: 1024, suite },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 400,
            key: { value: BC_KEYS.root },
            areas: [
              {
                code: '3000',
                end: '37ff',
                capacity: 120,
                key: { value: BC_KEYS.bankArea },
                services: [
                  svc('3008', 2, BC_KEYS.bankAccount, ACCOUNT_HEX),
                  svc('3048', slots * SLOT_BLOCKS, BC_KEYS.bankStore),
                ],
              },
              {
                code: '4000',
                end: '47ff',
                capacity: 140,
                key: { value: BC_KEYS.creditArea },
                services: [
                  svc('4008', 2, BC_KEYS.creditPin),
                  svc('4048', 3, BC_KEYS.creditData, CARD_DATA_HEX),
                  svc('4088', slots * SLOT_BLOCKS, BC_KEYS.creditStore),
                  svc('40c8', 2, BC_KEYS.creditMarks),
                  svc('4108', 4, BC_KEYS.creditKeys),
                ],
              },
            ],
          },
        ],
      },
    ],
    applets: [
      { kind: 'bank', aid: BANK_AID, area: '3000' },
      { kind: 'credit', aid: CREDIT_AID, area: '4000' },
    ],
  });
}

/** A personalised image: credit PIN 9999 (unblocking code 12345678), and the Fig. 14 grant when `share`. */
export function bankCreditImage(
  options: { share?: boolean; marksToBank?: boolean; suite?: '2k3des' | 'aes128'; slots?: number } = {},
): Eeprom {
  const eeprom = cardImageFromProfile(bankCreditProfile(options.suite, options.slots));
  const fs = new FileSystem(eeprom);
  installPin(
    fs,
    { scope: { system: 0, area: CREDIT_AREA }, service: CREDIT_AREA + 0x08 },
    {
      pin: PIN,
      puk: pinBlock('12345678'),
    },
  );
  if (options.share ?? true)
    grantShare(fs, { system: 0, service: BANK_AREA + 0x48, granteeArea: CREDIT_AREA });
  if (options.marksToBank) grantShare(fs, { system: 0, service: CREDIT_AREA + 0xc8, granteeArea: BANK_AREA });
  return eeprom;
}

/** A powered card on the default runtime (the bank and credit factories are registered there). */
export function bankCreditCard(eeprom: Eeprom = bankCreditImage(), seed = 11): Card {
  const card = new Card(eeprom, { random: new SeededRandom(seed) });
  card.powerOn();
  return card;
}

export interface TestToken {
  readonly tokenId: Uint8Array;
  readonly company: Uint8Array;
  readonly until: number;
  readonly envelope: Uint8Array;
}

/** A token with an opaque envelope of `length` bytes (the applets never look inside). */
export function testToken(n: number, length = 40, until = 9000): TestToken {
  return {
    tokenId: Uint8Array.from({ length: 16 }, (_, i) => (n * 16 + i) & 0xff),
    company: hexToBytes(ascii('CREDITCO', 8)),
    until,
    envelope: Uint8Array.from({ length }, (_, i) => (i * 7 + n) & 0xff),
  };
}

export function putData(t: TestToken, today = 8000): Uint8Array {
  const d = new Uint8Array(32 + t.envelope.length);
  const v = new DataView(d.buffer);
  v.setUint32(0, today);
  d.set(t.tokenId, 4);
  d.set(t.company, 20);
  v.setUint32(28, t.until);
  d.set(t.envelope, 32);
  return d;
}

export { BANK_CREDIT };
