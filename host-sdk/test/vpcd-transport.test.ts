// The vpcd: transport against a stand-in card written here from interop.md 3.1 (bytes by hand): power-on
// at connect, APDUs and the ATR, FeliCa through the bridge, timeouts and a lost link as error kinds.
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { TransportError } from '../src/transport/transport';
import { VpcdTransport } from '../src/transport/vpcd';

/** A card that records what it got and answers by a table (hex command → hex answer, or no answer). */
function standInCard(port: number, answers: Record<string, string | undefined>, got: string[]): Socket {
  const s = connect({ host: '127.0.0.1', port });
  let buf = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0)).toString('hex');
      buf = buf.subarray(2 + buf.readUInt16BE(0));
      got.push(msg);
      const a = answers[msg];
      if (a !== undefined) s.write(Buffer.from((a.length / 2).toString(16).padStart(4, '0') + a, 'hex'));
    }
  });
  return s;
}

async function pair(
  answers: Record<string, string | undefined>,
  responseTimeoutMs = 2000,
): Promise<{ t: VpcdTransport; card: Socket; got: string[] }> {
  const got: string[] = [];
  let card: Socket | undefined;
  const t = await VpcdTransport.listen({
    port: 0,
    responseTimeoutMs,
    onListening: (port) => {
      card = standInCard(port, answers, got);
    },
  });
  return { t, card: card!, got };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

describe('vpcd: transport', () => {
  it('powers the card on, exchanges APDUs and the ATR, powers it off at close', async () => {
    const { t, got, card } = await pair({ '04': '3b80800101', '00a4040000': '6f0784050011223344' + '9000' });
    expect(t.description).toMatch(/^vpcd:127\.0\.0\.1:/);
    expect(bytesToHex(await t.atr())).toBe('3b80800101');
    expect(bytesToHex(await t.apdu(hexToBytes('00a4040000')))).toBe('6f07840500112233449000');
    await t.close();
    await settle();
    expect(got).toEqual(['01', '04', '00a4040000', '00']);
    card.destroy();
    await expect(t.apdu(hexToBytes('00a4040000'))).rejects.toMatchObject({ kind: 'closed' });
  });

  it('carries FeliCa frames in the bridge APDU: 9000 is the answer, 6400 silence', async () => {
    const { t, card } = await pair({
      '80fe0000060600ffff010000': '1401' + '02fe010203040506' + '0120220427674eff' + '12fc' + '9000',
      '80fe0000060600abcd010000': '6400',
    });
    expect(bytesToHex((await t.felica(hexToBytes('0600ffff0100')))!)).toBe(
      '140102fe0102030405060120220427674eff12fc',
    );
    expect(await t.felica(hexToBytes('0600abcd0100'))).toBeNull();
    await t.close();
    card.destroy();
  });

  it('a card that closes its socket is link-lost; one that does not answer is timeout', async () => {
    const a = await pair({});
    a.card.destroy();
    await expect(a.t.apdu(hexToBytes('00a4040000'))).rejects.toMatchObject({ kind: 'link-lost' });
    await a.t.close();
    const b = await pair({}, 100);
    const e = await b.t.apdu(hexToBytes('00a4040000')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect(e).toMatchObject({ kind: 'timeout' });
    await b.t.close();
    b.card.destroy();
  });

  it('refuses an APDU shorter than 4 bytes (it would read as a control byte)', async () => {
    const { t, card } = await pair({});
    await expect(t.apdu(hexToBytes('04'))).rejects.toThrow(/at least 4 bytes, got 1/);
    await t.close();
    card.destroy();
  });

  it('times out when no card connects', async () => {
    await expect(VpcdTransport.listen({ port: 0, acceptTimeoutMs: 50 })).rejects.toMatchObject({
      kind: 'timeout',
    });
  });
});
