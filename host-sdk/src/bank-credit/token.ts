// Seed 000's token and envelope (flows.md 2.2): the 128-byte token record (Fig. 12 fields) declared
// with buffer-layout, and the encrypt-then-sign envelope (Fig. 13) in the three key modes: 1 `ca` and
// 2 `contract` (ECIES to the credit encryption key, bank Ed25519 seal), 3 `common` (HKDF of the common
// key over the derivation data the header carries, AES-256-GCM, HMAC-SHA256 seal). Hardened mode binds
// the header as AAD of the common-mode ciphertext (flows.md 2.2 row "keyMode 3"); the ECIES modes
// bind the bank through the inner bankId check at 1005 (BINDING_MISMATCH), as the attack pair wants.
import { gcm } from '@noble/ciphers/aes.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { constantTimeEqual } from '@mica/apdu-specs/crypto/compare';
import { concatBytes } from '@mica/apdu-specs/hex';
import { defineRecord } from '@mica/apdu-specs/record-layout';

export const TOKEN_BYTES = 128;
export const KEY_MODES = Object.freeze({ ca: 1, contract: 2, common: 3 } as const);
export type KeyMode = keyof typeof KEY_MODES;
export type SealMode = 'hardened' | 'faithful';

export class TokenError extends Error {
  override readonly name = 'TokenError';
}

export const tokenLayout = defineRecord(
  'bankCreditToken',
  'seed 000 token (flows.md 2.2, Fig. 12 fields), 128 bytes big-endian',
  [
    { name: 'version', kind: 'u8', doc: '1' },
    { name: 'userName', kind: 'bytes', size: 32, doc: 'utf8[32], 00-padded' },
    { name: 'userId', kind: 'bytes', size: 16, doc: 'ascii[16]' },
    { name: 'amount', kind: 'u32be', doc: 'JPY' },
    { name: 'depositDay', kind: 'u32be', doc: 'JST day number' },
    { name: 'tokenId', kind: 'bytes', size: 16, doc: 'random' },
    { name: 'effectiveUntil', kind: 'u32be', doc: 'the deduction day (JST day number)' },
    { name: 'bankId', kind: 'bytes', size: 8, doc: 'ascii[8]' },
    { name: 'bankAccountNo', kind: 'bytes', size: 16, doc: 'ascii[16]' },
    { name: 'creditCompanyId', kind: 'bytes', size: 8, doc: 'ascii[8]' },
    { name: 'creditCardNo', kind: 'bytes', size: 16, doc: 'ascii[16]' },
    { name: 'reserved', kind: 'bytes', size: 3, doc: 'zero' },
  ] as const,
  TOKEN_BYTES,
);

export interface Token {
  readonly userName: string;
  readonly userId: string;
  readonly amount: number;
  readonly depositDay: number;
  readonly tokenId: Uint8Array;
  readonly effectiveUntil: number;
  readonly bankId: string;
  readonly bankAccountNo: string;
  readonly creditCompanyId: string;
  readonly creditCardNo: string;
}

/** A fixed-size text field: UTF-8 (ASCII when `ascii`), 00-padded; a longer value is an error. */
export function textField(value: string, n: number, what: string, ascii = true): Uint8Array {
  if (ascii && !/^[\x20-\x7e]*$/.test(value)) throw new TokenError(`${what} must be printable ASCII`);
  const b = new TextEncoder().encode(value);
  if (b.length > n) throw new TokenError(`${what} "${value}" is longer than ${n} bytes`);
  const out = new Uint8Array(n);
  out.set(b);
  return out;
}

function textValue(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new TokenError(`${what} must be a u32, got ${v}`);
  return v;
}

export function encodeToken(t: Token): Uint8Array {
  if (!(t.tokenId instanceof Uint8Array) || t.tokenId.length !== 16)
    throw new TokenError('tokenId must be 16 bytes');
  return tokenLayout.encode({
    version: 1,
    userName: textField(t.userName, 32, 'userName', false),
    userId: textField(t.userId, 16, 'userId'),
    amount: u32(t.amount, 'amount'),
    depositDay: u32(t.depositDay, 'depositDay'),
    tokenId: t.tokenId,
    effectiveUntil: u32(t.effectiveUntil, 'effectiveUntil'),
    bankId: textField(t.bankId, 8, 'bankId'),
    bankAccountNo: textField(t.bankAccountNo, 16, 'bankAccountNo'),
    creditCompanyId: textField(t.creditCompanyId, 8, 'creditCompanyId'),
    creditCardNo: textField(t.creditCardNo, 16, 'creditCardNo'),
    reserved: new Uint8Array(3),
  });
}

