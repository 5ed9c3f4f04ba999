// The credit applet's PUT CERTIFICATE and AUTHENTICATE PK (flows.md 2.5, seed 000 `direct`): the bank
// side is computed here with @noble directly (certificates, signatures, X25519, HKDF); every refusal
// leaves the EEPROM byte-identical.
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { BANK_CREDIT } from '@mica/apdu-specs/apdu/bank-credit';
import { buildCommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { createSmKeys } from '@mica/apdu-specs/apdu/secure-messaging';
import { bytesToHex, concatBytes, hexToBytes } from '@mica/apdu-specs/hex';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import type { Card } from '../src/card';
import { HostSession, authenticate, body, imageHex, opened, selectAid, sw } from './apdu-fixtures';
import { BC_KEYS, CREDIT_AID, CREDIT_AREA, putData, testToken } from './bank-credit-fixtures';
import {
  ANCHOR_SEED,
  BANK_CERT,
  BANK_PUB,
  BANK_SEED,
  CARD_CERT,
  CARD_PUB,
  EPH_C,
  IDM,
  RC,
  cert as fixtureCert,
  pkmaCard,
} from './pkma-fixtures';

const des = suiteByName('2k3des');
const { cla, smCla } = BANK_CREDIT;
const enc = new TextEncoder();
const RB = Uint8Array.from({ length: 16 }, (_, i) => 0xb0 + i);
const EPH_B = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
const cert = fixtureCert;
const newCard = pkmaCard;

function session3(card: Card): HostSession {
  expect(selectAid(card, CREDIT_AID)).toBe(0x9000);
  return opened(authenticate(card, des, [CREDIT_AREA], [BC_KEYS.creditArea]));
}

/** A card with its key pair and credit-AP certificate (PUT CERTIFICATE under 3-pass SM). */
function personalised(extra: Uint8Array[] = []): Card {
  const card = newCard(true, extra);
  const s = session3(card);
  const g = s.send(cla, BANK_CREDIT.generateKeyPair, 0, 0, undefined, 256);
  expect(bytesToHex(g.data.subarray(0, 32))).toBe(bytesToHex(CARD_PUB));
  expect(s.send(cla, BANK_CREDIT.putCertificate, 0, 0, CARD_CERT).sw).toBe(0x9000);
  expect(selectAid(card, CREDIT_AID)).toBe(0x9000);
  return card;
}

const step1Data = (bankCert = BANK_CERT): Uint8Array => concatBytes(bankCert, RB, x25519.getPublicKey(EPH_B));

/** Step 1 with Le 00: 256 bytes and 610B, then GET RESPONSE for the last 11. */
function step1(card: Card, bankCert = BANK_CERT): { sw: number; data: Uint8Array } {
  const r = card.apdu(buildCommandApdu(0x80, 0x86, 0, 0, step1Data(bankCert), 256));
  if (sw(r) !== 0x610b) return { sw: sw(r), data: body(r).slice() };
  expect(body(r).length).toBe(256);
  const rest = card.apdu(hexToBytes('00c000000b'));
  expect(sw(rest)).toBe(0x9000);
  return { sw: 0x9000, data: concatBytes(body(r), body(rest)) };
}

const bankMessage = (cardId = IDM): Uint8Array =>
  concatBytes(
    enc.encode('mica-pkma-bank'),
    RC,
    RB,
    x25519.getPublicKey(EPH_C),
    x25519.getPublicKey(EPH_B),
    cardId,
  );

const step2 = (card: Card, signature: Uint8Array): number =>
  sw(card.apdu(buildCommandApdu(0x80, 0x86, 1, 0, signature)));

/** The host's PK session keys: X25519(ephB, eC), HKDF-SHA256 salt rB ‖ rC, info mica-pkma-sm. */
function pkSession(card: Card): HostSession {
  const shared = x25519.getSharedSecret(EPH_B, x25519.getPublicKey(EPH_C));
  const okm = hkdf(sha256, shared, concatBytes(RB, RC), enc.encode('mica-pkma-sm'), 32);
  return new HostSession(createSmKeys(suiteByName('aes128'), okm.subarray(0, 16), okm.subarray(16)), card);
}

function authenticated(extra: Uint8Array[] = []): { card: Card; s: HostSession } {
  const card = personalised(extra);
  expect(step1(card).sw).toBe(0x9000);
  expect(step2(card, ed25519.sign(bankMessage(), BANK_SEED))).toBe(0x9000);
  return { card, s: pkSession(card) };
}

describe('PUT CERTIFICATE', () => {
  it('stores the credit-AP certificate of the card key in blocks 4-13 of +148h', () => {
    const card = personalised();
    // The card answers it back in step 1: what was stored is what was sent.
    expect(bytesToHex(step1(card).data.subarray(0, 155))).toBe(bytesToHex(CARD_CERT));
  });

  it('refuses a wrong certificate (6A80), a wrong length (6700), plain CLA (6982); nothing written', () => {
    const card = newCard();
    const s = session3(card);
    s.send(cla, BANK_CREDIT.generateKeyPair, 0, 0, undefined, 256);
    const before = imageHex(card);
    const bad = [
      cert({ role: 2, subject: '02FE010203040506', key: CARD_PUB }),
      cert({ role: 4, keyType: 2, subject: '02FE010203040506', key: CARD_PUB }),
      cert({ role: 4, version: 2, subject: '02FE010203040506', key: CARD_PUB }),
      cert({ role: 4, subject: '02fe010203040506', key: CARD_PUB }),
      cert({ role: 4, subject: '02FE010203040507', key: CARD_PUB }),
      cert({ role: 4, subject: '02FE010203040506', key: BANK_PUB }),
      cert({ role: 4, subject: '02FE010203040506', key: CARD_PUB, issuer: 'OTHER' }),
      cert({ role: 4, subject: '02FE010203040506', key: CARD_PUB, signer: BANK_SEED }),
    ];
    for (const c of bad) expect(s.send(cla, BANK_CREDIT.putCertificate, 0, 0, c).sw).toBe(0x6a80);
    expect(s.send(cla, BANK_CREDIT.putCertificate, 0, 0, CARD_CERT.subarray(0, 154)).sw).toBe(0x6700);
    expect(s.send(cla, BANK_CREDIT.putCertificate, 1, 0, CARD_CERT).sw).toBe(0x6a86);
    expect(sw(card.apdu(buildCommandApdu(0x80, 0xda, 0, 0, CARD_CERT)))).toBe(0x6982);
    expect(imageHex(card)).toBe(before);
  });

  it('needs the key pair and the trust anchor (6985)', () => {
    const card = newCard();
    const s = session3(card);
    const before = imageHex(card);
    expect(s.send(cla, BANK_CREDIT.putCertificate, 0, 0, CARD_CERT).sw).toBe(0x6985);
    expect(imageHex(card)).toBe(before);
    const bare = newCard(false);
    const t = session3(bare);
    t.send(cla, BANK_CREDIT.generateKeyPair, 0, 0, undefined, 256);
    const b2 = imageHex(bare);
    expect(t.send(cla, BANK_CREDIT.putCertificate, 0, 0, CARD_CERT).sw).toBe(0x6985);
    expect(imageHex(bare)).toBe(b2);
  });
});

describe('AUTHENTICATE PK', () => {
  it('step 1 answers cert ‖ rC ‖ eC ‖ the card signature over the flows.md 2.5 message', () => {
    const card = personalised();
    const r = step1(card);
    expect(r.data.length).toBe(267);
    expect(bytesToHex(r.data.subarray(155, 171))).toBe(bytesToHex(RC));
    const eC = x25519.getPublicKey(EPH_C);
    expect(bytesToHex(r.data.subarray(171, 203))).toBe(bytesToHex(eC));
    const bankId = BANK_CERT.subarray(3, 27);
    const msg = concatBytes(enc.encode('mica-pkma-card'), RB, RC, x25519.getPublicKey(EPH_B), eC, bankId);
    expect(ed25519.verify(r.data.subarray(203), msg, CARD_PUB)).toBe(true);
  });

  it('step 1 with extended Le 0000 answers all 267 bytes at once', () => {
    const card = personalised();
    const r = card.apdu(buildCommandApdu(0x80, 0x86, 0, 0, step1Data(), 65536));
    expect([sw(r), body(r).length]).toEqual([0x9000, 267]);
  });

  it('opens an AES session on which PUT TOKEN and LIST TOKENS P2 00 run', () => {
    const { card, s } = authenticated();
    const t = testToken(1);
    expect(s.send(cla, BANK_CREDIT.putToken, 0, 0, putData(t), 256)).toMatchObject({
      sw: 0x9000,
      protected: true,
    });
    const l = s.send(cla, BANK_CREDIT.listTokens, 0, 0, undefined, 256);
    expect(l.sw).toBe(0x9000);
    expect(bytesToHex(l.data.subarray(2, 18))).toBe(bytesToHex(t.tokenId));
    expect(l.data[1]).toBe(1);
    // SELECT ends the session.
    expect(selectAid(card, CREDIT_AID)).toBe(0x9000);
    expect(s.send(cla, BANK_CREDIT.listTokens, 0, 0, undefined, 256)).toMatchObject({
      sw: 0x6982,
      protected: false,
    });
  });

  it('the PK session refuses every other SM command with 6982 inside SM, nothing changes', () => {
    const { card, s } = authenticated();
    const t = testToken(2);
    expect(s.send(cla, BANK_CREDIT.putToken, 0, 0, putData(t), 256).sw).toBe(0x9000);
    const before = imageHex(card);
    const refused = [
      [BANK_CREDIT.markTokenUsed, 0, 0, t.tokenId],
      [BANK_CREDIT.getToken, 0, 0, undefined],
      [BANK_CREDIT.listTokens, 0, 1, undefined],
      [BANK_CREDIT.generateKeyPair, 0, 0, undefined],
      [BANK_CREDIT.pso, 0x9e, 0x9a, enc.encode('sign this')],
      [BANK_CREDIT.putCertificate, 0, 0, CARD_CERT],
      [BANK_CREDIT.readBinary, 0, 0, undefined],
    ] as const;
    for (const [ins, p1, p2, data] of refused)
      expect(s.send(cla, ins, p1, p2, data, 256)).toMatchObject({ sw: 0x6982, protected: true });
    expect(imageHex(card)).toBe(before);
    // Still open after the refusals.
    expect(s.send(cla, BANK_CREDIT.listTokens, 0, 0, undefined, 256).sw).toBe(0x9000);
  });

  it('a tampered SM MAC gives 6988 and ends the session', () => {
    const { card, s } = authenticated();
    const before = imageHex(card);
    const raw = s.wrap(smCla, BANK_CREDIT.putToken, 0, 0, putData(testToken(3)));
    raw[raw.length - 3]! ^= 1;
    expect(sw(card.apdu(raw))).toBe(0x6988);
    expect(s.send(cla, BANK_CREDIT.listTokens, 0, 0, undefined, 256)).toMatchObject({
      sw: 0x6982,
      protected: false,
    });
    expect(imageHex(card)).toBe(before);
  });

  it('step 1 refuses bank certificates the anchor did not issue as bank (6982), keeps no state', () => {
    const card = personalised();
    const before = imageHex(card);
    const bad = [
      cert({ issuer: 'OTHER-ISSUER' }),
      cert({ role: 4 }),
      cert({ keyType: 2 }),
      cert({ version: 0 }),
      cert({ signer: BANK_SEED }),
      (() => {
        const c = BANK_CERT.slice();
        c[10]! ^= 1;
        return c;
      })(),
    ];
    for (const c of bad) {
      expect(step1(card, c).sw).toBe(0x6982);
      expect(step2(card, ed25519.sign(bankMessage(), BANK_SEED))).toBe(0x6985);
    }
    expect(sw(card.apdu(buildCommandApdu(0x80, 0x86, 0, 0, step1Data().subarray(0, 202), 256)))).toBe(0x6700);
    expect(sw(card.apdu(buildCommandApdu(0x80, 0x86, 2, 0, step1Data(), 256)))).toBe(0x6a86);
    expect(imageHex(card)).toBe(before);
  });

  it('step 1 before personalisation (no certificate, no key pair, no anchor) is 6985', () => {
    const card = newCard();
    expect(selectAid(card, CREDIT_AID)).toBe(0x9000);
    const before = imageHex(card);
    expect(step1(card).sw).toBe(0x6985);
    const bare = newCard(false);
    expect(selectAid(bare, CREDIT_AID)).toBe(0x9000);
    expect(step1(bare).sw).toBe(0x6985);
    expect(imageHex(card)).toBe(before);
  });

  it('step 2 refuses a bad bank signature and a wrong cardId (6982), then has nothing pending (6985)', () => {
    for (const signature of [
      ed25519.sign(bankMessage(), ANCHOR_SEED),
      ed25519.sign(bankMessage(hexToBytes('02fe010203040507')), BANK_SEED),
      new Uint8Array(64),
    ]) {
      const card = personalised();
      const before = imageHex(card);
      expect(step1(card).sw).toBe(0x9000);
      expect(step2(card, signature)).toBe(0x6982);
      expect(step2(card, ed25519.sign(bankMessage(), BANK_SEED))).toBe(0x6985);
      expect(imageHex(card)).toBe(before);
    }
  });

  it('a replayed step 2 after success is 6985 and ends the session; a 63-byte step 2 is 6700', () => {
    const card = personalised();
    const signature = ed25519.sign(bankMessage(), BANK_SEED);
    expect(step1(card).sw).toBe(0x9000);
    expect(step2(card, signature.subarray(0, 63))).toBe(0x6700);
    expect(step2(card, signature)).toBe(0x6985);
    const { card: c2, s: s2 } = authenticated();
    expect(step2(c2, signature)).toBe(0x6985);
    expect(s2.send(cla, BANK_CREDIT.listTokens, 0, 0, undefined, 256)).toMatchObject({
      sw: 0x6982,
      protected: false,
    });
  });

  it('a 3-pass AUTHENTICATE ends the PK session; AUTHENTICATE PK step 1 ends the 3-pass session', () => {
    const { card, s } = authenticated([new Uint8Array(8)]);
    const three = opened(authenticate(card, des, [CREDIT_AREA], [BC_KEYS.creditArea]));
    expect(three.send(cla, BANK_CREDIT.generateKeyPair, 0, 0, undefined, 256).sw).toBe(0x6985);
    // The PK keys no longer open anything: the 3-pass session judges the MAC (6988, and it ends).
    expect(s.send(cla, BANK_CREDIT.listTokens, 0, 0, undefined, 256)).toMatchObject({ sw: 0x6988 });
    const again = personalised([new Uint8Array(8)]);
    const t = opened(authenticate(again, des, [CREDIT_AREA], [BC_KEYS.creditArea]));
    expect(step1(again, cert({ signer: BANK_SEED })).sw).toBe(0x6982);
    expect(t.send(cla, BANK_CREDIT.listTokens, 0, 0, undefined, 256)).toMatchObject({
      sw: 0x6982,
      protected: false,
    });
  });
});
