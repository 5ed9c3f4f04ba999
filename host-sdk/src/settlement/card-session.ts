// The SMD's side of the settlement card exchange (flows.md 4.1-4.2): the key holder's cryptograms as
// whole command APDUs that the untrusted client relays, and the opening of the card's answers. The
// reader side of the 3-pass core under KC (the area key diversified from the SMD master for the
// card's IDm, security.md 2), then SECURE COMMAND in ISO 7816-4 secure messaging (hardened) or the
// faithful envelope (encrypted DO only; a top-up may go directly under KC). Pure functions: the SMD
// keeps the session secrets (wrapped) and the SSC between requests.
import { AUTHENTICATE } from '@mica/apdu-specs/apdu/applet-commands';
import { buildCommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { SETTLEMENT } from '@mica/apdu-specs/apdu/emoney-settlement';
import {
  initialSsc,
  smKeysFromSessionKey,
  unwrapResponse,
  wrapCommand,
  disposeSmKeys,
} from '@mica/apdu-specs/apdu/secure-messaging';
import {
  SETTLEMENT_KC_DIRECT,
  faithfulCommandData,
  openFaithfulResponse,
} from '@mica/apdu-specs/apdu/settlement-envelope';
import { createBlockCipher, type BlockCipher } from '@mica/apdu-specs/crypto/block-cipher';
import {
  readerOpenChallenge,
  readerResponse,
  readerVerifyCardResponse,
  sessionKey,
} from '@mica/apdu-specs/crypto/three-pass';
import { singleDesStrength, type Suite } from '@mica/apdu-specs/secure/suite';
import { synthesizeAccessKey } from '@mica/apdu-specs/secure/synthesis';

export type EnvelopeMode = 'hardened' | 'faithful';

/** A card answer split into data and SW. */
export function splitResponse(response: Uint8Array): { readonly data: Uint8Array; readonly sw: number } {
  if (response.length < 2)
    throw new RangeError(`a card answer has at least SW1 SW2, got ${response.length} bytes`);
  const n = response.length - 2;
  return { data: response.subarray(0, n), sw: (response[n]! << 8) | response[n + 1]! };
}

/** AUTHENTICATE part 1 naming the applet's area node (the common key KC). */
export function authFirstApdu(area: number): Uint8Array {
  return buildCommandApdu(
    AUTHENTICATE.cla,
    AUTHENTICATE.ins,
    AUTHENTICATE.p1First,
    0,
    Uint8Array.of(1, area >> 8, area & 0xff),
    256,
  );
}

function accessCipher(suite: Suite, kc: Uint8Array): { cipher: BlockCipher; access: Uint8Array } {
  const access = synthesizeAccessKey(suite, [kc]);
  return { cipher: createBlockCipher(suite.cipher, access), access };
}

/** From the card challenge: AUTHENTICATE part 2, and what part 3 needs (rndA ‖ rndB ‖ readerResponse). */
export function authSecond(
  suite: Suite,
  kc: Uint8Array,
  challenge: Uint8Array,
  rndA: Uint8Array,
): { readonly apdu: Uint8Array; readonly pending: Uint8Array } {
  const { cipher, access } = accessCipher(suite, kc);
  try {
    const rndB = readerOpenChallenge(cipher, challenge);
    const rr = readerResponse(cipher, challenge, rndA, rndB);
    return {
      apdu: buildCommandApdu(AUTHENTICATE.cla, AUTHENTICATE.ins, AUTHENTICATE.p1Continue, 0, rr, 256),
      pending: Uint8Array.of(...rndA, ...rndB, ...rr),
    };
  } finally {
    cipher.dispose();
    access.fill(0);
  }
}

/** Checks the card's answer to part 2; the session key Ks, or undefined when the card is not genuine. */
export function authVerify(
  suite: Suite,
  kc: Uint8Array,
  pending: Uint8Array,
  answer: Uint8Array,
): Uint8Array | undefined {
  const n = suite.randomLength;
  const rndA = pending.subarray(0, n);
  const rndB = pending.subarray(n, 2 * n);
  const rr = pending.subarray(2 * n);
  const { cipher, access } = accessCipher(suite, kc);
  try {
    if (!readerVerifyCardResponse(cipher, rr, answer, rndA)) return undefined;
    return sessionKey(suite.cipher, rndA, rndB, singleDesStrength(suite, access));
  } catch {
    return undefined;
  } finally {
    cipher.dispose();
    access.fill(0);
  }
}

/** The envelope key: the session (Ks) or, faithful top-up only, KC directly. */
export type EnvelopeKey = { readonly session: Uint8Array } | { readonly kc: Uint8Array };

export function zeroSsc(suite: Suite): Uint8Array {
  return new Uint8Array(suite.blockSize);
}

/** SECURE COMMAND <p1> as a whole APDU; `ssc` is the last one used (hardened), returned advanced. */
export function secureCommand(
  mode: EnvelopeMode,
  suite: Suite,
  key: EnvelopeKey,
  ssc: Uint8Array,
  p1: number,
  p2: number,
  data: Uint8Array,
): { readonly apdu: Uint8Array; readonly ssc: Uint8Array } {
  const cmd = { cla: SETTLEMENT.cla, ins: SETTLEMENT.insSecure, p1, p2, data, ne: 256 };
  if (mode === 'hardened') {
    if (!('session' in key)) throw new Error('hardened SECURE COMMAND needs a session');
    const keys = smKeysFromSessionKey(suite, key.session);
    try {
      const w = wrapCommand(keys, ssc.length ? ssc : initialSsc(keys), cmd);
      return { apdu: buildCommandApdu(w.cla, w.ins, w.p1, w.p2, w.data, 256), ssc: w.ssc };
    } finally {
      disposeSmKeys(keys);
    }
  }
  const { cipher, dispose } = faithfulCipher(suite, key);
  try {
    const direct = 'kc' in key ? SETTLEMENT_KC_DIRECT : 0;
    return {
      apdu: buildCommandApdu(
        SETTLEMENT.smCla,
        SETTLEMENT.insSecure,
        p1,
        p2 | direct,
        faithfulCommandData(cipher, cmd),
        256,
      ),
      ssc,
    };
  } finally {
    dispose();
  }
}

function faithfulCipher(suite: Suite, key: EnvelopeKey): { cipher: BlockCipher; dispose: () => void } {
  if ('kc' in key) {
    const { cipher, access } = accessCipher(suite, key.kc);
    access.fill(0);
    return { cipher, dispose: () => cipher.dispose() };
  }
  const keys = smKeysFromSessionKey(suite, key.session);
  return { cipher: keys.enc, dispose: () => disposeSmKeys(keys) };
}

export type OpenedAnswer =
  | { readonly ok: true; readonly data: Uint8Array; readonly sw: number; readonly ssc: Uint8Array }
  | { readonly ok: false; readonly sw: number; readonly reason: string };

/**
 * Opens the card's answer to a SECURE COMMAND: hardened, the MAC is checked (the card is the witness);
 * faithful, it is only decrypted. An answer outside the envelope (e.g. 6988, 6982) is `ok: false`.
 */
export function openAnswer(
  mode: EnvelopeMode,
  suite: Suite,
  key: EnvelopeKey,
  ssc: Uint8Array,
  response: Uint8Array,
): OpenedAnswer {
  const { data, sw } = splitResponse(response);
  if (data.length === 0)
    return {
      ok: false,
      sw,
      reason: `the card answered ${sw.toString(16).padStart(4, '0')} outside the envelope`,
    };
  if (mode === 'hardened') {
    if (!('session' in key)) throw new Error('hardened answers need a session');
    const keys = smKeysFromSessionKey(suite, key.session);
    try {
      const u = unwrapResponse(keys, ssc, data);
      if (!u.ok)
        return { ok: false, sw, reason: `the answer's secure messaging does not verify (${u.reason})` };
      if (u.sw !== sw) return { ok: false, sw, reason: 'the SW inside the MAC differs from the one outside' };
      return { ok: true, data: u.data, sw: u.sw, ssc: u.ssc };
    } finally {
      disposeSmKeys(keys);
    }
  }
  const { cipher, dispose } = faithfulCipher(suite, key);
  try {
    const o = openFaithfulResponse(cipher, data);
    if (!o) return { ok: false, sw, reason: 'the faithful envelope of the answer is malformed' };
    return { ok: true, data: o.data, sw: o.sw, ssc };
  } finally {
    dispose();
  }
}
