// RS(20,16) block parity: shared vectors, an independent reference encoder, and random corruptions.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, hexToBytes } from '@mica/apdu-specs/hex';
import { rsDecode, rsParity, rsParityInto } from '../src/hal/reed-solomon';

interface RsVector {
  id: string;
  data: string;
  parity: string;
  received?: string;
  correctable?: boolean;
}

const vectors = (
  JSON.parse(
    readFileSync(new URL('../../test-vectors/reed-solomon-rs20-16.json', import.meta.url), 'utf8'),
  ) as {
    vectors: RsVector[];
  }
).vectors;

// Reference encoder from the definition, sharing no code or tables with the module under test.
function gfMul(a: number, b: number): number {
  let p = 0;
  for (let x = a, y = b; y !== 0; y >>>= 1) {
    if (y & 1) p ^= x;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  return p;
}
function referenceParity(data: Uint8Array): Uint8Array {
  let gen = [1];
  for (let j = 0, root = 1; j < 4; j++, root = gfMul(root, 2)) {
    const next = new Array<number>(gen.length + 1).fill(0);
    gen.forEach((g, k) => {
      next[k]! ^= g;
      next[k + 1]! ^= gfMul(g, root);
    });
    gen = next;
  }
  const work = [...data, 0, 0, 0, 0];
  for (let i = 0; i < data.length; i++) {
    const f = work[i]!;
    if (f !== 0) for (let k = 1; k < gen.length; k++) work[i + k]! ^= gfMul(gen[k]!, f);
  }
  return Uint8Array.from(work.slice(data.length));
}

const data16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const codeword = (d: Uint8Array): Uint8Array => concatBytes(d, rsParity(d));

/** Positions (0..19) where two 20-byte words differ. */
function diff(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

describe('shared vectors (reed-solomon-rs20-16.json)', () => {
  it('has 24 vectors', () => expect(vectors.length).toBe(24));
  it.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    const data = hexToBytes(v.data);
    expect(bytesToHex(rsParity(data))).toBe(v.parity);
    if (v.received === undefined) return;
    const received = hexToBytes(v.received);
    const r = rsDecode(received);
    if (v.correctable === true) {
      expect(r.status).toBe('corrected');
      if (r.status !== 'corrected') return;
      expect(bytesToHex(r.data)).toBe(v.data);
      expect(r.positions).toEqual(diff(received, hexToBytes(v.data + v.parity)));
    } else {
      expect(r.status).toBe('failed');
    }
  });
});

describe('rsParity', () => {
  it('agrees with the reference encoder', () => {
    fc.assert(fc.property(data16, (d) => bytesToHex(rsParity(d)) === bytesToHex(referenceParity(d))));
  });
  it('is linear: parity(a ^ b) = parity(a) ^ parity(b)', () => {
    fc.assert(
      fc.property(data16, data16, (a, b) => {
        const x = a.map((v, i) => v ^ b[i]!);
        const pa = rsParity(a);
        const pb = rsParity(b);
        return bytesToHex(rsParity(x)) === bytesToHex(pa.map((v, i) => v ^ pb[i]!));
      }),
    );
  });
  it('rsParityInto writes the same bytes at any offset, in place too', () => {
    fc.assert(
      fc.property(data16, fc.integer({ min: 0, max: 7 }), (d, o) => {
        const buf = new Uint8Array(o + 22).fill(0xee);
        buf.set(d, o);
        rsParityInto(buf, o, buf, o + 16);
        expect(bytesToHex(buf.subarray(o, o + 20))).toBe(bytesToHex(codeword(d)));
        expect(buf[o + 20]).toBe(0xee);
        const out = new Uint8Array(4);
        rsParityInto(buf, o, out, 0);
        expect(bytesToHex(out)).toBe(bytesToHex(rsParity(d)));
      }),
    );
  });
  it('checks its arguments', () => {
    expect(() => rsParity(new Uint8Array(15))).toThrow(RangeError);
    expect(() => rsParity([0] as unknown as Uint8Array)).toThrow(/data16/);
    expect(() => rsParityInto(new Uint8Array(16), 1, new Uint8Array(4), 0)).toThrow(/dataOffset/);
    expect(() => rsParityInto(new Uint8Array(16), 0, new Uint8Array(4), 1)).toThrow(/outOffset/);
    expect(() => rsParityInto(new Uint8Array(16), 0, new Uint8Array(4), -1)).toThrow(RangeError);
    expect(() => rsParityInto(new Uint8Array(16), 0.5, new Uint8Array(4), 0)).toThrow(RangeError);
    expect(() => rsParityInto(new Uint8Array(16), 0, {} as Uint8Array, 0)).toThrow(TypeError);
  });
});

