// The credit applet: card data after SELECT, PIN tries and the MAC'd proof, tokens (own store, shared
// store, used marks), the key pair (GENERATE, SIGN, DECRYPT), refusals, and tearing of MARK TOKEN USED.
import { gcm } from '@noble/ciphers/aes.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { pinBlock } from '@mica/apdu-specs/apdu/applet-commands';
import { BANK_CREDIT, TOKEN_STATE } from '@mica/apdu-specs/apdu/bank-credit';
import { aesCmac, retailMac } from '@mica/apdu-specs/crypto/mac';
import { bytesToHex, concatBytes, hexToBytes } from '@mica/apdu-specs/hex';
import { suiteByName, type Suite } from '@mica/apdu-specs/secure/suite';
import { tearingSweep } from '@mica/tools/campaign/tearing';
import { dumpModel } from '@mica/tools/dump/dump-model';
import { AppletFirewall } from '../src/apdu/applet-firewall';
import type { Card } from '../src/card';
import { parseImage, serializeImage } from '../src/hal/image';
import { authenticate, body, imageHex, opened, selectAid, send, sw, type HostSession } from './apdu-fixtures';
import {
  BANK_AID,
  BANK_AREA,
  BC_KEYS,
  CARD_DATA_HEX,
  CREDIT_AID,
  CREDIT_AREA,
  bankCreditCard,
  bankCreditImage,
  putData,
  testToken,
  type TestToken,
} from './bank-credit-fixtures';

const des = suiteByName('2k3des');
const { cla, smCla } = BANK_CREDIT;
const PIN = bytesToHex(pinBlock('9999'));
const WRONG = bytesToHex(pinBlock('1234'));

function session(card: Card, suite: Suite = des, aid = CREDIT_AID): HostSession {
  expect(selectAid(card, aid)).toBe(0x9000);
  return aid === CREDIT_AID
    ? opened(authenticate(card, suite, [CREDIT_AREA], [BC_KEYS.creditArea]))
    : opened(authenticate(card, suite, [BANK_AREA], [BC_KEYS.bankArea]));
}

const put = (s: HostSession, t: TestToken) => s.send(cla, BANK_CREDIT.putToken, 0, 0, putData(t), 256);
const mark = (s: HostSession, t: TestToken) => s.send(cla, BANK_CREDIT.markTokenUsed, 0, 0, t.tokenId);

describe('credit applet: card data and plain commands', () => {
  it('answers SELECT with its FCI and READ BINARY with the card data, no PIN or session needed', () => {
    const card = bankCreditCard();
    const r = card.apdu(hexToBytes(`00a4040008${CREDIT_AID}00`));
    expect(bytesToHex(body(r))).toBe(`6f0a8408${CREDIT_AID}`);
    const d = card.apdu(hexToBytes('00b0000000'));
    expect([sw(d), bytesToHex(body(d))]).toEqual([0x9000, CARD_DATA_HEX]);
    expect(send(card, '00b0000100')).toBe(0x6a86);
    expect(send(card, '00b0010000')).toBe(0x6a86);
  });

  it('refuses the SM commands in plain (6982) and SM without a session (6982); unknown INS 6D00', () => {
    const card = bankCreditCard();
    const before = imageHex(card);
    expect(selectAid(card, CREDIT_AID)).toBe(0x9000);
    for (const apdu of ['80e8000000', '80ea000000', '80ee000000', '8046000000', '802a9e9a0100', '802a808600'])
      expect(send(card, apdu)).toBe(0x6982);
    expect(send(card, '0cb0000000')).toBe(0x6982);
    expect(send(card, '80ec000000')).toBe(0x6d00);
    expect(imageHex(card)).toBe(before);
  });

  it('a wrong SM MAC gives 6988, ends the session and changes nothing', () => {
    const card = bankCreditCard();
    const s = session(card);
    const before = imageHex(card);
    const raw = s.wrap(smCla, BANK_CREDIT.markTokenUsed, 0, 0, testToken(1).tokenId);
    raw[raw.length - 3]! ^= 1;
    expect(sw(card.apdu(raw))).toBe(0x6988);
    expect(s.send(cla, BANK_CREDIT.generateKeyPair, 0, 0, undefined, 256).sw).toBe(0x6982);
    expect(imageHex(card)).toBe(before);
  });

  it('reads the card data under SM too', () => {
    const card = bankCreditCard();
    const s = session(card);
    const r = s.send(0x0c, BANK_CREDIT.readBinary, 0, 0, undefined, 256);
    expect([r.sw, bytesToHex(r.data)]).toEqual([0x9000, CARD_DATA_HEX]);
    expect(s.send(0x0c, BANK_CREDIT.readBinary, 0, 2, undefined, 256).sw).toBe(0x6a86);
  });
});

