// FeliCa frame codec and streaming parser: shared vectors both ways, corruptions, chunking and resync.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFelicaFrame,
  encodeFelicaFrame,
  FelicaFrameParser,
  type FelicaFrameReject,
} from '../src/felica-frame';
import { bytesToHex, concatBytes, hexToBytes } from '../src/hex';

interface FrameVector {
  id: string;
  payload: string;
  frame: string;
}

const vectors = (
  JSON.parse(readFileSync(new URL('../../test-vectors/felica-frame.json', import.meta.url), 'utf8')) as {
    vectors: FrameVector[];
  }
).vectors;

// An independent byte builder for expectations: bitwise CRC-16/XMODEM, explicit preamble and sync.
function xmodemBitwise(data: Uint8Array): number {
  let c = 0;
  for (const b of data) {
    for (let k = 7; k >= 0; k--) {
      const top = ((c >>> 15) ^ (b >>> k)) & 1;
      c = (c << 1) & 0xffff;
      if (top) c ^= 0x1021;
    }
  }
  return c;
}
function buildFrame(payload: Uint8Array, preamble = 6): Uint8Array {
  const crc = xmodemBitwise(payload);
  return concatBytes(
    new Uint8Array(preamble),
    Uint8Array.of(0xb2, 0x4d),
    payload,
    Uint8Array.of(crc >>> 8, crc & 0xff),
  );
}

/** LEN ‖ data for 0..254 data bytes. */
const payloadArb = fc
  .uint8Array({ maxLength: 254 })
  .map((data) => concatBytes(Uint8Array.of(data.length + 1), data));

function splitInto(stream: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let o = 0;
  for (let i = 0; o < stream.length; i++) {
    const n = sizes.length === 0 ? stream.length : sizes[i % sizes.length]!;
    chunks.push(stream.subarray(o, o + n));
    o += n;
  }
  return chunks;
}

function parseAll(parser: FelicaFrameParser, chunks: readonly Uint8Array[]): string[] {
  const out: string[] = [];
  for (const c of chunks) for (const p of parser.push(c)) out.push(bytesToHex(p));
  for (const p of parser.end()) out.push(bytesToHex(p));
  return out;
}

describe('shared vectors (felica-frame.json)', () => {
  it('has 38 vectors', () => expect(vectors.length).toBe(38));
  it.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    const payload = hexToBytes(v.payload);
    const frame = hexToBytes(v.frame);
    expect(bytesToHex(encodeFelicaFrame(payload))).toBe(bytesToHex(frame));
    const decoded = decodeFelicaFrame(frame);
    expect(decoded.ok && bytesToHex(decoded.payload)).toBe(bytesToHex(payload));
    expect(new FelicaFrameParser().push(frame).map(bytesToHex)).toEqual([bytesToHex(payload)]);
  });
  it('rf.md §4.1 example', () => {
    expect(bytesToHex(encodeFelicaFrame(hexToBytes('06 00 FF FF 01 00')))).toBe(
      '000000000000b24d0600ffff01003a10',
    );
  });
});

