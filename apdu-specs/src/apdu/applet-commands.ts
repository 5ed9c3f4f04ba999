// The project's applet APDUs: AUTHENTICATE (3-pass core, security.md 6) and the ISO PIN commands.

/**
 * AUTHENTICATE, first part: CLA 80 (channel bits allowed), INS 88, P1 00, P2 00,
 * data = n (1..16) ‖ n node codes (2 bytes each, big-endian: areas first, then services, in the
 * order access-key synthesis uses them; every node inside the applet's area [area, end]),
 * Le = 00 → cardChallenge (8 or 16 bytes).
 *
 * AUTHENTICATE, continuation: CLA 80, INS 88, P1 01, P2 00, data = readerResponse (16 or 32 bytes),
 * Le = 00 → cardResponse. On success the channel's session holds KSenc, KSmac and SSC = 0.
 *
 * Status words: 6982 for a wrong readerResponse (the session is cleared; the 6300 family is not
 * used, so a failure does not look like a PIN counter), 6985 for a continuation without a pending
 * first part, 6A88 for a node that does not exist, 6984 for a node without a key, 6982 for a node
 * outside the applet's area, 6700 for a wrong data length, 6A86 for other P1-P2.
 */
export const AUTHENTICATE = Object.freeze({
  cla: 0x80,
  ins: 0x88,
  p1First: 0x00,
  p1Continue: 0x01,
  p2: 0x00,
  maxNodes: 16,
} as const);

/**
 * PIN commands (ISO/IEC 7816-4), plaintext on the card link (security.md 6):
 * - VERIFY: 00 20 00 80, data = the PIN as an ISO 9564 format-2 block (8 bytes). Without data it
 *   asks the state: 9000 when verified, else 63Cx (x = tries left), 6983 when blocked.
 * - CHANGE REFERENCE DATA: 00 24 00 80, data = current PIN block ‖ new PIN block (16 bytes); the
 *   current PIN is checked (and counted) as VERIFY does.
 * - RESET RETRY COUNTER: 00 2C 00 80, data = unblocking-code block ‖ new PIN block (16 bytes), or
 *   00 2C 01 80 with the unblocking code only. The unblocking code has its own counter.
 * A wrong PIN answers 63Cx; a blocked one 6983; a malformed block 6A80; another P1-P2 6A86.
 */
export const PIN_COMMANDS = Object.freeze({
  verify: 0x20,
  changeReferenceData: 0x24,
  resetRetryCounter: 0x2c,
  /** P2 of the applet's own (local) PIN. */
  localPin: 0x80,
} as const);

/** An ISO 9564 format-2 PIN block: 2N ‖ PIN digits ‖ F fill (8 bytes), N = 4..12. */
export function pinBlock(digits: string): Uint8Array {
  if (typeof digits !== 'string' || !/^[0-9]{4,12}$/.test(digits))
    throw new RangeError('a PIN is 4 to 12 decimal digits');
  const nibbles = [2, digits.length, ...[...digits].map(Number)];
  while (nibbles.length < 16) nibbles.push(0xf);
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[i] = (nibbles[2 * i]! << 4) | nibbles[2 * i + 1]!;
  return out;
}

/** True when `b` is a well-formed format-2 PIN block. */
export function isPinBlock(b: Uint8Array): boolean {
  if (b.length !== 8 || b[0]! >> 4 !== 2) return false;
  const n = b[0]! & 0x0f;
  if (n < 4 || n > 12) return false;
  for (let i = 2; i < 16; i++) {
    const nib = i % 2 === 0 ? b[i >> 1]! >> 4 : b[i >> 1]! & 0x0f;
    if (i - 2 < n ? nib > 9 : nib !== 0xf) return false;
  }
  return true;
}
