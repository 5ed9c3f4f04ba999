// Generates test-vectors/apdu-transcript-pkma.json ONCE with the independent implementation in
// tools/src/independent (node:crypto Ed25519, X25519, HKDF-SHA256, AES-CMAC, AES-CBC; not the card-os or
// apdu-specs code under test): the credit applet's PUT CERTIFICATE under a 3-pass session, AUTHENTICATE PK
// (flows.md 2.5) with its 61xx / GET RESPONSE path, PUT TOKEN and LIST TOKENS under the AES PK session, a
// MARK TOKEN USED refused inside it (6982), a tampered MAC (6988), and a bad bank signature (6982).
// Expected answers follow apdu-specs/REFERENCE.md and flows.md 2.5, read by hand.
// Run: node --import tsx tools/scripts/gen-pkma-vectors.ts > test-vectors/apdu-transcript-pkma.json
import { createPublicKey, diffieHellman, hkdfSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import * as R from '../src/independent/ref-crypto';
import { edKey, rawPublic, xKey } from '../src/independent/ref-keys';
import { apdu, RefApduSession } from '../src/independent/ref-sm';

const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const x = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'ascii');
const be16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const be32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const bytes = (n: number, f: (i: number) => number): Buffer =>
  Buffer.from(Array.from({ length: n }, (_, i) => f(i) & 0xff));
const SW_OK = 0x9000;
const AID = 'a0000006ef435244';
const IDM = x('02fe010203040506');
const ISSUER = 'CREDITCO-PKMA';

/** char[24]: ASCII, 00-padded. */
const name24 = (s: string): Buffer => Buffer.concat([ascii(s), Buffer.alloc(24 - s.length)]);

/** flows.md 1.5 certificate: version 1 | role | keyType 1 | subject | key | notBefore | notAfter | issuer | Ed25519. */
function certificate(role: number, subject: string, key: Buffer, issuer: string, signer: KeyObject): Buffer {
  const head = Buffer.concat([
    Buffer.from([1, role, 1]),
    name24(subject),
    key,
    be32(0x65000000),
    be32(0x70000000),
    name24(issuer),
  ]);
  return Buffer.concat([head, cryptoSign(null, head, signer)]);
}

const x25519Public = (raw: Buffer): KeyObject =>
  createPublicKey({ key: Buffer.concat([x('302a300506032b656e032100'), raw]), format: 'der', type: 'spki' });

type Exchange = { c: string; r: string };

class Transcript {
  readonly ex: Exchange[] = [];
  add(c: Buffer, r: Buffer): void {
    this.ex.push({ c: h(c), r: h(r) });
  }
  sw(c: Buffer, sw: number): void {
    this.add(c, be16(sw));
  }
  sm(
    s: RefApduSession,
    cmd: [number, number, number, number],
    data: Buffer,
    answer: Buffer,
    sw = SW_OK,
    le: number | null = 0,
  ): void {
    this.add(s.command(cmd[0], cmd[1], cmd[2], cmd[3], data, le ?? undefined), s.response(answer, sw));
  }
}

const select = (): Buffer => apdu([0x00, 0xa4, 0x04, 0x00], x(AID), 0);
const fci = (): Buffer => Buffer.concat([x(`6f0a8408${AID}`), be16(SW_OK)]);

// Keys: the 3-pass area key (2K3DES), the trust anchor (credit-AP certification key), the bank PK-MA key.
const AREA_KEY = x('404142434445464748494a4b4c4d4e4f');
const STORE_KEY = x('707172737475767778797a7b7c7d7e7f');
const anchor = edKey(bytes(32, (i) => 0x11 + i));
const bank = edKey(bytes(32, (i) => 0x71 + i));
const other = edKey(bytes(32, (i) => 0x31 + i));