describe('encodeFelicaFrame', () => {
  it('matches the independent builder', () => {
    fc.assert(fc.property(payloadArb, (p) => bytesToHex(encodeFelicaFrame(p)) === bytesToHex(buildFrame(p))));
  });
  it('sends a longer preamble when asked', () => {
    const p = hexToBytes('0600ffff0100');
    expect(bytesToHex(encodeFelicaFrame(p, { preambleBytes: 8 }))).toBe(bytesToHex(buildFrame(p, 8)));
  });
  it('checks its arguments', () => {
    expect(() => encodeFelicaFrame('06' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => encodeFelicaFrame(new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodeFelicaFrame(hexToBytes('0700ffff0100'))).toThrow(/LEN/);
    expect(() => encodeFelicaFrame(new Uint8Array(256).fill(0))).toThrow(RangeError);
    expect(() => encodeFelicaFrame(hexToBytes('01'), { preambleBytes: 5 })).toThrow(/preambleBytes/);
    expect(() => encodeFelicaFrame(hexToBytes('01'), { preambleBytes: 6.5 })).toThrow(RangeError);
  });
  it('accepts the shortest and the longest LEN', () => {
    expect(bytesToHex(encodeFelicaFrame(hexToBytes('01')))).toBe(bytesToHex(buildFrame(hexToBytes('01'))));
    const longest = new Uint8Array(255).fill(0xa5);
    longest[0] = 255;
    expect(encodeFelicaFrame(longest).length).toBe(6 + 2 + 255 + 2);
  });
});

describe('decodeFelicaFrame', () => {
  const good = hexToBytes('000000000000 b24d 0600ffff0000 0921');
  const decodeError = (hex: string): string => {
    const r = decodeFelicaFrame(hexToBytes(hex));
    if (r.ok) return 'ok';
    expect(r.message.length).toBeGreaterThan(0);
    return r.error;
  };

  it('round-trips any payload', () => {
    fc.assert(
      fc.property(payloadArb, fc.integer({ min: 6, max: 12 }), (p, pre) => {
        const r = decodeFelicaFrame(buildFrame(p, pre));
        return r.ok && bytesToHex(r.payload) === bytesToHex(p);
      }),
    );
  });
  it('returns a copy of the payload', () => {
    const frame = good.slice();
    const r = decodeFelicaFrame(frame);
    frame[8] = 0x55;
    expect(r.ok && bytesToHex(r.payload)).toBe('0600ffff0000');
  });
  it('reports a corrupted CRC', () => {
    expect(decodeError('000000000000 b24d 0600ffff0000 0922')).toBe('crc');
    expect(decodeError('000000000000 b24d 0600ffff0000 1921')).toBe('crc');
    expect(decodeError('000000000000 b24d 0600fffe0000 0921')).toBe('crc');
  });
  it('reports a wrong LEN', () => {
    expect(decodeError('000000000000 b24d 0700ffff0000 0921')).toBe('length');
    expect(decodeError('000000000000 b24d 0500ffff0000 0921')).toBe('length');
    expect(decodeError('000000000000 b24d 00')).toBe('length');
    expect(decodeError('000000000000 b24d')).toBe('length');
    expect(decodeError('000000000000 b24d 0600ffff0000 0921 00')).toBe('length');
    expect(decodeError('000000000000 b24d 0600ffff0000 09')).toBe('length');
  });
  it('requires at least 6 preamble bytes and the sync word', () => {
    expect(decodeError('0000000000 b24d 0600ffff0000 0921')).toBe('preamble');
    expect(decodeError('')).toBe('preamble');
    expect(decodeError('00000000000000000000')).toBe('sync');
    expect(decodeError('000000000000 b24e 0600ffff0000 0921')).toBe('sync');
    expect(decodeError('000000000000 4db2 0600ffff0000 0921')).toBe('sync');
    expect(decodeError('00000000000000 b24d 0600ffff0000 0921')).toBe('ok');
  });
  it('never throws on wire data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = decodeFelicaFrame(bytes);
        return r.ok || r.message.length > 0;
      }),
    );
  });
  it('checks its argument', () => {
    expect(() => decodeFelicaFrame(null as unknown as Uint8Array)).toThrow(/frame/);
  });
});

