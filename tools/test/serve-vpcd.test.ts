// `mica serve vpcd` against a stand-in vpcd written here from interop.md 3.1 (expected bytes by hand):
// power events, ATR, APDUs in split and joined reads, 6F00 never needed, PIN masking in the trace,
// the image saved at power-off, reconnection after a loss, SIGTERM, and the connect timeout.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseProfile } from '@mica/apdu-specs/profile';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { saveImageFile } from '@mica/card-os/hal/image-file';

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mica-vpcd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EMONEY_AID = 'a0000006ef454d';
const IDM = '02fe010203040506';
const profile = parseProfile({
  chip: { idm: IDM, blocks: 512, suite: '2k3des' },
  systems: [
    {
      systemCode: '12fc',
      areas: [
        {
          code: '0000',
          end: 'fffe',
          capacity: 100,
          key: { value: '00112233445566778899aabbccddeeff' },
          services: [{ code: '0009', blocks: 2, data: ['11'.repeat(16)] }],
          areas: [
            {
              code: '1000',
              end: '17ff',
              capacity: 40,
              key: { value: '0f0e0d0c0b0a09080706050403020100' },
              services: [
                { code: '118c', blocks: 4, key: { value: '0f0e0d0c0b0a09080706050403020100' } },
                {
                  code: '1050',
                  key: { value: '1212121212121212abababababababab' },
                  purse: { balance: 1000, maxBalance: 50000, log: '118c' },
                },
              ],
            },
          ],
        },
      ],
    },
  ],
  applets: [{ kind: 'emoney', aid: EMONEY_AID, area: '1000' }],
});

/** A stand-in vpcd: accepts card connections and reads length-prefixed answers. */
class FakeVpcd {
  readonly server: Server;
  private sockets: Socket[] = [];
  private waiting: ((s: Socket) => void)[] = [];
  private buf = Buffer.alloc(0);
  private replies: ((b: string) => void)[] = [];

