// Mode transitions shown by Request Response (commands.md, security.md 5): 00 after power-on, Polling
// and Reset Mode; 01 after Authentication1; 02/03 after Authentication2; power-off clears everything.
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { createBlockCipher } from '@mica/apdu-specs/crypto/block-cipher';
import { readerOpenChallenge, readerResponse } from '@mica/apdu-specs/crypto/three-pass';
import { Card } from '../src/card';
import { cardImageFromProfile } from '../src/factory';
import { SeededRandom } from '../src/random';

const IDM = '02fe010203040506';
const KEY = '00112233445566778899aabbccddeeff';
const profile = parseProfile({
  chip: { blocks: 512 },
  systems: [
    {
      systemCode: '12fc',
      areas: [
        {
          code: '0000',
          end: 'fffe',
          capacity: 8,
          services: [{ code: '0008', blocks: 1, key: { version: 1, value: KEY } }],
        },
      ],
    },
  ],
});

const f = (code: string, body = ''): Uint8Array => {
  const b = hexToBytes(code + IDM + body);
  return Uint8Array.of(b.length + 1, ...b);
};

describe('modes', () => {
  it('moves 00 → 01 → 02 and back to 00 by Polling, Reset Mode, power-off', () => {
    const card = new Card(cardImageFromProfile(profile), { random: new SeededRandom(1) });
    card.powerOn();
    const mode = (): string => bytesToHex(card.felica(f('04'))!.subarray(10));
    const authenticate = (): void => {
      const challenge = card.felica(f('10', '00010800'))!.subarray(12);
      expect(mode()).toBe('01');
      const c = createBlockCipher('2k3des', hexToBytes(KEY));
      const rndB = readerOpenChallenge(c, challenge);
      const answer = card.felica(
        f('12', bytesToHex(readerResponse(c, challenge, new Uint8Array(8).fill(7), rndB))),
      )!;
      expect(bytesToHex(answer.subarray(10, 12))).toBe('0000');
    };
    expect(mode()).toBe('00');
    authenticate();
    expect(mode()).toBe('02');
    card.felica(hexToBytes('0600ffff0000'));
    expect(mode()).toBe('00');
    authenticate();
    card.felica(f('3e', '0000'));
    expect(mode()).toBe('00');
    authenticate();
    card.powerOff();
    card.powerOn();
    expect(mode()).toBe('00');
    // Without a session a secure Read is refused without a MAC.
    expect(bytesToHex(card.felica(f('14', '010800018000' + '00'.repeat(8)))!)).toBe(`0c15${IDM}ffb1`);
  });

  it('Authentication2 without Authentication1 is refused (B1); a wrong cryptogram is B2 and ends Mode 1', () => {
    const card = new Card(cardImageFromProfile(profile), { random: new SeededRandom(1) });
    card.powerOn();
    expect(bytesToHex(card.felica(f('12', '00'.repeat(16)))!)).toBe(`0c13${IDM}ffb1`);
    card.felica(f('10', '00010800'));
    expect(bytesToHex(card.felica(f('12', '00'.repeat(16)))!)).toBe(`0c13${IDM}ffb2`);
    expect(bytesToHex(card.felica(f('04'))!.subarray(10))).toBe('00');
    // Authentication1 refusals: no node (A6), a node without key (A5), counts (A1).
    expect(bytesToHex(card.felica(f('10', '00014800'))!.subarray(10))).toBe('ffa6');
    expect(bytesToHex(card.felica(f('10', '01000000'))!.subarray(10))).toBe('ffa5');
    expect(bytesToHex(card.felica(f('10', '0000'))!.subarray(10))).toBe('ffa1');
  });

  it('keeps one access key across sessions (RAM), wiped by power-off, and still authenticates after', () => {
    const card = new Card(cardImageFromProfile(profile), { random: new SeededRandom(1) });
    card.powerOn();
    const authenticate = (): string => {
      const challenge = card.felica(f('10', '00010800'))!.subarray(12);
      const c = createBlockCipher('2k3des', hexToBytes(KEY));
      const rndB = readerOpenChallenge(c, challenge);
      const answer = card.felica(
        f('12', bytesToHex(readerResponse(c, challenge, new Uint8Array(8).fill(7), rndB))),
      )!;
      return bytesToHex(answer.subarray(10, 12));
    };
    expect(card.accessKeys.size).toBe(0);
    for (let i = 0; i < 3; i++) expect(authenticate()).toBe('0000');
    expect(card.accessKeys.size).toBe(1);
    card.powerOff();
    expect(card.accessKeys.size).toBe(0);
    card.powerOn();
    expect(authenticate()).toBe('0000');
    expect(card.accessKeys.size).toBe(1);
  });
});