describe('rsDecode', () => {
  it('says clean for every codeword, always with the same frozen result', () => {
    const first = rsDecode(codeword(new Uint8Array(16)));
    expect(first).toEqual({ status: 'clean' });
    expect(Object.isFrozen(first)).toBe(true);
    fc.assert(fc.property(data16, (d) => rsDecode(codeword(d)) === first));
  });

  it('reads a subarray of a larger store', () => {
    const d = hexToBytes('00112233445566778899aabbccddeeff');
    const store = concatBytes(new Uint8Array(5), codeword(d), new Uint8Array(7).fill(0xff));
    store[5 + 3] = store[5 + 3]! ^ 0x40;
    const r = rsDecode(store.subarray(5, 25));
    expect(r.status === 'corrected' && bytesToHex(r.data)).toBe(bytesToHex(d));
  });

  it('corrects any 1 or 2 corrupted bytes', () => {
    const corruption = fc.uniqueArray(fc.integer({ min: 0, max: 19 }), { minLength: 1, maxLength: 2 });
    const xors = fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 2, maxLength: 2 });
    fc.assert(
      fc.property(data16, corruption, xors, (d, positions, xor) => {
        const received = codeword(d);
        positions.forEach((p, k) => (received[p] = received[p]! ^ xor[k]!));
        const r = rsDecode(received);
        expect(r.status).toBe('corrected');
        if (r.status !== 'corrected') return;
        expect(bytesToHex(r.data)).toBe(bytesToHex(d));
        expect(r.positions).toEqual([...positions].sort((a, b) => a - b));
        expect(received).not.toEqual(codeword(d)); // the input was not modified back
      }),
      { numRuns: 2000 },
    );
  });

  it('never calls a word with 3 or 4 corrupted bytes clean', () => {
    const corruption = fc.uniqueArray(fc.integer({ min: 0, max: 19 }), { minLength: 3, maxLength: 4 });
    const xors = fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 4, maxLength: 4 });
    fc.assert(
      fc.property(data16, corruption, xors, (d, positions, xor) => {
        const received = codeword(d);
        positions.forEach((p, k) => (received[p] = received[p]! ^ xor[k]!));
        const r = rsDecode(received);
        expect(r.status).not.toBe('clean');
        // A miscorrection (rare) lands on another codeword, so it never gives back the original data.
        if (r.status === 'corrected') expect(bytesToHex(r.data)).not.toBe(bytesToHex(d));
      }),
      { numRuns: 2000 },
    );
  });

  it('detects most 3-byte corruptions as failed (miscorrection is rare)', () => {
    let seed = 0x2545f491;
    const next = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const runs = 5000;
    let failed = 0;
    for (let run = 0; run < runs; run++) {
      const d = Uint8Array.from({ length: 16 }, () => next(256));
      const received = codeword(d);
      const positions = new Set<number>();
      while (positions.size < 3) positions.add(next(20));
      for (const p of positions) received[p] = received[p]! ^ (1 + next(255));
      if (rsDecode(received).status === 'failed') failed++;
    }
    // eeprom.md §2: RS(20,16) alone miscorrects about 0.2 % of 3-byte corruptions.
    expect(failed / runs).toBeGreaterThan(0.98);
  });

  it('checks its argument', () => {
    expect(() => rsDecode(new Uint8Array(19))).toThrow(RangeError);
    expect(() => rsDecode(new Uint8Array(21))).toThrow(/codeword20/);
    expect(() => rsDecode('00' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