describe('FelicaFrameParser', () => {
  it('finds every frame of a stream, whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(payloadArb, fc.integer({ min: 6, max: 10 })), { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 20 }),
        (frames, sizes) => {
          const stream = concatBytes(...frames.map(([p, pre]) => buildFrame(p, pre)));
          const got = parseAll(new FelicaFrameParser(), splitInto(stream, sizes));
          expect(got).toEqual(frames.map(([p]) => bytesToHex(p)));
        },
      ),
    );
  });

  it('resynchronises after garbage', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 120 }),
        fc.array(payloadArb, { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 20 }),
        (garbage, payloads, sizes) => {
          const stream = concatBytes(garbage, ...payloads.map((p) => buildFrame(p)));
          const got = parseAll(new FelicaFrameParser(), splitInto(stream, sizes));
          // Garbage may by chance hold a valid frame of its own; the real ones must come last.
          expect(got.slice(got.length - payloads.length)).toEqual(payloads.map(bytesToHex));
        },
      ),
    );
  });

  it('finds a frame behind a false sync word that swallowed it', () => {
    const real = buildFrame(hexToBytes('0600ffff0000'));
    // A false sync with LEN 0x20 (34 bytes to come) swallows the whole real frame (16 bytes).
    const falseStart = hexToBytes('000000000000 b24d 20 0102');
    const rejects: FelicaFrameReject[] = [];
    const parser = new FelicaFrameParser({ onReject: (r) => rejects.push(r) });
    const tail = new Uint8Array(40).fill(0x11);
    expect(parser.push(concatBytes(falseStart, real, tail)).map(bytesToHex)).toEqual(['0600ffff0000']);
    expect(rejects.map((r) => r.error)).toEqual(['crc']);
  });

  it('finds a frame swallowed by a false sync once the stream ends', () => {
    const real = buildFrame(hexToBytes('0600ffff0000'));
    const parser = new FelicaFrameParser();
    expect(parser.push(concatBytes(hexToBytes('000000000000 b24d ff'), real))).toEqual([]);
    expect(parser.inFrame).toBe(true);
    expect(parser.end().map(bytesToHex)).toEqual(['0600ffff0000']);
    expect(parser.inFrame).toBe(false);
  });

  it('finds a frame right after a false sync (LEN 00 is rejected at once)', () => {
    const rejects: FelicaFrameReject[] = [];
    const parser = new FelicaFrameParser({ onReject: (r) => rejects.push(r) });
    const stream = concatBytes(
      hexToBytes('000000000000 b24d'),
      buildFrame(hexToBytes('0a0c0102030405060708')),
    );
    expect(parser.push(stream).map(bytesToHex)).toEqual(['0a0c0102030405060708']);
    expect(rejects.map((r) => r.error)).toEqual(['length']);
  });

  it('drops a frame with a bad CRC and keeps the next one', () => {
    const a = buildFrame(hexToBytes('0600ffff0000'));
    const b = buildFrame(hexToBytes('0c0902fe0102030405060000'));
    a[a.length - 1] = a[a.length - 1]! ^ 0x01;
    const rejects: FelicaFrameReject[] = [];
    const parser = new FelicaFrameParser({ onReject: (r) => rejects.push(r) });
    expect(parseAll(parser, [concatBytes(a, b)])).toEqual(['0c0902fe0102030405060000']);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.error).toBe('crc');
    expect(rejects[0]!.message).toMatch(/CRC/);
  });

  it('ignores a sync word after a short preamble', () => {
    const frame = buildFrame(hexToBytes('0600ffff0000'), 6).subarray(1);
    expect(parseAll(new FelicaFrameParser(), [frame])).toEqual([]);
  });

  it('returns payloads that later input does not overwrite', () => {
    const parser = new FelicaFrameParser();
    const [first] = parser.push(buildFrame(hexToBytes('0600ffff0000')));
    parser.push(buildFrame(hexToBytes('06aabbccddee')));
    expect(bytesToHex(first!)).toBe('0600ffff0000');
  });

  it('reset forgets a partial frame', () => {
    const frame = buildFrame(hexToBytes('0600ffff0000'));
    const parser = new FelicaFrameParser();
    parser.push(frame.subarray(0, 10));
    parser.reset();
    expect(parser.push(frame.subarray(10))).toEqual([]);
    expect(parser.push(frame).map(bytesToHex)).toEqual(['0600ffff0000']);
  });

  it('checks its arguments', () => {
    expect(() => new FelicaFrameParser().push([0] as unknown as Uint8Array)).toThrow(/chunk/);
    expect(() => new FelicaFrameParser({ onReject: 1 as unknown as () => void })).toThrow(TypeError);
  });
});
