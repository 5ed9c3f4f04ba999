// ISO-DEP blocks (rf.md §4.4): the PCB table both ways, CRC_A/CRC_B, decoder errors, frame sizes and chaining.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crcA, crcB } from '../src/crc';
import { bytesToHex, concatBytes, hexToBytes } from '../src/hex';
import { chainInf, frameSize, isoDep, maxInf, pcbOf, type IsoDepBlock } from '../src/rf/iso-dep';

const I = (bn: 0 | 1, chaining = false, extra: { cid?: number; nad?: number } = {}): IsoDepBlock => ({
  type: 'I',
  blockNumber: bn,
  chaining,
  inf: new Uint8Array(0),
  ...extra,
});

describe('PCB table of rf.md §4.4', () => {
  const rows: [IsoDepBlock, number][] = [
    [I(0), 0x02],
    [I(1), 0x03],
    [I(0, true), 0x12],
    [I(1, true), 0x13],
    [I(0, false, { nad: 0 }), 0x06],
    [I(1, false, { nad: 0 }), 0x07],
    [I(0, false, { cid: 0 }), 0x0a],
    [I(1, false, { cid: 0 }), 0x0b],
    [I(0, true, { cid: 0 }), 0x1a],
    [I(1, true, { cid: 0 }), 0x1b],
    [{ type: 'R', ack: true, blockNumber: 0 }, 0xa2],
    [{ type: 'R', ack: true, blockNumber: 1 }, 0xa3],
    [{ type: 'R', ack: true, blockNumber: 0, cid: 0 }, 0xaa],
    [{ type: 'R', ack: true, blockNumber: 1, cid: 0 }, 0xab],
    [{ type: 'R', ack: false, blockNumber: 0 }, 0xb2],
    [{ type: 'R', ack: false, blockNumber: 1 }, 0xb3],
    [{ type: 'R', ack: false, blockNumber: 0, cid: 0 }, 0xba],
    [{ type: 'R', ack: false, blockNumber: 1, cid: 0 }, 0xbb],
    [{ type: 'S', command: 'deselect' }, 0xc2],
    [{ type: 'S', command: 'deselect', cid: 0 }, 0xca],
    [{ type: 'S', command: 'wtx', wtxm: 1 }, 0xf2],
    [{ type: 'S', command: 'wtx', wtxm: 1, cid: 0 }, 0xfa],
  ];

  it.each(rows.map(([b, p]) => [p.toString(16), b, p] as const))(
    '%s encodes and decodes back',
    (_, block, pcb) => {
      expect(pcbOf(block)).toBe(pcb);
      for (const tech of ['a', 'b'] as const) {
        const bytes = isoDep.encode(block, { tech });
        expect(bytes[0]).toBe(pcb);
        const body = bytes.subarray(0, bytes.length - 2);
        const c = tech === 'a' ? crcA(body) : crcB(body);
        expect(bytes[bytes.length - 2]).toBe(c & 0xff);
        expect(bytes[bytes.length - 1]).toBe(c >>> 8);
        expect(isoDep.decode(bytes, { tech })).toEqual(block);
      }
    },
  );

  it('decodes the worked I-block 02 00 A4 with its CRC_A', () => {
    const frame = concatBytes(
      hexToBytes('0200a4'),
      Uint8Array.of(crcA(hexToBytes('0200a4')) & 0xff, crcA(hexToBytes('0200a4')) >>> 8),
    );
    expect(isoDep.decode(frame)).toEqual({
      type: 'I',
      blockNumber: 0,
      chaining: false,
      inf: hexToBytes('00a4'),
    });
  });
});

describe('decoder errors', () => {
  const withCrc = (hex: string): Uint8Array => {
    const b = hexToBytes(hex);
    const c = crcA(b);
    return concatBytes(b, Uint8Array.of(c & 0xff, c >>> 8));
  };

  it('bad CRC, truncated, bad PCB, bad length', () => {
    const ok = withCrc('0200');
    ok[ok.length - 1]! ^= 1;
    expect(isoDep.decode(ok)).toMatchObject({ error: 'bad-crc' });
    expect(isoDep.decode(hexToBytes('02'))).toMatchObject({ error: 'truncated' });
    expect(isoDep.decode(withCrc('0a'))).toMatchObject({ error: 'truncated' }); // CID announced, missing
    expect(isoDep.decode(withCrc('f2'))).toMatchObject({ error: 'truncated' }); // WTXM missing
    expect(isoDep.decode(withCrc('22'))).toMatchObject({ error: 'bad-pcb' }); // bit 6 set in an I-block
    expect(isoDep.decode(withCrc('e2'))).toMatchObject({ error: 'bad-pcb' }); // S-block with 10
    expect(isoDep.decode(withCrc('a200'))).toMatchObject({ error: 'bad-length' });
    expect(isoDep.decode(withCrc('c200'))).toMatchObject({ error: 'bad-length' });
  });

  it('never throws on random bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.constantFrom('a' as const, 'b' as const),
        (bytes, tech) => {
          isoDep.decode(bytes, { tech });
        },
      ),
    );
  });

  it('throws TypeError/RangeError only for invalid arguments', () => {
    expect(() => isoDep.decode('02' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => isoDep.encode({ type: 'S', command: 'wtx', wtxm: 60 })).toThrow(RangeError);
    expect(() => isoDep.encode({ ...I(0), cid: 15 })).toThrow(RangeError);
  });
});

describe('round trip (property)', () => {
  it('any block encodes and decodes back with either CRC', () => {
    const block = fc.oneof(
      fc.record({
        type: fc.constant('I' as const),
        blockNumber: fc.constantFrom(0 as const, 1 as const),
        chaining: fc.boolean(),
        inf: fc.uint8Array({ maxLength: 30 }),
      }),
      fc.record({
        type: fc.constant('R' as const),
        ack: fc.boolean(),
        blockNumber: fc.constantFrom(0 as const, 1 as const),
      }),
      fc.record({
        type: fc.constant('S' as const),
        command: fc.constant('wtx' as const),
        wtxm: fc.integer({ min: 1, max: 59 }),
      }),
    );
    fc.assert(
      fc.property(
        block,
        fc.option(fc.integer({ min: 0, max: 14 }), { nil: undefined }),
        fc.constantFrom('a' as const, 'b' as const),
        (b, cid, tech) => {
          const full: IsoDepBlock = cid === undefined ? b : { ...b, cid };
          expect(isoDep.decode(isoDep.encode(full, { tech }), { tech })).toEqual(full);
        },
      ),
    );
  });
});

describe('frame sizes and chaining', () => {
  it('maps FSCI to bytes', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map(frameSize)).toEqual([
      16, 24, 32, 40, 48, 64, 96, 128, 256, 512, 1024, 2048, 4096,
    ]);
  });

  it('keeps every block within FS − PCB − CID − NAD − CRC (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.integer({ min: 0, max: 8 }),
        fc.boolean(),
        fc.boolean(),
        (msg, fsci, cid, nad) => {
          const fs = frameSize(fsci);
          const parts = chainInf(msg, fs, { cid, nad });
          expect(bytesToHex(concatBytes(...parts))).toBe(bytesToHex(msg));
          parts.forEach((p, i) =>
            expect(p.length).toBeLessThanOrEqual(maxInf(fs, { cid, nad: nad && i === 0 })),
          );
          // every block but the last is full
          parts
            .slice(0, -1)
            .forEach((p, i) => expect(p.length).toBe(maxInf(fs, { cid, nad: nad && i === 0 })));
        },
      ),
    );
  });
});
