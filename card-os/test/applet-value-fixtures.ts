// Shared fixtures of the e-money and settlement applet tests: profiles, cards on the default runtime, FeliCa frames.
import { hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '../src/card';
import { cardImageFromProfile } from '../src/factory';
import { SeededRandom } from '../src/random';

export const EMONEY_AID = 'a0000006ef454d';
export const SETTLEMENT_AID = 'a0000006ef5354';

export const VKEYS = {
  root: '00112233445566778899aabbccddeeff',
  area: '0f0e0d0c0b0a09080706050403020100',
  purse: '1212121212121212abababababababab',
  log: '3434343434343434cdcdcdcdcdcdcdcd',
  other: 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf',
} as const;

/**
 * E-money area 1000-17FF: log 118C (4 records, keyed) with overlaps 11CF (read-only, no key) and 120D
 * (read-write, no key); purse 1050 (direct, keyed; balance 1000, max 50000) with overlaps 1092
 * (cashback), 10D4 (decrement), 1117 (read-only, no key) and 1153 (cashback, no key). Area 2000-27FF
 * is another applet's (2008 keyed random).
 */
export function emoneyProfile(suite: '2k3des' | 'aes128' = '2k3des', maxBalance = 50_000) {
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
            key: { value: VKEYS.root },
            areas: [
              {
                code: '1000',
                end: '17ff',
                capacity: 60,
                key: { value: VKEYS.area },
                services: [
                  { code: '118c', blocks: 4, key: { value: VKEYS.log } },
                  { code: '11cf', overlaps: '118c' },
                  { code: '120d', overlaps: '118c' },
                  {
                    code: '1050',
                    key: { value: VKEYS.purse },
                    purse: { balance: 1000, maxBalance, log: '118c' },
                  },
                  { code: '1092', overlaps: '1050', key: { value: VKEYS.purse } },
                  { code: '10d4', overlaps: '1050', key: { value: VKEYS.purse } },
                  { code: '1117', overlaps: '1050' },
                  { code: '1153', overlaps: '1050' },
                ],
              },
              {
                code: '2000',
                end: '27ff',
                capacity: 20,
                key: { value: VKEYS.other },
                services: [{ code: '2008', blocks: 1, key: { value: VKEYS.other } }],
              },
            ],
          },
        ],
      },
    ],
    applets: [{ kind: 'emoney', aid: EMONEY_AID, area: '1000' }],
  });
}

/**
 * Settlement area 3000-37FF whose only key is the common key KC (the area's; the keyed services carry
 * the same value): card ID 300B (random read-only, no key), log 304C (16 records), purse 3090 (direct;
 * balance 5000, max 100000).
 */
export function settlementProfile(suite: '2k3des' | 'aes128' = '2k3des', balance = 5000) {
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
            key: { value: VKEYS.root },
            areas: [
              {
                code: '3000',
                end: '37ff',
                capacity: 40,
                key: { value: VKEYS.area },
                services: [
                  { code: '300b', blocks: 1, data: ['0102030405060708'.padEnd(32, '0')] },
                  { code: '304c', blocks: 16, key: { value: VKEYS.area } },
                  {
                    code: '3090',
                    key: { value: VKEYS.area },
                    purse: { balance, maxBalance: 100_000, log: '304c' },
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
    applets: [{ kind: 'settlement', aid: SETTLEMENT_AID, area: '3000' }],
  });
}

/** A powered card on the default runtime (the e-money and settlement factories registered). */
export function defaultCard(profile: ReturnType<typeof parseProfile>, seed = 7): Card {
  const card = new Card(cardImageFromProfile(profile), { random: new SeededRandom(seed) });
  card.powerOn();
  return card;
}

/** A FeliCa frame LEN ‖ code ‖ IDm ‖ body. */
export function felicaFrame(card: Card, code: number, body: string): Uint8Array {
  const b = Uint8Array.of(code, ...card.fs.idm(0), ...hexToBytes(body));
  return Uint8Array.of(b.length + 1, ...b);
}

/** Read Without Encryption of block `n` of a keyless service; the 16 bytes, or the SF1 SF2 on refusal. */
export function felicaRead(card: Card, service: number, n = 0): Uint8Array {
  const le = `${(service & 0xff).toString(16).padStart(2, '0')}${(service >> 8).toString(16).padStart(2, '0')}`;
  const r = card.felica(felicaFrame(card, 0x06, `01${le}0180${n.toString(16).padStart(2, '0')}`));
  if (!r) throw new Error('silence');
  return r[11] === 0 ? r.slice(13, 29) : r.slice(10, 12);
}
