// The bureau's compact certificates (flows.md 1.5): the 155-byte layout of apdu-specs/certificate.ts,
// `version u8=1 | role u8 | keyType u8 (1 Ed25519, 2 X25519) | subjectId char[24] | publicKey [32] |
// notBefore u32 | notAfter u32 (Unix s) | issuerId char[24] | signature [64]`, the signature being
// Ed25519 by the issuer over the 91 bytes before it. Verification walks the chain to a trusted root
// and checks each link's signature, the roles (every issuer is a root or holds a certificate its own
// issuer made; the leaf has the wanted role) and the validity at the given instant (clock.now()).
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  CERT_NAME_BYTES,
  CERT_ROLES,
  CERT_SIGNED_BYTES,
  CERTIFICATE_BYTES,
  KEY_TYPES,
  certificateLayout,
  type CertRole,
  type KeyType,
} from '@mica/apdu-specs/certificate';
import { bytesToHex } from '@mica/apdu-specs/hex';

// The layout, roles and key types are declared once in apdu-specs (the card parses them too).
export { CERT_ROLES, CERTIFICATE_BYTES, KEY_TYPES, certificateLayout, type CertRole, type KeyType };

const NAME_BYTES = CERT_NAME_BYTES;
const SIGNED_BYTES = CERT_SIGNED_BYTES;

export interface Certificate {
  readonly role: CertRole;
  readonly keyType: KeyType;
  readonly subjectId: string;
  readonly publicKey: Uint8Array;
  /** Unix seconds. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly issuerId: string;
  readonly signature: Uint8Array;
}

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}

/** A char[24] field: UTF-8, right-padded with 00; a longer value (or one with a 00) is an error. */
export function charField(value: string, what: string): Uint8Array {
  const b = new TextEncoder().encode(value);
  if (b.length === 0 || b.length > NAME_BYTES || b.includes(0))
    throw new CertificateError(`${what} must be 1-${NAME_BYTES} UTF-8 bytes without NUL, got "${value}"`);
  const out = new Uint8Array(NAME_BYTES);
  out.set(b);
  return out;
}

function charValue(b: Uint8Array): string {
  let n = b.indexOf(0);
  if (n < 0) n = b.length;
  return new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(0, n));
}

const roleName = (code: number): CertRole | undefined =>
  (Object.keys(CERT_ROLES) as CertRole[]).find((r) => CERT_ROLES[r] === code);
const keyTypeName = (code: number): KeyType | undefined =>
  (Object.keys(KEY_TYPES) as KeyType[]).find((k) => KEY_TYPES[k] === code);

