// The faithful-mode envelope of the settlement applet's SECURE COMMAND (flows.md 4.1, 4.3 (F)): the
// encrypted data object only. DO 87 = 01 ‖ E_CBC(K, IV = E_ECB(K, 0…0), pad2(data)) and an optional
// DO 97 (Le); no MAC, no send sequence counter, so the IV never changes. The answer is DO 87 (if any
// data) ‖ DO 99 (SW1 SW2), encrypted the same way, no MAC. K is the session's KSenc, or KC itself
// for a top-up sent directly under the common key (P2 b8 = 1, SETTLEMENT_KC_DIRECT). This is a
// deliberate departure from security.md 6 that the §4.4 attack pairs demonstrate: CBC bit flips and
// replays are not detected. Hardened mode uses ./secure-messaging unchanged.
import type { BlockCipher } from '../crypto/block-cipher';
import { cbcDecrypt, cbcEncrypt } from '../crypto/modes';
import { pad2 } from '../crypto/padding';
import { SM_TAG, type PlainCommand } from './secure-messaging';

/** SECURE COMMAND P2 bit: the envelope is under KC directly, not under a session (faithful only). */
export const SETTLEMENT_KC_DIRECT = 0x80;

/** The applet's mode byte: byte 8 of the ID block (block 0 of the ID service, after the card ID). */
export const SETTLEMENT_MODE = Object.freeze({ hardened: 0x00, faithful: 0x01 } as const);

function zeroIv(cipher: BlockCipher): Uint8Array {
  const out = new Uint8Array(cipher.blockSize);
  cipher.encryptBlock(new Uint8Array(cipher.blockSize), 0, out, 0);
  return out;
}

function tlv(tag: number, value: Uint8Array): number[] {
  const n = value.length;
  if (n > 0xff) throw new RangeError(`a faithful envelope holds at most 255 bytes per DO, got ${n}`);
  return [tag, ...(n < 0x80 ? [n] : [0x81, n]), ...value];
}

function encrypted(cipher: BlockCipher, data: Uint8Array): number[] {
  const padded = pad2(data, cipher.blockSize);
  return tlv(SM_TAG.cryptogram, Uint8Array.of(0x01, ...cbcEncrypt(cipher, zeroIv(cipher), padded)));
}

function tlvs(b: Uint8Array): { tag: number; value: Uint8Array }[] | undefined {
  const out: { tag: number; value: Uint8Array }[] = [];
  let i = 0;
  while (i < b.length) {
    const tag = b[i++]!;
    if (i >= b.length) return undefined;
    let len = b[i++]!;
    if (len === 0x81) {
      if (i >= b.length) return undefined;
      len = b[i++]!;
    } else if (len > 0x80) return undefined;
    if (i + len > b.length) return undefined;
    out.push({ tag, value: b.subarray(i, i + len) });
    i += len;
  }
  return out;
}

function decrypted(cipher: BlockCipher, value: Uint8Array): Uint8Array | undefined {
  const bs = cipher.blockSize;
  if (value[0] !== 0x01 || value.length < 1 + bs || (value.length - 1) % bs !== 0) return undefined;
  const plain = cbcDecrypt(cipher, zeroIv(cipher), value.subarray(1));
  let i = plain.length - 1;
  while (i >= 0 && plain[i] === 0) i--;
  if (i < 0 || plain[i] !== 0x80 || plain.length - i > bs) return undefined;
  return plain.slice(0, i);
}

/** Host: the command's data field (DO 87 ‖ DO 97); CLA, INS, P1, P2 are sent as given. */
export function faithfulCommandData(cipher: BlockCipher, cmd: PlainCommand): Uint8Array {
  const out: number[] = [];
  if (cmd.data.length > 0) out.push(...encrypted(cipher, cmd.data));
  if (cmd.ne > 0) out.push(...tlv(SM_TAG.le, Uint8Array.of(cmd.ne & 0xff)));
  return Uint8Array.from(out);
}

/** Card: the inner data of a faithful envelope, or undefined when it is malformed (6988). */
export function openFaithfulCommand(cipher: BlockCipher, data: Uint8Array): Uint8Array | undefined {
  const dos = tlvs(data);
  if (!dos) return undefined;
  let inner: Uint8Array = new Uint8Array(0);
  for (const [i, d] of dos.entries()) {
    if (d.tag === SM_TAG.cryptogram && i === 0) {
      const p = decrypted(cipher, d.value);
      if (!p) return undefined;
      inner = p;
    } else if (d.tag !== SM_TAG.le || i !== dos.length - 1) return undefined;
  }
  return inner;
}

/** Card: the answer's data (DO 87 ‖ DO 99); the SW goes after it. */
export function faithfulResponseData(cipher: BlockCipher, data: Uint8Array, sw: number): Uint8Array {
  const out: number[] = [];
  if (data.length > 0) out.push(...encrypted(cipher, data));
  out.push(...tlv(SM_TAG.status, Uint8Array.of(sw >> 8, sw & 0xff)));
  return Uint8Array.from(out);
}

/** Host: opens a faithful answer (there is no MAC to check); undefined when malformed. */
export function openFaithfulResponse(
  cipher: BlockCipher,
  data: Uint8Array,
): { readonly data: Uint8Array; readonly sw: number } | undefined {
  const dos = tlvs(data);
  if (!dos || dos.length < 1 || dos.length > 2) return undefined;
  const status = dos[dos.length - 1]!;
  if (status.tag !== SM_TAG.status || status.value.length !== 2) return undefined;
  let inner: Uint8Array = new Uint8Array(0);
  if (dos.length === 2) {
    if (dos[0]!.tag !== SM_TAG.cryptogram) return undefined;
    const p = decrypted(cipher, dos[0]!.value);
    if (!p) return undefined;
    inner = p;
  }
  return { data: inner, sw: (status.value[0]! << 8) | status.value[1]! };
}
