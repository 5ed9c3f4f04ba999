// The pcsc: transport over an injected stand-in of the `smartcard` binding (the real one runs in the
// interop tier through pcscd): reader choice, connect mode, error kinds, ATR, close.
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import {
  PcscTransport,
  pcscErrorKind,
  type PcscCard,
  type PcscModule,
  type PcscReader,
} from '../src/transport/pcsc';

const PRESENT = 0x20;

function fakeModule(
  readers: { name: string; present: boolean; answer?: (c: Uint8Array) => Uint8Array | Error }[],
  log: string[],
): PcscModule {
  class Context {
    listReaders(): PcscReader[] {
      return readers.map((r) => ({
        name: r.name,
        state: r.present ? PRESENT : 0x10,
        connect(share: number, protocol: number): Promise<PcscCard> {
          log.push(`connect ${r.name} ${share} ${protocol}`);
          if (!r.present) return Promise.reject(new Error('No smart card present'));
          return Promise.resolve({
            protocol: 2,
            atr: hexToBytes('3b80800101'),
            transmit(c: Uint8Array, o?: { maxRecvLength?: number }) {
              log.push(`transmit ${bytesToHex(c)} ${o?.maxRecvLength}`);
              const a = r.answer?.(c) ?? hexToBytes('9000');
              return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
            },
            disconnect(d?: number) {
              log.push(`disconnect ${d}`);
            },
          });
        },
      }));
    }
    close(): void {
      log.push('close');
    }
  }
  return {
    Context,
    SCARD_SHARE_SHARED: 2,
    SCARD_PROTOCOL_T0: 1,
    SCARD_PROTOCOL_T1: 2,
    SCARD_LEAVE_CARD: 0,
    SCARD_STATE_PRESENT: PRESENT,
  };
}

describe('pcsc: transport', () => {
  it('opens the first reader with a card, shared, T=0|T=1, and leaves the card at close', async () => {
    const log: string[] = [];
    const mod = fakeModule(
      [
        { name: 'Empty 00', present: false },
        { name: 'Virtual PCD 00 00', present: true, answer: () => hexToBytes('fe01029000') },
      ],
      log,
    );
    const t = await PcscTransport.open(undefined, { module: mod });
    expect(t.description).toBe('pcsc:Virtual PCD 00 00');
    expect(bytesToHex(await t.atr())).toBe('3b80800101');
    expect(bytesToHex(await t.apdu(hexToBytes('ffca000000')))).toBe('fe01029000');
    await t.close();
    expect(log).toEqual([
      'connect Virtual PCD 00 00 2 3',
      'transmit ffca000000 65538',
      'disconnect 0',
      'close',
    ]);
    await expect(t.apdu(hexToBytes('ffca000000'))).rejects.toMatchObject({ kind: 'closed' });
  });

  it('names the readers when the one asked for is missing, or none has a card', async () => {
    const log: string[] = [];
    const mod = fakeModule([{ name: 'A', present: false }], log);
    await expect(PcscTransport.open('B', { module: mod })).rejects.toThrow(
      /no PC\/SC reader named "B" \(readers: "A"\)/,
    );
    await expect(PcscTransport.open('', { module: mod })).rejects.toMatchObject({ kind: 'link-lost' });
    await expect(PcscTransport.open('A', { module: mod })).rejects.toMatchObject({ kind: 'link-lost' });
    expect(log.filter((l) => l === 'close').length).toBe(3);
  });

  it('maps PC/SC failures to error kinds and FeliCa goes through the bridge', async () => {
    const mod = fakeModule(
      [
        {
          name: 'R',
          present: true,
          answer: (c) =>
            bytesToHex(c) === '80fe000006060012fc010000'
              ? hexToBytes('1401' + '02fe010203040506' + '0120220427674eff' + '12fc9000')
              : new Error('Card was removed'),
        },
      ],
      [],
    );
    const t = await PcscTransport.open('R', { module: mod });
    expect(bytesToHex((await t.felica(hexToBytes('060012fc0100')))!)).toBe(
      '140102fe0102030405060120220427674eff12fc',
    );
    await expect(t.apdu(hexToBytes('00a4040000'))).rejects.toMatchObject({ kind: 'link-lost' });
    expect(pcscErrorKind('PC/SC service not running')).toBe('closed');
    expect(pcscErrorKind('Operation timed out')).toBe('timeout');
    expect(pcscErrorKind('Communication error')).toBe('transmission');
    await t.close();
  });
});