function profile(): unknown {
  const svc = (code: string, blocks: number) => ({ code, blocks, key: { value: h(STORE_KEY) } });
  return {
    chip: { blocks: 1024, suite: '2k3des', idm: h(IDM) },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 300,
            key: { value: '00112233445566778899aabbccddeeff' },
            areas: [
              {
                code: '4000',
                end: '47ff',
                capacity: 150,
                key: { value: h(AREA_KEY) },
                services: [svc('4088', 38), svc('40c8', 2), svc('4108', 4), svc('4148', 14)],
              },
            ],
          },
        ],
      },
    ],
    applets: [
      {
        kind: 'credit',
        aid: AID,
        area: '4000',
        config: { trustAnchor: { issuerId: ISSUER, publicKey: h(rawPublic(anchor)) } },
      },
    ],
  };
}

const TOKEN = bytes(16, (i) => 0x50 + i);
const ENVELOPE = bytes(16, (i) => i * 7 + 3);
const putToken = Buffer.concat([be32(8000), TOKEN, ascii('CREDITCO'), be32(9000), ENVELOPE]);
const listEntry = Buffer.concat([Buffer.from([0, 1]), TOKEN, ascii('CREDITCO'), be32(9000)]);

/**
 * One card's life (one vector, so the tearing campaign replays the personalisation once): GENERATE KEY
 * PAIR and PUT CERTIFICATE under a 3-pass session; AUTHENTICATE PK refused for a bank certificate of
 * another issuer, then for a bad bank signature; then the full AUTHENTICATE PK and the PK session.
 */
