// The rf: card target (cli.md, rf.md §10): every conformance suite passes over `rf` (noiseless, sample
// level) and `rf-noisy` (snr=18) with the same results as in-process (§10.4, §14 test 7); mica felica and
// mica apdu reach an image through rf:, write the report and JSONL trace, and refuse bad options.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRfQuery } from '@mica/host-sdk/transport/rf/rf-options';
import { runFile } from '../src/conformance/runner';

const root = new URL('../../', import.meta.url).pathname;
const vectors = join(root, 'test-vectors');
const dir = mkdtempSync(join(tmpdir(), 'mica-rf-target-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mica(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'tools/bin/mica.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const transcripts = readdirSync(vectors).filter((f) => /^(felica|apdu)-transcript-.*\.json$/.test(f));

describe('conformance suites over rf: (rf.md §10.4)', () => {
  for (const [target, query] of [
    ['rf', ''],
    ['rf-noisy', 'snr=18'],
  ] as const) {
    for (const file of transcripts) {
      it(`${target}: ${file}`, () => {
        const inProcess = runFile(join(vectors, file));
        const report = runFile(join(vectors, file), { rf: parseRfQuery(query) });
        expect(report.failures).toEqual([]);
        expect(report.passed).toBe(inProcess.passed);
      });
    }
  }
});

describe('mica felica / apdu with an rf: target', () => {
  const img = join(dir, 'card.img');
  const profile = join(dir, 'profile.json');
  const tk = '000102030405060708090a0b0c0d0e0f';
  const setup = (): void => {
    writeFileSync(
      profile,
      JSON.stringify({
        systems: [
          {
            systemCode: '12fc',
            areas: [{ code: '0000', end: 'fffe', capacity: 16, services: [{ code: '0009', blocks: 2 }] }],
          },
        ],
      }),
    );
    const made = mica([
      'card',
      'new',
      img,
      '--idm',
      '02fe010203040506',
      '--blocks',
      '1024',
      '--transport-key',
      tk,
      '--force',
    ]);
    expect(made.status, made.stderr).toBe(0);
    const issued = mica(['card', 'issue', img, '--profile', profile, '--transport-key', tk]);
    expect(issued.status, issued.stderr).toBe(0);
  };

  it('answers exactly as sim: and writes the report and trace the options name', () => {
    setup();
    const frames = ['0600ffff0100', '0a0c02fe010203040506'];
    const sim = mica(['felica', `sim:${img}`, ...frames]);
    const report = join(dir, 'r.json');
    const trace = join(dir, 't.jsonl');
    const rf = mica(['felica', `rf:sim:${img}?snr=16&seed=3&report=${report}&trace=${trace}`, ...frames]);
    expect(rf.status, rf.stderr).toBe(0);
    expect(rf.stdout).toBe(sim.stdout);
    const r = JSON.parse(readFileSync(report, 'utf8')) as { tech: string; exchanges: unknown[] };
    expect(r.tech).toBe('f');
    expect(r.exchanges.length).toBe(3);
    const lines = readFileSync(trace, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { layer: string });
    expect(lines.filter((l) => l.layer === 'air').length).toBe(6);
    const a = mica(['apdu', `rf:sim:${img}?tech=b`, 'ffca000000']);
    expect(a.stdout).toBe(mica(['apdu', img, 'ffca000000']).stdout);
  });

  it('--seed and --power-cut-after-bytes pass through to the inner sim: target', () => {
    setup();
    const write = '200802fe010203040506010900018000' + '22'.repeat(16);
    expect(mica(['felica', img, write]).stdout).toBe('0c0902fe0102030405060000\n');
    const r = mica([
      'felica',
      `rf:sim:${img}`,
      '--seed',
      '4',
      '--power-cut-after-bytes',
      '3',
      write,
      '0600ffff0100',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('-\n-\n');
  });

  it('unknown options and bad values are usage errors naming them', () => {
    setup();
    const r = mica(['felica', `rf:sim:${img}?snr=14&colour=blue`, '0600ffff0100']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown rf option "colour"/);
    expect(mica(['felica', `rf:sim:${img}?rate=300`, '0600ffff0100']).stderr).toMatch(/rate/);
    expect(mica(['felica', `rf:${img}`, '0600ffff0100']).status).toBe(0); // a plain path is sim:
    expect(mica(['felica', 'rf:', '0600ffff0100']).status).toBe(2);
  });
});
