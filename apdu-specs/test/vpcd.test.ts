// The vpcd framing (interop.md 3.1) against hand-built bytes, under every chunking of a byte stream.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../src/hex';
import { encodeVpcdMessage, VpcdMessageReader, vpcdControlMessage, vpcdRequest } from '../src/vpcd';

describe('vpcd framing', () => {
  it('prefixes a uint16 big-endian length', () => {
    expect(bytesToHex(encodeVpcdMessage(hexToBytes('00a4040000')))).toBe('000500a4040000');
    expect(bytesToHex(encodeVpcdMessage(new Uint8Array(0)))).toBe('0000');
    const big = encodeVpcdMessage(new Uint8Array(0x1234));
    expect(bytesToHex(big.subarray(0, 2))).toBe('1234');
    expect(big.length).toBe(0x1236);
  });

  it('refuses a payload longer than 65535 bytes, naming the limit', () => {
    expect(() => encodeVpcdMessage(new Uint8Array(0x10000))).toThrow(/at most 65535 bytes, got 65536/);
  });

  it('encodes the control bytes 00, 01, 02, 04', () => {
    expect(bytesToHex(vpcdControlMessage('power-off'))).toBe('000100');
    expect(bytesToHex(vpcdControlMessage('power-on'))).toBe('000101');
    expect(bytesToHex(vpcdControlMessage('reset'))).toBe('000102');
    expect(bytesToHex(vpcdControlMessage('get-atr'))).toBe('000104');
  });

  it('classifies what vpcd sends', () => {
    expect(vpcdRequest(hexToBytes('00'))).toEqual({ kind: 'control', name: 'power-off', code: 0 });
    expect(vpcdRequest(hexToBytes('04'))).toEqual({ kind: 'control', name: 'get-atr', code: 4 });
    expect(vpcdRequest(hexToBytes('03'))).toEqual({ kind: 'unknown-control', code: 3 });
    expect(vpcdRequest(new Uint8Array(0))).toEqual({ kind: 'empty' });
    const r = vpcdRequest(hexToBytes('ffca000000'));
    expect(r.kind === 'apdu' && bytesToHex(r.apdu)).toBe('ffca000000');
  });

  it('reassembles messages split across reads and several in one read', () => {
    const reader = new VpcdMessageReader();
    expect(reader.push(hexToBytes('00'))).toEqual([]);
    expect(reader.push(hexToBytes('0104 0005 00a4'))).toEqual([hexToBytes('04')]);
    expect(reader.pending).toBe(4);
    expect(reader.push(hexToBytes('040000 0001 01 00'))).toEqual([
      hexToBytes('00a4040000'),
      hexToBytes('01'),
    ]);
    expect(reader.pending).toBe(1);
    expect(reader.push(hexToBytes('00'))).toEqual([new Uint8Array(0)]);
    expect(reader.pending).toBe(0);
  });

  it('gives the same messages under any chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (payloads, cuts) => {
          // The stream is built by hand here, not by encodeVpcdMessage.
          const stream: number[] = [];
          for (const p of payloads) stream.push(p.length >> 8, p.length & 0xff, ...p);
          const bytes = Uint8Array.from(stream);
          const reader = new VpcdMessageReader();
          const got: Uint8Array[] = [];
          let o = 0;
          let i = 0;
          while (o < bytes.length) {
            const n = cuts[i++ % cuts.length]!;
            got.push(...reader.push(bytes.subarray(o, o + n)));
            o += n;
          }
          expect(got.map(bytesToHex)).toEqual(payloads.map(bytesToHex));
          expect(reader.pending).toBe(0);
        },
      ),
    );
  });
});
