// The CLI contract of cli.md: arguments, output lines and exit codes of the card lifecycle and `mica felica`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mica-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mica(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'tools/bin/mica.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const IDM = '02fe010203040506';
const TK = '000102030405060708090a0b0c0d0e0f';
const profile = {
  systems: [
    {
      systemCode: '12fc',
      areas: [
        {
          code: '0000',
          end: 'fffe',
          capacity: 16,
          services: [{ code: '0009', blocks: 2, data: ['11'.repeat(16)] }],
        },
      ],
    },
  ],
};

function newCard(name: string): string {
  const img = join(dir, name);
  const r = mica([
    'card',
    'new',
    img,
    '--idm',
    IDM,
    '--blocks',
    '512',
    '--transport-key',
    TK,
    '--date',
    '20261121',
  ]);
  expect(r.status, r.stderr).toBe(0);
  return img;
}

describe('mica card new', () => {
  it('prints the IDm and transport key and refuses to overwrite without --force', () => {
    const img = join(dir, 'a.img');
    const r = mica([
      'card',
      'new',
      img,
      '--idm',
      IDM.toUpperCase(),
      '--blocks',
      '512',
      '--transport-key',
      TK,
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`idm            ${IDM}`);
    expect(r.stdout).toContain(`transport key  ${TK}`);
    const again = mica(['card', 'new', img]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/exists already \(use --force/);
    expect(mica(['card', 'new', img, '--force', '--blocks', '256']).status).toBe(0);
  });
  it('answers usage errors with exit 2 and one sentence naming the bad input', () => {
    const r = mica(['card', 'new', join(dir, 'b.img'), '--blocks', '100']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^mica: --blocks must be an integer from 256 to 65536, got "100"\.\n$/);
    expect(mica(['card', 'new', join(dir, 'c.img'), '--suite', 'rot13']).stderr).toMatch(
      /--suite must be one of/,
    );
    expect(mica(['card', 'new', join(dir, 'd.img'), '--transport-key', '0011']).stderr).toMatch(
      /--transport-key must be 16 bytes/,
    );
  });
});

describe('mica card issue', () => {
  it('issues a profile, and refuses a bad one before writing anything', () => {
    const img = newCard('issue.img');
    const before = readFileSync(img);
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        systems: [
          {
            systemCode: '12fc',
            areas: [{ code: '0000', end: 'fffe', capacity: 1, services: [{ code: '0009', blocks: 2 }] }],
          },
        ],
      }),
    );
    const r = mica(['card', 'issue', img, '--profile', bad, '--transport-key', TK]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\$\.systems\[0\]\.areas\[0\]\.services\[0\]/);
    expect(readFileSync(img).equals(before)).toBe(true);
    const wrongCode = join(dir, 'wrong.json');
    writeFileSync(wrongCode, JSON.stringify({ systems: [{ systemCode: '8008' }] }));
    expect(mica(['card', 'issue', img, '--profile', wrongCode, '--transport-key', TK]).stderr).toMatch(
      /\$\.systems\[0\]\.systemCode: 8008 differs from the chip's system 0 code 12fc/,
    );
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(profile));
    expect(mica(['card', 'issue', img, '--profile', good, '--transport-key', 'ff'.repeat(16)]).status).toBe(
      1,
    );
    expect(mica(['card', 'issue', img, '--profile', good, '--transport-key', TK]).status).toBe(0);
    const read = mica(['felica', img, `10 06 ${IDM} 01 0900 01 8000`]);
    expect(read.stdout).toBe(`1d07${IDM}000001${'11'.repeat(16)}\n`);
  });
});

describe('mica felica', () => {
  const issued = (): string => {
    const img = newCard(`f${Math.random().toString(36).slice(2)}.img`);
    const p = join(dir, 'p.json');
    writeFileSync(p, JSON.stringify(profile));
    expect(mica(['card', 'issue', img, '--profile', p, '--transport-key', TK]).status).toBe(0);
    return img;
  };
  it('prints one line per frame, - for silence, and keeps writes across sessions', () => {
    const img = issued();
    const w = mica([
      'felica',
      img,
      `20 08 ${IDM} 01 0900 01 8001 ${'ab'.repeat(16)}`,
      '0600ffff0000',
      '0700ffff0000',
    ]);
    expect(w.stdout.split('\n')).toEqual([`0c09${IDM}0000`, `1201${IDM}0120220427674eff`, '-', '']);
    expect(mica(['felica', `sim:${img}`, `10 06 ${IDM} 01 0900 01 8001`]).stdout).toBe(
      `1d07${IDM}000001${'ab'.repeat(16)}\n`,
    );
  });
  it('holds a dialogue on --stdin', () => {
    const img = issued();
    const r = mica(['felica', img, '--stdin'], `0600ffff0100\n0a04${IDM}\n`);
    expect(r.stdout).toBe(`1401${IDM}0120220427674eff12fc\n0b05${IDM}00\n`);
  });
  it('saves the torn state after --power-cut-after-bytes and recovers it at the next power-on', () => {
    const img = issued();
    // The commit point is the header slot: address, data and header slots are 3 × 22 bytes.
    const write = `20 08 ${IDM} 01 0900 01 8000 ${'cd'.repeat(16)}`;
    const read = `10 06 ${IDM} 01 0900 01 8000`;
    const early = mica(['felica', img, '--power-cut-after-bytes', '50', write, read]);
    expect(early.stdout).toBe('-\n-\n');
    expect(mica(['felica', img, read]).stdout).toBe(`1d07${IDM}000001${'11'.repeat(16)}\n`);
    expect(mica(['felica', img, '--power-cut-after-bytes', '70', write]).stdout).toBe('-\n');
    expect(mica(['felica', img, read]).stdout).toBe(`1d07${IDM}000001${'cd'.repeat(16)}\n`);
    expect(mica(['card', 'verify', img]).status).toBe(0);
  });
  it('refuses a bad frame argument before touching the card', () => {
    const img = issued();
    const before = readFileSync(img);
    const r = mica(['felica', img, '0600ffff0000', 'zz']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/frame 2 is not hex/);
    expect(readFileSync(img).equals(before)).toBe(true);
  });
  it('names an unknown target scheme', () => {
    const r = mica(['felica', 'nfc:reader0', '0600ffff0100']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/card target scheme "nfc:" is not supported \(this version supports sim:/);
  });
});

describe('mica card inject and verify', () => {
  it('corrects 2 flipped bytes, reports 3 as uncorrectable with exit 1', () => {
    const img = newCard('inj.img');
    expect(mica(['card', 'inject', img, '--block', '511', '--byte', '0', '--xor', 'ff']).status).toBe(0);
    expect(mica(['card', 'inject', img, '--block', '511', '--byte', '2', '--parity']).status).toBe(0);
    const ok = mica(['card', 'verify', img]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/corrected\s+01ffh/);
    expect(mica(['card', 'verify', img]).stdout).toMatch(/corrected\s+none/);
    for (const b of ['3', '4', '5']) mica(['card', 'inject', img, '--block', '0x10', '--byte', b]);
    const bad = mica(['card', 'verify', img]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/uncorrectable\s+0010h/);
    expect(mica(['card', 'inject', img, '--block', '0', '--byte', '2', '--check']).status).toBe(2);
  });
  it('refuses a damaged image with a clear message', () => {
    const img = newCard('dmg.img');
    const b = readFileSync(img);
    b[200] = b[200]! ^ 1;
    writeFileSync(img, b);
    const r = mica(['card', 'verify', img]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/checksum mismatch/);
  });
});
