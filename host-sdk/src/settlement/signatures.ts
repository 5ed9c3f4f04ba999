// SIG1-SIG5 of seed 002 (flows.md 4.1): Ed25519 over "mica:SIGn:" ‖ canonical JSON of the payload, so
// a signature of one kind never passes as another. A signed message travels with the signer's
// certificate; the receiver checks the chain to its trusted root, the role and the subject at
// clock.now() (../bureau/certificate), then the signature.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { canonicalJson } from '../backend/canonical-json';
import { CertificateError, verifyCertificate, type CertRole } from '../bureau/certificate';

export type SigKind = 'SIG1' | 'SIG2' | 'SIG3' | 'SIG4' | 'SIG5';

export function signedBytes(kind: SigKind, payload: unknown): Uint8Array {
  return new TextEncoder().encode(`mica:${kind}:${canonicalJson(payload)}`);
}

/** Signs with an Ed25519 private key (32 bytes); lowercase hex. */
export function sign(kind: SigKind, payload: unknown, privateKey: Uint8Array): string {
  return bytesToHex(ed25519.sign(signedBytes(kind, payload), privateKey));
}

export interface SignerCheck {
  readonly certificate: string;
  readonly roots: readonly Uint8Array[];
  readonly role: CertRole;
  readonly subjectId: string;
  readonly now: number;
}

/**
 * Verifies a signature and its signer's certificate; returns the reason it does not verify, or
 * undefined when it does.
 */
export function verifySignature(
  kind: SigKind,
  payload: unknown,
  signature: string,
  signer: SignerCheck,
): string | undefined {
  let publicKey: Uint8Array;
  try {
    publicKey = verifyCertificate({
      chain: [hexToBytes(signer.certificate)],
      roots: signer.roots,
      role: signer.role,
      subjectId: signer.subjectId,
      keyType: 'ed25519',
      now: signer.now,
    }).publicKey;
  } catch (e) {
    if (e instanceof CertificateError || e instanceof RangeError) return e.message;
    throw e;
  }
  if (!/^[0-9a-f]{128}$/.test(signature)) return `${kind} must be 64 bytes of hex`;
  try {
    if (ed25519.verify(hexToBytes(signature), signedBytes(kind, payload), publicKey)) return undefined;
  } catch {
    // a malformed signature point: not valid
  }
  return `${kind} does not verify under the certificate of ${signer.subjectId}`;
}
