// The bureau's 155-byte certificates (flows.md 1.5) and the BILL encodings (flows.md 4.1): layout,
// chain to the root, role, validity on the clock, tampering; canonical bytes and refusals.
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@mica/apdu-specs/hex';
import {
  CERTIFICATE_BYTES,
  CertificateError,
  certificateLayout,
  issueCertificate,
  parseCertificate,
  verifyCertificate,
} from '@mica/host-sdk/bureau/certificate';
import { BillError, decodeBill, encodeBill, type Bill } from '@mica/host-sdk/settlement/bill';
import { sign, verifySignature } from '@mica/host-sdk/settlement/signatures';

const rootKey = new Uint8Array(32).fill(1);
const caKey = new Uint8Array(32).fill(2);
const leafKey = new Uint8Array(32).fill(3);
const T = 1_086_570_000; // 2004-06-07 10:00 JST, Unix seconds

const root = issueCertificate(
  {
    role: 'root',
    keyType: 'ed25519',
    subjectId: 'bureau1',
    publicKey: ed25519.getPublicKey(rootKey),
    notBefore: T - 10,
    notAfter: T + 1000,
  },
  'bureau1',
  rootKey,
);
const leaf = issueCertificate(
  {
    role: 'smd',
    keyType: 'ed25519',
    subjectId: 'smd1',
    publicKey: ed25519.getPublicKey(leafKey),
    notBefore: T,
    notAfter: T + 100,
  },
  'bureau1',
  rootKey,
);

describe('bureau certificates', () => {
  it('are 155 bytes in the declared order, the signature over the 91 bytes before it', () => {
    expect(CERTIFICATE_BYTES).toBe(155);
    expect(certificateLayout.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ['version', 0, 1],
      ['role', 1, 1],
      ['keyType', 2, 1],
      ['subjectId', 3, 24],
      ['publicKey', 27, 32],
      ['notBefore', 59, 4],
      ['notAfter', 63, 4],
      ['issuerId', 67, 24],
      ['signature', 91, 64],
    ]);
    expect(bytesToHex(leaf.subarray(0, 3))).toBe('010601');
    expect(new TextDecoder().decode(leaf.subarray(3, 7))).toBe('smd1');
    expect(leaf.subarray(7, 27).every((b) => b === 0)).toBe(true);
    // notBefore 1086570000 = 0x40c3be10
    expect(bytesToHex(leaf.subarray(59, 63))).toBe('40c3be10');
    expect(ed25519.verify(leaf.subarray(91), leaf.subarray(0, 91), ed25519.getPublicKey(rootKey))).toBe(true);
    expect(parseCertificate(leaf)).toMatchObject({ role: 'smd', subjectId: 'smd1', issuerId: 'bureau1' });
  });

  it('verify to the root with the role, subject and validity at the given instant', () => {
    const ok = verifyCertificate({
      chain: [leaf],
      roots: [root],
      role: 'smd',
      subjectId: 'smd1',
      now: T * 1000 + 50_000,
    });
    expect(bytesToHex(ok.publicKey)).toBe(bytesToHex(ed25519.getPublicKey(leafKey)));
    const bad = (o: Partial<Parameters<typeof verifyCertificate>[0]>) => () =>
      verifyCertificate({ chain: [leaf], roots: [root], role: 'smd', now: T * 1000, ...o });
    expect(bad({ role: 'store' })).toThrow(/role smd, not store/);
    expect(bad({ subjectId: 'smd2' })).toThrow(/names smd1, not smd2/);
    expect(bad({ now: (T + 101) * 1000 })).toThrow(/not valid at/);
    expect(bad({ now: (T - 1) * 1000 })).toThrow(/not valid at/);
    const tampered = leaf.slice();
    tampered[30]! ^= 1;
    expect(bad({ chain: [tampered] })).toThrow(/signature of bureau1 does not verify/);
    const otherRoot = issueCertificate(
      {
        role: 'root',
        keyType: 'ed25519',
        subjectId: 'bureau1',
        publicKey: ed25519.getPublicKey(caKey),
        notBefore: T - 10,
        notAfter: T + 1000,
      },
      'bureau1',
      caKey,
    );
    expect(bad({ roots: [otherRoot] })).toThrow(CertificateError);
  });

  it('verify through a sub-certificate (an intermediate issuer)', () => {
    const ca = issueCertificate(
      {
        role: 'bank',
        keyType: 'ed25519',
        subjectId: 'bank1',
        publicKey: ed25519.getPublicKey(caKey),
        notBefore: T,
        notAfter: T + 100,
      },
      'bureau1',
      rootKey,
    );
    const sub = issueCertificate(
      {
        role: 'terminal',
        keyType: 'ed25519',
        subjectId: 'atm-105',
        publicKey: ed25519.getPublicKey(leafKey),
        notBefore: T,
        notAfter: T + 100,
      },
      'bank1',
      caKey,
    );
    expect(
      verifyCertificate({ chain: [sub, ca], roots: [root], role: 'terminal', now: T * 1000 }).subjectId,
    ).toBe('atm-105');
    expect(() => verifyCertificate({ chain: [sub], roots: [root], role: 'terminal', now: T * 1000 })).toThrow(
      /issuer bank1 is not in the chain/,
    );
  });

  it('refuse a subject longer than 24 bytes, a wrong length and an unknown role', () => {
    expect(() =>
      issueCertificate(
        {
          role: 'smd',
          keyType: 'ed25519',
          subjectId: 'x'.repeat(25),
          publicKey: new Uint8Array(32),
          notBefore: 0,
          notAfter: 1,
        },
        'b',
        rootKey,
      ),
    ).toThrow(/subjectId must be 1-24 UTF-8 bytes/);
    expect(() => parseCertificate(leaf.subarray(0, 154))).toThrow(/155 bytes, got 154/);
    const odd = leaf.slice();
    odd[1] = 99;
    expect(() => parseCertificate(odd)).toThrow(/role 99 is unknown/);
  });
});

