// `mica rf` (rf.md §13): encode, decode and ber through the real CLI, their exit codes and error lines,
// and the SVG output (well-formed XML, deterministic, a REQA waveform kept as a snapshot).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { encodeFrame, frameBits } from '@mica/card-os/rf/air-frame';
import { sequencesOf } from '@mica/card-os/rf/line-code';
import { transmitStream } from '@mica/card-os/rf/link';
import { antipodalBer } from '@mica/card-os/rf/theory';
import { frameFields, prepareFrame } from '../src/rf/frame-input';
import { parseRfOptions } from '../src/rf/options';
import { berSvg, decimate, waveformSvg } from '../src/rf/svg';
import { allElements, parseXml } from './rf-xml';

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mica-rf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mica(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'tools/bin/mica.js'), 'rf', ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('mica rf encode', () => {
  it('prints bytes, bits, chips, Type A sequence letters and airtime', () => {
    const r = mica(['encode', '--tech', 'a', '--dir', 'r2c', '26']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^frame\s+26 {2}\(REQA \(short frame\); Type A, reader→card, 106 kbps\)$/m);
    expect(r.stdout).toMatch(
      /^chips\s+40 {2}miller-a, 32\/fc each: 1000100000100010000010000010000010000000$/m,
    );
    expect(r.stdout).toMatch(/^sequences\s+ZZXXYZXYZY$/m);
    expect(r.stdout).toMatch(/^airtime\s+84\.96 µs \(1152\/fc\)$/m);
  });

  it('prints the rectified levels of the seed example (rf.md §6.2)', () => {
    const r = mica([
      'encode',
      '--tech',
      'f',
      '--dir',
      'r2c',
      '--k',
      '0.05',
      '--v10',
      '3',
      '--vf',
      '0.7',
      '--rectified',
      '0600ffff0100',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('VHR 2.450 V  VLR 2.150 V  data p-p 0.300 V');
  });

  it('--json prints JSON only; --svg writes a waveform; --out writes samples that decode', () => {
    const svg = join(dir, 'reqb.svg');
    const r = mica(['encode', '--json', '--tech', 'b', '--dir', 'r2c', '--svg', svg, '050000']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { bytes: string; airtimeFc: number; chips: string };
    expect(j.bytes).toBe('05000071ff');
    expect(j.airtimeFc).toBe(9216);
    expect(j.chips.startsWith('111111111100')).toBe(true);
    const tree = parseXml(readFileSync(svg, 'utf8'));
    expect(tree.name).toBe('svg');
    expect(allElements(tree).filter((e) => e.name === 'polyline').length).toBeGreaterThanOrEqual(3);

    const out = join(dir, 'f.json');
    expect(
      mica(['encode', '--tech', 'f', '--dir', 'c2r', '--snr', '12', '--out', out, '0600ffff0100']).status,
    ).toBe(0);
    const d = mica(['decode', '--json', '--in', out]);
    expect(d.status, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({
      tech: 'f',
      dir: 'c2r',
      outcome: 'ok',
      crc: 'ok',
      bytes: '0600ffff01003a10',
    });
  });

  it('refuses bad options with one sentence and exit 2', () => {
    const r = mica(['encode', '--tech', 'x', '00']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('mica: --tech must be a, b or f, got "x".\n');
    const s = mica(['encode', '--tech', 'a', '--dir', 'c2r', '--spb', '8', '0400']);
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/--spb must be at least 16/);
  });
});

describe('mica rf decode', () => {
  it('decodes a chip string and bytes; exits 1 without a good CRC', () => {
    const ok = mica([
      'decode',
      '--tech',
      'a',
      '--dir',
      'r2c',
      '--chips',
      '1000100000100010000010000010000010000000',
    ]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^bytes\s+26$/m);
    expect(ok.stdout).toMatch(/^last byte\s+7 bits$/m);
    const bad = mica(['decode', '--tech', 'f', '--dir', 'r2c', '0600ffff01003a11']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^crc\s+bad$/m);
    expect(bad.stderr).toBe('mica: no frame with a good CRC was found (outcome ok, CRC bad).\n');
    const none = mica(['decode', '--tech', 'f']);
    expect(none.status).toBe(2);
  });
});

describe('mica rf ber', () => {
  it('prints the table as JSON and writes CSV and an SVG curve', () => {
    const csv = join(dir, 'ber.csv');
    const svg = join(dir, 'ber.svg');
    const r = mica([
      'ber',
      '--json',
      '--tech',
      'f',
      '--dir',
      'c2r',
      '--from',
      '2',
      '--to',
      '6',
      '--step',
      '2',
      '--bits',
      '3000',
      '--min-errors',
      '5',
      '--max-bits',
      '30000',
      '--ideal-sync',
      '--csv',
      csv,
      '--svg',
      svg,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout) as { rows: { snrDb: number; ber: number; berTheory: number }[] };
    expect(j.rows.map((x) => x.snrDb)).toEqual([2, 4, 6]);
    expect(j.rows[0]!.berTheory).toBeCloseTo(antipodalBer(2), 12);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('snr_db,frames,bits,bit_errors,ber,ber_theory,frames_lost,frames_crc_fail,fer');
    expect(lines[1]).toMatch(/^2\.0,\d+,\d+,\d+,\d\.\d{4}e[-+]\d+,3\.7506e-2,\d+,\d+,\d\.\d{4}e[-+]\d+$/);
    const tree = parseXml(readFileSync(svg, 'utf8'));
    expect(tree.attrs['width']).toBe('640');
    expect(tree.attrs['height']).toBe('480');
    expect(
      allElements(tree).some(
        (e) => e.name === 'text' && e.text.includes('Type F c2r 212 kbps, spb 8, seed 1'),
      ),
    ).toBe(true);
  });
});

describe('SVG output (rf.md §13.5)', () => {
  function reqaSvg(): string {
    const o = parseRfOptions({ tech: 'a', dir: 'r2c' });
    const f = prepareFrame(o, hexToBytes('26'));
    const stream = encodeFrame('a', 'r2c', f.bytes, f.air);
    const tx = transmitStream(stream, 'a', 'r2c', { spb: 16 });
    return waveformSvg({
      title: 'REQA',
      bitFc: 128,
      bitsStartFc: tx.startFc + 128,
      bits: frameBits('a', 'r2c', f.bytes, f.air),
      fields: frameFields(o, f),
      stream,
      streamStartFc: tx.startFc,
      letters: sequencesOf(stream),
      envelope: tx,
    });
  }

  it('a REQA waveform is well-formed, deterministic and kept as a snapshot', async () => {
    const a = reqaSvg();
    expect(reqaSvg()).toBe(a);
    expect(parseXml(a).name).toBe('svg');
    expect(a).not.toMatch(/\d\.\d{3,}/); // numbers rounded to 2 decimals
    await expect(a).toMatchFileSnapshot('./rf-snapshots/reqa-waveform.svg');
  });

  it('decimates traces beyond 4000 points per pixel column (min/max)', () => {
    const pts = Array.from({ length: 10000 }, (_, i): [number, number] => [i, i % 7]);
    const d = decimate(pts, 1000);
    expect(d.length).toBeLessThanOrEqual(4000);
    expect(Math.max(...d.map((p) => p[1]))).toBe(6);
    expect(Math.min(...d.map((p) => p[1]))).toBe(0);
  });

  it('the BER plot marks zero-error points as open triangles at 1/bits and is deterministic', () => {
    const pts = [
      { snrDb: 0, bits: 1000, bitErrors: 80, theory: antipodalBer(0) },
      { snrDb: 6, bits: 1000, bitErrors: 0, theory: antipodalBer(6) },
    ];
    const svg = berSvg('Type F c2r', pts, antipodalBer);
    expect(berSvg('Type F c2r', pts, antipodalBer)).toBe(svg);
    const els = allElements(parseXml(svg));
    expect(els.filter((e) => e.name === 'polygon' && e.attrs['fill'] === 'none')).toHaveLength(1);
    expect(els.some((e) => e.name === 'polyline' && e.attrs['stroke-dasharray'] !== undefined)).toBe(true);
  });
});
