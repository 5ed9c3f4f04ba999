// The bank and credit clients against the card-os applets over the in-process transport: seed 000's
// token path (put, share, transfer, mark used) and seed 001's PIN proof, plus the on-card key pair.
import { gcm } from '@noble/ciphers/aes.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { MAX_ENVELOPE } from '@mica/apdu-specs/apdu/bank-credit';
import { retailMac } from '@mica/apdu-specs/crypto/mac';
import { bytesToHex, concatBytes, hexToBytes } from '@mica/apdu-specs/hex';
import {
  BANK_AID,
  BANK_AREA,
  BC_KEYS,
  CREDIT_AID,
  CREDIT_AREA,
  bankCreditCard,
  bankCreditImage,
} from '../../card-os/test/bank-credit-fixtures';
import { ApduClient } from '../src/apdu/apdu-client';
import { LocalAppletKeys } from '../src/applets/applet-keys';
import { BankClient, type TokenToPut } from '../src/applets/bank-client';
import { CreditClient } from '../src/applets/credit-client';
import { InProcessTransport } from '../src/transport/in-process';

function counter(): (n: number) => Uint8Array {
  let k = 0;
  return (n) => Uint8Array.from({ length: n }, () => (k++ * 37 + 11) & 0xff);
}

const bankKeys = () =>
  new LocalAppletKeys('2k3des', [{ code: BANK_AREA, key: hexToBytes(BC_KEYS.bankArea) }], counter());
const creditKeys = () =>
  new LocalAppletKeys('2k3des', [{ code: CREDIT_AREA, key: hexToBytes(BC_KEYS.creditArea) }], counter());

function clients(share = true) {
  const card = bankCreditCard(bankCreditImage({ share }));
  const apdu = new ApduClient(new InProcessTransport(card));
  return {
    card,
    bank: new BankClient(apdu, hexToBytes(BANK_AID)),
    credit: new CreditClient(apdu, hexToBytes(CREDIT_AID)),
  };
}

const token = (n: number, length = 48): TokenToPut => ({
  today: 8000,
  tokenId: new Uint8Array(16).fill(n),
  creditCompanyId: new TextEncoder().encode('CREDITCO'),
  effectiveUntil: 8100,
  envelope: Uint8Array.from({ length }, (_, i) => (i + n) & 0xff),
});

describe('BankClient', () => {
  it('authenticates, reads the account and stores a token of the maximum size', async () => {
    const { bank } = clients();
    expect((await bank.select()).ok).toBe(true);
    await expect(bank.readAccount()).rejects.toThrow(/AUTHENTICATE first/);
    expect((await bank.authenticate(bankKeys())).ok).toBe(true);
    expect(await bank.readAccount()).toEqual({
      ok: true,
      account: { bankId: 'MICABANK', accountNo: '0012345678', userId: 'U0001' },
    });
    const big = token(1, MAX_ENVELOPE);
    expect(await bank.putToken(big)).toEqual({ ok: true, slot: 0 });
    const l = await bank.listTokens();
    expect(l.ok && l.tokens.map((t) => [t.slot, t.state, bytesToHex(t.tokenId), t.effectiveUntil])).toEqual([
      [0, 1, bytesToHex(big.tokenId), 8100],
    ]);
    const g = await bank.getToken(0);
    expect(g.ok && bytesToHex(g.envelope)).toBe(bytesToHex(big.envelope));
    expect(await bank.getToken(1)).toEqual({ ok: false, sw: 0x6a88 });
    await expect(bank.putToken({ ...token(2), tokenId: new Uint8Array(3) })).rejects.toThrow(RangeError);
  });

  it('a wrong key is refused', async () => {
    const { bank } = clients();
    await bank.select();
    const wrong = new LocalAppletKeys('2k3des', [{ code: BANK_AREA, key: new Uint8Array(16) }], counter());
    expect(await bank.authenticate(wrong)).toEqual({ ok: false, sw: 0x6982 });
  });
});