export function decodeToken(bytes: Uint8Array): Token {
  if (!(bytes instanceof Uint8Array) || bytes.length !== TOKEN_BYTES)
    throw new TokenError(`a token is ${TOKEN_BYTES} bytes, got ${bytes.length}`);
  const d = tokenLayout.decode(bytes);
  if (d.version !== 1) throw new TokenError(`token version ${d.version} is not 1`);
  return {
    userName: textValue(d.userName),
    userId: textValue(d.userId),
    amount: d.amount,
    depositDay: d.depositDay,
    tokenId: d.tokenId.slice(),
    effectiveUntil: d.effectiveUntil,
    bankId: textValue(d.bankId),
    bankAccountNo: textValue(d.bankAccountNo),
    creditCompanyId: textValue(d.creditCompanyId),
    creditCardNo: textValue(d.creditCardNo),
  };
}

export interface EnvelopeHeader {
  readonly keyMode: KeyMode;
  readonly bankId: string;
  /** 8 bytes: the contract key set. */
  readonly keyId: Uint8Array;
  /** 16 bytes, keyMode common only. */
  readonly derivationData?: Uint8Array;
}

const MAGIC = new TextEncoder().encode('MTK');
const HEADER_BASE = 3 + 1 + 1 + 8 + 8;

export function encodeHeader(h: EnvelopeHeader): Uint8Array {
  if (!(h.keyId instanceof Uint8Array) || h.keyId.length !== 8) throw new TokenError('keyId must be 8 bytes');
  const common = h.keyMode === 'common';
  if (common !== (h.derivationData !== undefined))
    throw new TokenError('derivationData travels in keyMode common only, and there it is required');
  if (common && h.derivationData!.length !== 16) throw new TokenError('derivationData must be 16 bytes');
  return concatBytes(
    MAGIC,
    Uint8Array.of(1, KEY_MODES[h.keyMode]),
    textField(h.bankId, 8, 'bankId'),
    h.keyId,
    common ? h.derivationData! : new Uint8Array(0),
  );
}

export interface ParsedEnvelope {
  readonly header: EnvelopeHeader;
  readonly headerBytes: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly seal: Uint8Array;
}

const ECIES_CT = 32 + TOKEN_BYTES + 16;
const COMMON_CT = 12 + TOKEN_BYTES + 16;

/** Splits an envelope by its header; a wrong magic, version, key mode or length is named. */
export function parseEnvelope(env: Uint8Array): ParsedEnvelope {
  if (!(env instanceof Uint8Array) || env.length < HEADER_BASE) throw new TokenError('envelope too short');
  if (!constantTimeEqual(env.subarray(0, 3), MAGIC)) throw new TokenError('envelope magic is not "MTK"');
  if (env[3] !== 1) throw new TokenError(`envelope version ${env[3]} is not 1`);
  const mode = (Object.keys(KEY_MODES) as KeyMode[]).find((k) => KEY_MODES[k] === env[4]);
  if (!mode) throw new TokenError(`envelope key mode ${env[4]} is unknown`);
  const hl = HEADER_BASE + (mode === 'common' ? 16 : 0);
  const ctl = mode === 'common' ? COMMON_CT : ECIES_CT;
  const sl = mode === 'common' ? 32 : 64;
  if (env.length !== hl + ctl + sl)
    throw new TokenError(`a keyMode ${mode} envelope is ${hl + ctl + sl} bytes, got ${env.length}`);
  const headerBytes = env.slice(0, hl);
  return {
    header: {
      keyMode: mode,
      bankId: textValue(env.subarray(5, 13)),
      keyId: env.slice(13, 21),
      ...(mode === 'common' ? { derivationData: env.slice(21, 37) } : {}),
    },
    headerBytes,
    ciphertext: env.slice(hl, hl + ctl),
    seal: env.slice(hl + ctl),
  };
}

const ENC = new TextEncoder();

/** ECIES (flows.md 1.5) to `recipient` under `context`. */
export function eciesSeal(
  recipient: Uint8Array,
  plaintext: Uint8Array,
  context: string,
  ephSecret: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  const eph = x25519.getPublicKey(ephSecret);
  const okm = hkdf(
    sha256,
    x25519.getSharedSecret(ephSecret, recipient),
    concatBytes(eph, recipient),
    concatBytes(ENC.encode('mica-ecies-v1'), ENC.encode(context)),
    44,
  );
  return concatBytes(eph, gcm(okm.subarray(0, 32), okm.subarray(32), aad).encrypt(plaintext));
}

