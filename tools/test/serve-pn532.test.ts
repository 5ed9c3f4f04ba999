// The emulated PN532 (interop.md 6) without libnfc: libnfc 1.8.0's command sequences of interop.md 6.4 played
// as a scripted host against the NFC Forum Type 3 tag profile, with the answers of interop.md 6.3 and 6.5
// written out by hand (the profile's IDm, PMm, identity and blocks); then `mica serve pn532 --stdio` and
// `--pty` as processes: frames on the line, the image saved, the socat child gone after SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { loadImageFile, saveImageFile } from '@mica/card-os/hal/image-file';
import { SeededRandom } from '@mica/card-os/random';
import { Pn532Emulator, type Pn532Hooks } from '../src/pn532/emulator';
import { Pn532Line } from '../src/pn532/line';

const root = new URL('../../', import.meta.url).pathname;
const mica = join(root, 'tools/bin/mica.js');
const dir = mkdtempSync(join(tmpdir(), 'mica-pn532-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const profileJson = JSON.parse(readFileSync(join(root, 'tools/profiles/ndef-tag3.json'), 'utf8')) as object;
const h = (s: string): Uint8Array => hexToBytes(s.replace(/\s+/g, ''));
const ascii = (s: string): string => Buffer.from(s, 'ascii').toString('hex');

// interop.md 6.5: the stand-in card's values, which tools/profiles/ndef-tag3.json reproduces.
const IDM = '0102030405060708';
const PMM = '0011223344556677';
const POL_RES = `14 01 ${IDM} ${PMM} 12fc`;
const ATTRIBUTE_BLOCK = '10 04 01 00 0D 00 00 00 00 00 01 00 00 09 00 2C';
const NDEF = 'd1 01 05 54 02 65 6e 68 69'; // one "T" record "hi"

function newCard(): Card {
  const card = new Card(cardImageFromProfile(parseProfile(profileJson)), { random: new SeededRandom(1n) });
  return card;
}

function pn532(hooks: Pn532Hooks = {}, cards = [newCard()]): (cmd: string) => string {
  const e = new Pn532Emulator(cards, hooks);
  return (cmd) => {
    const r = e.command(h(cmd));
    return r === null ? 'error' : bytesToHex(r);
  };
}

const n = (s: string): string => s.replace(/\s+/g, '').toLowerCase();

describe('the emulated PN532 answers libnfc 1.8.0 (interop.md 6.4)', () => {
  it('initialisation: SAMConfiguration, Diagnose, firmware, parameters, registers, RF configuration', () => {
    const send = pn532();
    expect(send('14 01')).toBe('15');
    expect(send(`00 00 ${ascii('libnfc')}`)).toBe(n(`01 00 ${ascii('libnfc')}`));
    expect(send('02')).toBe(n('03 32 01 06 07'));
    expect(send('12 14')).toBe('13');
    expect(send('06 63 02 63 03 63 0D 63 38 63 3D')).toBe(n('07 00 00 00 00 00'));
    expect(send('08 63 02 80 63 03 80')).toBe('09');
    expect(send('06 63 02 63 03 63 0D')).toBe(n('07 80 80 00'));
    expect(send('32 01 00')).toBe('33');
    expect(send('32 01 01')).toBe('33');
    expect(send('32 05 FF FF FF')).toBe('33');
    expect(send('04')).toBe(n('05 00 01 00 80')); // no error, field on, no target, no SAM
  });

  it('nfc-list: Type A activation data, FeliCa 212 and 424, nothing for B and Jewel, probes time out', () => {
    const send = pn532();
    expect(send('32 05 00 01 02')).toBe('33');
    // interop.md 6.3's verified example: ATQA 00 04, UID de ad be ef, SAK 20, ATS 05 78 80 70 02.
    expect(send('4A 01 00')).toBe(n('4B 01 01 00 04 20 04 DE AD BE EF 05 78 80 70 02'));
    expect(send('4A 01 01 00 FF FF 01 00')).toBe(n(`4B 01 01 ${POL_RES}`));
    expect(send('4A 01 02 00 FF FF 01 00')).toBe(n(`4B 01 01 ${POL_RES}`));
    expect(send('04')).toBe(n('05 00 01 01 01 02 02 10 80')); // Tg 1 at 424 kbps, type FeliCa
    expect(send('4A 01 03 00')).toBe(n('4B 00'));
    for (const probe of ['01 0B 3F 80', '06 00', '10', '0A', '0C', ''])
      expect(send(`42 ${probe}`), `InCommunicateThru ${probe || '(empty)'}`).toBe(n('43 01'));
    expect(send('4A 01 04')).toBe(n('4B 00'));
    expect(send('52 00')).toBe(n('53 00'));
    expect(send('32 01 00')).toBe('33');
    expect(send('16 F0')).toBe(n('17 00'));
  });

  it('nfc-read-forum-tag3: Polling, then Read Without Encryption of service 000B block by block', () => {
    const send = pn532();
    expect(send('4A 01 01 00 FF FF 01 00')).toBe(n(`4B 01 01 ${POL_RES}`));
    expect(send(`42 10 06 ${IDM} 01 0B 00 01 80 00`)).toBe(
      n(`43 00 1D 07 ${IDM} 00 00 01 ${ATTRIBUTE_BLOCK}`),
    );
    expect(send(`42 10 06 ${IDM} 01 0B 00 01 80 01`)).toBe(
      n(`43 00 1D 07 ${IDM} 00 00 01 ${NDEF} 00 00 00 00 00 00 00`),
    );
    // Another IDm: the card stays silent, the PN532 reports a timeout.
    expect(send(`42 10 06 ${IDM.replace(/08$/, '09')} 01 0B 00 01 80 00`)).toBe(n('43 01'));
    // InDataExchange to the FeliCa target carries the same frame.
    expect(send(`40 01 10 06 ${IDM} 01 0B 00 01 80 00`)).toBe(
      n(`41 00 1D 07 ${IDM} 00 00 01 ${ATTRIBUTE_BLOCK}`),
    );
  });

  it('InDataExchange carries APDUs to an ISO-DEP Type A target; no target → error 27', () => {
    const send = pn532();
    expect(send('40 01 FF CA 00 00 00')).toBe(n('41 27'));
    expect(send('4A 01 00')).toMatch(/^4b0101/);
    // PC/SC GET DATA (UID): the UID of the profile's identity ‖ 90 00.
    expect(send('40 01 FF CA 00 00 00')).toBe(n('41 00 DE AD BE EF 90 00'));
    expect(send('42 06 00 FF FF 01 00')).toBe(n('43 01')); // no FeliCa target active
    expect(send('54 01')).toBe(n('55 00'));
    expect(send('44 01')).toBe(n('45 00'));
    expect(send('54 01')).toBe(n('55 27'));
  });

  it('no answer to a system code the card does not hold; two cards are listed in order', () => {
    const send = pn532({}, [newCard(), newCard()]);
    expect(send('4A 01 01 00 88 B4 01 00')).toBe(n('4B 00'));
    expect(send('4A 02 01 00 FF FF 01 00')).toBe(n(`4B 02 01 ${POL_RES} 02 ${POL_RES}`));
  });

  it('refuses unknown commands and malformed ones with the error frame, naming why', () => {
    const refused: string[] = [];
    const send = pn532({ refused: (c, reason) => refused.push(`${bytesToHex(c)}: ${reason}`) });
    expect(send('60 01 01 10')).toBe('error'); // InAutoPoll is not emulated
    expect(send('06 63')).toBe('error');
    expect(send('4A 03 01')).toBe('error');
    expect(send('4A 01 01 00 FF FF')).toBe('error');
    expect(refused).toEqual([
      '60010110: command 60 is not emulated',
      '0663: ReadRegister takes 2-byte addresses',
      '4a0301: InListPassiveTarget MaxTg must be 1 or 2, got 3',
      '4a010100ffff: InListPassiveTarget FeliCa needs the Polling payload 00 SC SC RC TSN',
    ]);
  });

  it('switching the field off powers the card off and tells the caller (to save the image)', () => {
    const fields: boolean[] = [];
    const card = newCard();
    const send = pn532({ field: (on) => fields.push(on) }, [card]);
    expect(send('32 01 01')).toBe('33');
    expect(card.isPowered).toBe(true);
    expect(send('32 01 00')).toBe('33');
    expect(card.isPowered).toBe(false);
    expect(send('4A 01 01 00 FF FF 01 00')).toBe(n(`4B 01 01 ${POL_RES}`)); // switches it on again
    expect(fields).toEqual([true, false, true]);
  });
});

describe('the PN532 serial line', () => {
  function line(): { push: (hex: string) => void; out: () => string } {
    let written = '';
    const l = new Pn532Line(new Pn532Emulator([newCard()]), (b) => (written += bytesToHex(b)));
    return {
      push: (hex) => l.push(h(hex)),
      out: () => {
        const w = written;
        written = '';
        return w;
      },
    };
  }

  it('answers each command with ACK then the response frame (the PN532 manual example)', () => {
    const l = line();
    l.push('55 55 00 00 00 00 00 00 00 00 00 00 00 00 00 00 0000ff02fed4022a00');
    expect(l.out()).toBe(n('0000ff00ff00 0000ff06fad50332010607e800'));
  });

  it('answers an unknown command with ACK then the error frame', () => {
    const l = line();
    l.push('0000ff02fed4609600'); // a bad DCS (D4 + 60 = 0x134: the right DCS is CC): dropped, no ACK
    expect(l.out()).toBe('');
    l.push('0000ff02fed460cc00');
    expect(l.out()).toBe(n('0000ff00ff00 0000ff01ff7f8100'));
  });

  it('consumes a host ACK, resends the last answer on NACK, drops frames for other TFIs', () => {
    const l = line();
    l.push('0000ff00ff00');
    expect(l.out()).toBe('');
    l.push('0000ff02fed4022a00');
    expect(l.out()).toBe(n('0000ff00ff00 0000ff06fad50332010607e800'));
    l.push('0000ffff0000');
    expect(l.out()).toBe(n('0000ff06fad50332010607e800'));
    l.push('0000ff02fed5022900'); // TFI D5 from the host side
    expect(l.out()).toBe('');
  });
});

describe('mica serve pn532 as a process', () => {
  function image(name: string): string {
    const path = join(dir, name);
    saveImageFile(path, cardImageFromProfile(parseProfile(profileJson)));
    return path;
  }

  it('--stdio: frames in and out, writes reach the image, the pcap holds the FeliCa frames', () => {
    const img = image('stdio.img');
    const pcap = join(dir, 'stdio.pcap');
    // Write Without Encryption of block 1 of 0009 (LEN 0x20), then field off (saves the image).
    const write = `20 08 ${IDM} 01 09 00 01 80 01 ${'ab'.repeat(16)}`;
    const frames = [
      '0000ff02fed4022a00',
      frame(`4A 01 01 00 FF FF 01 00`),
      frame(`42 ${write}`),
      frame('32 01 00'),
    ];
    const r = spawnSync(
      process.execPath,
      [mica, 'serve', 'pn532', '--stdio', '--card', img, '--pcap', pcap],
      {
        input: Buffer.from(frames.join(''), 'hex'),
        encoding: 'buffer',
        timeout: 30_000,
      },
    );
    expect(r.status, r.stderr.toString()).toBe(0);
    const ack = '0000ff00ff00';
    expect(r.stdout.toString('hex')).toBe(
      n(
        `${ack} 0000ff06fad50332010607e800 ${ack} ${frame(`4B 01 01 ${POL_RES}`, 0xd5)} ` +
          `${ack} ${frame(`43 00 0C 09 ${IDM} 00 00`, 0xd5)} ${ack} ${frame('33', 0xd5)}`,
      ),
    );
    const card = new Card(loadImageFile(img));
    card.powerOn();
    expect(bytesToHex(card.felica(h(`10 06 ${IDM} 01 09 00 01 80 01`))!)).toBe(
      n(`1D 07 ${IDM} 00 00 01 ${'ab'.repeat(16)}`),
    );
    const cap = readFileSync(pcap);
    expect(cap.readUInt32LE(20)).toBe(252); // LINKTYPE_WIRESHARK_UPPER_PDU
    expect(cap.includes(Buffer.from('felica'))).toBe(true);
  });

  it('refuses a bad combination of options, naming it', () => {
    const img = image('opts.img');
    const run = (...args: string[]): string =>
      spawnSync(process.execPath, [mica, 'serve', 'pn532', ...args], { encoding: 'utf8', timeout: 30_000 })
        .stderr;
    expect(run('--card', img)).toMatch(/exactly one of --pty and --stdio/);
    expect(run('--stdio', '--link', '/tmp/x', '--card', img)).toMatch(/--link goes with --pty/);
    expect(run('--stdio')).toMatch(/--card IMAGE/);
    expect(run('--stdio', '--card', img, '--card', img, '--card', img)).toMatch(/at most 2 cards/);
  });

  it.skipIf(spawnSync('socat', ['-V'], { stdio: 'ignore' }).status !== 0)(
    '--pty: prints the pty and link, answers through it, stops its socat child by PID on SIGTERM',
    async () => {
      const img = image('pty.img');
      const link = join(dir, 'pn532-link');
      const server = spawn(
        process.execPath,
        [mica, 'serve', 'pn532', '--pty', '--link', link, '--card', img],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      server.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((r) => server.once('exit', (c) => r(c)));
      const until = async (test: () => boolean): Promise<void> => {
        for (let i = 0; i < 200 && !test(); i++) await new Promise((r) => setTimeout(r, 50));
      };
      await until(() => /LINK /.test(out));
      expect(out).toMatch(new RegExp(`^PTY /dev/pts/\\d+\nLINK ${link}\n$`));
      const fd = openSync(link, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY);
      writeSync(fd, h('0000ff02fed4022a00'));
      const got = Buffer.alloc(64);
      let len = 0;
      const want = n('0000ff00ff00 0000ff06fad50332010607e800');
      const started = Date.now();
      while (got.subarray(0, len).toString('hex') !== want && Date.now() - started < 10_000) {
        try {
          len += readSync(fd, got, len, got.length - len, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      closeSync(fd);
      expect(got.subarray(0, len).toString('hex')).toBe(want);
      const children = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(server.pid)], {
        encoding: 'utf8',
      })
        .stdout.split('\n')
        .filter((l) => /socat/.test(l))
        .map((l) => Number(l.trim().split(/\s+/)[0]));
      expect(children).toHaveLength(1);
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
      const alive = (pid: number): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      expect(alive(children[0]!)).toBe(false);
      expect(existsSync(link)).toBe(false);
    },
    40_000,
  );

  it.skipIf(spawnSync('socat', ['-V'], { stdio: 'ignore' }).status !== 0)(
    '--pty: exits 1, naming it, when its socat child dies underneath it',
    async () => {
      const img = image('pty-lost.img');
      const server = spawn(
        process.execPath,
        [mica, 'serve', 'pn532', '--pty', '--link', join(dir, 'lost-link'), '--card', img],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      server.stdout.on('data', (d: Buffer) => (out += d.toString()));
      server.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((r) => server.once('exit', (c) => r(c)));
      for (let i = 0; i < 200 && !/LINK /.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      const socat = Number(
        spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(server.pid)], { encoding: 'utf8' })
          .stdout.split('\n')
          .find((l) => /socat/.test(l))
          ?.trim()
          .split(/\s+/)[0],
      );
      expect(socat).toBeGreaterThan(0);
      process.kill(socat, 'SIGKILL');
      expect(await exited).toBe(1);
      expect(err).toMatch(/socat exited unexpectedly \(SIGKILL\)/);
    },
    40_000,
  );
});

/** A normal information frame, built by hand from interop.md 6.2 (independent of the codec under test). */
function frame(hex: string, tfi = 0xd4): string {
  const body = [tfi, ...h(hex)];
  const len = body.length;
  const dcs = (0x100 - (body.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
  return bytesToHex(Uint8Array.of(0, 0, 0xff, len, (0x100 - len) & 0xff, ...body, dcs, 0));
}