  constructor() {
    this.server = createServer((s) => {
      s.setNoDelay(true);
      this.buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        this.buf = Buffer.concat([this.buf, d]);
        while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
          const n = this.buf.readUInt16BE(0);
          const msg = this.buf.subarray(2, 2 + n).toString('hex');
          this.buf = this.buf.subarray(2 + n);
          this.replies.shift()?.(msg);
        }
      });
      const w = this.waiting.shift();
      if (w) w(s);
      else this.sockets.push(s);
    });
  }

  listen(): Promise<number> {
    return new Promise((r) =>
      this.server.listen(0, '127.0.0.1', () => {
        const a = this.server.address();
        r(typeof a === 'object' && a ? a.port : 0);
      }),
    );
  }

  connection(): Promise<Socket> {
    const s = this.sockets.shift();
    return s ? Promise.resolve(s) : new Promise((r) => this.waiting.push(r));
  }

  /** Writes raw bytes (hex) and, if asked, waits for the next answer message. */
  send(s: Socket, hex: string, answer = true): Promise<string> {
    const p = answer ? new Promise<string>((r) => this.replies.push(r)) : Promise.resolve('');
    s.write(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
    return p;
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

const mica = (args: string[]): ChildProcess =>
  spawn(process.execPath, [join(root, 'tools/bin/mica.js'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

describe('mica serve vpcd', () => {
  it('answers power events, ATR and APDUs, saves at power-off, reconnects, exits 0 on SIGTERM', async () => {
    const img = join(dir, 'card.img');
    saveImageFile(img, cardImageFromProfile(profile));
    const trace = join(dir, 'trace.jsonl');
    const vpcd = new FakeVpcd();
    const port = await vpcd.listen();
    const child = mica(['serve', 'vpcd', img, '--port', String(port), '--retry-ms', '50', '--trace', trace]);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = exited(child);
    try {
      const s = await vpcd.connection();
      // Power on (no reply), then the ATR: ISO-DEP without historical bytes = 3B 80 80 01 01.
      expect(await vpcd.send(s, '0001 01  0001 04')).toBe('3b80800101');
      // An APDU split across two writes; the e-money FCI 6F 09 84 07 AID.
      const split = vpcd.send(s, '000d 00a40400');
      await new Promise((r) => setTimeout(r, 30));
      s.write(Buffer.from(`07${EMONEY_AID}00`, 'hex'));
      expect(await split).toBe(`6f098407${EMONEY_AID}9000`);
      // Two APDUs in one write: GET DATA UID (IDm bytes 1-7), then an unknown INS.
      const both = [vpcd.send(s, '0005 ffca000000  0004 00ee0000'), vpcd.send(s, '', true)];
      expect(await Promise.all(both)).toEqual([`${IDM.slice(2)}9000`, '6d00']);
      // VERIFY with PIN data: the trace masks it.
      await vpcd.send(s, '000d 0020008008 241234ffffffffff');
      // Write block 1 of 0009 (Write Without Encryption, 32 bytes) through the FeliCa bridge.
      const write = `2008${IDM}01090001800122${'22'.repeat(15)}00`;
      expect(await vpcd.send(s, `0026 80fe000020${write}`)).toBe(`0c09${IDM}00009000`);
      // Power off: the image must be saved.
      await vpcd.send(s, '0001 00', false);
      // An unknown control byte gets no reply; the next APDU is answered after an implicit power-on.
      await vpcd.send(s, '0001 07', false);
      expect(await vpcd.send(s, '0005 ffca010000')).toBe('6a81');
      // vpcd drops the link: the card connects again.
      s.destroy();
      const s2 = await vpcd.connection();
      expect(await vpcd.send(s2, '0001 04')).toBe('3b80800101');
      child.kill('SIGTERM');
      expect(await done).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      vpcd.server.close();
    }
    expect(stderr).toMatch(/connected to vpcd at 127\.0\.0\.1/);
    expect(stderr).toMatch(/ignored control byte 07/);
    expect(stderr).toMatch(/APDU while unpowered: powered on/);
    const lines = readFileSync(trace, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { dir: string; layer: string; hex?: string; event?: string });
    expect(lines.some((l) => l.layer === 'apdu' && l.hex === '0020008008ffffffffffffffff')).toBe(true);
    expect(lines.some((l) => l.hex?.includes('241234'))).toBe(false);
    expect(lines.filter((l) => l.event === 'power-off').length).toBe(1);
    expect(lines.filter((l) => l.event === 'connected').length).toBe(2);
    // The block written before power-off is in the saved image.
    const got = spawnSync(
      process.execPath,
      [join(root, 'tools/bin/mica.js'), 'felica', img, `1006${IDM}010900018001`],
      { cwd: root, encoding: 'utf8' },
    );
    expect(got.stdout.trim()).toBe(`1d07${IDM}000001${'22'.repeat(16)}`);
  }, 30_000);

  it("meets the vpcd: target of mica apdu and mica felica (the SDK in vpcd's place)", async () => {
    const img = join(dir, 'pair.img');
    saveImageFile(img, cardImageFromProfile(profile));
    const probe = createServer();
    const port = await new Promise<number>((r) =>
      probe.listen(0, '127.0.0.1', () => {
        const a = probe.address();
        r(typeof a === 'object' && a ? a.port : 0);
      }),
    );
    await new Promise((r) => probe.close(r));
    const card = mica(['serve', 'vpcd', img, '--port', String(port), '--retry-ms', '50']);
    const output = (c: ChildProcess): Promise<string> => {
      let out = '';
      c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      return exited(c).then(() => out);
    };
    try {
      const apdu = await output(mica(['apdu', `vpcd:${port}`, `00a4040007${EMONEY_AID}00`, 'ffca000000']));
      expect(apdu).toBe(`6f098407${EMONEY_AID}9000\n${IDM.slice(2)}9000\n`);
      // The card reconnects after the first session; a second one reads block 0 of 0009 by the bridge.
      const felica = await output(mica(['felica', `vpcd:127.0.0.1:${port}`, `1006${IDM}010900018000`]));
      expect(felica).toBe(`1d07${IDM}000001${'11'.repeat(16)}\n`);
    } finally {
      card.kill('SIGTERM');
      await exited(card);
    }
  }, 30_000);

  it('exits 1 naming the address when no vpcd accepts within --connect-timeout-s', () => {
    const img = join(dir, 'timeout.img');
    saveImageFile(img, cardImageFromProfile(profile));
    // Port 9 (discard) on loopback: nothing listens there in a test environment.
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'tools/bin/mica.js'),
        'serve',
        'vpcd',
        img,
        '--port',
        '9',
        '--retry-ms',
        '50',
        '--connect-timeout-s',
        '1',
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no vpcd accepted a connection on 127\.0\.0\.1:9 within 1 s/);
  });

  it('refuses bad options before touching the image', () => {
    const r = spawnSync(
      process.execPath,
      [join(root, 'tools/bin/mica.js'), 'serve', 'vpcd', join(dir, 'none.img'), '--atr', '3b8'],
      { cwd: root, encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--atr has an odd number of hex digits/);
  });
});