describe('credit applet: PIN and its proof', () => {
  it('three wrong tries give 63C2, 63C1, 63C0, then 6983, also for the right PIN and after power cycles', () => {
    const card = bankCreditCard();
    expect(selectAid(card, CREDIT_AID)).toBe(0x9000);
    expect(send(card, `0020008008${WRONG}`)).toBe(0x63c2);
    expect(send(card, `0020008008${WRONG}`)).toBe(0x63c1);
    expect(send(card, `0020008008${WRONG}`)).toBe(0x63c0);
    expect(send(card, `0020008008${PIN}`)).toBe(0x6983);
    card.powerOff();
    card.powerOn();
    expect(selectAid(card, CREDIT_AID)).toBe(0x9000);
    expect(send(card, `0020008008${PIN}`)).toBe(0x6983);
    const reloaded = bankCreditCard(parseImage(serializeImage(card.eeprom)));
    expect(selectAid(reloaded, CREDIT_AID)).toBe(0x9000);
    expect(send(reloaded, '0020008000')).toBe(0x6983);
    expect(send(reloaded, `0020008008${PIN}`)).toBe(0x6983);
    expect(send(reloaded, `008800000c${'00'.repeat(12)}00`)).toBe(0x6982);
  });

  for (const name of ['2k3des', 'aes128'] as const) {
    it(`INTERNAL AUTHENTICATE gives one MAC per successful VERIFY (${name})`, () => {
      const suite = suiteByName(name);
      const card = bankCreditCard(bankCreditImage({ suite: name }));
      expect(selectAid(card, CREDIT_AID)).toBe(0x9000);
      const nonceAmount = '0102030405060708000007d0';
      expect(send(card, `008800000c${nonceAmount}00`)).toBe(0x6982);
      expect(send(card, `0020008008${PIN}`)).toBe(0x9000);
      const r = card.apdu(hexToBytes(`008800000c${nonceAmount}00`));
      expect(sw(r)).toBe(0x9000);
      const msg = concatBytes(hexToBytes(nonceAmount), hexToBytes('987654321fffffffffff'), Uint8Array.of(1));
      const key = hexToBytes(BC_KEYS.creditArea);
      const expected = suite.mac === 'aes-cmac' ? aesCmac(key, msg) : retailMac(key, msg, 2);
      expect(bytesToHex(body(r))).toBe(bytesToHex(expected.subarray(0, 8)));
      expect(send(card, `008800000c${nonceAmount}00`)).toBe(0x6982);
      expect(send(card, `0020008008${PIN}`)).toBe(0x9000);
      expect(send(card, `008800000b${nonceAmount.slice(2)}00`)).toBe(0x6700);
      expect(send(card, `008800010c${nonceAmount}00`)).toBe(0x6a86);
      // A wrong try in between takes the proof away.
      expect(send(card, `0020008008${WRONG}`)).toBe(0x63c2);
      expect(send(card, `008800000c${nonceAmount}00`)).toBe(0x6982);
    });
  }

  it('VERIFY with P2 other than 80 gives 6A88, a malformed block 6A80', () => {
    const card = bankCreditCard();
    expect(selectAid(card, CREDIT_AID)).toBe(0x9000);
    expect(send(card, `0020008108${PIN}`)).toBe(0x6a88);
    expect(send(card, '0020008008ffffffffffffffff')).toBe(0x6a80);
  });
});

