// The bank applet: SELECT, AUTHENTICATE, account READ BINARY, PUT / LIST / GET TOKEN and TRANSFER TOKEN
// under SM, every refusal, and a power cut at every byte of a transfer.
import { describe, expect, it } from 'vitest';
import { BANK_CREDIT, LIST_ENTRY, MAX_ENVELOPE, TOKEN_STATE } from '@mica/apdu-specs/apdu/bank-credit';
import { buildCommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { unwrapResponse, wrapCommand } from '@mica/apdu-specs/apdu/secure-messaging';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import { tearingSweep } from '@mica/tools/campaign/tearing';
import type { Card } from '../src/card';
import { authenticate, body, imageHex, opened, selectAid, send, sw, type HostSession } from './apdu-fixtures';
import {
  ACCOUNT_HEX,
  BANK_AID,
  BANK_AREA,
  BC_KEYS,
  CREDIT_AID,
  CREDIT_AREA,
  bankCreditCard,
  bankCreditImage,
  putData,
  testToken,
  type TestToken,
} from './bank-credit-fixtures';

const suite = suiteByName('2k3des');
const { smCla, cla } = BANK_CREDIT;

function bankSession(card: Card): HostSession {
  expect(selectAid(card, BANK_AID)).toBe(0x9000);
  return opened(authenticate(card, suite, [BANK_AREA], [BC_KEYS.bankArea]));
}

function creditSession(card: Card): HostSession {
  expect(selectAid(card, CREDIT_AID)).toBe(0x9000);
  return opened(authenticate(card, suite, [CREDIT_AREA], [BC_KEYS.creditArea]));
}

/** An SM command whose answer is longer than 256 bytes: sent with an extended Le. */
function sendLong(s: HostSession, ins: number, p1 = 0, p2 = 0) {
  const w = wrapCommand(s.keys, s.ssc, { cla, ins, p1, p2, data: new Uint8Array(0), ne: 65536 });
  const raw = s.card.apdu(buildCommandApdu(w.cla, w.ins, w.p1, w.p2, w.data, 65536));
  const u = unwrapResponse(s.keys, w.ssc, body(raw));
  if (!u.ok) throw new Error(u.reason);
  s.ssc = u.ssc;
  return u;
}

const put = (s: HostSession, t: TestToken, today = 8000) =>
  s.send(cla, BANK_CREDIT.putToken, 0, 0, putData(t, today), 256);
const list = (s: HostSession, p2 = 0) => s.send(cla, BANK_CREDIT.listTokens, 0, p2, undefined, 256);

describe('bank applet: selection and plain commands', () => {
  it('answers SELECT with its FCI', () => {
    const card = bankCreditCard();
    const r = card.apdu(hexToBytes(`00a4040009${BANK_AID}00`));
    expect(sw(r)).toBe(0x9000);
    expect(bytesToHex(body(r))).toBe(`6f0b8409${BANK_AID}`);
  });

  it('refuses every command without SM or without a session (6982), unknown INS 6D00', () => {
    const card = bankCreditCard();
    const before = imageHex(card);
    expect(selectAid(card, BANK_AID)).toBe(0x9000);
    expect(send(card, '00b0000000')).toBe(0x6982);
    expect(send(card, `80e2000021${bytesToHex(putData(testToken(1, 1)))}`)).toBe(0x6982);
    expect(send(card, '80e8000000')).toBe(0x6982);
    expect(send(card, '80ea000000')).toBe(0x6982);
    expect(send(card, '80ec000000')).toBe(0x6982);
    // SM-shaped, but no session: 6982.
    expect(send(card, '0cb0000000')).toBe(0x6982);
    expect(send(card, '80ca000000')).toBe(0x6d00);
    expect(imageHex(card)).toBe(before);
  });

  it('authenticates only nodes of its own area', () => {
    const card = bankCreditCard();
    expect(selectAid(card, BANK_AID)).toBe(0x9000);
    expect(authenticate(card, suite, [CREDIT_AREA], [BC_KEYS.creditArea])).toBe(0x6982);
    expect(authenticate(card, suite, [BANK_AREA], [BC_KEYS.creditArea])).toBe(0x6982);
    expect(() =>
      opened(authenticate(card, suite, [BANK_AREA, 0x3008], [BC_KEYS.bankArea, BC_KEYS.bankAccount])),
    ).not.toThrow();
  });
});

describe('bank applet: account and token store under SM', () => {
  it('reads the account reference', () => {
    const card = bankCreditCard();
    const s = bankSession(card);
    const r = s.send(0x0c, BANK_CREDIT.readBinary, 0, 0, undefined, 256);
    expect([r.sw, bytesToHex(r.data), r.protected]).toEqual([0x9000, ACCOUNT_HEX, true]);
    expect(s.send(0x0c, BANK_CREDIT.readBinary, 0, 1, undefined, 256).sw).toBe(0x6a86);
  });

  it('a wrong MAC gives 6988 and ends the session', () => {
    const card = bankCreditCard();
    const s = bankSession(card);
    const raw = s.wrap(smCla, BANK_CREDIT.listTokens, 0, 0);
    raw[raw.length - 3]! ^= 1;
    expect(sw(card.apdu(raw))).toBe(0x6988);
    expect(list(s).sw).toBe(0x6982);
  });

  it('PUT TOKEN stores, LIST and GET read back, an identical re-put is a no-op', () => {
    const card = bankCreditCard();
    const s = bankSession(card);
    const t = testToken(1);
    const r = put(s, t);
    expect([r.sw, bytesToHex(r.data)]).toEqual([0x9000, '00']);
    const l = list(s);
    expect(l.sw).toBe(0x9000);
    expect(l.data.length).toBe(LIST_ENTRY);
    expect(bytesToHex(l.data)).toBe(
      `00${'01'}${bytesToHex(t.tokenId)}${bytesToHex(t.company)}${t.until.toString(16).padStart(8, '0')}`,
    );
    const g = s.send(cla, BANK_CREDIT.getToken, 0, 0, undefined, 256);
    expect([g.sw, bytesToHex(g.data)]).toEqual([0x9000, bytesToHex(t.envelope)]);
    const before = imageHex(card);
    expect(put(s, t).sw).toBe(0x9000);
    expect(imageHex(card)).toBe(before);
    // Same ID, other content: 6985.
    expect(put(s, { ...t, envelope: t.envelope.map((x) => x ^ 1) }).sw).toBe(0x6985);
    expect(imageHex(card)).toBe(before);
  });

  it('a full store answers 6A84; expired slots are evicted by the date in the command', () => {
    const card = bankCreditCard();
    const s = bankSession(card);
    expect(put(s, testToken(1, 40, 8100)).sw).toBe(0x9000);
    expect(put(s, testToken(2, 40, 9000)).sw).toBe(0x9000);
    const before = imageHex(card);
    expect(put(s, testToken(3), 8000).sw).toBe(0x6a84);
    expect(imageHex(card)).toBe(before);
    const r = put(s, testToken(3, 20), 8100);
    expect([r.sw, bytesToHex(r.data)]).toEqual([0x9000, '00']);
    const g = s.send(cla, BANK_CREDIT.getToken, 0, 0, undefined, 256);
    expect(bytesToHex(g.data)).toBe(bytesToHex(testToken(3, 20).envelope));
  });

  it('holds an envelope of the documented maximum (chained / extended), refuses longer or shorter data', () => {
    const card = bankCreditCard();
    const s = bankSession(card);
    const big = testToken(4, MAX_ENVELOPE);
    expect(put(s, big).sw).toBe(0x9000);
    const g = sendLong(s, BANK_CREDIT.getToken);
    expect([g.sw, bytesToHex(g.data)]).toEqual([0x9000, bytesToHex(big.envelope)]);
    expect(put(s, testToken(5, MAX_ENVELOPE + 1)).sw).toBe(0x6700);
    expect(s.send(cla, BANK_CREDIT.putToken, 0, 0, new Uint8Array(32), 256).sw).toBe(0x6700);
    expect(s.send(cla, BANK_CREDIT.putToken, 1, 0, putData(testToken(5)), 256).sw).toBe(0x6a86);
  });

  it('GET TOKEN: an empty slot 6A88, no such slot 6A86; LIST with P1-P2 not 00 00: 6A86', () => {
    const card = bankCreditCard();
    const s = bankSession(card);
    expect(s.send(cla, BANK_CREDIT.getToken, 0, 0, undefined, 256).sw).toBe(0x6a88);
    expect(s.send(cla, BANK_CREDIT.getToken, 2, 0, undefined, 256).sw).toBe(0x6a86);
    expect(s.send(cla, BANK_CREDIT.getToken, 0, 1, undefined, 256).sw).toBe(0x6a86);
    expect(list(s, 1).sw).toBe(0x6a86);
  });
});

describe('bank applet: Fig. 14 share and transfer', () => {
  it('share: the credit applet reads the bank store through the grant', () => {
    const card = bankCreditCard();
    const t = testToken(1);
    expect(put(bankSession(card), t).sw).toBe(0x9000);
    const c = creditSession(card);
    const l = list(c, BANK_CREDIT.storeShared);
    expect([l.sw, bytesToHex(l.data.subarray(2, 18))]).toEqual([0x9000, bytesToHex(t.tokenId)]);
    const g = c.send(cla, BANK_CREDIT.getToken, 0, BANK_CREDIT.storeShared, undefined, 256);
    expect(bytesToHex(g.data)).toBe(bytesToHex(t.envelope));
  });

  it('without the grant the credit applet is refused by the firewall (6982)', () => {
    const card = bankCreditCard(bankCreditImage({ share: false }));
    expect(put(bankSession(card), testToken(1)).sw).toBe(0x9000);
    const c = creditSession(card);
    expect(list(c, BANK_CREDIT.storeShared).sw).toBe(0x6982);
    expect(c.send(cla, BANK_CREDIT.getToken, 0, BANK_CREDIT.storeShared, undefined, 256).sw).toBe(0x6982);
  });

  it('transfer: the token moves into the credit store and leaves the bank store', () => {
    const card = bankCreditCard();
    const t = testToken(1);
    const s = bankSession(card);
    expect(put(s, t).sw).toBe(0x9000);
    const r = s.send(cla, BANK_CREDIT.transferToken, 0, 0, undefined, 256);
    expect([r.sw, bytesToHex(r.data)]).toEqual([0x9000, '00']);
    expect(list(s).data.length).toBe(0);
    expect(s.send(cla, BANK_CREDIT.transferToken, 0, 0, undefined, 256).sw).toBe(0x6a88);
    expect(s.send(cla, BANK_CREDIT.transferToken, 9, 0, undefined, 256).sw).toBe(0x6a86);
    expect(s.send(cla, BANK_CREDIT.transferToken, 0, 1, undefined, 256).sw).toBe(0x6a86);
    const c = creditSession(card);
    const l = list(c);
    expect(l.data[1]).toBe(TOKEN_STATE.stored);
    expect(bytesToHex(l.data.subarray(2, 18))).toBe(bytesToHex(t.tokenId));
    const g = c.send(cla, BANK_CREDIT.getToken, 0, 0, undefined, 256);
    expect(bytesToHex(g.data)).toBe(bytesToHex(t.envelope));
    // Nothing of the token stays on the bank side.
    const store = card.fs.system(0)!.byCode.get(BANK_AREA + 0x48);
    if (store?.kind !== 'service') throw new Error('no bank store');
    for (let i = 0; i < store.blockCount; i++)
      expect(bytesToHex(card.eeprom.read(store.firstBlock + i))).toBe('00'.repeat(16));
  });

  it('transfer without the grant is refused (6982) and changes nothing', () => {
    const card = bankCreditCard(bankCreditImage({ share: false }));
    const s = bankSession(card);
    expect(put(s, testToken(1)).sw).toBe(0x9000);
    const before = imageHex(card);
    expect(s.send(cla, BANK_CREDIT.transferToken, 0, 0, undefined, 256).sw).toBe(0x6982);
    expect(imageHex(card)).toBe(before);
  });

  it('a token used in the credit store cannot be transferred again (6985)', () => {
    const card = bankCreditCard();
    const t = testToken(1);
    const s = bankSession(card);
    expect(put(s, t).sw).toBe(0x9000);
    expect(s.send(cla, BANK_CREDIT.transferToken, 0, 0, undefined, 256).sw).toBe(0x9000);
    const c = creditSession(card);
    expect(c.send(cla, BANK_CREDIT.markTokenUsed, 0, 0, t.tokenId).sw).toBe(0x9000);
    const s2 = bankSession(card);
    expect(put(s2, t).sw).toBe(0x9000);
    const before = imageHex(card);
    expect(s2.send(cla, BANK_CREDIT.transferToken, 0, 0, undefined, 256).sw).toBe(0x6985);
    expect(imageHex(card)).toBe(before);
  });

  it('with the used marks granted to the bank area, a consumed shared token is used on the bank side too', () => {
    const card = bankCreditCard(bankCreditImage({ marksToBank: true }));
    const [t1, t2, t3] = [testToken(1), testToken(2), testToken(3)];
    const s = bankSession(card);
    expect(put(s, t1).sw).toBe(0x9000);
    expect(put(s, t2).sw).toBe(0x9000);
    expect(creditSession(card).send(cla, BANK_CREDIT.markTokenUsed, 0, 0, t1.tokenId).sw).toBe(0x9000);
    const b = bankSession(card);
    expect([...list(b).data].filter((_, i) => i % LIST_ENTRY === 1)).toEqual([
      TOKEN_STATE.used,
      TOKEN_STATE.stored,
    ]);
    const before = imageHex(card);
    expect(put(b, t1).sw).toBe(0x6985);
    expect(b.send(cla, BANK_CREDIT.transferToken, 0, 0, undefined, 256).sw).toBe(0x6985);
    expect(imageHex(card)).toBe(before);
    // The used slot is evicted first.
    const r = put(b, t3);
    expect([r.sw, bytesToHex(r.data)]).toEqual([0x9000, '00']);
  });

  it('a power cut at any byte of TRANSFER TOKEN leaves the old or the new state', () => {
    const sessions = new WeakMap<Card, HostSession>();
    const r = tearingSweep({
      setup: () => {
        const card = bankCreditCard();
        const s = bankSession(card);
        expect(put(s, testToken(1, 24)).sw).toBe(0x9000);
        sessions.set(card, s);
        return card;
      },
      command: (card) => card.apdu(sessions.get(card)!.wrap(smCla, BANK_CREDIT.transferToken, 0, 0)),
    });
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.failures).toEqual([]);
    expect(r.oldState + r.newState).toBe(r.cuts);
  });
});
