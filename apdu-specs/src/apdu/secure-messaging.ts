// ISO/IEC 7816-4 secure messaging of security.md 6: DOs 87 / 97 / 99 / 8E under KSenc, KSmac and an SSC.
//
// Both sides, four pure directions: the host wraps a command and unwraps the response, the card
// unwraps the command and wraps the response. The SSC (cipher block size, 0 after AUTHENTICATE) is
// passed in and the advanced value handed back: +1 before the command MAC, +1 again before the
// response MAC. MAC = first 8 bytes of the suite's MAC (ISO 9797-1 algorithm 3, or AES-CMAC) over
// SSC ‖ pad2(CLA INS P1 P2) ‖ pad2(DOs). That input is padded explicitly (method 2) and so is whole
// blocks: the MAC adds no second padding block (as ISO 7816-4 / ICAO 9303 secure messaging does; a
// literal "algorithm 3 with padding 2" over it would append another 80 00.. block). The CLA in the
// MAC is the CLA as sent (with its SM bits). A header-only command (no data, no Le) MACs
// SSC ‖ pad2(header) alone.
import { createBlockCipher, type BlockCipher } from '../crypto/block-cipher';
import { constantTimeEqual } from '../crypto/compare';
import { createMac, type Mac } from '../crypto/mac';
import { cbcDecrypt, cbcEncrypt } from '../crypto/modes';
import { pad2 } from '../crypto/padding';
import { deriveSmKeys } from '../crypto/three-pass';
import type { Suite } from '../secure/suite';

export const SM_MAC_BYTES = 8;
export const SM_TAG = Object.freeze({
  cryptogram: 0x87,
  le: 0x97,
  status: 0x99,
  mac: 0x8e,
} as const);
/** The padding-content indicator that starts DO 87's value. */
const PADDING_INDICATOR = 0x01;

/** A session's SM keys with their cipher and MAC contexts built once. */
export interface SmKeys {
  readonly suite: Suite;
  readonly blockSize: 8 | 16;
  readonly enc: BlockCipher;
  readonly mac: Mac;
}

export function createSmKeys(suite: Suite, ksEnc: Uint8Array, ksMac: Uint8Array): SmKeys {
  if (!(ksEnc instanceof Uint8Array) || !(ksMac instanceof Uint8Array))
    throw new TypeError('ksEnc and ksMac must be Uint8Arrays');
  if (ksEnc.length < suite.keyLength || ksMac.length < 16)
    throw new RangeError(`SM keys for ${suite.name} must be ${suite.smKeyLength} bytes`);
  const enc = createBlockCipher(suite.cipher, ksEnc.subarray(0, suite.keyLength));
  // Padding method 1 on whole blocks adds nothing: the explicit pad2 of macOf is the only padding.
  const mac = createMac(
    suite.mac,
    suite.mac === 'aes-cmac' ? ksMac.subarray(0, 16) : ksMac.subarray(0, suite.smKeyLength),
    { padding: 1 },
  );
  return Object.freeze({ suite, blockSize: suite.blockSize, enc, mac });
}

/** SM keys of a session key Ks: KSenc and KSmac by SHA-256 (security.md 4). */
export function smKeysFromSessionKey(suite: Suite, ks: Uint8Array): SmKeys {
  const { ksEnc, ksMac } = deriveSmKeys(ks, suite.smKeyLength);
  try {
    return createSmKeys(suite, ksEnc, ksMac);
  } finally {
    ksEnc.fill(0);
    ksMac.fill(0);
  }
}

export function disposeSmKeys(keys: SmKeys): void {
  keys.enc.dispose();
  keys.mac.dispose();
}

/** The SSC right after AUTHENTICATE: zero, of the cipher block size. */
export function initialSsc(keys: SmKeys): Uint8Array {
  return new Uint8Array(keys.blockSize);
}

/** SSC + 1 (big-endian, wrapping), as a new array. */
export function incrementSsc(ssc: Uint8Array): Uint8Array {
  const out = ssc.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = (out[i]! + 1) & 0xff;
    if (out[i] !== 0) break;
  }
  return out;
}

/** A command before wrapping (or after unwrapping): CLA without SM bits. */
export interface PlainCommand {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  /** Ne of the inner command; 0 = no Le. */
  readonly ne: number;
}

export type SmFailureReason =
  'not-sm' | 'malformed' | 'missing-mac' | 'unexpected-do' | 'bad-mac' | 'bad-padding' | 'bad-length';

export interface SmFailure {
  readonly ok: false;
  readonly reason: SmFailureReason;
}

const fail = (reason: SmFailureReason): SmFailure => Object.freeze({ ok: false, reason });

/** CLA with the SM indication (b4 b3 = 11, or b6 for further-interindustry). */
export function smCla(cla: number): number {
  return (cla & 0x40) !== 0 ? cla | 0x20 : cla | 0x0c;
}