describe('credit applet: tokens', () => {
  it('direct: PUT TOKEN into its own store; MARK TOKEN USED once, then 6985; a re-put of a used token 6985', () => {
    const card = bankCreditCard();
    const s = session(card);
    const t = testToken(1);
    expect(put(s, t).sw).toBe(0x9000);
    expect(mark(s, t).sw).toBe(0x9000);
    expect(s.send(cla, BANK_CREDIT.listTokens, 0, 0, undefined, 256).data[1]).toBe(TOKEN_STATE.used);
    const before = imageHex(card);
    expect(mark(s, t).sw).toBe(0x6985);
    expect(put(s, t).sw).toBe(0x6985);
    expect(imageHex(card)).toBe(before);
    expect(mark(s, testToken(9)).sw).toBe(0x6a88);
    expect(s.send(cla, BANK_CREDIT.markTokenUsed, 0, 0, new Uint8Array(15)).sw).toBe(0x6700);
    expect(s.send(cla, BANK_CREDIT.markTokenUsed, 1, 0, t.tokenId).sw).toBe(0x6a86);
    // A used slot is the first to be evicted.
    expect(put(s, testToken(2)).sw).toBe(0x9000);
    const r = put(s, testToken(3));
    expect([r.sw, bytesToHex(r.data)]).toEqual([0x9000, '00']);
  });

  it('share: a token in the bank store is marked used in the credit area, once', () => {
    const card = bankCreditCard();
    const t = testToken(1);
    expect(put(session(card, des, BANK_AID), t).sw).toBe(0x9000);
    const s = session(card);
    expect(mark(s, t).sw).toBe(0x9000);
    const l = s.send(cla, BANK_CREDIT.listTokens, 0, BANK_CREDIT.storeShared, undefined, 256);
    expect(l.data[1]).toBe(TOKEN_STATE.used);
    expect(mark(s, t).sw).toBe(0x6985);
    expect(mark(s, testToken(2)).sw).toBe(0x6a88);
    expect(s.send(cla, BANK_CREDIT.listTokens, 1, BANK_CREDIT.storeShared, undefined, 256).sw).toBe(0x6a86);
  });

  it('without the grant nothing of the bank store is reachable (6982)', () => {
    const card = bankCreditCard(bankCreditImage({ share: false }));
    const t = testToken(1);
    expect(put(session(card, des, BANK_AID), t).sw).toBe(0x9000);
    const s = session(card);
    expect(mark(s, t).sw).toBe(0x6982);
    const fw = new AppletFirewall(card.fs, { system: 0, area: CREDIT_AREA });
    expect(() => fw.readBlock(BANK_AREA + 0x08, 0)).toThrow(expect.objectContaining({ sw: 0x6982 }));
    expect(() => fw.readBlock(BANK_AREA + 0x48, 0)).toThrow(expect.objectContaining({ sw: 0x6982 }));
    // Nor does the bank applet reach the credit area.
    const bankFw = new AppletFirewall(card.fs, { system: 0, area: BANK_AREA });
    expect(() => bankFw.readBlock(CREDIT_AREA + 0x88, 0)).toThrow(expect.objectContaining({ sw: 0x6982 }));
  });

  it('the grant is read only: the credit applet never writes the bank store', () => {
    const card = bankCreditCard();
    const fw = new AppletFirewall(card.fs, { system: 0, area: CREDIT_AREA });
    expect(() => fw.writeBlocks(BANK_AREA + 0x48, [{ block: 0, data: new Uint8Array(16) }])).toThrow(
      expect.objectContaining({ sw: 0x6982 }),
    );
  });

  for (const where of ['own', 'shared'] as const) {
    it(`a power cut at any byte of MARK TOKEN USED (${where} store) leaves the old or the new state`, () => {
      const sessions = new WeakMap<Card, HostSession>();
      const t = testToken(1);
      const r = tearingSweep({
        setup: () => {
          const card = bankCreditCard();
          if (where === 'shared') expect(put(session(card, des, BANK_AID), t).sw).toBe(0x9000);
          const s = session(card);
          if (where === 'own') expect(put(s, t).sw).toBe(0x9000);
          sessions.set(card, s);
          return card;
        },
        command: (card) =>
          card.apdu(sessions.get(card)!.wrap(smCla, BANK_CREDIT.markTokenUsed, 0, 0, t.tokenId)),
      });
      expect(r.bytes).toBeGreaterThan(0);
      expect(r.failures).toEqual([]);
      expect(r.oldState + r.newState).toBe(r.cuts);
    });
  }
});

/** ECIES of flows.md 1.5, written here from the noble primitives (not the card's code). */
function eciesSeal(
  recipient: Uint8Array,
  context: string,
  plain: Uint8Array,
  ephSecret: Uint8Array,
): Uint8Array {
  const eph = x25519.getPublicKey(ephSecret);
  const shared = x25519.getSharedSecret(ephSecret, recipient);
  const info = concatBytes(new TextEncoder().encode('mica-ecies-v1'), new TextEncoder().encode(context));
  const okm = hkdf(sha256, shared, concatBytes(eph, recipient), info, 44);
  return concatBytes(eph, gcm(okm.subarray(0, 32), okm.subarray(32)).encrypt(plain));
}

