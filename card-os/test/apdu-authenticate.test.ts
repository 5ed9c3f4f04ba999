// AUTHENTICATE and ISO 7816-4 secure messaging on the card: round trips, every tamper (6988, session
// ended, EEPROM unchanged), node checks, per-channel sessions and RAM-only state.
import { describe, expect, it } from 'vitest';
import { buildCommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { cardImageFromProfile } from '../src/factory';
import {
  AID_A,
  KEYS,
  SUITES,
  authenticate,
  body,
  imageHex,
  newCard,
  opened,
  profileFor,
  selectAid,
  send,
  sw,
} from './apdu-fixtures';

const BLOCK = hexToBytes('00112233445566778899aabbccddeeff');

describe.each(SUITES)('AUTHENTICATE and SM, $name', (suite) => {
  const name = suite.name === 'aes128' ? 'aes128' : '2k3des';
  const fresh = () => {
    const card = newCard(cardImageFromProfile(profileFor(name)));
    expect(selectAid(card, AID_A)).toBe(0x9000);
    return card;
  };
  const open = (card = fresh()) =>
    opened(authenticate(card, suite, [0x1000, 0x1048], [KEYS.areaA, KEYS.dataService]));

  it('opens a session and runs protected UPDATE and READ', () => {
    const s = open();
    const w = s.send(0x00, 0xd6, 2, 0, BLOCK);
    expect(w).toMatchObject({ sw: 0x9000, protected: true });
    const r = s.send(0x00, 0xb0, 2, 0, new Uint8Array(0), 16);
    expect(r.sw).toBe(0x9000);
    expect(bytesToHex(r.data)).toBe(bytesToHex(BLOCK));
    // An error inside the session is answered with SM too, and the session goes on.
    expect(s.send(0x00, 0xb0, 9, 0, new Uint8Array(0), 16)).toMatchObject({ sw: 0x6a86, protected: true });
    expect(s.send(0x00, 0xb0, 2, 0, new Uint8Array(0), 16).sw).toBe(0x9000);
  });

  it('authenticates over a single area key too (access key = the node key)', () => {
    const s = opened(authenticate(fresh(), suite, [0x1000], [KEYS.areaA]));
    expect(s.send(0x00, 0xb0, 0, 0, new Uint8Array(0), 16).sw).toBe(0x9000);
  });

  it('refuses a wrong cryptogram with 6982 and clears the session', () => {
    const card = fresh();
    const before = imageHex(card);
    expect(authenticate(card, suite, [0x1000], [KEYS.areaA], { corrupt: true })).toBe(0x6982);
    expect(authenticate(card, suite, [0x1000], [KEYS.areaB])).toBe(0x6982);
    // No pending first part any more: a continuation alone is 6985.
    expect(
      send(card, `80880100${(2 * suite.randomLength).toString(16)}${'00'.repeat(2 * suite.randomLength)}00`),
    ).toBe(0x6985);
    expect(imageHex(card)).toBe(before);
  });

  it('checks the node list against the applet area', () => {
    const card = fresh();
    const before = imageHex(card);
    expect(authenticate(card, suite, [0x2000], [KEYS.areaB])).toBe(0x6982);
    expect(authenticate(card, suite, [0x1108], [KEYS.areaA])).toBe(0x6a88);
    expect(authenticate(card, suite, [0x1089], [KEYS.areaA])).toBe(0x6984);
    expect(send(card, '808800000100')).toBe(0x6700);
    expect(send(card, '80880200020000')).toBe(0x6a86);
    expect(imageHex(card)).toBe(before);
  });

  it('answers every tamper with 6988, ends the session and changes nothing', () => {
    type Tamper = (apdu: Uint8Array) => Uint8Array;
    const tampers: Record<string, Tamper> = {
      'missing 8E': (a) => {
        const data = a.subarray(5, a.length - 1 - 10);
        return buildCommandApdu(a[0]!, a[1]!, a[2]!, a[3]!, data, 256);
      },
      'wrong MAC': (a) => {
        const b = a.slice();
        b[b.length - 2]! ^= 0x01;
        return b;
      },
      'flipped byte in 87': (a) => {
        const b = a.slice();
        b[8]! ^= 0x40;
        return b;
      },
      'changed header': (a) => {
        const b = a.slice();
        b[2]! ^= 0x01;
        return b;
      },
    };
    for (const [what, tamper] of Object.entries(tampers)) {
      const card = fresh();
      const s = open(card);
      const before = imageHex(card);
      const r = card.apdu(tamper(s.wrap(0x00, 0xd6, 1, 0, BLOCK)));
      expect(sw(r), what).toBe(0x6988);
      expect(body(r).length, what).toBe(0);
      expect(imageHex(card), what).toBe(before);
      // The session is gone: even a well-formed command is refused now.
      expect(s.send(0x00, 0xb0, 0, 0, new Uint8Array(0), 16).sw, what).toBe(0x6982);
    }
  });

  it('refuses a replayed command (wrong SSC) and a skipped SSC', () => {
    const card = fresh();
    const s = open(card);
    const first = s.wrap(0x00, 0xd6, 1, 0, BLOCK);
    expect(sw(card.apdu(first))).toBe(0x9000);
    s.ssc = s.ssc.map((x, i) => (i === s.ssc.length - 1 ? x + 1 : x)); // the response's SSC
    const before = imageHex(card);
    expect(sw(card.apdu(first))).toBe(0x6988);
    expect(imageHex(card)).toBe(before);
    const card2 = fresh();
    const s2 = open(card2);
    s2.wrap(0x00, 0xb0, 0, 0); // never sent: the card's SSC lags behind
    expect(s2.send(0x00, 0xd6, 1, 0, BLOCK).sw).toBe(0x6988);
  });

  it('refuses SM without a session (6982), changing nothing', () => {
    const card = fresh();
    const other = newCard(cardImageFromProfile(profileFor(name)), 99);
    expect(selectAid(other, AID_A)).toBe(0x9000);
    const s = open(other);
    const before = imageHex(card);
    expect(sw(card.apdu(s.wrap(0x00, 0xd6, 1, 0, BLOCK)))).toBe(0x6982);
    expect(imageHex(card)).toBe(before);
  });

  it('keeps one session per logical channel, in RAM only', () => {
    const card = fresh();
    const s = open(card);
    // Channel 1 with the same applet has no session.
    expect(send(card, '0070000001')).toBe(0x9000);
    expect(selectAid(card, AID_A, 0x01)).toBe(0x9000);
    expect(sw(card.apdu(buildCommandApdu(0x0d, 0xb0, 0, 0, hexToBytes('8e080000000000000000'), 256)))).toBe(
      0x6982,
    );
    expect(s.send(0x00, 0xb0, 0, 0, new Uint8Array(0), 16).sw).toBe(0x9000);
    // Reselecting ends it.
    expect(selectAid(card, AID_A)).toBe(0x9000);
    expect(s.send(0x00, 0xb0, 0, 0, new Uint8Array(0), 16).sw).toBe(0x6982);
    // A power cycle ends it too.
    const s2 = open(card);
    card.powerOff();
    card.powerOn();
    expect(selectAid(card, AID_A)).toBe(0x9000);
    expect(s2.send(0x00, 0xb0, 0, 0, new Uint8Array(0), 16).sw).toBe(0x6982);
  });
});