export function plainCla(cla: number): number {
  return (cla & 0x40) !== 0 ? cla & ~0x20 : cla & ~0x0c;
}

function isSmCla(cla: number): boolean {
  return (cla & 0x40) !== 0 ? (cla & 0x20) !== 0 : (cla & 0x0c) === 0x0c;
}

function tlv(tag: number, value: Uint8Array): Uint8Array {
  const n = value.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  out.set(value, 1 + len.length);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((t, p) => t + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

interface Tlv {
  readonly tag: number;
  readonly value: Uint8Array;
  /** The whole encoding (tag, length, value) as received. */
  readonly raw: Uint8Array;
}

/** Splits simple one-byte-tag BER-TLVs; undefined on any malformed length. */
function parseTlvs(b: Uint8Array): Tlv[] | undefined {
  const out: Tlv[] = [];
  let i = 0;
  while (i < b.length) {
    const start = i;
    const tag = b[i++]!;
    if (i >= b.length) return undefined;
    let len = b[i++]!;
    if (len === 0x81) {
      if (i + 1 > b.length) return undefined;
      len = b[i++]!;
    } else if (len === 0x82) {
      if (i + 2 > b.length) return undefined;
      len = (b[i]! << 8) | b[i + 1]!;
      i += 2;
    } else if (len > 0x80) return undefined;
    if (i + len > b.length) return undefined;
    out.push({ tag, value: b.subarray(i, i + len), raw: b.subarray(start, i + len) });
    i += len;
  }
  return out;
}

function iv(keys: SmKeys, ssc: Uint8Array): Uint8Array {
  const out = new Uint8Array(keys.blockSize);
  keys.enc.encryptBlock(ssc, 0, out, 0);
  return out;
}

function encryptDo(keys: SmKeys, ssc: Uint8Array, data: Uint8Array): Uint8Array {
  const padded = pad2(data, keys.blockSize);
  const body = new Uint8Array(1 + padded.length);
  body[0] = PADDING_INDICATOR;
  body.set(cbcEncrypt(keys.enc, iv(keys, ssc), padded), 1);
  padded.fill(0);
  return tlv(SM_TAG.cryptogram, body);
}

/** Decrypts DO 87's value; undefined on a wrong indicator, length or padding. */
function decryptDo(keys: SmKeys, ssc: Uint8Array, value: Uint8Array): Uint8Array | undefined {
  const bs = keys.blockSize;
  if (value[0] !== PADDING_INDICATOR || value.length < 1 + bs || (value.length - 1) % bs !== 0)
    return undefined;
  const plain = cbcDecrypt(keys.enc, iv(keys, ssc), value.subarray(1));
  let i = plain.length - 1;
  while (i >= 0 && plain[i] === 0) i--;
  if (i < 0 || plain[i] !== 0x80 || plain.length - i > bs) {
    plain.fill(0);
    return undefined;
  }
  return plain.slice(0, i);
}

function macOf(keys: SmKeys, ssc: Uint8Array, header: Uint8Array | undefined, dos: Uint8Array): Uint8Array {
  const bs = keys.blockSize;
  const parts = [ssc];
  if (header) parts.push(pad2(header, bs));
  if (dos.length > 0) parts.push(pad2(dos, bs));
  return keys.mac.compute(concat(parts)).slice(0, SM_MAC_BYTES);
}

function leBytes(ne: number): Uint8Array {
  if (ne <= 256) return Uint8Array.of(ne & 0xff);
  return Uint8Array.of((ne >> 8) & 0xff, ne & 0xff);
}

function checkSsc(keys: SmKeys, ssc: Uint8Array): void {
  if (!(ssc instanceof Uint8Array) || ssc.length !== keys.blockSize)
    throw new RangeError(`ssc must be ${keys.blockSize} bytes`);
}

/** The wrapped command's parts: SM CLA, header, and the body (87 ‖ 97 ‖ 8E). */
export interface WrappedCommand {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  /** The SSC used for the command MAC (the response expects it + 1). */
  readonly ssc: Uint8Array;
}

/** Host: wraps a command. `ssc` is the last SSC used; the returned one is the command's. */
export function wrapCommand(keys: SmKeys, ssc: Uint8Array, cmd: PlainCommand): WrappedCommand {
  checkSsc(keys, ssc);
  const next = incrementSsc(ssc);
  const cla = smCla(cmd.cla);
  const dos: Uint8Array[] = [];
  if (cmd.data.length > 0) dos.push(encryptDo(keys, next, cmd.data));
  if (cmd.ne > 0) dos.push(tlv(SM_TAG.le, leBytes(cmd.ne)));
  const body = concat(dos);
  const mac = macOf(keys, next, Uint8Array.of(cla, cmd.ins, cmd.p1, cmd.p2), body);
  return { cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data: concat([body, tlv(SM_TAG.mac, mac)]), ssc: next };
}

export type UnwrappedCommand =
  { readonly ok: true; readonly command: PlainCommand; readonly ssc: Uint8Array } | SmFailure;

/** Card: checks and opens a protected command (header as received, data = its DOs). */
export function unwrapCommand(
  keys: SmKeys,
  ssc: Uint8Array,
  apdu: {
    readonly cla: number;
    readonly ins: number;
    readonly p1: number;
    readonly p2: number;
    readonly data: Uint8Array;
  },
): UnwrappedCommand {
  checkSsc(keys, ssc);
  if (!isSmCla(apdu.cla)) return fail('not-sm');
  const dos = parseTlvs(apdu.data);
  if (!dos) return fail('malformed');
  const last = dos[dos.length - 1];
  if (!last || last.tag !== SM_TAG.mac) return fail('missing-mac');
  if (last.value.length !== SM_MAC_BYTES) return fail('bad-length');
  let cryptogram: Tlv | undefined;
  let le: Tlv | undefined;
  const body = dos.slice(0, -1);
  for (const [i, d] of body.entries()) {
    // Strict order 87, 97, each at most once.
    if (d.tag === SM_TAG.cryptogram && i === 0) cryptogram = d;
    else if (d.tag === SM_TAG.le && !le && (i === 0 || cryptogram)) le = d;
    else return fail('unexpected-do');
  }
  const next = incrementSsc(ssc);
  const macInput = concat(body.map((d) => d.raw));
  const expected = macOf(keys, next, Uint8Array.of(apdu.cla, apdu.ins, apdu.p1, apdu.p2), macInput);
  if (!constantTimeEqual(expected, last.value)) return fail('bad-mac');
  let data: Uint8Array = new Uint8Array(0);
  if (cryptogram) {
    const plain = decryptDo(keys, next, cryptogram.value);
    if (!plain) return fail('bad-padding');
    data = plain;
  }
  let ne = 0;
  if (le) {
    const v = le.value;
    if (v.length === 1) ne = v[0] === 0 ? 256 : v[0]!;
    else if (v.length === 2) ne = ((v[0]! << 8) | v[1]!) === 0 ? 65536 : (v[0]! << 8) | v[1]!;
    else return fail('bad-length');
  }
  const command = { cla: plainCla(apdu.cla), ins: apdu.ins, p1: apdu.p1, p2: apdu.p2, data, ne };
  return { ok: true, command, ssc: next };
}

/** Card: the protected response data (87 ‖ 99 ‖ 8E); `ssc` is the command's. The SW goes after it. */
export function wrapResponse(
  keys: SmKeys,
  ssc: Uint8Array,
  data: Uint8Array,
  sw: number,
): { readonly data: Uint8Array; readonly ssc: Uint8Array } {
  checkSsc(keys, ssc);
  const next = incrementSsc(ssc);
  const dos: Uint8Array[] = [];
  if (data.length > 0) dos.push(encryptDo(keys, next, data));
  dos.push(tlv(SM_TAG.status, Uint8Array.of(sw >> 8, sw & 0xff)));
  const body = concat(dos);
  return { data: concat([body, tlv(SM_TAG.mac, macOf(keys, next, undefined, body))]), ssc: next };
}

export type UnwrappedResponse =
  { readonly ok: true; readonly data: Uint8Array; readonly sw: number; readonly ssc: Uint8Array } | SmFailure;

/** Host: checks and opens a protected response; `ssc` is the command's. */
export function unwrapResponse(keys: SmKeys, ssc: Uint8Array, responseData: Uint8Array): UnwrappedResponse {
  checkSsc(keys, ssc);
  const dos = parseTlvs(responseData);
  if (!dos) return fail('malformed');
  const last = dos[dos.length - 1];
  if (!last || last.tag !== SM_TAG.mac) return fail('missing-mac');
  if (last.value.length !== SM_MAC_BYTES) return fail('bad-length');
  const body = dos.slice(0, -1);
  const status = body[body.length - 1];
  if (!status || status.tag !== SM_TAG.status || status.value.length !== 2) return fail('unexpected-do');
  const cryptogram = body.length === 2 ? body[0] : undefined;
  if (body.length > 2 || (cryptogram && cryptogram.tag !== SM_TAG.cryptogram)) return fail('unexpected-do');
  const next = incrementSsc(ssc);
  const expected = macOf(keys, next, undefined, concat(body.map((d) => d.raw)));
  if (!constantTimeEqual(expected, last.value)) return fail('bad-mac');
  let data: Uint8Array = new Uint8Array(0);
  if (cryptogram) {
    const plain = decryptDo(keys, next, cryptogram.value);
    if (!plain) return fail('bad-padding');
    data = plain;
  }
  return { ok: true, data, sw: (status.value[0]! << 8) | status.value[1]!, ssc: next };
}
