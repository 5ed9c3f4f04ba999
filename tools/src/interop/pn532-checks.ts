// The libnfc part of the interop tier (interop.md 6, 7): `mica serve pn532 --pty` with the NFC Forum Type 3
// tag of tools/profiles/ndef-tag3.json, read by libnfc's own tools through pn532_uart. Expected values come
// from the profile (IDm, PMm, system code, ISO 14443 identity, the attribute block and NDEF bytes), never from
// mica's encoders. The server and its socat child are stopped by PID.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProfile } from '@mica/apdu-specs/profile';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { saveImageFile } from '@mica/card-os/hal/image-file';
import { stopPid } from './pcscd-sandbox';

export type Check = (name: string, ok: boolean, detail?: string) => boolean;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const spaced = (hex: string): string => hex.match(/../g)!.join('\\s+');

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface NdefProfile {
  chip: { idm: string; pmm: string; iso14443: { uid: string; atqa: string; sak: string; ats: string } };
  systems: { systemCode: string; areas: { services: { code: string; data?: string[] }[] }[] }[];
}

export async function pn532Checks(root: string, report: Check): Promise<void> {
  let failures = 0;
  const check: Check = (name, ok, detail) => {
    if (!ok) failures += 1;
    return report(name, ok, detail);
  };
  const profilePath = join(root, 'tools/profiles/ndef-tag3.json');
  const json = JSON.parse(readFileSync(profilePath, 'utf8')) as NdefProfile;
  const dir = mkdtempSync(join(tmpdir(), 'mica-pn532-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const image = join(dir, 'tag.img');
  const link = join(dir, 'pn532');
  const trace = join(dir, 'pn532.jsonl');
  const pcap = join(dir, 'pn532.pcap');
  saveImageFile(image, cardImageFromProfile(parseProfile(json)));
  const logFd = openSync(join(dir, 'server.log'), 'a');
  const mica = join(root, 'tools/bin/mica.js');
  const server = spawn(
    process.execPath,
    [mica, 'serve', 'pn532', '--pty', '--link', link, '--card', image, '--trace', trace, '--pcap', pcap],
    { cwd: root, stdio: ['ignore', 'pipe', logFd] },
  );
  let out = '';
  server.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  let socatPid: number | undefined;
  try {
    for (let i = 0; i < 300 && !/^LINK /m.test(out) && server.exitCode === null; i++) await sleep(50);
    if (
      !check('mica serve pn532 --pty prints its PTY and LINK', /^PTY \/dev\/pts\/\d+\nLINK /.test(out), out)
    )
      return;
    socatPid = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(server.pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => /\bsocat\b/.test(l))
      .map((l) => Number(l.trim().split(/\s+/)[0]))[0];
    check('mica serve pn532 runs one socat child', socatPid !== undefined);

    const env = {
      ...process.env,
      HOME: home,
      XDG_CACHE_HOME: join(home, '.cache'),
      LIBNFC_DEFAULT_DEVICE: `pn532_uart:${link}`,
    };
    const run = (cmd: string, args: string[]): { status: number | null; out: string } => {
      const r = spawnSync(cmd, args, {
        cwd: dir,
        env,
        encoding: 'utf8',
        timeout: 20_000,
        maxBuffer: 1024 * 1024,
      });
      return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
    };

    const { idm, pmm, iso14443: id } = json.chip;
    const sc = json.systems[0]!.systemCode;
    const felicaTarget = (kbps: number): RegExp =>
      new RegExp(
        `1 Felica \\(${kbps} kbps\\) passive target\\(s\\) found:\\s+FeliCa \\(${kbps} kbps\\) target:\\s+` +
          `ID \\(NFCID2\\):\\s+${spaced(idm)}\\s+Parameter \\(PAD\\):\\s+${spaced(pmm)}\\s+` +
          `System Code \\(SC\\):\\s+${spaced(sc)}\\s`,
        'i',
      );
    for (const [t, kbps] of [
      ['2', 212],
      ['4', 424],
    ] as const) {
      const r = run('nfc-list', ['-t', t]);
      check(
        `nfc-list -t ${t}: one FeliCa (${kbps} kbps) target with the profile's IDm, PMm and system code`,
        r.status === 0 && felicaTarget(kbps).test(r.out),
        r.out,
      );
    }
    // Type A: libnfc prints ATQA as SENS_RES (high byte first: the on-air bytes reversed), the ATS without TL.
    const atqa = id.atqa.slice(2) + id.atqa.slice(0, 2);
    const typeA = new RegExp(
      `ATQA \\(SENS_RES\\):\\s+${spaced(atqa)}[\\s\\S]*UID \\(NFCID1\\):\\s+${spaced(id.uid)}\\s+` +
        `SAK \\(SEL_RES\\):\\s+${spaced(id.sak)}[\\s\\S]*ATS:\\s+${spaced(id.ats.slice(2))}\\s`,
      'i',
    );
    const v = run('nfc-list', ['-v', '-t', '1']);
    check(
      "nfc-list -v -t 1: ATQA, UID, SAK and ATS of the profile's ISO 14443 identity",
      v.status === 0 && typeA.test(v.out),
      v.out,
    );
    check(
      'nfc-list -v -t 1: FWI 7 of the ATS decodes as "Frame Waiting Time: 38.66 ms"',
      /Frame Waiting Time: 38\.66 ms/.test(v.out),
      v.out,
    );
    const all = run('nfc-list', []);
    check(
      'nfc-list (all types, with the B, B′, SRx, CTx, iClass and Jewel probes): exit 0, Type A and FeliCa 212/424 listed',
      all.status === 0 &&
        typeA.test(all.out) &&
        felicaTarget(212).test(all.out) &&
        felicaTarget(424).test(all.out),
      all.out,
    );

    // nfc-read-forum-tag3: the attribute block's Ln bytes of the NDEF data blocks that follow it.
    const blocks = json.systems[0]!.areas[0]!.services.find((s) => s.code === '0009')!.data!;
    const attr = Buffer.from(blocks[0]!, 'hex');
    const ln = (attr[11]! << 16) | (attr[12]! << 8) | attr[13]!;
    const ndef = Buffer.from(blocks.slice(1).join(''), 'hex').subarray(0, ln);
    const outFile = join(dir, 'ndef.bin');
    const tag = run('nfc-read-forum-tag3', ['-o', outFile]);
    check(
      'nfc-read-forum-tag3: the attribute block parses (Checksum: ok, NDEF message length from the profile)',
      tag.status === 0 &&
        /Checksum: ok \(0x002C\)/i.test(tag.out) &&
        new RegExp(`NDEF message length: ${ln} bytes`).test(tag.out),
      tag.out,
    );
    check(
      "nfc-read-forum-tag3 -o: the file holds the profile's NDEF message byte for byte",
      existsSync(outFile) && readFileSync(outFile).equals(ndef),
      existsSync(outFile) ? readFileSync(outFile).toString('hex') : `no ${outFile}\n${tag.out}`,
    );
    const lines = readFileSync(trace, 'utf8');
    check(
      "the card trace shows libnfc's Read Without Encryption of service 000B, blocks 0 and 1",
      lines.includes(`"hex":"1006${idm}010b00018000"`) && lines.includes(`"hex":"1006${idm}010b00018001"`),
      lines.slice(-3000),
    );
  } finally {
    await stopPid(server);
    const cap = existsSync(pcap) ? readFileSync(pcap) : Buffer.alloc(0);
    check(
      'mica serve pn532 --pcap: an upper-PDU (252) capture of the FeliCa frames, written on exit',
      cap.length > 24 && cap.readUInt32LE(20) === 252 && cap.includes(Buffer.from('felica')),
      `${cap.length} bytes`,
    );
    check(
      'cleanup: the PN532 server and its socat child stopped by PID, the pty link removed',
      !alive(server.pid) && !alive(socatPid) && !existsSync(link),
      `server ${server.pid} ${alive(server.pid)}, socat ${socatPid} ${alive(socatPid)}, link ${existsSync(link)}`,
    );
    if (failures > 0) process.stdout.write(`pn532 logs kept in ${dir} (server.log, pn532.jsonl)\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
