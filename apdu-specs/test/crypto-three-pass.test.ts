// The 3-pass core: DESFire EV1 transcripts, card/reader round trips for every suite, flipped bits, session and SM keys.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import {
  BLOCK_CIPHER_ALGS,
  KEY_LENGTHS,
  createBlockCipher,
  type BlockCipherAlg,
} from '../src/crypto/block-cipher';
import {
  cardChallenge,
  cardResponse,
  cardVerifyReaderResponse,
  clearParity,
  deriveSmKeys,
  keyHalvesEqual,
  randomLength,
  readerOpenChallenge,
  readerResponse,
  readerVerifyCardResponse,
  rotl8,
  sessionKey,
} from '../src/crypto/three-pass';

interface AuthVector {
  id: string;
  alg: BlockCipherAlg;
  key: string;
  rndA: string;
  rndB: string;
  cardChallenge: string;
  readerResponse: string;
  cardResponse: string;
  sessionKey: string;
  clearParity?: boolean;
}

const vectors = (
  JSON.parse(
    readFileSync(new URL('../../test-vectors/mutual-auth-desfire.json', import.meta.url), 'utf8'),
  ) as {
    vectors: AuthVector[];
  }
).vectors;

const u8 = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

function flipBit(data: Uint8Array, bit: number): Uint8Array {
  const out = data.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe('mutual-auth-desfire.json', () => {
  it.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    const key = hexToBytes(v.key);
    const card = createBlockCipher(v.alg, key);
    const reader = createBlockCipher(v.alg, key);
    const rndA = hexToBytes(v.rndA);
    const rndB = hexToBytes(v.rndB);
    const c1 = cardChallenge(card, rndB);
    expect(bytesToHex(c1)).toBe(v.cardChallenge);
    const seenB = readerOpenChallenge(reader, c1);
    expect(bytesToHex(seenB)).toBe(v.rndB);
    const c2 = readerResponse(reader, c1, rndA, seenB);
    expect(bytesToHex(c2)).toBe(v.readerResponse);
    const verified = cardVerifyReaderResponse(card, c1, c2, rndB);
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(bytesToHex(verified.rndA)).toBe(v.rndA);
    const c3 = cardResponse(card, c2, verified.rndA);
    expect(bytesToHex(c3)).toBe(v.cardResponse);
    expect(readerVerifyCardResponse(reader, c2, c3, rndA)).toBe(true);
    const ks = sessionKey(v.alg, rndA, rndB, keyHalvesEqual(key));
    expect(bytesToHex(v.clearParity === true ? clearParity(ks) : ks)).toBe(v.sessionKey);
  });
});

describe.each(BLOCK_CIPHER_ALGS.map((a) => [a] as const))('%s round trip', (alg) => {
  const n = randomLength(alg);

  it('card and reader agree on random keys and random numbers', () => {
    for (let t = 0; t < 100; t++) {
      const key = u8(KEY_LENGTHS[alg]);
      const card = createBlockCipher(alg, key);
      const reader = createBlockCipher(alg, key);
      const rndA = u8(n);
      const rndB = u8(n);
      const c1 = cardChallenge(card, rndB);
      const seenB = readerOpenChallenge(reader, c1);
      expect(seenB).toEqual(rndB);
      const c2 = readerResponse(reader, c1, rndA, seenB);
      const verified = cardVerifyReaderResponse(card, c1, c2, rndB);
      expect(verified).toEqual({ ok: true, rndA });
      const c3 = cardResponse(card, c2, rndA);
      expect(readerVerifyCardResponse(reader, c2, c3, rndA)).toBe(true);
      const halves = keyHalvesEqual(key);
      expect(sessionKey(alg, rndA, seenB, halves)).toEqual(sessionKey(alg, rndA, rndB, halves));
      card.dispose();
      reader.dispose();
    }
  });

  it('any flipped bit in readerResponse or cardResponse fails verification', () => {
    const key = u8(KEY_LENGTHS[alg]);
    const card = createBlockCipher(alg, key);
    const reader = createBlockCipher(alg, key);
    const rndA = u8(n);
    const rndB = u8(n);
    const c1 = cardChallenge(card, rndB);
    const c2 = readerResponse(reader, c1, rndA, rndB);
    const c3 = cardResponse(card, c2, rndA);
    // every bit of the half that carries rotl8(RndB), and of every block chained into it
    for (let bit = 0; bit < 8 * c2.length; bit++) {
      const r = cardVerifyReaderResponse(card, c1, flipBit(c2, bit), rndB);
      // flipping a bit of RndA's last cipher block garbles rotl8(RndB) through the chaining
      if (bit >= 8 * (c2.length - n - card.blockSize)) expect(r.ok).toBe(false);
      else if (r.ok) expect(r.rndA).not.toEqual(rndA);
    }
    for (let bit = 0; bit < 8 * c3.length; bit++) {
      expect(readerVerifyCardResponse(reader, c2, flipBit(c3, bit), rndA)).toBe(false);
    }
    // a reader that saw a corrupted challenge answers with a wrong RndB: the card refuses
    const seenB = readerOpenChallenge(reader, flipBit(c1, 3));
    expect(
      cardVerifyReaderResponse(card, c1, readerResponse(reader, flipBit(c1, 3), rndA, seenB), rndB).ok,
    ).toBe(false);
    // the wrong key fails both ways
    const otherKey = key.slice();
    otherKey[0]! ^= 0x02; // not a parity bit
    const impostor = createBlockCipher(alg, otherKey);
    expect(cardVerifyReaderResponse(impostor, c1, c2, rndB).ok).toBe(false);
    expect(readerVerifyCardResponse(impostor, c2, c3, rndA)).toBe(false);
  });
});