export function eciesOpen(
  secret: Uint8Array,
  sealed: Uint8Array,
  context: string,
  aad?: Uint8Array,
): Uint8Array {
  const eph = sealed.subarray(0, 32);
  const mine = x25519.getPublicKey(secret);
  const okm = hkdf(
    sha256,
    x25519.getSharedSecret(secret, eph),
    concatBytes(eph, mine),
    concatBytes(ENC.encode('mica-ecies-v1'), ENC.encode(context)),
    44,
  );
  return gcm(okm.subarray(0, 32), okm.subarray(32), aad).decrypt(sealed.subarray(32));
}

/** encKey ‖ macKey of keyMode common (flows.md 2.2). */
export function commonKeys(
  commonKey: Uint8Array,
  derivationData: Uint8Array,
): { enc: Uint8Array; mac: Uint8Array } {
  if (commonKey.length !== 32) throw new TokenError('the common key must be 32 bytes');
  const okm = hkdf(sha256, commonKey, derivationData, ENC.encode('mica-token-v1'), 64);
  return { enc: okm.slice(0, 32), mac: okm.slice(32) };
}

export type SealKey =
  | {
      readonly keyMode: 'ca' | 'contract';
      readonly creditPublic: Uint8Array;
      readonly bankSecret: Uint8Array;
    }
  | { readonly keyMode: 'common'; readonly commonKey: Uint8Array };

/** Builds header ‖ ciphertext ‖ seal (encrypt-then-sign); `random(n)` gives the ephemeral/derivation bytes. */
export function sealEnvelope(
  token: Uint8Array,
  bankId: string,
  keyId: Uint8Array,
  key: SealKey,
  mode: SealMode,
  random: (n: number) => Uint8Array,
): Uint8Array {
  if (token.length !== TOKEN_BYTES) throw new TokenError(`a token is ${TOKEN_BYTES} bytes`);
  if (key.keyMode === 'common') {
    const derivationData = random(16);
    const header = encodeHeader({ keyMode: 'common', bankId, keyId, derivationData });
    const { enc, mac } = commonKeys(key.commonKey, derivationData);
    const nonce = random(12);
    const ct = concatBytes(nonce, gcm(enc, nonce, mode === 'hardened' ? header : undefined).encrypt(token));
    return concatBytes(header, ct, hmac(sha256, mac, concatBytes(header, ct)));
  }
  const header = encodeHeader({ keyMode: key.keyMode, bankId, keyId });
  const ct = eciesSeal(key.creditPublic, token, 'token', random(32));
  return concatBytes(header, ct, ed25519.sign(concatBytes(header, ct), key.bankSecret));
}

/** Re-seals header ‖ ciphertext under another bank's id, key set and signing key (the attack of 2.6). */
export function resealEnvelope(
  env: Uint8Array,
  bankId: string,
  keyId: Uint8Array,
  bankSecret: Uint8Array,
): Uint8Array {
  const p = parseEnvelope(env);
  if (p.header.keyMode === 'common')
    throw new TokenError('a common-key envelope is sealed by an HMAC, not a bank key');
  const header = encodeHeader({ keyMode: p.header.keyMode, bankId, keyId });
  return concatBytes(header, p.ciphertext, ed25519.sign(concatBytes(header, p.ciphertext), bankSecret));
}

export type OpenKey =
  | {
      readonly keyMode: 'ca' | 'contract';
      readonly bankPublic: Uint8Array;
      readonly creditSecret: Uint8Array;
    }
  | { readonly keyMode: 'common'; readonly commonKey: Uint8Array };

/** Checks the seal, then decrypts (1003, 1004); null when either fails. */
export function openEnvelope(p: ParsedEnvelope, key: OpenKey, mode: SealMode): Uint8Array | null {
  const signed = concatBytes(p.headerBytes, p.ciphertext);
  try {
    if (key.keyMode === 'common') {
      if (p.header.keyMode !== 'common') return null;
      const { enc, mac } = commonKeys(key.commonKey, p.header.derivationData!);
      if (!constantTimeEqual(hmac(sha256, mac, signed), p.seal)) return null;
      return gcm(enc, p.ciphertext.subarray(0, 12), mode === 'hardened' ? p.headerBytes : undefined).decrypt(
        p.ciphertext.subarray(12),
      );
    }
    if (p.header.keyMode === 'common') return null;
    if (!ed25519.verify(p.seal, signed, key.bankPublic)) return null;
    return eciesOpen(key.creditSecret, p.ciphertext, 'token');
  } catch {
    return null;
  }
}

/** Closing: the 15th at 00:00 JST; deduction: the 10th at 09:00 JST (flows.md 2.3 C1, C2). */
export const CLOSING_DAY = 15;
export const DEDUCTION_DAY = 10;
export const DEDUCTION_HOUR = 9;