function directVector(): unknown {
  const t = new Transcript();
  const rndA = bytes(8, (i) => 0xa0 + i);
  const rndB = bytes(8, (i) => 0x61 + i);
  const secret = bytes(64, (i) => 0x21 * i + 7);
  const cardEd = edKey(secret.subarray(0, 32));
  const cardX = xKey(secret.subarray(32));
  const s3 = new RefApduSession('2k3des', [AREA_KEY], rndA, rndB);
  t.add(select(), fci());
  t.add(apdu([0x80, 0x88, 0, 0], x('014000'), 0), Buffer.concat([s3.challenge, be16(SW_OK)]));
  t.add(apdu([0x80, 0x88, 1, 0], s3.readerResponse, 0), Buffer.concat([s3.cardResponse, be16(SW_OK)]));
  t.sm(s3, [0x80, 0x46, 0, 0], Buffer.alloc(0), Buffer.concat([rawPublic(cardEd), rawPublic(cardX)]));
  const subject = h(IDM).toUpperCase();
  const cardCert = certificate(4, subject, rawPublic(cardEd), ISSUER, anchor);
  // A certificate for another key first: 6A80, nothing written; then the card's own.
  t.sm(
    s3,
    [0x80, 0xda, 0, 0],
    certificate(4, subject, rawPublic(bank), ISSUER, anchor),
    Buffer.alloc(0),
    0x6a80,
    null,
  );
  t.sm(s3, [0x80, 0xda, 0, 0], cardCert, Buffer.alloc(0), SW_OK, null);
  t.add(select(), fci());
  // The bank's side: rB and its ephemeral key are the same in every attempt.
  const bankCert = certificate(2, 'MICABANK', rawPublic(bank), ISSUER, anchor);
  const rB = bytes(16, (i) => 0xb0 + i);
  const ephB = xKey(bytes(32, (i) => 0x40 + i));
  const eB = rawPublic(ephB);
  // A bank certificate the anchor signed under another issuerId: 6982, nothing drawn, nothing kept.
  const foreign = certificate(2, 'MICABANK', rawPublic(bank), 'SOMEONE-ELSE', anchor);
  t.sw(apdu([0x80, 0x86, 0, 0], Buffer.concat([foreign, rB, eB]), 0), 0x6982);
  const cardRandom = [rndB, secret];
  /** Step 1 (256 bytes and 61 0B, then GET RESPONSE); the card draws rC, then its ephemeral key. */
  const step1 = (n: number) => {
    const rC = bytes(16, (i) => 0xc0 + i + n);
    const ephCRaw = bytes(32, (i) => 0x90 + i + n);
    cardRandom.push(rC, ephCRaw);
    const eC = rawPublic(xKey(ephCRaw));
    const bankId = bankCert.subarray(3, 27);
    const cardSig = cryptoSign(
      null,
      Buffer.concat([ascii('mica-pkma-card'), rB, rC, eB, eC, bankId]),
      cardEd,
    );
    const answer = Buffer.concat([cardCert, rC, eC, cardSig]);
    t.add(
      apdu([0x80, 0x86, 0, 0], Buffer.concat([bankCert, rB, eB]), 0),
      Buffer.concat([answer.subarray(0, 256), be16(0x610b)]),
    );
    t.add(x('00c000000b'), Buffer.concat([answer.subarray(256), be16(SW_OK)]));
    return { rC, eC, bankMessage: Buffer.concat([ascii('mica-pkma-bank'), rC, rB, eC, eB, IDM]) };
  };
  // Signed by a key that is not the bank certificate's: 6982, the pending state is gone.
  const bad = step1(0);
  t.sw(apdu([0x80, 0x86, 1, 0], cryptoSign(null, bad.bankMessage, other), undefined), 0x6982);
  const p = step1(1);
  t.sw(apdu([0x80, 0x86, 1, 0], cryptoSign(null, p.bankMessage, bank), undefined), SW_OK);
  // The PK session: X25519(ephB, eC), HKDF-SHA256(salt rB ‖ rC, info mica-pkma-sm, 32), AES rules.
  const shared = diffieHellman({ privateKey: ephB, publicKey: x25519Public(p.eC) });
  const okm = Buffer.from(hkdfSync('sha256', shared, Buffer.concat([rB, p.rC]), ascii('mica-pkma-sm'), 32));
  const s = new RefApduSession('aes128', { enc: okm.subarray(0, 16), mac: okm.subarray(16, 32) });
  t.sm(s, [0x80, 0xe2, 0, 0], putToken, Buffer.from([0]));
  t.sm(s, [0x80, 0xe8, 0, 0], Buffer.alloc(0), listEntry);
  t.sm(s, [0x80, 0xee, 0, 0], TOKEN, Buffer.alloc(0), 0x6982, null);
  t.sm(s, [0x80, 0xea, 0, 0], Buffer.alloc(0), Buffer.alloc(0), 0x6982);
  t.sm(s, [0x80, 0xe8, 0, 0], Buffer.alloc(0), listEntry);
  const tampered = s.command(0x80, 0xe8, 0, 0, Buffer.alloc(0), 0);
  tampered[tampered.length - 2]! ^= 0x01;
  t.sw(tampered, 0x6988);
  t.sw(apdu([0x8c, 0xe8, 0, 0], x('970100 8e08 0000000000000000'), 0), 0x6982);
  return {
    id: 'credit-pkma-direct',
    note: 'Seed 000 direct (Fig. 15): 3-pass AUTHENTICATE (2K3DES, area 4000), GENERATE KEY PAIR, PUT CERTIFICATE of a certificate for another key (6A80) and of the card credit-AP certificate (subject = IDm 02FE010203040506, issuer CREDITCO-PKMA, the trust anchor of config.trustAnchor); SELECT; AUTHENTICATE PK step 1 with a bank certificate naming another issuer (6982); step 1 (267-byte answer: 256 bytes and 610B, GET RESPONSE 0B) and step 2 with a signature by another key (6982); step 1 and step 2 again, accepted; then under the AES PK session (X25519 + HKDF-SHA256) PUT TOKEN, LIST TOKENS, MARK TOKEN USED and GET TOKEN refused inside SM (6982), LIST again, a flipped MAC byte → 6988 and no session after it. Expected bytes by node:crypto',
    profile: profile(),
    cardRandom: cardRandom.map(h),
    exchanges: t.ex,
  };
}

const file = {
  kind: 'apdu-transcript',
  description:
    "The credit applet's AUTHENTICATE PK (flows.md 2.5, seed 000 direct): PUT CERTIFICATE, steps 1 and 2 with 61xx / GET RESPONSE, PUT TOKEN and LIST TOKENS under the AES PK session, a refused MARK TOKEN USED, a tampered MAC, a bad bank signature",
  source:
    "mica's own scheme; generated once by tools/scripts/gen-pkma-vectors.ts with the independent implementation tools/src/independent (ref-crypto.ts, ref-keys.ts, ref-sm.ts on node:crypto), not by the code under test",
  vectors: [directVector()],
};
process.stdout.write(`${JSON.stringify(file, null, 2)}\n`);