describe('CreditClient', () => {
  it('reads the card data after SELECT; VERIFY and the MAC proof; three wrong tries block', async () => {
    const { credit } = clients();
    await credit.select();
    expect(await credit.readCardData()).toEqual({
      ok: true,
      card: { cardNo: '987654321', expiry: '2712', holder: 'YAMADA TARO' },
    });
    const nonce = hexToBytes('0102030405060708');
    expect(await credit.pinProof(nonce, 2000)).toEqual({ ok: false, sw: 0x6982 });
    expect((await credit.verify('9999')).sw).toBe(0x9000);
    const p = await credit.pinProof(nonce, 2000);
    const msg = concatBytes(
      nonce,
      hexToBytes('000007d0'),
      hexToBytes('987654321fffffffffff'),
      Uint8Array.of(1),
    );
    expect(p.ok && bytesToHex(p.mac)).toBe(
      bytesToHex(retailMac(hexToBytes(BC_KEYS.creditArea), msg, 2).subarray(0, 8)),
    );
    const sws = [];
    for (let i = 0; i < 4; i++) sws.push((await credit.verify('0000')).sw);
    expect(sws).toEqual([0x63c2, 0x63c1, 0x63c0, 0x6983]);
    expect((await credit.verify('9999')).sw).toBe(0x6983);
  });

  it('share and transfer: the token reaches the credit applet, is used once', async () => {
    const { bank, credit } = clients();
    await bank.select();
    await bank.authenticate(bankKeys());
    expect((await bank.putToken(token(1))).ok).toBe(true);
    expect((await bank.putToken(token(2))).ok).toBe(true);
    expect(await bank.transferToken(1)).toEqual({ ok: true, creditSlot: 0 });
    await credit.select();
    expect((await credit.authenticate(creditKeys())).ok).toBe(true);
    const own = await credit.listTokens('own');
    expect(own.ok && own.tokens.map((t) => bytesToHex(t.tokenId))).toEqual([bytesToHex(token(2).tokenId)]);
    const shared = await credit.listTokens('shared');
    expect(shared.ok && shared.tokens.map((t) => bytesToHex(t.tokenId))).toEqual([
      bytesToHex(token(1).tokenId),
    ]);
    const g = await credit.getToken(0, 'shared');
    expect(g.ok && bytesToHex(g.envelope)).toBe(bytesToHex(token(1).envelope));
    for (const n of [1, 2]) {
      expect((await credit.markTokenUsed(token(n).tokenId)).sw).toBe(0x9000);
      expect((await credit.markTokenUsed(token(n).tokenId)).sw).toBe(0x6985);
    }
  });

  it('without the grant the shared store and the transfer are refused', async () => {
    const { bank, credit } = clients(false);
    await bank.select();
    await bank.authenticate(bankKeys());
    expect((await bank.putToken(token(1))).ok).toBe(true);
    expect(await bank.transferToken(0)).toEqual({ ok: false, sw: 0x6982 });
    await credit.select();
    await credit.authenticate(creditKeys());
    expect(await credit.listTokens('shared')).toEqual({ ok: false, sw: 0x6982 });
  });

  it('direct method: key pair, SIGN and DECRYPT of an envelope sealed to the card', async () => {
    const { credit } = clients();
    await credit.select();
    await credit.authenticate(creditKeys());
    const keys = await credit.generateKeyPair();
    if (!keys.ok) throw new Error(`GENERATE KEY PAIR: ${keys.sw.toString(16)}`);
    const msg = new TextEncoder().encode('mica-pkma-card');
    const s = await credit.sign(msg);
    expect(s.ok && ed25519.verify(s.signature, msg, keys.ed25519)).toBe(true);
    const eSecret = new Uint8Array(32).fill(3);
    const eph = x25519.getPublicKey(eSecret);
    const shared = x25519.getSharedSecret(eSecret, keys.x25519);
    const context = new TextEncoder().encode('token');
    const okm = hkdf(
      sha256,
      shared,
      concatBytes(eph, keys.x25519),
      concatBytes(new TextEncoder().encode('mica-ecies-v1'), context),
      44,
    );
    const plain = new Uint8Array(128).fill(0x42);
    const sealed = concatBytes(eph, gcm(okm.subarray(0, 32), okm.subarray(32)).encrypt(plain));
    const d = await credit.decrypt(context, sealed);
    expect(d.ok && bytesToHex(d.plaintext)).toBe(bytesToHex(plain));
    expect((await credit.putToken(token(5))).ok).toBe(true);
    expect(await credit.generateKeyPair()).toEqual({ ok: false, sw: 0x6985 });
  });
});
