// Ed25519 / X25519 through node:crypto against RFC vectors and @noble/curves as the independent reference.
import { describe, expect, it } from 'vitest';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import {
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  x25519PublicKey,
  x25519SharedSecret,
} from '../src/crypto/curve25519';

/** Seeded bytes: SHA-256(label ‖ counter), concatenated. */
function seeded(label: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let at = 0; at < n; at += 32) {
      const block = sha256(new TextEncoder().encode(`${label}:${counter++}`));
      out.set(block.subarray(0, Math.min(32, n - at)), at);
    }
    return out;
  };
}

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const c = b.slice();
  c[(bit >> 3) % c.length]! ^= 1 << (bit & 7);
  return c;
}

/** True when `b` owns exactly its bytes: a plain Uint8Array, not a Buffer or a view into a pool. */
function fresh(b: Uint8Array, length: number): boolean {
  return (
    Object.getPrototypeOf(b) === Uint8Array.prototype &&
    b.length === length &&
    b.byteOffset === 0 &&
    b.buffer.byteLength === length
  );
}

const ROUNDS = 300;

describe('curve25519: RFC vectors', () => {
  it('RFC 8032 7.1 TEST 1 (empty message)', () => {
    const secret = hexToBytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const pub = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
    const sig =
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';
    expect(bytesToHex(ed25519PublicKey(secret))).toBe(pub);
    expect(bytesToHex(ed25519Sign(new Uint8Array(0), secret))).toBe(sig);
    expect(ed25519Verify(hexToBytes(sig), new Uint8Array(0), hexToBytes(pub))).toBe(true);
    expect(ed25519Verify(hexToBytes(sig), new Uint8Array(1), hexToBytes(pub))).toBe(false);
  });

  it('RFC 7748 6.1 Alice and Bob', () => {
    const a = hexToBytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const b = hexToBytes('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const aPub = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
    const bPub = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
    const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(bytesToHex(x25519PublicKey(a))).toBe(aPub);
    expect(bytesToHex(x25519PublicKey(b))).toBe(bPub);
    expect(bytesToHex(x25519SharedSecret(a, hexToBytes(bPub)))).toBe(k);
    expect(bytesToHex(x25519SharedSecret(b, hexToBytes(aPub)))).toBe(k);
  });
});

describe('curve25519: the same bytes as @noble/curves', () => {
  it(`Ed25519 public keys, signatures and verification over ${ROUNDS} seeded keys and messages`, () => {
    const rnd = seeded('mica-curve25519-ed');
    for (let i = 0; i < ROUNDS; i++) {
      const secret = rnd(32);
      const message = rnd(i % 97);
      const pub = ed25519PublicKey(secret);
      expect(bytesToHex(pub)).toBe(bytesToHex(ed25519.getPublicKey(secret)));
      const sig = ed25519Sign(message, secret);
      expect(bytesToHex(sig)).toBe(bytesToHex(ed25519.sign(message, secret)));
      expect(ed25519Verify(sig, message, pub)).toBe(true);
      const bit = rnd(2)[0]! + 256 * (i & 1);
      const otherKey = ed25519.getPublicKey(rnd(32));
      const cases: [Uint8Array, Uint8Array, Uint8Array][] = [
        [sig, message.length > 0 ? flipBit(message, bit) : new Uint8Array([i & 0xff]), pub],
        [flipBit(sig, bit), message, pub],
        [sig, message, otherKey],
      ];
      for (const [s, m, k] of cases) {
        expect(ed25519Verify(s, m, k)).toBe(false);
        expect(ed25519.verify(s, m, k)).toBe(false);
      }
    }
  });

  it(`X25519 public keys and shared secrets both ways over ${ROUNDS} seeded key pairs`, () => {
    const rnd = seeded('mica-curve25519-x');
    for (let i = 0; i < ROUNDS; i++) {
      const a = rnd(32);
      const b = rnd(32);
      const aPub = x25519PublicKey(a);
      const bPub = x25519PublicKey(b);
      expect(bytesToHex(aPub)).toBe(bytesToHex(x25519.getPublicKey(a)));
      expect(bytesToHex(bPub)).toBe(bytesToHex(x25519.getPublicKey(b)));
      const ab = x25519SharedSecret(a, bPub);
      expect(bytesToHex(ab)).toBe(bytesToHex(x25519.getSharedSecret(a, bPub)));
      expect(bytesToHex(x25519SharedSecret(b, aPub))).toBe(bytesToHex(ab));
    }
  });

  it('X25519 with arbitrary peer u-coordinates (top bit set, non-canonical, off the curve)', () => {
    const rnd = seeded('mica-curve25519-u');
    const secret = rnd(32);
    const us = Array.from({ length: 100 }, () => rnd(32));
    // p + 2 .. p + 18 and 2^255 - 1: non-canonical encodings RFC 7748 says to reduce.
    for (let d = 2n; d <= 18n; d++) {
      const v = 2n ** 255n - 19n + d;
      us.push(Uint8Array.from({ length: 32 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn)));
    }
    us.push(new Uint8Array(32).fill(0xff));
    for (const u of us) {
      let expected: string;
      try {
        expected = bytesToHex(x25519.getSharedSecret(secret, u));
      } catch {
        expected = 'refused';
      }
      let got: string;
      try {
        got = bytesToHex(x25519SharedSecret(secret, u));
      } catch {
        got = 'refused';
      }
      expect(got).toBe(expected);
    }
  });
});

describe('curve25519: edges', () => {
  const secret = hexToBytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const pub = ed25519.getPublicKey(secret);
  const msg = new TextEncoder().encode('mica');
  const sig = ed25519.sign(msg, secret);

  it('verify answers false for a signature or key of the wrong length', () => {
    expect(ed25519Verify(sig.subarray(0, 63), msg, pub)).toBe(false);
    expect(ed25519Verify(new Uint8Array([...sig, 0]), msg, pub)).toBe(false);
    expect(ed25519Verify(new Uint8Array(0), msg, pub)).toBe(false);
    expect(ed25519Verify(sig, msg, pub.subarray(0, 31))).toBe(false);
    expect(ed25519Verify(sig, msg, new Uint8Array([...pub, 0]))).toBe(false);
  });

  it('verify answers false for a public key that is not a point', () => {
    // The first y (little-endian 2, 3, …) that noble cannot decode as a point.
    let notAPoint: Uint8Array | undefined;
    for (let y = 2; !notAPoint; y++) {
      const candidate = new Uint8Array(32);
      candidate[0] = y;
      try {
        ed25519.Point.fromBytes(candidate);
      } catch {
        notAPoint = candidate;
      }
    }
    expect(ed25519Verify(sig, msg, notAPoint)).toBe(false);
    expect(ed25519Verify(sig, msg, new Uint8Array(32).fill(0xff))).toBe(false);
  });

  it('verify answers false for a non-canonical S (S + L), strict RFC 8032', () => {
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
    const sPlusL = s + L;
    expect(sPlusL < 2n ** 256n).toBe(true);
    const malleated = sig.slice();
    for (let i = 0; i < 32; i++) malleated[32 + i] = Number((sPlusL >> BigInt(8 * i)) & 0xffn);
    expect(ed25519Verify(malleated, msg, pub)).toBe(false);
  });

  it('X25519 refuses every low-order peer key, as noble does, with the same error', () => {
    const p = 2n ** 255n - 19n;
    const lowOrder = [
      0n,
      1n,
      p - 1n,
      p,
      p + 1n,
      325606250916557431795983626356110631294008115727848805560023387167927233504n,
      39382357235489614581723060781553021112529911719440698176882885853963445705823n,
    ];
    const x = hexToBytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    for (const v of lowOrder) {
      for (const topBit of [0, 0x80]) {
        const u = Uint8Array.from({ length: 32 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
        u[31]! |= topBit;
        expect(() => x25519.getSharedSecret(x, u)).toThrow('invalid private or public key received');
        expect(() => x25519SharedSecret(x, u)).toThrow(Error);
        expect(() => x25519SharedSecret(x, u)).toThrow('invalid private or public key received');
      }
    }
  });

  it('wrong lengths throw RangeError naming the argument; wrong types TypeError', () => {
    const k31 = new Uint8Array(31);
    const k32 = new Uint8Array(32).fill(9);
    expect(() => ed25519PublicKey(k31)).toThrow(RangeError);
    expect(() => ed25519PublicKey(k31)).toThrow(/secretKey/);
    expect(() => ed25519Sign(msg, new Uint8Array(64))).toThrow(/secretKey/);
    expect(() => x25519PublicKey(new Uint8Array(33))).toThrow(RangeError);
    expect(() => x25519SharedSecret(k31, k32)).toThrow(/secretKey/);
    expect(() => x25519SharedSecret(k32, k31)).toThrow(RangeError);
    expect(() => x25519SharedSecret(k32, k31)).toThrow(/publicKey/);
    expect(() => ed25519PublicKey([] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => ed25519Sign('mica' as unknown as Uint8Array, secret)).toThrow(/message/);
    expect(() => ed25519Verify(sig, msg, 'key' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('inputs are not changed; results are fresh Uint8Arrays, not Buffers or pool views', () => {
    const x = hexToBytes('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const peer = x25519.getPublicKey(secret);
    const before = [secret, x, peer, msg, sig, pub].map(bytesToHex);
    expect(fresh(ed25519PublicKey(secret), 32)).toBe(true);
    expect(fresh(ed25519Sign(msg, secret), 64)).toBe(true);
    expect(ed25519Verify(sig, msg, pub)).toBe(true);
    expect(fresh(x25519PublicKey(x), 32)).toBe(true);
    expect(fresh(x25519SharedSecret(x, peer), 32)).toBe(true);
    expect([secret, x, peer, msg, sig, pub].map(bytesToHex)).toEqual(before);
  });

  it('subarray inputs are read at their offset', () => {
    const backing = new Uint8Array(100).fill(0xee);
    backing.set(secret, 7);
    const view = backing.subarray(7, 39);
    expect(bytesToHex(ed25519PublicKey(view))).toBe(bytesToHex(pub));
    expect(bytesToHex(x25519PublicKey(view))).toBe(bytesToHex(x25519.getPublicKey(secret)));
  });
});
