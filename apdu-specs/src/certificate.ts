// The bureau's compact certificate (flows.md 1.5), declared once for the card (the credit applet's
// AUTHENTICATE PK, flows.md 2.5) and the host (host-sdk bureau): 155 bytes, `version u8=1 | role u8 |
// keyType u8 | subjectId char[24] | publicKey [32] | notBefore u32 | notAfter u32 (Unix s) |
// issuerId char[24] | signature [64]`, the signature being Ed25519 by the issuer over bytes 0-90.
import { defineRecord } from './record-layout';

export const CERT_ROLES = Object.freeze({
  root: 1,
  bank: 2,
  credit: 3,
  'credit-ap': 4,
  store: 5,
  smd: 6,
  brand: 7,
  issuer: 8,
  'service-center': 9,
  terminal: 10,
  emoney: 11,
  'emoney-center': 12,
} as const);

export type CertRole = keyof typeof CERT_ROLES;
export const KEY_TYPES = Object.freeze({ ed25519: 1, x25519: 2 } as const);
export type KeyType = keyof typeof KEY_TYPES;

/** Bytes of a char[24] name field (subjectId, issuerId): UTF-8, right-padded with 00. */
export const CERT_NAME_BYTES = 24;

export const certificateLayout = defineRecord(
  'certificate',
  'A bureau certificate (flows.md 1.5): 155 bytes, the signature by the issuer over bytes 0-90.',
  [
    { name: 'version', kind: 'u8', doc: '1' },
    { name: 'role', kind: 'u8', doc: '1 root, 2 bank, 3 credit, 4 credit-ap, 5 store, 6 smd, 7 brand, …' },
    { name: 'keyType', kind: 'u8', doc: '1 Ed25519, 2 X25519' },
    { name: 'subjectId', kind: 'bytes', size: CERT_NAME_BYTES, doc: 'char[24]: UTF-8, 00-padded' },
    { name: 'publicKey', kind: 'bytes', size: 32, doc: 'the subject key' },
    { name: 'notBefore', kind: 'u32be', doc: 'Unix seconds' },
    { name: 'notAfter', kind: 'u32be', doc: 'Unix seconds' },
    { name: 'issuerId', kind: 'bytes', size: CERT_NAME_BYTES, doc: 'char[24]: UTF-8, 00-padded' },
    { name: 'signature', kind: 'bytes', size: 64, doc: 'Ed25519 by the issuer over the bytes before it' },
  ] as const,
  155,
);

export const CERTIFICATE_BYTES = certificateLayout.span;
/** The signed part: every byte before the signature. */
export const CERT_SIGNED_BYTES = CERTIFICATE_BYTES - 64;
