// mica rf simulate (rf.md §13.3) and mica trace (§13.6): the exchange table and transaction line, scripts
// compared, faults, two cards in the field, the JSON report; trace run on any target and trace convert.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseXml } from './rf-xml';

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mica-simulate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mica(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'tools/bin/mica.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const a = join(dir, 'a.img');
const b = join(dir, 'b.img');
const script = join(dir, 'read.json');
const wrong = join(dir, 'wrong.json');

beforeAll(() => {
  const iso = (uid: string) => JSON.stringify({ uid });
  expect(
    mica(['card', 'new', a, '--idm', '02fe010203040506', '--blocks', '512', '--iso14443', iso('08123456')])
      .status,
  ).toBe(0);
  expect(
    mica(['card', 'new', b, '--idm', '02fe010203040507', '--blocks', '512', '--iso14443', iso('08123457')])
      .status,
  ).toBe(0);
  writeFileSync(
    script,
    JSON.stringify({ exchanges: [{ tx: '0600ffff0100' }, { tx: '0a0c02fe010203040506' }] }),
  );
  writeFileSync(wrong, JSON.stringify({ exchanges: [{ tx: '0600ffff0100', rx: '00' }] }));
});

describe('mica rf simulate', () => {
  it('prints one line per exchange and the transaction line; --json gives the report of rf.md §8.7', () => {
    const r = mica(['rf', 'simulate', '--target', `sim:${a}`, '--script', script, '--snr', '14']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^i\s+kind\s+att\s+outcome/);
    expect(lines.slice(1, 4).map((l) => l.split(/\s+/)[1])).toEqual(['felica:00', 'felica:00', 'felica:0c']);
    expect(lines[lines.length - 1]).toMatch(/^transaction: ok; elapsed [\d.]+ µs, airtime [\d.]+ µs/);
    const j = JSON.parse(mica(['rf', 'simulate', '--target', a, '--script', script, '--json']).stdout) as {
      tech: string;
      exchanges: { kind: string }[];
      transaction: { exchanges: number };
    };
    expect(j.tech).toBe('f');
    expect(j.transaction.exchanges).toBe(3);
  });

  it('a fault is retried and counted; a script answer that differs fails with exit 1', () => {
    const r = mica(['rf', 'simulate', '--target', a, '--script', script, '--inject', '2:crc', '--json']);
    const j = JSON.parse(r.stdout) as { exchanges: { attempts: number }[]; transaction: { retries: number } };
    expect(j.exchanges[2]!.attempts).toBe(2);
    expect(j.transaction.retries).toBe(1);
    const w = mica(['rf', 'simulate', '--target', a, '--script', wrong]);
    expect(w.status).toBe(1);
    expect(w.stderr).toMatch(/expected 00, got 14/);
  });

  it('two Type A cards: the anticollision collision shows and the …57 card is selected', () => {
    const r = mica(['rf', 'simulate', '--target', a, '--card', b, '--tech', 'a', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      exchanges: { kind: string; outcome: string; cmd: { hex: string } }[];
    };
    const ac = j.exchanges.filter((e) => e.kind === 'a:ANTICOLLISION');
    expect(ac[0]!.outcome).toBe('collision');
    expect(ac[1]!.cmd.hex.startsWith('93 51')).toBe(true);
  });

  it('--svg DIR writes one well-formed waveform per frame', () => {
    const out = join(dir, 'svgs');
    expect(mica(['rf', 'simulate', '--target', a, '--svg', out]).status).toBe(0);
    const files = readdirSync(out).sort();
    // Without a script the transaction is the activation: one Polling and its answer.
    expect(files).toEqual(['000-f-r2c.svg', '001-f-c2r.svg']);
    for (const f of files) expect(() => parseXml(readFileSync(join(out, f), 'utf8'))).not.toThrow();
  });

  it('usage errors name the option', () => {
    expect(mica(['rf', 'simulate', '--target', a, '--snr', 'loud']).stderr).toMatch(/--snr/);
    expect(mica(['rf', 'simulate', '--target', a, '--inject', 'x']).status).toBe(2);
    expect(mica(['rf', 'simulate', '--target', 'tcp:localhost:1']).status).not.toBe(0);
  });
});

describe('mica trace', () => {
  it('run writes the capture and JSONL; convert turns the JSONL into the same pcap', () => {
    const pcap = join(dir, 't.pcap');
    const jsonl = join(dir, 't.jsonl');
    const r = mica([
      'trace',
      'run',
      '--target',
      `rf:sim:${a}`,
      '--script',
      script,
      '--pcap',
      pcap,
      '--jsonl',
      jsonl,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^1401/);
    const again = join(dir, 't2.pcap');
    expect(mica(['trace', 'convert', jsonl, '--pcap', again]).status).toBe(0);
    expect(readFileSync(again).equals(readFileSync(pcap))).toBe(true);
    const ng = join(dir, 't.pcapng');
    expect(mica(['trace', 'convert', jsonl, '--pcap', ng]).status).toBe(0);
    expect(readFileSync(ng).subarray(0, 4).toString('hex')).toBe('0a0d0d0a');
    writeFileSync(join(dir, 'bad.jsonl'), '{"t":1}\n');
    expect(mica(['trace', 'convert', join(dir, 'bad.jsonl'), '--pcap', again]).stderr).toMatch(/line 1/);
  });
});
