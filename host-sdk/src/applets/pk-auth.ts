// The bank side of the credit applet's AUTHENTICATE PK (flows.md 2.5, Fig. 15; seed 000 `direct`): send
// the bank certificate, rB and an ephemeral X25519 key; check the card's credit-AP certificate against
// the credit-AP certification key (trust) and the card's signature; sign step 2; derive the AES SM keys.
// The result is an SM client (SSC 0) on which PUT TOKEN and LIST TOKENS of the own store run.
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { BANK_CREDIT, PKMA } from '@mica/apdu-specs/apdu/bank-credit';
import { createSmKeys } from '@mica/apdu-specs/apdu/secure-messaging';
import {
  CERT_ROLES,
  CERT_SIGNED_BYTES,
  CERTIFICATE_BYTES,
  KEY_TYPES,
  certificateLayout,
} from '@mica/apdu-specs/certificate';
import { concatBytes } from '@mica/apdu-specs/hex';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import type { ApduClient } from '../apdu/apdu-client';
import type { RandomBytes } from './applet-keys';

/** The bank's side: its 155-byte bank certificate issued by credit, and its PK-MA signing key. */
export interface PkBankIdentity {
  /** 155-byte bank certificate issued by credit (role bank, Ed25519). */
  readonly certificate: Uint8Array;
  /** Ed25519 by the bank's PK-MA key (the key of `certificate`). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** What the bank trusts: the credit-AP certification key and its issuerId; `now` (Unix s) checks validity. */
export interface PkTrust {
  readonly issuerId: string;
  /** The credit-AP certification key (Ed25519, 32 bytes). */
  readonly publicKey: Uint8Array;
  /** When given (Unix seconds), the card certificate must be valid at it. */
  readonly now?: number;
}

export type PkAuthResult =
  { readonly ok: true } | { readonly ok: false; readonly sw?: number; readonly reason: string };

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const hexUpper = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, '0').toUpperCase()).join('');

/** A char[24] field's text (up to the first 00); undefined when it is not UTF-8. */
function charValue(b: Uint8Array): string | undefined {
  const n = b.indexOf(0);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(n < 0 ? b : b.subarray(0, n));
  } catch {
    return undefined;
  }
}

function verify(signature: Uint8Array, message: Uint8Array, key: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, key);
  } catch {
    return false;
  }
}

/** Why the card's credit-AP certificate is not acceptable, or undefined when it is. */
export function checkCardCertificate(
  cert: Uint8Array,
  trust: PkTrust,
  cardId: Uint8Array,
): string | undefined {
  if (cert.length !== CERTIFICATE_BYTES) return `the card certificate is ${cert.length} bytes, not 155`;
  const c = certificateLayout.decode(cert);
  if (c.version !== 1) return `card certificate version ${c.version} is not 1`;
  if (c.role !== CERT_ROLES['credit-ap']) return `card certificate role ${c.role} is not credit-ap (4)`;
  if (c.keyType !== KEY_TYPES.ed25519) return `card certificate key type ${c.keyType} is not Ed25519 (1)`;
  const issuer = charValue(c.issuerId);
  if (issuer !== trust.issuerId)
    return `card certificate issuer ${issuer ?? '(not UTF-8)'} is not ${trust.issuerId}`;
  if (!verify(c.signature, cert.subarray(0, CERT_SIGNED_BYTES), trust.publicKey))
    return 'the card certificate signature does not verify under the credit-AP certification key';
  const subject = charValue(c.subjectId);
  if (subject !== hexUpper(cardId))
    return `card certificate subject ${subject ?? '(not UTF-8)'} is not ${hexUpper(cardId)}`;
  if (trust.now !== undefined && (trust.now < c.notBefore || trust.now > c.notAfter))
    return `card certificate is not valid at ${trust.now} (valid ${c.notBefore}-${c.notAfter})`;
  return undefined;
}

/**
 * Runs AUTHENTICATE PK (steps 1 and 2) on the credit applet selected on `client`'s channel. On success
 * the SM client of the PK session (AES rules of security.md 6, SSC 0).
 */
export async function authenticatePk(
  client: ApduClient,
  bank: PkBankIdentity,
  trust: PkTrust,
  cardId: Uint8Array,
  random: RandomBytes,
): Promise<{ readonly result: PkAuthResult; readonly client?: ApduClient }> {
  if (!(bank.certificate instanceof Uint8Array) || bank.certificate.length !== CERTIFICATE_BYTES)
    throw new RangeError('bank.certificate must be the 155-byte bank certificate');
  if (!(trust.publicKey instanceof Uint8Array) || trust.publicKey.length !== 32)
    throw new RangeError('trust.publicKey must be 32 bytes');
  if (!(cardId instanceof Uint8Array) || cardId.length !== 8)
    throw new RangeError('cardId must be the 8-byte IDm');
  const rB = random(PKMA.random);
  const ephemeral = random(PKMA.ephemeral);
  let shared: Uint8Array | undefined;
  let okm: Uint8Array | undefined;
  try {
    const eB = x25519.getPublicKey(ephemeral);
    const first = await client.send({
      cla: BANK_CREDIT.cla,
      ins: BANK_CREDIT.authenticatePk,
      p1: BANK_CREDIT.pkStep1,
      p2: 0,
      data: concatBytes(bank.certificate, rB, eB),
      ne: 65536,
      name: 'AUTHENTICATE PK (1)',
    });
    if (!first.ok) return { result: { ok: false, sw: first.sw, reason: 'the card refused step 1' } };
    if (first.data.length !== PKMA.step1Answer)
      return {
        result: { ok: false, reason: `step 1 answered ${first.data.length} bytes, not ${PKMA.step1Answer}` },
      };
    const cert = first.data.subarray(0, CERTIFICATE_BYTES);
    const why = checkCardCertificate(cert, trust, cardId);
    if (why) return { result: { ok: false, reason: why } };
    let at = CERTIFICATE_BYTES;
    const rC = first.data.slice(at, (at += PKMA.random));
    const eC = first.data.slice(at, (at += PKMA.ephemeral));
    const cardSignature = first.data.slice(at);
    const cardKey = certificateLayout.decode(cert).publicKey;
    const bankId = certificateLayout.decode(bank.certificate).subjectId;
    if (!verify(cardSignature, concatBytes(text(PKMA.cardLabel), rB, rC, eB, eC, bankId), cardKey))
      return { result: { ok: false, reason: 'the card signature does not verify' } };
    const signature = await bank.sign(concatBytes(text(PKMA.bankLabel), rC, rB, eC, eB, cardId));
    const second = await client.send({
      cla: BANK_CREDIT.cla,
      ins: BANK_CREDIT.authenticatePk,
      p1: BANK_CREDIT.pkStep2,
      p2: 0,
      data: signature,
      name: 'AUTHENTICATE PK (2)',
    });
    if (!second.ok) return { result: { ok: false, sw: second.sw, reason: 'the card refused step 2' } };
    shared = x25519.getSharedSecret(ephemeral, eC);
    okm = hkdf(sha256, shared, concatBytes(rB, rC), text(PKMA.smInfo), 32);
    const keys = createSmKeys(suiteByName('aes128'), okm.subarray(0, 16), okm.subarray(16, 32));
    return { result: { ok: true }, client: client.withSecureMessaging(keys) };
  } finally {
    ephemeral.fill(0);
    shared?.fill(0);
    okm?.fill(0);
  }
}
