// The host SDK's CreditClient (putCertificate, authenticatePk, then putToken / listTokens under the PK
// session) sends, byte for byte, the commands of apdu-transcript-pkma.json, which the independent
// implementation in tools/src/independent made (tools/scripts/gen-pkma-vectors.ts); the card answers them.
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { ListRandom } from '@mica/card-os/random';
import { ApduClient } from '@mica/host-sdk/apdu/apdu-client';
import { LocalAppletKeys } from '@mica/host-sdk/applets/applet-keys';
import { CreditClient } from '@mica/host-sdk/applets/credit-client';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
import { traced } from '@mica/host-sdk/transport/transport';

interface Vec {
  id: string;
  profile: unknown;
  cardRandom: string[];
  exchanges: { c: string; r: string }[];
}
const file = JSON.parse(
  readFileSync(new URL('../../test-vectors/apdu-transcript-pkma.json', import.meta.url), 'utf8'),
) as { vectors: Vec[] };

const seq = (n: number, start: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
const enc = new TextEncoder();
const name24 = (s: string): Uint8Array => concatBytes(enc.encode(s), new Uint8Array(24 - s.length));
const ANCHOR = seq(32, 0x11);
const BANK = seq(32, 0x71);

/** The generator's certificate, rebuilt with @noble (Ed25519 signatures are deterministic). */
function certificate(role: number, subject: string, key: Uint8Array, issuer: string): Uint8Array {
  const head = concatBytes(
    Uint8Array.of(1, role, 1),
    name24(subject),
    key,
    hexToBytes('6500000070000000'),
    name24(issuer),
  );
  return concatBytes(head, ed25519.sign(head, ANCHOR));
}

describe('CreditClient against apdu-transcript-pkma.json', () => {
  it('credit-pkma-direct: the same commands (refused attempts included), the same outcomes', async () => {
    const v = file.vectors.find((x) => x.id === 'credit-pkma-direct')!;
    const card = new Card(cardImageFromProfile(parseProfile(v.profile)), {
      random: new ListRandom(v.cardRandom.map((r) => hexToBytes(r))),
    });
    card.powerOn();
    const sent: string[] = [];
    const transport = traced(
      new InProcessTransport(card),
      (e) => void (e.direction === 'command' && e.bytes && sent.push(bytesToHex(e.bytes))),
      { secrets: true },
    );
    const credit = new CreditClient(new ApduClient(transport), hexToBytes('a0000006ef435244'));
    const idm = hexToBytes('02fe010203040506');
    const cardPub = ed25519.getPublicKey(hexToBytes(v.cardRandom[1]!).subarray(0, 32));
    const bankPub = ed25519.getPublicKey(BANK);
    await credit.select();
    const keys = new LocalAppletKeys(
      '2k3des',
      [{ code: 0x4000, key: hexToBytes('404142434445464748494a4b4c4d4e4f') }],
      (n) => seq(n, 0xa0),
    );
    expect((await credit.authenticate(keys)).ok).toBe(true);
    const pair = await credit.generateKeyPair();
    expect(pair.ok && bytesToHex(pair.ed25519)).toBe(bytesToHex(cardPub));
    expect(await credit.putCertificate(certificate(4, '02FE010203040506', bankPub, 'CREDITCO-PKMA'))).toEqual(
      {
        ok: false,
        sw: 0x6a80,
      },
    );
    expect(await credit.putCertificate(certificate(4, '02FE010203040506', cardPub, 'CREDITCO-PKMA'))).toEqual(
      {
        ok: true,
        sw: 0x9000,
      },
    );
    await credit.select();
    const bankCert = certificate(2, 'MICABANK', bankPub, 'CREDITCO-PKMA');
    const identity = (certificate: Uint8Array, key: Uint8Array) => ({
      certificate,
      sign: (m: Uint8Array) => Promise.resolve(ed25519.sign(m, key)),
    });
    const trust = { issuerId: 'CREDITCO-PKMA', publicKey: ed25519.getPublicKey(ANCHOR) };
    // The generator's rB and bank ephemeral key, the same in every attempt.
    const random = (n: number): Uint8Array => (n === 16 ? seq(16, 0xb0) : seq(32, 0x40));
    const foreign = identity(certificate(2, 'MICABANK', bankPub, 'SOMEONE-ELSE'), BANK);
    expect(await credit.authenticatePk(foreign, trust, idm, random)).toMatchObject({ ok: false, sw: 0x6982 });
    const wrongKey = identity(bankCert, seq(32, 0x31));
    expect(await credit.authenticatePk(wrongKey, trust, idm, random)).toMatchObject({
      ok: false,
      sw: 0x6982,
    });
    const r = await credit.authenticatePk(identity(bankCert, BANK), trust, idm, random);
    expect(r).toEqual({ ok: true });
    const tokenId = seq(16, 0x50);
    const envelope = Uint8Array.from({ length: 16 }, (_, i) => (i * 7 + 3) & 0xff);
    const token = {
      today: 8000,
      tokenId,
      creditCompanyId: enc.encode('CREDITCO'),
      effectiveUntil: 9000,
      envelope,
    };
    expect(await credit.putToken(token)).toEqual({ ok: true, slot: 0 });
    const l = await credit.listTokens('own');
    expect(l.ok && l.tokens.map((t) => bytesToHex(t.tokenId))).toEqual([bytesToHex(tokenId)]);
    expect((await credit.markTokenUsed(tokenId)).sw).toBe(0x6982);
    expect(await credit.getToken(0)).toEqual({ ok: false, sw: 0x6982 });
    expect((await credit.listTokens('own')).ok).toBe(true);
    expect(sent).toEqual(v.exchanges.slice(0, sent.length).map((e) => e.c));
    expect(sent.length).toBe(v.exchanges.length - 2);
  });
});
