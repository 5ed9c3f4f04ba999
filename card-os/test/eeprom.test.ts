import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Eeprom } from '../src/hal/eeprom';
import { MemoryError, PowerLostError } from '../src/hal/errors';
import { parseImage, serializeImage, ImageFormatError } from '../src/hal/image';

function block(fill: number): Uint8Array {
  return new Uint8Array(16).fill(fill);
}

function fresh(blocks = 256): Eeprom {
  const e = new Eeprom({ blocks });
  e.powerOn();
  return e;
}

describe('EEPROM geometry', () => {
  it('reads a never-written block as zeros', () => {
    const e = fresh();
    expect(e.read(0)).toEqual(new Uint8Array(16));
    expect(e.read(e.top)).toEqual(new Uint8Array(16));
    expect(e.top).toBe(255);
  });
  it('refuses geometries outside 256..65536 and addresses outside the chip', () => {
    expect(() => new Eeprom({ blocks: 255 })).toThrow(RangeError);
    expect(() => new Eeprom({ blocks: 65_537 })).toThrow(/blocks must be/);
    expect(() => fresh().read(256)).toThrow(/outside 0\.\.255/);
  });
});

describe('parity and check value', () => {
  it('corrects 1 and 2 corrupted RS bytes and detects 3', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 19 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 3, maxLength: 3 }),
        (data, positions, xors) => {
          const e = fresh();
          e.commit([{ address: 7, data }]);
          e.inject(7, positions[0]!, xors[0]!);
          expect(e.read(7)).toEqual(data);
          e.inject(7, positions[1]!, xors[1]!);
          expect(e.read(7)).toEqual(data);
          e.inject(7, positions[2]!, xors[2]!);
          expect(() => e.read(7)).toThrow(MemoryError);
        },
      ),
      { numRuns: 300 },
    );
  });
  it('detects (never corrects) damage to the check bytes', () => {
    const e = fresh();
    e.commit([{ address: 3, data: block(0x5a) }]);
    e.inject(3, 20, 0x01);
    expect(() => e.read(3)).toThrow(/uncorrectable memory error in block 0003h/);
  });
  it('counts corrections and scrub repairs corrected blocks', () => {
    const e = fresh();
    e.commit([{ address: 9, data: block(0x11) }]);
    e.inject(9, 2, 0xff);
    const r = e.scrub(true);
    expect(r.corrected).toEqual([9]);
    expect(r.uncorrectable).toEqual([]);
    expect(e.scrub(false).corrected).toEqual([]);
  });
});

describe('journal: atomic multi-block commits', () => {
  const writes = [
    { address: 1, data: block(0xa1) },
    { address: 200, data: block(0xa2) },
    { address: 17, data: block(0xa3) },
    { address: 2, data: block(0xa4) },
  ];

  it('leaves the old or the new state after a power cut at every byte write, never a mix', () => {
    const e = fresh();
    e.commit([{ address: 1, data: block(0x01) }]);
    const old = e.snapshot();
    const before = e.physical.bytesWritten;
    e.commit(writes);
    const next = e.snapshot();
    const total = e.physical.bytesWritten - before;
    let sawOld = 0;
    let sawNew = 0;
    for (let cut = 0; cut < total; cut++) {
      e.restore(old);
      e.powerOn();
      e.cutPowerAfter(cut);
      expect(() => e.commit(writes)).toThrow(PowerLostError);
      e.cutPowerAfter(undefined);
      e.powerOn();
      const now = e.snapshot();
      const isOld = now.every((b, i) => b === old[i]);
      const isNew = now.every((b, i) => b === next[i]);
      expect(isOld || isNew, `cut after ${cut} bytes`).toBe(true);
      if (isOld) sawOld++;
      else sawNew++;
      expect(e.scrub(false)).toEqual({ corrected: [], uncorrectable: [] });
    }
    expect(sawOld).toBeGreaterThan(0);
    expect(sawNew).toBeGreaterThan(0);
  });

  it('also survives a second power cut during recovery', () => {
    const e = fresh();
    const old = e.snapshot();
    e.commit(writes);
    const next = e.snapshot();
    // Cut in the apply phase, then cut recovery itself at every byte, then recover cleanly.
    e.restore(old);
    e.powerOn();
    e.cutPowerAfter(22 * 7);
    expect(() => e.commit(writes)).toThrow(PowerLostError);
    const torn = e.snapshot();
    for (let cut = 0; cut < 22 * 12; cut += 5) {
      e.restore(torn);
      e.cutPowerAfter(cut);
      try {
        e.powerOn();
      } catch (err) {
        expect(err).toBeInstanceOf(PowerLostError);
      }
      e.cutPowerAfter(undefined);
      e.powerOn();
      expect(e.snapshot()).toEqual(next);
    }
  });

  it('reports the endurance warning once a written block passes its endurance', () => {
    const e = new Eeprom({ blocks: 256, endurance: 5 });
    e.powerOn();
    const results: boolean[] = [];
    for (let i = 0; i < 6; i++) results.push(e.commit([{ address: 4, data: block(i) }]).enduranceWarning);
    expect(results.slice(0, 5)).toEqual([false, false, false, false, false]);
    expect(results[5]).toBe(true);
    expect(e.physical.writeCounts[4]).toBe(6);
  });

  it('spreads journal wear over its slots', () => {
    const e = fresh();
    for (let i = 0; i < 200; i++) e.commit([{ address: 5, data: block(i & 0xff) }]);
    const counts = Array.from(e.physical.writeCounts.subarray(e.blocks));
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(4);
  });
});

describe('card image file', () => {
  it('round-trips blocks, journal and write counters', () => {
    const e = fresh(300);
    e.commit([{ address: 12, data: block(0x42) }]);
    const back = parseImage(serializeImage(e));
    back.powerOn();
    expect(back.blocks).toBe(300);
    expect(back.read(12)).toEqual(block(0x42));
    expect(Array.from(back.physical.writeCounts)).toEqual(Array.from(e.physical.writeCounts));
  });
  it('refuses foreign, damaged and truncated files with a clear message', () => {
    const img = serializeImage(fresh());
    expect(() => parseImage(new Uint8Array(10))).toThrow(ImageFormatError);
    const bad = img.slice();
    bad[0] = 0x41;
    expect(() => parseImage(bad)).toThrow(/bad magic/);
    const flipped = img.slice();
    flipped[1000]! ^= 1;
    expect(() => parseImage(flipped)).toThrow(/checksum mismatch/);
    expect(() => parseImage(img.subarray(0, img.length - 4))).toThrow(/expected \d+ for 256 blocks/);
    const v2 = img.slice();
    v2[9] = 2;
    expect(() => parseImage(v2)).toThrow(/format version 2/);
  });
});