describe('rotl8, session keys, SM keys', () => {
  it('rotl8 rotates one byte left', () => {
    expect(bytesToHex(rotl8(hexToBytes('0011223344556677')))).toBe('1122334455667700');
    expect(rotl8(new Uint8Array(0))).toEqual(new Uint8Array(0));
  });

  const a = hexToBytes('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
  const b = hexToBytes('b0b1b2b3b4b5b6b7b8b9babbbcbdbebf');
  it('session key layouts of security.md §4', () => {
    expect(bytesToHex(sessionKey('2k3des', a.subarray(0, 8), b.subarray(0, 8)))).toBe(
      'a0a1a2a3b0b1b2b3a4a5a6a7b4b5b6b7',
    );
    expect(bytesToHex(sessionKey('2k3des', a.subarray(0, 8), b.subarray(0, 8), true))).toBe(
      'a0a1a2a3b0b1b2b3a0a1a2a3b0b1b2b3',
    );
    expect(bytesToHex(sessionKey('des', a.subarray(0, 8), b.subarray(0, 8)))).toBe(
      'a0a1a2a3b0b1b2b3a0a1a2a3b0b1b2b3',
    );
    expect(bytesToHex(sessionKey('3k3des', a, b))).toBe('a0a1a2a3b0b1b2b3a6a7a8a9b6b7b8b9acadaeafbcbdbebf');
    expect(bytesToHex(sessionKey('aes128', a, b))).toBe('a0a1a2a3b0b1b2b3acadaeafbcbdbebf');
  });

  it('clearParity clears the low bit of each byte', () => {
    expect(bytesToHex(clearParity(hexToBytes('0001fffe81')))).toBe('0000fefe80');
  });

  it('keyHalvesEqual', () => {
    expect(keyHalvesEqual(hexToBytes('0123456789abcdef0123456789abcdef'))).toBe(true);
    expect(keyHalvesEqual(hexToBytes('0123456789abcdef0123456789abcdee'))).toBe(false);
    expect(keyHalvesEqual(new Uint8Array(24))).toBe(false);
  });

  it('deriveSmKeys is SHA-256(Ks ‖ counter) cut to L bytes', () => {
    const sha = (d: Uint8Array): string => createHash('sha256').update(d).digest('hex');
    for (const [ksLength, l] of [
      [16, 16],
      [24, 24],
    ] as const) {
      const ks = u8(ksLength);
      const { ksEnc, ksMac } = deriveSmKeys(ks, l);
      expect(bytesToHex(ksEnc)).toBe(sha(new Uint8Array([...ks, 0, 0, 0, 1])).slice(0, 2 * l));
      expect(bytesToHex(ksMac)).toBe(sha(new Uint8Array([...ks, 0, 0, 0, 2])).slice(0, 2 * l));
    }
  });

  it('checks its arguments', () => {
    const des = createBlockCipher('2k3des', new Uint8Array(16));
    const aes = createBlockCipher('aes128', new Uint8Array(16));
    expect(() => cardChallenge(des, new Uint8Array(16))).toThrow(/rndB must be 8 bytes/);
    expect(() => cardChallenge(aes, new Uint8Array(8))).toThrow(/rndB must be 16 bytes/);
    expect(() => cardChallenge({} as never, new Uint8Array(8))).toThrow(/cipher/);
    expect(() =>
      readerResponse(des, new Uint8Array(8), 'x' as unknown as Uint8Array, new Uint8Array(8)),
    ).toThrow(TypeError);
    expect(() => cardResponse(des, new Uint8Array(8), new Uint8Array(8))).toThrow(
      /readerResponse must be 16 bytes/,
    );
    expect(() =>
      cardVerifyReaderResponse(des, new Uint8Array(8), new Uint8Array(15), new Uint8Array(8)),
    ).toThrow(RangeError);
    expect(() =>
      readerVerifyCardResponse(aes, new Uint8Array(32), new Uint8Array(8), new Uint8Array(16)),
    ).toThrow(/cardResponse/);
    expect(() => sessionKey('aes256' as BlockCipherAlg, a, b)).toThrow(TypeError);
    expect(() => sessionKey('3k3des', a.subarray(0, 8), b)).toThrow(/rndA must be 16 bytes/);
    expect(() => sessionKey('2k3des', a.subarray(0, 8), b.subarray(0, 8), 1 as unknown as boolean)).toThrow(
      /keyHalvesEqual/,
    );
    expect(() => deriveSmKeys(new Uint8Array(16), 8)).toThrow(/keyLength must be 16 or 24/);
    expect(() => deriveSmKeys(new Uint8Array(10), 16)).toThrow(/ks must be/);
    expect(() => rotl8(null as unknown as Uint8Array)).toThrow(TypeError);
  });
});
