// CreditClient.putCertificate and authenticatePk (pk-auth.ts) against the card-os credit applet over the
// in-process transport: personalisation, the PK session with PUT TOKEN and LIST TOKENS, and the host's
// own refusals of a card certificate (issuer, key, subject, validity) before it signs anything.
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { BC_KEYS, CREDIT_AID, CREDIT_AREA } from '../../card-os/test/bank-credit-fixtures';
import {
  ANCHOR_ISSUER,
  ANCHOR_PUB,
  ANCHOR_SEED,
  BANK_CERT,
  BANK_SEED,
  CARD_CERT,
  IDM,
  cert,
  pkmaCard,
} from '../../card-os/test/pkma-fixtures';
import { ApduClient } from '../src/apdu/apdu-client';
import { LocalAppletKeys } from '../src/applets/applet-keys';
import { CreditClient } from '../src/applets/credit-client';
import type { PkBankIdentity } from '../src/applets/pk-auth';
import { InProcessTransport } from '../src/transport/in-process';

function counter(): (n: number) => Uint8Array {
  let k = 0;
  return (n) => Uint8Array.from({ length: n }, () => (k++ * 37 + 11) & 0xff);
}

function signer(seed: Uint8Array, log: Uint8Array[] = []): PkBankIdentity {
  return {
    certificate: BANK_CERT,
    sign: (m) => {
      log.push(m);
      return Promise.resolve(ed25519.sign(m, seed));
    },
  };
}

const trust = { issuerId: ANCHOR_ISSUER, publicKey: ANCHOR_PUB };

async function personalised(certificate = CARD_CERT, options: { extended?: boolean } = {}) {
  const card = pkmaCard(true, [new Uint8Array(64)]);
  const credit = new CreditClient(
    new ApduClient(new InProcessTransport(card), { extendedLength: options.extended ?? false }),
    hexToBytes(CREDIT_AID),
  );
  expect((await credit.select()).ok).toBe(true);
  const keys = new LocalAppletKeys(
    '2k3des',
    [{ code: CREDIT_AREA, key: hexToBytes(BC_KEYS.creditArea) }],
    counter(),
  );
  expect((await credit.authenticate(keys)).ok).toBe(true);
  expect((await credit.generateKeyPair()).ok).toBe(true);
  const put = await credit.putCertificate(certificate);
  expect((await credit.select()).ok).toBe(true);
  return { card, credit, put };
}

const token = (n: number) => ({
  today: 8000,
  tokenId: new Uint8Array(16).fill(n),
  creditCompanyId: new TextEncoder().encode('CREDITCO'),
  effectiveUntil: 8100,
  envelope: Uint8Array.from({ length: 40 }, (_, i) => (i + n) & 0xff),
});

describe('CreditClient AUTHENTICATE PK', () => {
  it('puts the certificate, authenticates (61xx or extended), then PUT TOKEN and LIST TOKENS run', async () => {
    for (const extended of [false, true]) {
      const { credit, put } = await personalised(CARD_CERT, { extended });
      expect(put).toEqual({ ok: true, sw: 0x9000 });
      expect(await credit.authenticatePk(signer(BANK_SEED), trust, IDM, counter())).toEqual({ ok: true });
      expect(await credit.putToken(token(5))).toEqual({ ok: true, slot: 0 });
      const l = await credit.listTokens('own');
      expect(l.ok && l.tokens.map((t) => t.tokenId[0])).toEqual([5]);
      // Anything else is refused by the card inside SM.
      expect((await credit.markTokenUsed(token(5).tokenId)).sw).toBe(0x6982);
    }
  });

  it('the card refuses PUT CERTIFICATE of another key (6A80)', async () => {
    const other = cert({ role: 4, subject: '02FE010203040506', key: ANCHOR_PUB });
    const { put } = await personalised(other);
    expect(put).toEqual({ ok: false, sw: 0x6a80 });
  });

  it('the card refuses a bank certificate from another issuer: step 1 sw 6982', async () => {
    const { credit } = await personalised();
    const bank = { ...signer(BANK_SEED), certificate: cert({ issuer: 'SOMEONE-ELSE' }) };
    expect(await credit.authenticatePk(bank, trust, IDM, counter())).toMatchObject({ ok: false, sw: 0x6982 });
  });

  it('the card refuses a bank signature by another key: step 2 sw 6982', async () => {
    const { credit } = await personalised();
    expect(await credit.authenticatePk(signer(ANCHOR_SEED), trust, IDM, counter())).toMatchObject({
      ok: false,
      sw: 0x6982,
    });
  });

  it('the host refuses a card certificate it cannot trust, and signs nothing', async () => {
    const cases: [Parameters<CreditClient['authenticatePk']>[1], Uint8Array, RegExp][] = [
      [{ ...trust, issuerId: 'OTHER' }, IDM, /issuer CREDITCO-PKMA is not OTHER/],
      [{ ...trust, publicKey: ed25519.getPublicKey(BANK_SEED) }, IDM, /signature does not verify/],
      [trust, hexToBytes('02fe010203040507'), /subject 02FE010203040506 is not 02FE010203040507/],
      [{ ...trust, now: 0x70000001 }, IDM, /not valid at/],
      [{ ...trust, now: 0x64ffffff }, IDM, /not valid at/],
    ];
    for (const [t, idm, why] of cases) {
      const { credit } = await personalised();
      const log: Uint8Array[] = [];
      const r = await credit.authenticatePk(signer(BANK_SEED, log), t, idm, counter());
      expect(r.ok).toBe(false);
      expect(!r.ok && r.reason).toMatch(why);
      expect(log).toEqual([]);
    }
    const { credit } = await personalised();
    expect(
      await credit.authenticatePk(signer(BANK_SEED), { ...trust, now: 0x68000000 }, IDM, counter()),
    ).toEqual({
      ok: true,
    });
  });
});