describe('credit applet: on-card key pair', () => {
  it('generates once, signs with Ed25519, opens an ECIES envelope; the private keys never leave', () => {
    const card = bankCreditCard();
    const s = session(card);
    const answers: Uint8Array[] = [];
    const keep = <T extends { data: Uint8Array }>(r: T): T => (answers.push(r.data), r);
    expect(keep(s.send(cla, BANK_CREDIT.pso, 0x9e, 0x9a, Uint8Array.of(1), 256)).sw).toBe(0x6985);
    const g = keep(s.send(cla, BANK_CREDIT.generateKeyPair, 0, 0, undefined, 256));
    expect([g.sw, g.data.length]).toEqual([0x9000, 64]);
    const [edPub, xPub] = [g.data.slice(0, 32), g.data.slice(32)];
    expect(keep(s.send(cla, BANK_CREDIT.generateKeyPair, 0, 0, undefined, 256)).sw).toBe(0x6985);
    expect(keep(s.send(cla, BANK_CREDIT.generateKeyPair, 1, 0, undefined, 256)).sw).toBe(0x6a86);
    const msg = new TextEncoder().encode('mica-pkma-card test');
    const sig = keep(s.send(cla, BANK_CREDIT.pso, 0x9e, 0x9a, msg, 256));
    expect(sig.data.length).toBe(64);
    expect(ed25519.verify(sig.data, msg, edPub)).toBe(true);
    expect(keep(s.send(cla, BANK_CREDIT.pso, 0x9e, 0x9a, undefined, 256)).sw).toBe(0x6700);
    expect(keep(s.send(cla, BANK_CREDIT.pso, 0x9e, 0x9b, msg, 256)).sw).toBe(0x6a86);
    const token = Uint8Array.from({ length: 128 }, (_, i) => i);
    const sealed = eciesSeal(xPub, 'token', token, new Uint8Array(32).fill(7));
    const data = concatBytes(Uint8Array.of(5), new TextEncoder().encode('token'), sealed);
    const d = keep(s.send(cla, BANK_CREDIT.pso, 0x80, 0x86, data, 256));
    expect([d.sw, bytesToHex(d.data)]).toEqual([0x9000, bytesToHex(token)]);
    const bad = data.slice();
    bad[bad.length - 1]! ^= 1;
    expect(keep(s.send(cla, BANK_CREDIT.pso, 0x80, 0x86, bad, 256)).sw).toBe(0x6a80);
    const otherContext = concatBytes(Uint8Array.of(3), new TextEncoder().encode('tok'), sealed);
    expect(keep(s.send(cla, BANK_CREDIT.pso, 0x80, 0x86, otherContext, 256)).sw).toBe(0x6a80);
    expect(keep(s.send(cla, BANK_CREDIT.pso, 0x80, 0x86, Uint8Array.of(0, 1, 2), 256)).sw).toBe(0x6a80);
    // The private keys sit in the keyed service +108h; no answer carries them and the dump masks them.
    const svc = card.fs.system(0)!.byCode.get(CREDIT_AREA + 0x108);
    if (svc?.kind !== 'service') throw new Error('no key service');
    const secret = concatBytes(...[0, 1, 2, 3].map((i) => card.eeprom.read(svc.firstBlock + i)));
    expect(bytesToHex(ed25519.getPublicKey(secret.subarray(0, 32)))).toBe(bytesToHex(edPub));
    expect(bytesToHex(x25519.getPublicKey(secret.subarray(32)))).toBe(bytesToHex(xPub));
    const halves = [0, 1, 2, 3].map((i) => bytesToHex(secret.subarray(i * 16, i * 16 + 16)));
    for (const a of answers) for (const h of halves) expect(bytesToHex(a)).not.toContain(h);
    const dump = JSON.stringify(dumpModel(card.eeprom, { showKeys: false }));
    for (const h of halves) expect(dump).not.toContain(h);
  });

  it('DECRYPT refuses an envelope whose ephemeral key is of low order (6A80), as with @noble/curves', () => {
    const card = bankCreditCard();
    const s = session(card);
    expect(s.send(cla, BANK_CREDIT.generateKeyPair, 0, 0, undefined, 256).sw).toBe(0x9000);
    const p = 2n ** 255n - 19n;
    for (const u of [0n, 1n, p - 1n, p, p + 1n]) {
      const eph = Uint8Array.from({ length: 32 }, (_, i) => Number((u >> BigInt(8 * i)) & 0xffn));
      const data = concatBytes(Uint8Array.of(5), new TextEncoder().encode('token'), eph, new Uint8Array(48));
      expect(s.send(cla, BANK_CREDIT.pso, 0x80, 0x86, data, 256).sw).toBe(0x6a80);
    }
  });

  it('key-pair commands need the SM session', () => {
    const card = bankCreditCard();
    expect(selectAid(card, CREDIT_AID)).toBe(0x9000);
    expect(send(card, '8046000000')).toBe(0x6982);
    expect(send(card, '0c46000000')).toBe(0x6982);
  });
});