const bill: Bill = {
  v: 1,
  storeId: 'store1',
  orderNo: 'S1000001',
  amount: 1200,
  currency: 'JPY',
  itemsDigest: 'ab'.repeat(32),
  issuedAt: T,
  expiresAt: T + 900,
  smdId: 'smd1',
};

describe('BILL', () => {
  it('encodes as canonical JSON (sorted keys, no whitespace, mallId omitted) and as 128 binary bytes', () => {
    expect(new TextDecoder().decode(encodeBill(bill, 'json'))).toBe(
      `{"amount":1200,"currency":"JPY","expiresAt":${T + 900},"issuedAt":${T},"itemsDigest":"${'ab'.repeat(32)}","orderNo":"S1000001","smdId":"smd1","storeId":"store1","v":1}`,
    );
    const b = encodeBill(bill, 'binary');
    expect(b.length).toBe(128);
    expect(bytesToHex(b.subarray(57, 61))).toBe('000004b0');
    for (const enc of ['json', 'binary'] as const)
      expect(decodeBill(encodeBill(bill, enc), enc)).toEqual(bill);
  });

  it('refuses non-canonical JSON, unknown fields, bad amounts and a wrong binary length', () => {
    const spaced = new TextEncoder().encode(JSON.stringify(bill, null, 1));
    expect(() => decodeBill(spaced, 'json')).toThrow(/not in the canonical json encoding/);
    expect(() => encodeBill({ ...bill, amount: 0 }, 'json')).toThrow(/amount must be a positive u32/);
    expect(() => encodeBill({ ...bill, orderNo: 'S1' }, 'json')).toThrow(BillError);
    expect(() => decodeBill(new TextEncoder().encode('{"v":1,"x":2}'), 'json')).toThrow(/unknown field x/);
    expect(() => decodeBill(new Uint8Array(127), 'binary')).toThrow(/128 bytes, got 127/);
  });

  it('signatures of one kind never pass as another', () => {
    const sig = sign('SIG1', { billHash: '00' }, leafKey);
    const check = {
      certificate: bytesToHex(leaf),
      roots: [root],
      role: 'smd' as const,
      subjectId: 'smd1',
      now: T * 1000,
    };
    expect(verifySignature('SIG1', { billHash: '00' }, sig, check)).toBeUndefined();
    expect(verifySignature('SIG2', { billHash: '00' }, sig, check)).toMatch(/SIG2 does not verify/);
    expect(verifySignature('SIG1', { billHash: '01' }, sig, check)).toMatch(/SIG1 does not verify/);
  });
});
