// The tcp: and script: transports (cli.md "Card targets"): every FeliCa and APDU transcript vector is
// answered the same by a card served over TCP; script: replay refuses a different command as
// `protocol`; a server that goes away is `link-lost`; the CLI serves and reaches a card end to end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { TcpCardServer } from '@mica/host-sdk/transport/tcp-card-server';
import { TcpTransport } from '@mica/host-sdk/transport/tcp';
import { TCP_KIND } from '@mica/host-sdk/transport/tcp-framing';
import { ScriptTransport, parseScript } from '@mica/host-sdk/transport/script';
import { retryPolicy } from '@mica/host-sdk/transport/retry';
import { TransportError } from '@mica/host-sdk/transport/transport';
import { cardFromVector, cardRandomOf, readExchanges } from '../src/conformance/kinds/felica-transcript';

const root = new URL('../../', import.meta.url).pathname;
const vectorsDir = join(root, 'test-vectors');
const dir = mkdtempSync(join(tmpdir(), 'mica-tcp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Vector = Record<string, unknown>;

function vectorFiles(prefix: string): { file: string; vectors: Vector[] }[] {
  return readdirSync(vectorsDir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .map((f) => ({
      file: f,
      vectors: (JSON.parse(readFileSync(join(vectorsDir, f), 'utf8')) as { vectors: Vector[] }).vectors,
    }));
}

async function rejection(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TransportError);
    return e as TransportError;
  }
  throw new Error('expected a rejection');
}

describe('tcp: a served card answers the transcript vectors', () => {
  for (const [prefix, iface] of [
    ['felica-transcript-', 'felica'],
    ['apdu-transcript-', 'apdu'],
  ] as const) {
    for (const { file, vectors } of vectorFiles(prefix)) {
      it(`${file} (${vectors.length} vectors)`, async () => {
        let exchanged = 0;
        for (const v of vectors) {
          const exchanges = readExchanges(
            v,
            iface === 'felica' ? 'tx' : 'c',
            iface === 'felica' ? 'rx' : 'r',
          );
          expect(typeof exchanges).not.toBe('string');
          const random = cardRandomOf(v);
          if (typeof random === 'string') throw new Error(random);
          const card = cardFromVector(v, random);
          if (typeof card === 'string') throw new Error(card);
          // The vector's card was powered on by cardFromVector; the client's power-on resets it, which
          // is the same fresh state (Mode 0, no session).
          const server = new TcpCardServer(card);
          const { host, port } = await server.listen(0);
          const t = await TcpTransport.connect(host, port);
          try {
            for (const [i, e] of (exchanges as Exclude<typeof exchanges, string>).entries()) {
              const want = e.response === null ? '-' : bytesToHex(e.response);
              let have: string;
              if (iface === 'felica') {
                const r = await t.felica(e.command);
                have = r === null ? '-' : bytesToHex(r);
              } else {
                have = bytesToHex(await t.apdu(e.command));
              }
              expect(have, `${String(v['id'])} exchange ${i + 1}`).toBe(want);
              exchanged++;
            }
          } finally {
            await t.close();
            await server.close();
          }
        }
        expect(exchanged).toBeGreaterThan(0);
      });
    }
  }
});

/** A served card from the first polling vector's profile. */
async function servedCard(): Promise<{ server: TcpCardServer; host: string; port: number }> {
  const v = vectorFiles('felica-transcript-polling')[0]!.vectors[0]!;
  const card = cardFromVector(v, cardRandomOf(v) as Exclude<ReturnType<typeof cardRandomOf>, string>);
  if (typeof card === 'string') throw new Error(card);
  const server = new TcpCardServer(card);
  return { server, ...(await server.listen(0)) };
}

const POLL = hexToBytes('0600ffff0000');
const POLL_ANSWER = '120102fe0102030405060120220427674eff';

describe('tcp: transport errors', () => {
  it('a server that goes away is link-lost, and a closed transport is closed', async () => {
    const { server, host, port } = await servedCard();
    const t = await TcpTransport.connect(host, port);
    expect(bytesToHex((await t.felica(POLL))!)).toBe(POLL_ANSWER);
    await server.close();
    expect((await rejection(t.felica(POLL))).kind).toBe('link-lost');
    expect((await rejection(t.apdu(hexToBytes('ffca000000')))).kind).toBe('link-lost');
    await t.close();
    expect((await rejection(t.felica(POLL))).kind).toBe('closed');
  });

  it('nobody listening is link-lost; the injected retry policy decides how often to try', async () => {
    const { server, port } = await servedCard();
    await server.close();
    const slept: number[] = [];
    const e = await rejection(
      TcpTransport.connect('127.0.0.1', port, {
        retry: retryPolicy({ attempts: 3, delayMs: 10, factor: 2 }),
        sleep: (ms) => {
          slept.push(ms);
          return Promise.resolve();
        },
      }),
    );
    expect(e.kind).toBe('link-lost');
    expect(slept).toEqual([10, 20]);
  });

  it('an unpowered card is silent to FeliCa and link-lost to APDUs; power-on answers the ATR', async () => {
    const { server, host, port } = await servedCard();
    const t = await TcpTransport.connect(host, port);
    try {
      const atr = await t.atr();
      expect(atr[0]).toBe(0x3b);
      await t.powerOff();
      expect(await t.felica(POLL)).toBeNull();
      expect((await rejection(t.apdu(hexToBytes('ffca000000')))).kind).toBe('link-lost');
      expect(bytesToHex(await t.powerOn())).toBe(bytesToHex(atr));
      expect(bytesToHex((await t.felica(POLL))!)).toBe(POLL_ANSWER);
    } finally {
      await t.close();
      await server.close();
    }
  });

  it('an answer of another kind is a protocol error; no answer in time is a timeout', async () => {
    // A raw peer that answers every message with kind 01, or (second connection) not at all.
    let connection = 0;
    const peer = createServer((s) => {
      const n = ++connection;
      s.on('data', () => {
        if (n === 1) s.write(Uint8Array.of(0x00, 0x01, TCP_KIND.apdu));
      });
    });
    await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
    const port = (peer.address() as AddressInfo).port;
    try {
      const wrong = await TcpTransport.connect('127.0.0.1', port, { powerOn: false });
      expect((await rejection(wrong.felica(POLL))).kind).toBe('protocol');
      await wrong.close();
      const mute = await TcpTransport.connect('127.0.0.1', port, { powerOn: false, timeoutMs: 50 });
      expect((await rejection(mute.felica(POLL))).kind).toBe('timeout');
      await mute.close();
    } finally {
      peer.close();
    }
  });
});

describe('script: replay', () => {
  const script = parseScript({
    exchanges: [
      { tx: '06 00 ffff 00 00', rx: POLL_ANSWER },
      { c: 'ffca000000', r: 'fe0102030405069000' },
      { tx: '0600ffff0100', rx: null },
    ],
  });

  it('answers the recorded answers in order', async () => {
    const t = new ScriptTransport(script);
    expect(bytesToHex((await t.felica(POLL))!)).toBe(POLL_ANSWER);
    expect(bytesToHex(await t.apdu(hexToBytes('ffca000000')))).toBe('fe0102030405069000');
    expect(await t.felica(hexToBytes('0600ffff0100'))).toBeNull();
    expect(t.remaining).toBe(0);
    expect((await rejection(t.felica(POLL))).message).toMatch(/after the end of the script/);
  });

  it('a different command is a protocol error naming both, and the replay stops there', async () => {
    const t = new ScriptTransport(script);
    const e = await rejection(t.felica(hexToBytes('0600ffff0001')));
    expect(e.kind).toBe('protocol');
    expect(e.message).toBe('exchange 1: got 0600ffff0001, the script expects 0600ffff0000');
    expect((await rejection(t.felica(POLL))).kind).toBe('protocol');
  });

  it('a command of the other interface is a protocol error', async () => {
    const t = new ScriptTransport(script);
    expect((await rejection(t.apdu(hexToBytes('ffca000000')))).message).toMatch(
      /got a apdu command, the script has a felica one/,
    );
  });

  it('reads vector files and names what is wrong in a script', () => {
    const file = JSON.parse(readFileSync(join(vectorsDir, 'felica-transcript-polling.json'), 'utf8')) as {
      vectors: { id: string }[];
    };
    expect(parseScript(file, file.vectors[0]!.id).length).toBeGreaterThan(0);
    expect(() => parseScript(file)).toThrow(/name one with #<id>/);
    expect(() => parseScript({ exchanges: [{ tx: 'zz', rx: null }] })).toThrow(/exchanges\[0\]\.tx/);
    expect(() => parseScript({ exchanges: [{ rx: '00' }] })).toThrow(
      /either tx\/rx \(FeliCa\) or c\/r \(APDU\)/,
    );
  });
});

describe('the CLI: mica serve tcp, tcp: and script: targets', () => {
  const mica = join(root, 'tools/bin/mica.js');
  const run = (args: string[]): { status: number; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [mica, ...args], { cwd: root, encoding: 'utf8' });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };

  it('serves an image; felica and apdu reach it over tcp:', async () => {
    const img = join(dir, 'served.img');
    expect(
      run([
        'card',
        'new',
        img,
        '--idm',
        '02fe010203040506',
        '--blocks',
        '1024',
        '--transport-key',
        '000102030405060708090a0b0c0d0e0f',
      ]).status,
    ).toBe(0);
    const server = spawn(process.execPath, [mica, 'serve', 'tcp', img, '--port', '0'], { cwd: root });
    try {
      const first = await new Promise<string>((resolve, reject) => {
        server.stdout.once('data', (d: Uint8Array) => resolve(new TextDecoder().decode(d)));
        server.once('exit', (c) => reject(new Error(`mica serve tcp exited with ${c}`)));
      });
      const m = /^listening on (tcp:127\.0\.0\.1:\d+)\n/.exec(first);
      expect(m).not.toBeNull();
      const target = m![1]!;
      const f = await new Promise<{ status: number; stdout: string }>((resolve) => {
        const c = spawn(process.execPath, [mica, 'felica', target, '0600ffff0100', '0600abcd0000'], {
          cwd: root,
        });
        let out = '';
        c.stdout.on('data', (d: Uint8Array) => (out += new TextDecoder().decode(d)));
        c.on('exit', (code) => resolve({ status: code ?? -1, stdout: out }));
      });
      expect(f).toEqual({ status: 0, stdout: '140102fe0102030405060120220427674eff12fc\n-\n' });
      const a = await new Promise<{ status: number; stdout: string }>((resolve) => {
        const c = spawn(process.execPath, [mica, 'apdu', target, 'ffca000000'], { cwd: root });
        let out = '';
        c.stdout.on('data', (d: Uint8Array) => (out += new TextDecoder().decode(d)));
        c.on('exit', (code) => resolve({ status: code ?? -1, stdout: out }));
      });
      expect(a).toEqual({ status: 0, stdout: 'fe0102030405069000\n' });
    } finally {
      server.kill('SIGINT');
      await new Promise((r) => server.once('exit', r));
    }
  });

  it('tcp: with nobody listening fails with exit 1 and one sentence', () => {
    const r = run(['felica', 'tcp:127.0.0.1:1', '0600ffff0100']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mica: cannot connect to tcp:127\.0\.0\.1:1: .*\.\n$/);
    expect(run(['felica', 'tcp:nohost', '0600ffff0100']).stderr).toMatch(/tcp: target must be <host>:<port>/);
  });

  it('script: replays a file and exits 1 naming the first different command', () => {
    const file = join(dir, 'dialogue.json');
    writeFileSync(
      file,
      JSON.stringify({
        exchanges: [
          { tx: '0600ffff0000', rx: POLL_ANSWER },
          { tx: '0600ffff0100', rx: null },
        ],
      }),
    );
    const ok = run(['felica', `script:${file}`, '0600ffff0000', '0600ffff0100']);
    expect(ok).toMatchObject({ status: 0, stdout: `${POLL_ANSWER}\n-\n` });
    const bad = run(['felica', `script:${file}`, '0600ffff0000', '0600ffff0200']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('mica: exchange 2: got 0600ffff0200, the script expects 0600ffff0100.\n');
  });
});
