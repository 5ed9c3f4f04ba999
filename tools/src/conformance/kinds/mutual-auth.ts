// Conformance check for vector kind `mutual-auth`: card and reader sides of the 3-pass core (security.md §4) produce exactly the vector's messages and session key.
import { bytesEqual, bytesToHex } from '@mica/apdu-specs/hex';
import { KEY_LENGTHS, createBlockCipher, type BlockCipherAlg } from '@mica/apdu-specs/crypto/block-cipher';
import {
  cardChallenge,
  cardResponse,
  cardVerifyReaderResponse,
  clearParity,
  keyHalvesEqual,
  randomLength,
  readerOpenChallenge,
  readerResponse,
  readerVerifyCardResponse,
  sessionKey,
} from '@mica/apdu-specs/crypto/three-pass';
import {
  choiceField,
  fail,
  guarded,
  hexField,
  optionalBooleanField,
  PASS,
  type CheckResult,
} from '../check-result';

const ALGS: readonly BlockCipherAlg[] = ['des', '2k3des', '3k3des', 'aes128'];

function mismatch(step: string, field: string, expected: Uint8Array, computed: Uint8Array): CheckResult {
  return fail(`${step}: field "${field}" is ${bytesToHex(expected)}, computed ${bytesToHex(computed)}`);
}

export function checkMutualAuth(vector: Record<string, unknown>): CheckResult {
  return guarded(() => {
    const alg = choiceField(vector, 'alg', ALGS);
    if (!alg.ok) return alg;
    const n = randomLength(alg.value);
    const key = hexField(vector, 'key', KEY_LENGTHS[alg.value]);
    if (!key.ok) return key;
    const rndA = hexField(vector, 'rndA', n);
    if (!rndA.ok) return rndA;
    const rndB = hexField(vector, 'rndB', n);
    if (!rndB.ok) return rndB;
    const challenge = hexField(vector, 'cardChallenge', n);
    if (!challenge.ok) return challenge;
    const response = hexField(vector, 'readerResponse', 2 * n);
    if (!response.ok) return response;
    const final = hexField(vector, 'cardResponse', n);
    if (!final.ok) return final;
    const ks = hexField(vector, 'sessionKey', alg.value === '3k3des' ? 24 : 16);
    if (!ks.ok) return ks;
    const parity = optionalBooleanField(vector, 'clearParity');
    if (!parity.ok) return parity;
    const finishKey = (k: Uint8Array): Uint8Array => (parity.value === true ? clearParity(k) : k);
    const halvesEqual = alg.value === 'des' || keyHalvesEqual(key.value);

    // Each side has its own context, as a card and a reader would.
    const card = createBlockCipher(alg.value, key.value);
    const reader = createBlockCipher(alg.value, key.value);
    try {
      // Pass 1: the card encrypts RndB; the reader recovers it.
      const c1 = cardChallenge(card, rndB.value);
      if (!bytesEqual(c1, challenge.value))
        return mismatch('card, pass 1', 'cardChallenge', challenge.value, c1);
      const readerRndB = readerOpenChallenge(reader, challenge.value);
      if (!bytesEqual(readerRndB, rndB.value))
        return mismatch('reader, pass 1', 'rndB', rndB.value, readerRndB);

      // Pass 2: the reader answers; the card checks rotl8(RndB) and learns RndA.
      const c2 = readerResponse(reader, challenge.value, rndA.value, readerRndB);
      if (!bytesEqual(c2, response.value))
        return mismatch('reader, pass 2', 'readerResponse', response.value, c2);
      const verified = cardVerifyReaderResponse(card, challenge.value, response.value, rndB.value);
      if (!verified.ok) return fail('card, pass 2: field "readerResponse" does not carry rotl8(rndB)');
      if (!bytesEqual(verified.rndA, rndA.value)) {
        return mismatch('card, pass 2', 'rndA', rndA.value, verified.rndA);
      }

      // Pass 3: the card proves it knows the key; the reader checks rotl8(RndA).
      const c3 = cardResponse(card, response.value, verified.rndA);
      if (!bytesEqual(c3, final.value)) return mismatch('card, pass 3', 'cardResponse', final.value, c3);
      if (!readerVerifyCardResponse(reader, response.value, final.value, rndA.value)) {
        return fail('reader, pass 3: field "cardResponse" does not carry rotl8(rndA)');
      }

      // Both sides derive the session key from what they hold.
      const cardKs = finishKey(sessionKey(alg.value, verified.rndA, rndB.value, halvesEqual));
      if (!bytesEqual(cardKs, ks.value)) return mismatch('card, session key', 'sessionKey', ks.value, cardKs);
      const readerKs = finishKey(sessionKey(alg.value, rndA.value, readerRndB, halvesEqual));
      if (!bytesEqual(readerKs, ks.value)) {
        return mismatch('reader, session key', 'sessionKey', ks.value, readerKs);
      }
      return PASS;
    } finally {
      card.dispose();
      reader.dispose();
    }
  });
}