export interface CertificateRequest {
  readonly role: CertRole;
  readonly keyType: KeyType;
  readonly subjectId: string;
  readonly publicKey: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Issues a certificate: `issuerKey` is the issuer's Ed25519 private key (32 bytes). */
export function issueCertificate(
  request: CertificateRequest,
  issuerId: string,
  issuerKey: Uint8Array,
): Uint8Array {
  if (!(request.publicKey instanceof Uint8Array) || request.publicKey.length !== 32)
    throw new CertificateError('publicKey must be 32 bytes');
  for (const [k, v] of [
    ['notBefore', request.notBefore],
    ['notAfter', request.notAfter],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new CertificateError(`${k} must be Unix seconds (u32), got ${v}`);
  if (request.notAfter < request.notBefore) throw new CertificateError('notAfter is before notBefore');
  const bytes = certificateLayout.encode({
    version: 1,
    role: CERT_ROLES[request.role],
    keyType: KEY_TYPES[request.keyType],
    subjectId: charField(request.subjectId, 'subjectId'),
    publicKey: request.publicKey,
    notBefore: request.notBefore,
    notAfter: request.notAfter,
    issuerId: charField(issuerId, 'issuerId'),
    signature: new Uint8Array(64),
  });
  bytes.set(ed25519.sign(bytes.subarray(0, SIGNED_BYTES), issuerKey), SIGNED_BYTES);
  return bytes;
}

/** Decodes a certificate (no signature check); a wrong length, version, role or key type is named. */
export function parseCertificate(bytes: Uint8Array): Certificate {
  if (!(bytes instanceof Uint8Array) || bytes.length !== CERTIFICATE_BYTES)
    throw new CertificateError(`a certificate is ${CERTIFICATE_BYTES} bytes, got ${bytes.length}`);
  const c = certificateLayout.decode(bytes);
  if (c.version !== 1) throw new CertificateError(`certificate version ${c.version} is not 1`);
  const role = roleName(c.role);
  if (!role) throw new CertificateError(`certificate role ${c.role} is unknown`);
  const keyType = keyTypeName(c.keyType);
  if (!keyType) throw new CertificateError(`certificate key type ${c.keyType} is unknown`);
  return {
    role,
    keyType,
    subjectId: charValue(c.subjectId),
    publicKey: c.publicKey.slice(),
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    issuerId: charValue(c.issuerId),
    signature: c.signature.slice(),
  };
}

export interface ChainCheck {
  /** The leaf first, then intermediates; the root is among `roots`, not here. */
  readonly chain: readonly Uint8Array[];
  /** Trusted root certificates (self-signed, role root). */
  readonly roots: readonly Uint8Array[];
  readonly role: CertRole;
  /** Milliseconds (clock.now()). */
  readonly now: number;
  /** When given, the leaf's subject must be this one. */
  readonly subjectId?: string;
  readonly keyType?: KeyType;
}

function signatureOk(bytes: Uint8Array, issuerPublic: Uint8Array): boolean {
  try {
    return ed25519.verify(bytes.subarray(SIGNED_BYTES), bytes.subarray(0, SIGNED_BYTES), issuerPublic);
  } catch {
    return false;
  }
}

/**
 * Verifies `chain` up to a trusted root and returns the leaf; throws a CertificateError naming the
 * first link that fails (signature, validity at `now`, role, subject).
 */
export function verifyCertificate(check: ChainCheck): Certificate {
  if (check.chain.length === 0) throw new CertificateError('an empty certificate chain');
  const roots = check.roots.map((r) => {
    const c = parseCertificate(r);
    if (c.role !== 'root' || c.issuerId !== c.subjectId || !signatureOk(r, c.publicKey))
      throw new CertificateError(`trusted root ${c.subjectId} is not a valid self-signed root certificate`);
    return c;
  });
  const seconds = Math.floor(check.now / 1000);
  const certs = check.chain.map(parseCertificate);
  for (const [i, c] of certs.entries()) {
    if (seconds < c.notBefore || seconds > c.notAfter)
      throw new CertificateError(
        `certificate of ${c.subjectId} is not valid at ${new Date(check.now).toISOString()} (valid ${c.notBefore}-${c.notAfter})`,
      );
    const next = certs[i + 1];
    const issuer = next ?? roots.find((r) => r.subjectId === c.issuerId);
    if (!issuer || issuer.subjectId !== c.issuerId)
      throw new CertificateError(
        `certificate of ${c.subjectId}: issuer ${c.issuerId} is not in the chain or trusted`,
      );
    if (issuer.keyType !== 'ed25519')
      throw new CertificateError(`issuer ${issuer.subjectId} holds no signing key`);
    if (!signatureOk(check.chain[i]!, issuer.publicKey))
      throw new CertificateError(
        `certificate of ${c.subjectId}: the signature of ${c.issuerId} does not verify`,
      );
  }
  const last = certs[certs.length - 1]!;
  const root = roots.find((r) => r.subjectId === last.issuerId);
  if (!root) throw new CertificateError(`chain of ${certs[0]!.subjectId} does not end at a trusted root`);
  if (seconds < root.notBefore || seconds > root.notAfter)
    throw new CertificateError(`root ${root.subjectId} is not valid at ${new Date(check.now).toISOString()}`);
  const leaf = certs[0]!;
  if (leaf.role !== check.role)
    throw new CertificateError(`certificate of ${leaf.subjectId} has role ${leaf.role}, not ${check.role}`);
  if (check.subjectId !== undefined && leaf.subjectId !== check.subjectId)
    throw new CertificateError(`certificate names ${leaf.subjectId}, not ${check.subjectId}`);
  if (check.keyType !== undefined && leaf.keyType !== check.keyType)
    throw new CertificateError(
      `certificate of ${leaf.subjectId} holds an ${leaf.keyType} key, not ${check.keyType}`,
    );
  return leaf;
}

/** A short label for logs: role/subject and the first bytes of the key. */
export function describeCertificate(c: Certificate): string {
  return `${c.role}/${c.subjectId} ${bytesToHex(c.publicKey.subarray(0, 4))}…`;
}
