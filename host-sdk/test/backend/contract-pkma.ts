// The `direct` placement's back-end methods (flows.md 2.2, 2.3 step 0 [1501], 2.5 AUTHENTICATE PK),
// written once as a function of the contract harness and run in-process and over HTTP
// (./contract.test.ts): credit's trust anchor and the certificates it issues, the bank's PK-MA key,
// what it stores at key exchange (checked first), and its narrow step-3 signing operation.
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import type { Harness } from './contract';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
/** A 24-byte char field as the certificate holds it (00-padded), read by hand. */
const field = (cert: Uint8Array, at: number): string =>
  new TextDecoder().decode(cert.subarray(at, at + 24)).replace(/\0+$/, '');

export function pkmaContract(name: string, make: () => Promise<Harness>): void {
  describe(`seed 000 direct: PK-MA keys and certificates (${name})`, () => {
    it('credit certifies the bank and the card; the bank stores only a certificate that checks out and signs only step-3 messages', async () => {
      const h = await make();
      try {
        const anchor = expectOk(await h.credit.pkmaAnchor({}));
        expect(anchor.issuerId).toBe('credit1');
        expect(expectOk(await h.credit.pkmaAnchor({}))).toEqual(anchor);
        const anchorKey = hexToBytes(anchor.publicKey);

        expect(await h.bank.pkmaKey({ creditCoId: 'credit1' })).toMatchObject({
          ok: false,
          code: 'E_NO_CONTRACT',
        });
        expectOk(await h.bank.openContract({ creditCoId: 'credit1' }));
        const bankKey = expectOk(await h.bank.pkmaKey({ creditCoId: 'credit1' })).publicKey;
        const issued = expectOk(await h.credit.certifyBank({ bankId: 'bank1', publicKey: bankKey }));
        expect([issued.issuerId, issued.publicKey]).toEqual([anchor.issuerId, anchor.publicKey]);
        // The layout of flows.md 1.5, read by offset: version, role 2 (bank), key type 1, subject,
        // key, validity, issuer, then the anchor's signature over bytes 0-90.
        const cert = hexToBytes(issued.certificate);
        expect([cert.length, cert[0], cert[1], cert[2]]).toEqual([155, 1, 2, 1]);
        expect([field(cert, 3), bytesToHex(cert.subarray(27, 59)), field(cert, 67)]).toEqual([
          'bank1',
          bankKey,
          'credit1',
        ]);
        expect(ed25519.verify(cert.subarray(91), cert.subarray(0, 91), anchorKey)).toBe(true);

        // Nothing usable before the exchange; a tampered certificate, or one naming another bank, is refused and not stored.
        expect(await h.bank.pkmaIdentity({ creditCoId: 'credit1' })).toMatchObject({
          ok: false,
          code: 'E_NO_KEYS',
        });
        const tampered = cert.slice();
        tampered[40] = tampered[40]! ^ 1;
        const other = expectOk(
          await h.credit.certifyBank({ bankId: 'bank9', publicKey: bankKey }),
        ).certificate;
        for (const certificate of [bytesToHex(tampered), other])
          expect(
            await h.bank.exchangePkma({
              creditCoId: 'credit1',
              issuerId: anchor.issuerId,
              certificationKey: anchor.publicKey,
              certificate,
            }),
          ).toMatchObject({ ok: false, code: 'E_NO_KEYS', step: '1501' });
        expect(await h.bank.pkmaIdentity({ creditCoId: 'credit1' })).toMatchObject({
          ok: false,
          code: 'E_NO_KEYS',
        });
        const stored = expectOk(
          await h.bank.exchangePkma({
            creditCoId: 'credit1',
            issuerId: anchor.issuerId,
            certificationKey: anchor.publicKey,
            certificate: issued.certificate,
          }),
        );
        expect(expectOk(await h.bank.pkmaIdentity({ creditCoId: 'credit1' }))).toEqual(stored);
        expect(stored).toEqual({
          creditCoId: 'credit1',
          certificate: issued.certificate,
          issuerId: 'credit1',
          certificationKey: anchor.publicKey,
        });

        // Step 3: "mica-pkma-bank" ‖ rC ‖ rB ‖ eC ‖ eB ‖ cardId (118 bytes) is signed; nothing else.
        const msg = new Uint8Array(118);
        msg.set(ascii('mica-pkma-bank'));
        msg.fill(7, 14);
        const sig = expectOk(
          await h.bank.pkmaSign({ creditCoId: 'credit1', message: bytesToHex(msg) }),
        ).signature;
        expect(ed25519.verify(hexToBytes(sig), msg, hexToBytes(bankKey))).toBe(true);
        const card = msg.slice();
        card.set(ascii('mica-pkma-card'));
        for (const m of [card, msg.subarray(0, 117), ascii('hello')])
          expect(await h.bank.pkmaSign({ creditCoId: 'credit1', message: bytesToHex(m) })).toMatchObject({
            ok: false,
            code: 'E_UNAUTHORIZED',
          });

        // The card's credit-AP certificate: role 4, subject = the IDm as 16 uppercase hex digits.
        const cardKey = bytesToHex(ed25519.getPublicKey(new Uint8Array(32).fill(9)));
        const cc = hexToBytes(
          expectOk(await h.credit.certifyCard({ cardId: '0123456789abcdef', publicKey: cardKey }))
            .certificate,
        );
        expect([cc[1], cc[2], field(cc, 3), bytesToHex(cc.subarray(27, 59)), field(cc, 67)]).toEqual([
          4,
          1,
          '0123456789ABCDEF',
          cardKey,
          'credit1',
        ]);
        expect(ed25519.verify(cc.subarray(91), cc.subarray(0, 91), anchorKey)).toBe(true);
        expect(expectOk(await h.credit.exceptions({}))).toEqual([]);
      } finally {
        await h.close();
      }
    });
  });
}
