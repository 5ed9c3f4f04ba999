// Seed 000's `direct` placement on the back-ends (flows.md 2.2, 2.3 step 0 [1501] and A6′, 2.5
// AUTHENTICATE PK): the credit company's PK-MA certification key (the card's trust anchor), the
// credit-AP certificates it issues to cards and the bank certificates it issues to contracted banks;
// the bank's PK-MA signing key, what credit handed over at key exchange, and the narrow signing
// operation of AUTHENTICATE PK step 3. The bank's private key never leaves the bank: pkmaSign signs
// only a step-3 message (`"mica-pkma-bank" ‖ rC ‖ rB ‖ eC ‖ eB ‖ cardId`, 118 bytes).
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { CertificateError, issueCertificate, parseCertificate } from '../../bureau/certificate';
import type { Clock } from '../../platform/clock';
import type { Rng } from '../../platform/rng';
import { refuse } from '../outcome';
import type { SecretStore } from '../secrets';

/** The credit company's Ed25519 certification key (its card trust anchor). */
const CERT_KEY = 'pkma-cert';
/** How long the certificates credit issues are valid (a project choice: 5 years). */
export const PKMA_VALIDITY_S = 5 * 365 * 86_400;
/** Step 3's message: the label, rC [16], rB [16], eC [32], eB [32], cardId [8]. */
export const PKMA_BANK_LABEL = 'mica-pkma-bank';
export const PKMA_BANK_MESSAGE_BYTES = PKMA_BANK_LABEL.length + 16 + 16 + 32 + 32 + 8;

export interface PkmaAnchor {
  /** The anchor's issuerId (the credit company's id), as cards store it. */
  readonly issuerId: string;
  /** The certification key's Ed25519 public key (hex). */
  readonly publicKey: string;
}

interface Keys {
  readonly secrets: SecretStore;
  readonly rng: Rng;
}

function secretOf(k: Keys, name: string): Uint8Array {
  let s = k.secrets.get(name);
  if (!s) {
    s = k.rng.bytes(32);
    k.secrets.put(name, s);
  }
  return s;
}

/** Credit: its trust anchor (the certification key is made once). */
export function creditAnchor(k: Keys, creditId: string): PkmaAnchor {
  return { issuerId: creditId, publicKey: bytesToHex(ed25519.getPublicKey(secretOf(k, CERT_KEY))) };
}

function validity(clock: Clock): { notBefore: number; notAfter: number } {
  const s = Math.floor(clock.now() / 1000);
  return { notBefore: s, notAfter: s + PKMA_VALIDITY_S };
}

/** Credit: the credit-AP certificate of a card (subject = its IDm as 16 uppercase hex digits). */
export function certifyCard(
  k: Keys,
  clock: Clock,
  creditId: string,
  cardId: string,
  publicKey: string,
): string {
  const cert = issueCertificate(
    {
      role: 'credit-ap',
      keyType: 'ed25519',
      subjectId: cardId.toUpperCase(),
      publicKey: hexToBytes(publicKey),
      ...validity(clock),
    },
    creditId,
    secretOf(k, CERT_KEY),
  );
  return bytesToHex(cert);
}

/** Credit, step 0 [1501]: the bank certificate (role bank, subject bankId) and the anchor. */
export function certifyBank(
  k: Keys,
  clock: Clock,
  creditId: string,
  bankId: string,
  publicKey: string,
): PkmaAnchor & { readonly certificate: string } {
  const cert = issueCertificate(
    {
      role: 'bank',
      keyType: 'ed25519',
      subjectId: bankId,
      publicKey: hexToBytes(publicKey),
      ...validity(clock),
    },
    creditId,
    secretOf(k, CERT_KEY),
  );
  return { ...creditAnchor(k, creditId), certificate: bytesToHex(cert) };
}

const signName = (creditCoId: string): string => `pkma-sign:${creditCoId}`;

/** Bank: its PK-MA Ed25519 public key for a contract (the key is made once). */
export function bankPkmaKey(k: Keys, creditCoId: string): string {
  return bytesToHex(ed25519.getPublicKey(secretOf(k, signName(creditCoId))));
}

/**
 * Bank, step 0 [1501]: checks what credit handed over before it is stored: the certificate names
 * this bank with role bank, holds this contract's PK-MA key, was issued by `issuerId` and verifies
 * under the certification key, and is valid now. Answers the certificate's bytes.
 */
export function checkBankCertificate(
  k: Keys,
  clock: Clock,
  bankId: string,
  r: { creditCoId: string; issuerId: string; certificationKey: string; certificate: string },
): Uint8Array {
  const bytes = hexToBytes(r.certificate);
  const mine = k.secrets.get(signName(r.creditCoId));
  if (!mine) refuse('E_NO_KEYS', '1501', `no PK-MA key for ${r.creditCoId}: call pkmaKey first`);
  let why: string | undefined;
  try {
    const c = parseCertificate(bytes);
    const s = Math.floor(clock.now() / 1000);
    if (c.role !== 'bank' || c.keyType !== 'ed25519') why = `role ${c.role}/${c.keyType}, not bank/ed25519`;
    else if (c.subjectId !== bankId) why = `it names ${c.subjectId}, not ${bankId}`;
    else if (c.issuerId !== r.issuerId) why = `issuer ${c.issuerId}, not ${r.issuerId}`;
    else if (bytesToHex(c.publicKey) !== bytesToHex(ed25519.getPublicKey(mine)))
      why = 'it does not hold this contract’s PK-MA key';
    else if (s < c.notBefore || s > c.notAfter) why = 'it is not valid now';
    else if (!verifies(bytes, hexToBytes(r.certificationKey))) why = 'its signature does not verify';
  } catch (e) {
    if (!(e instanceof CertificateError)) throw e;
    why = e.message;
  }
  if (why !== undefined) refuse('E_NO_KEYS', '1501', `bank certificate refused: ${why}`);
  return bytes;
}

function verifies(cert: Uint8Array, key: Uint8Array): boolean {
  try {
    return ed25519.verify(cert.subarray(91), cert.subarray(0, 91), key);
  } catch {
    return false;
  }
}

/** Bank, AUTHENTICATE PK step 3: signs a step-3 message only (E_UNAUTHORIZED otherwise). */
export function pkmaSign(k: Keys, creditCoId: string, message: string): string {
  const m = hexToBytes(message);
  const label = new TextEncoder().encode(PKMA_BANK_LABEL);
  if (m.length !== PKMA_BANK_MESSAGE_BYTES || label.some((b, i) => m[i] !== b))
    refuse(
      'E_UNAUTHORIZED',
      '1502',
      `the bank signs only "${PKMA_BANK_LABEL}" ‖ rC ‖ rB ‖ eC ‖ eB ‖ cardId (${PKMA_BANK_MESSAGE_BYTES} bytes)`,
    );
  const secret = k.secrets.get(signName(creditCoId));
  if (!secret) refuse('E_NO_KEYS', '1502', `no PK-MA key for ${creditCoId}`);
  return bytesToHex(ed25519.sign(m, secret));
}
