// PIN data is replaced by FF bytes in traces unless secrets are asked for (security.md 6).
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { redactApdu } from '@mica/apdu-specs/apdu/redact';
import { traced, type TraceEvent, type Transport } from '../src/transport/transport';

const echo: Transport = {
  description: 'echo',
  felica: () => Promise.resolve(null),
  apdu: () => Promise.resolve(Uint8Array.of(0x90, 0x00)),
  close: () => Promise.resolve(),
};

describe('trace redaction', () => {
  it('masks VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER data, short and extended', () => {
    expect(bytesToHex(redactApdu(hexToBytes('0020008008241234ffffffffff')))).toBe(
      '0020008008ffffffffffffffff',
    );
    expect(bytesToHex(redactApdu(hexToBytes('002c0080 00 0002 1234')))).toBe('002c0080000002ffff');
    expect(bytesToHex(redactApdu(hexToBytes('0024008002123400')))).toBe('0024008002ffff00');
    expect(bytesToHex(redactApdu(hexToBytes('00b0000002aabb')))).toBe('00b0000002aabb');
    expect(bytesToHex(redactApdu(hexToBytes('00200080')))).toBe('00200080');
  });
  it('traced transports log the masked form by default and the real one on request', async () => {
    for (const secrets of [false, true]) {
      const events: TraceEvent[] = [];
      await traced(echo, (e) => events.push(e), { secrets }).apdu(hexToBytes('0020008008241234ffffffffff'));
      expect(bytesToHex(events[0]!.bytes!)).toBe(
        secrets ? '0020008008241234ffffffffff' : '0020008008ffffffffffffffff',
      );
    }
  });
});
