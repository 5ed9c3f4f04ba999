// The PN532 host framing (interop.md 6.2) against hand-checked bytes: the well-known frames of NXP's PN532
// User Manual (UM0701-02 §6.2: SAMConfiguration, GetFirmwareVersion and its answer), ACK, NACK, the error
// frame, and every chunking of a byte stream.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../src/hex';
import {
  encodePn532Frame,
  PN532_ACK,
  PN532_ERROR_FRAME,
  PN532_NACK,
  Pn532FrameReader,
  pn532Checksum,
  type Pn532Event,
} from '../src/pn532';

const h = (s: string): Uint8Array => hexToBytes(s.replace(/\s+/g, ''));

function show(events: Pn532Event[]): string[] {
  return events.map((e) =>
    e.kind === 'frame'
      ? `${e.extended ? 'x' : ''}${e.tfi.toString(16)}:${bytesToHex(e.data)}`
      : e.kind === 'bad-checksum'
        ? `bad:${bytesToHex(e.raw)}`
        : e.kind,
  );
}

describe('PN532 frames', () => {
  it('encodes the manual examples byte for byte', () => {
    expect(bytesToHex(encodePn532Frame(0xd4, h('14 01')))).toBe('0000ff03fdd414011700');
    expect(bytesToHex(encodePn532Frame(0xd4, h('02')))).toBe('0000ff02fed4022a00');
    expect(bytesToHex(encodePn532Frame(0xd5, h('03 32 01 06 07')))).toBe('0000ff06fad50332010607e800');
  });

  it('has the fixed ACK, NACK and error frames of interop.md 6.2', () => {
    expect(bytesToHex(PN532_ACK)).toBe('0000ff00ff00');
    expect(bytesToHex(PN532_NACK)).toBe('0000ffff0000');
    expect(bytesToHex(PN532_ERROR_FRAME)).toBe('0000ff01ff7f8100');
    expect(bytesToHex(encodePn532Frame(0x7f, new Uint8Array(0)))).toBe(bytesToHex(PN532_ERROR_FRAME));
  });

  it('computes LCS and DCS as (0x100 − sum) & 0xFF', () => {
    expect(pn532Checksum(h('03'))).toBe(0xfd);
    expect(pn532Checksum(h('00'))).toBe(0x00);
    expect(pn532Checksum(h('d4 14 01'))).toBe(0x17);
  });

  it('encodes long answers as extended frames (LEN FF FF, LENm LENl, LCS)', () => {
    const data = new Uint8Array(300).fill(0x01);
    const f = encodePn532Frame(0xd5, data);
    // 301 bytes of TFI + data = 0x012D; LCS = 0x100 − (0x01 + 0x2D) = 0xD2; DCS = 0x100 − (0xD5 + 300) & 0xFF.
    expect(bytesToHex(f.subarray(0, 8))).toBe('0000ffffff012dd2');
    expect(f[8 + 301]).toBe((0x100 - ((0xd5 + 300) & 0xff)) & 0xff);
    expect(f[f.length - 1]).toBe(0);
    expect(show(new Pn532FrameReader().push(f))).toEqual([`xd5:${bytesToHex(data)}`]);
  });

  it('refuses a bad TFI and an oversized payload, naming the limit', () => {
    expect(() => encodePn532Frame(0x100, new Uint8Array(0))).toThrow(/TFI must be a byte, got 256/);
    expect(() => encodePn532Frame(0xd5, new Uint8Array(0xffff))).toThrow(
      /at most 65534 data bytes, got 65535/,
    );
  });
});

describe('PN532 frame reader', () => {
  it("skips libnfc's wake-up bytes and finds the first command", () => {
    const r = new Pn532FrameReader();
    const wake = h('55 55 00 00 00 00 00 00 00 00 00 00 00 00 00 00');
    expect(show(r.push(wake))).toEqual([]);
    expect(show(r.push(h('00 00 FF 03 FD D4 14 01 17 00')))).toEqual(['d4:1401']);
  });

  it('reads ACK, NACK and several frames in one chunk', () => {
    const r = new Pn532FrameReader();
    const stream = h('0000ff00ff00 0000ff02fed4022a00 0000ffff0000 0000ff06fad50332010607e800');
    expect(show(r.push(stream))).toEqual(['ack', 'd4:02', 'nack', 'd5:0332010607']);
    expect(r.pending).toBe(1); // the last postamble 00 could begin a start code
  });

  it('drops a frame with a bad DCS and carries on with the next', () => {
    const r = new Pn532FrameReader();
    expect(show(r.push(h('0000ff02fed4022b00 0000ff02fed4022a00')))).toEqual(['bad:00ff02fed4022b', 'd4:02']);
  });

  it('skips a start code whose LCS does not match its LEN', () => {
    const r = new Pn532FrameReader();
    expect(show(r.push(h('00ff03fc d4 00ff02fed4022a00')))).toEqual(['d4:02']);
  });

  it('waits for frames split anywhere, under every chunking', () => {
    // Wake-up bytes, SAMConfiguration, a host ACK, then Diagnose test 00 "libnfc"
    // (LEN 09, LCS F7; DCS = 0x100 − (D4 + 00 + 00 + 0x26E) & 0xFF = BE).
    const all = h('5555000000 0000ff03fdd414011700 0000ff00ff00 0000ff09f7d400006c69626e6663be00');
    const expected = ['d4:1401', 'ack', 'd4:00006c69626e6663'];
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: all.length }), { maxLength: 8 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const r = new Pn532FrameReader();
        const got: Pn532Event[] = [];
        let from = 0;
        for (const p of [...points, all.length]) {
          got.push(...r.push(all.subarray(from, p)));
          from = p;
        }
        expect(show(got)).toEqual(expected);
      }),
    );
  });
});
