// `mica card dump`: the dump model against a profile-built card, an independent raw-dump parser, and the CLI.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseProfile } from '@mica/apdu-specs/profile';
import { cardImageFromProfile } from '@mica/card-os/factory';
import type { Eeprom } from '@mica/card-os/hal/eeprom';
import { OperationError } from '../src/cli-error';
import { rawBlocks } from '../src/commands/card-dump';
import { dumpModel, type DumpModel } from '../src/dump/dump-model';
import { dumpSvg } from '../src/dump/dump-svg';
import { dumpText } from '../src/dump/dump-text';

const TRANSPORT_KEY = '000102030405060708090a0b0c0d0e0f';
const SYSTEM_KEY = '11111111111111112222222222222222';
const AREA_KEY = '33333333333333334444444444444444';
const SERVICE_KEY = '5555555555555555aaaaaaaaaaaaaaaa';
const SYSTEM1_KEY = '99999999999999990000000000000000';
const ALL_KEYS = [TRANSPORT_KEY, SYSTEM_KEY, AREA_KEY, SERVICE_KEY, SYSTEM1_KEY];

/** Issued part of the profile (what `mica card issue` takes); `chip` is added for in-process builds. */
const ISSUE = {
  issue: { cardId: '0011223344556677', date: '20261121', sequence: 7 },
  systems: [
    {
      systemCode: '12fc',
      key: { version: 1, value: SYSTEM_KEY },
      areas: [
        {
          code: '0000',
          end: 'fffe',
          capacity: 256,
          key: { version: 1, value: AREA_KEY },
          services: [
            { code: '0009', blocks: 4, data: ['000102030405060708090a0b0c0d0e0f'] },
            { code: '000b', overlaps: '0009' },
            { code: '00c8', blocks: 2, key: { version: 1, value: SERVICE_KEY } },
            { code: '010d', blocks: 3 },
            { code: '0151', purse: { balance: 1000, log: '010d', requireLog: true } },
          ],
          areas: [{ code: '1000', end: '17ff', capacity: 16, services: [{ code: '1009', blocks: 2 }] }],
        },
      ],
    },
    {
      systemCode: 'fe00',
      key: { version: 1, value: SYSTEM1_KEY },
      areas: [{ code: '0000', end: 'fffe', capacity: 8, services: [{ code: '1a8b', blocks: 2 }] }],
    },
  ],
};
const CHIP = { idm: '02fe010203040506', blocks: 1024, transportKey: TRANSPORT_KEY, iso14443: {} };

/** Base services in creation order with their block counts, and the overlaps: what the profile asks for. */
const PROFILE_SERVICES = [
  { system: 0, code: '0009', blocks: 4 },
  { system: 0, code: '00c8', blocks: 2 },
  { system: 0, code: '010d', blocks: 3 },
  { system: 0, code: '0151', blocks: 1 },
  { system: 0, code: '1009', blocks: 2 },
  { system: 1, code: '1a8b', blocks: 2 },
];

function buildCard(): Eeprom {
  return cardImageFromProfile(parseProfile({ chip: CHIP, ...ISSUE }));
}

function fieldNumber(m: DumpModel, block: number, name: string): number {
  const v = m.fixedBlocks[block]!.fields![name];
  if (typeof v !== 'number') throw new Error(`${name} is not a number`);
  return v;
}

describe('dumpModel', () => {
  const eeprom = buildCard();
  const m = dumpModel(eeprom, { showKeys: false });

  it('puts the fixed blocks at top, top-1, top-2', () => {
    expect(m.geometry).toMatchObject({
      blocks: 1024,
      top: '03ff',
      blockSize: 16,
      journalSlots: eeprom.journalSlots,
    });
    expect(m.fixedBlocks.map((b) => [b.address, b.name])).toEqual([
      ['03ff', 'manufacture ID'],
      ['03fe', 'issuance ID'],
      ['03fd', 'system definition'],
    ]);
    expect(m.fixedBlocks[0]!.fields).toMatchObject({
      manufacturerCode: '02fe',
      serial: '010203040506',
      cryptoSuite: 2,
    });
    expect(m.fixedBlocks[1]!.fields).toMatchObject({
      cardId: '0011223344556677',
      issueDate: '20261121',
      sequence: 7,
    });
    expect(m.fixedBlocks[2]!.fields).toMatchObject({ systemCode: '12fc', systemCount: 2 });
  });

  it('lists the records from top-3 downward in creation order, each below the previous one and its keys', () => {
    expect(m.records[0]!.address).toBe('03fc');
    for (let i = 1; i < m.records.length; i++) {
      const prev = m.records[i - 1]!;
      expect(parseInt(m.records[i]!.address, 16)).toBe(parseInt(prev.address, 16) - prev.span);
    }
    const seq = m.records.map((r) => {
      const f = r.fields;
      const code = f['serviceCode'] ?? f['areaCode'] ?? f['systemCode'] ?? f['purseServiceCode'] ?? '';
      return `${r.typeName} ${String(code)}`.trim();
    });
    expect(seq).toEqual([
      'system 12fc',
      'interface identity',
      'area 0000',
      'service 0009',
      'service 000b',
      'service 00c8',
      'service 010d',
      'service 0151',
      'purse policy 0151',
      'area 1000',
      'service 1009',
      'system fe00',
      'area 0000',
      'service 1a8b',
    ]);
    expect(m.records.every((r) => !r.deleted)).toBe(true);
    const identity = m.records[1]!;
    expect(identity.span).toBe(3);
    expect(identity.moreBlocks.map((b) => b.layout)).toEqual(['identityBlock1', 'identityBlock2']);
    expect(identity.fields).toMatchObject({
      uidLength: 7,
      uid: 'fe010203040506000000',
      atqa: '4400',
      sak: 0x20,
    });
    const policy = m.records[8]!;
    expect(policy.fields).toMatchObject({
      purseServiceCode: '0151',
      maxBalance: 50_000,
      logServiceCode: '010d',
      flags: 1,
    });
  });

  it('masks every key unless showKeys', () => {
    const keyed = m.records.filter((r) => r.keyBlocks.length > 0);
    expect(keyed.map((r) => r.address)).toEqual(['03fc', '03f7', '03f3', '03ec']);
    for (const r of keyed) expect(r.keyBlocks.every((k) => k.value === 'masked')).toBe(true);
    const text = JSON.stringify(m) + dumpText(m) + dumpSvg(m);
    for (const key of ALL_KEYS) expect(text).not.toContain(key);
    expect(m.keysShown).toBe(false);

    const shown = dumpModel(eeprom, { showKeys: true });
    expect(shown.keysShown).toBe(true);
    const keyOf = (address: string): string | undefined =>
      shown.records.find((r) => r.address === address)?.keyBlocks[0]?.value;
    expect(keyOf('03fc')).toBe(SYSTEM_KEY);
    expect(keyOf('03f7')).toBe(AREA_KEY);
    expect(keyOf('03f3')).toBe(SERVICE_KEY);
    expect(keyOf('03ec')).toBe(SYSTEM1_KEY);
    expect(shown.records[5]!.keyBlocks[0]!.address).toBe('03f2');
    expect(dumpText(shown)).toContain(SERVICE_KEY);
  });

  it('takes U and S from the system definition block, consistent with the records and the user map', () => {
    const a = m.allocation;
    expect(a.userBlocks).toBe(fieldNumber(m, 2, 'userBlocks'));
    expect(a.systemBlocks).toBe(fieldNumber(m, 2, 'systemBlocks'));
    expect(a.systemBlocks).toBe(3 + m.records.reduce((n, r) => n + r.span, 0));
    const last = m.records[m.records.length - 1]!;
    expect(parseInt(last.address, 16) - last.span + 1).toBe(1024 - a.systemBlocks);
    expect(a.systemRegion).toEqual({
      first: (1024 - a.systemBlocks).toString(16).padStart(4, '0'),
      last: '03ff',
      count: a.systemBlocks,
    });
    expect(a.userBlocks).toBe(PROFILE_SERVICES.reduce((n, s) => n + s.blocks, 0));
    expect(a.freeBlocks).toBe(1024 - a.userBlocks - a.systemBlocks);
    expect(a.freeRegion?.count).toBe(a.freeBlocks);
    expect(m.problems).toEqual([]);
  });

  it('maps the user blocks as the profile asks: upward from 0000 in creation order, overlaps on their target', () => {
    let next = 0;
    const expected = PROFILE_SERVICES.map((s) => {
      const first = next;
      next += s.blocks;
      return {
        system: s.system,
        code: s.code,
        blockCount: s.blocks,
        firstBlock: first.toString(16).padStart(4, '0'),
      };
    });
    expect(
      m.userBlocks.services.map((s) => ({
        system: s.system,
        code: s.code,
        blockCount: s.blockCount,
        firstBlock: s.firstBlock,
      })),
    ).toEqual(expected);
    expect(m.userBlocks.services[0]).toMatchObject({
      systemCode: '12fc',
      lastBlock: '0003',
      overlappedBy: ['000b'],
    });
    expect(m.userBlocks.services[5]).toMatchObject({ systemCode: 'fe00' });
    expect(m.userBlocks.overlaps).toEqual([
      expect.objectContaining({ code: '000b', target: '0009', firstBlock: '0000', blockCount: 4, system: 0 }),
    ]);
    expect(m.userBlocks.unassigned).toEqual([]);
    expect(m.systems.map((s) => [s.number, s.code, s.idm])).toEqual([
      [0, '12fc', '02fe010203040506'],
      [1, 'fe00', '12fe010203040506'],
    ]);
  });

  it('reports write counts, blocks and journal slots apart', () => {
    const w = m.writeCounts;
    expect(w.blocks.total).toBeGreaterThan(0);
    expect(w.blocks.mostWritten.length).toBeLessThanOrEqual(10);
    expect(w.blocks.mostWritten[0]!.count).toBe(w.blocks.max);
    const counts = w.blocks.mostWritten.map((x) => x.count);
    expect([...counts].sort((x, y) => y - x)).toEqual(counts);
    expect(w.journal.total).toBeGreaterThan(0);
    expect(w.journal.pastEndurance).toBe(0);
  });

  it('shows parity corrections, and refuses a raw dump with an uncorrectable block', () => {
    const card = buildCard();
    expect(dumpModel(card, { showKeys: false }).parity).toEqual({ corrected: [], uncorrectable: [] });
    card.inject(0x3f0, 5, 0x5a);
    expect(dumpModel(card, { showKeys: false }).parity).toEqual({ corrected: ['03f0'], uncorrectable: [] });
    expect(rawBlocks(card).length).toBe(1024 * 16);
    card.inject(0x0002, 1, 0x01);
    card.inject(0x0002, 2, 0x02);
    card.inject(0x0002, 3, 0x04);
    expect(dumpModel(card, { showKeys: false }).parity.uncorrectable).toEqual(['0002']);
    expect(() => rawBlocks(card)).toThrow(OperationError);
    expect(() => rawBlocks(card)).toThrow(/0002h/);
    for (const i of [1, 2, 3]) card.inject(0x3f5, i, 0x10);
    const damaged = dumpModel(card, { showKeys: false });
    expect(damaged.problems.join(' ')).toMatch(/03f5h/);
    expect(damaged.allocation.systemBlocks).toBe(fieldNumber(damaged, 2, 'systemBlocks'));
  });

  it('renders a table and a standalone SVG map', () => {
    const text = dumpText(m);
    expect(text).not.toContain('\u001b[');
    const lines = text.split('\n');
    for (const title of ['geometry', 'allocation', 'fixed blocks', 'user blocks', 'parity', 'write counts'])
      expect(lines).toContain(title);
    expect(lines).toContain('definition records (keys masked)');
    const svg = dumpSvg(m);
    expect(
      svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'),
    ).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const s of PROFILE_SERVICES) expect(svg).toContain(`${s.code} `);
    expect(svg).toContain('free');
    expect(svg.match(/<rect /g)!.length).toBe(
      svg.match(/<rect [^>]*(\/>|><title>[^<]*<\/title><\/rect>)/g)!.length,
    );
  });
});

/** Services found in a raw dump by reading eeprom.md alone (sections 1, 4.1, 4.3, 4.4). */
function parseRaw(raw: Uint8Array): { manufacturer: string; u: number; s: number; services: string[] } {
  const n = raw.length / 16;
  const top = n - 1;
  const block = (a: number): Uint8Array => raw.subarray(a * 16, a * 16 + 16);
  const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
  const hex = (x: number): string => x.toString(16).padStart(4, '0');
  const manufacture = block(top);
  const definition = block(top - 2);
  const u = u16(definition, 2);
  const s = u16(definition, 4);
  const keyBlocksFor = (alg: number): number => (alg === 0 ? 0 : alg === 3 ? 2 : 1);
  const services: string[] = [];
  let a = top - 3;
  while (a >= top - s + 1) {
    const b = block(a);
    const type = b[0]! & 0x7f;
    let span = 1;
    if (type === 0x03) span += keyBlocksFor(b[10]!);
    else if (type === 0x01) span += keyBlocksFor(b[14]!);
    else if (type === 0x02) {
      span += keyBlocksFor(b[12]!);
      const overlap = u16(b, 8);
      services.push(
        `${b[1]}:${hex(u16(b, 2))}:${hex(u16(b, 4))}+${u16(b, 6)}${overlap === 0xffff ? '' : `>${hex(overlap)}`}`,
      );
    } else if (type >= 0x05 && type <= 0x0f) {
      while (a - span >= top - s + 1 && block(a - span)[0] === b[0] && block(a - span)[1] === span) span += 1;
    } else if (type !== 0x04) {
      throw new Error(`unknown record type ${type} at ${hex(a)}`);
    }
    a -= span;
  }
  return { manufacturer: hex(u16(manufacture, 0)), u, s, services };
}

/** The same services as the dump model states them, in the parser's notation. */
function modelServices(m: DumpModel): string[] {
  return m.records
    .filter((r) => r.typeName === 'service')
    .map((r) => {
      const f = r.fields;
      const overlap = f['overlapOf'] === 'ffff' ? '' : `>${String(f['overlapOf'])}`;
      return `${String(f['systemNumber'])}:${String(f['serviceCode'])}:${String(f['firstBlock'])}+${String(f['blockCount'])}${overlap}`;
    });
}

describe('raw dump', () => {
  it('is N x 16 bytes that an eeprom.md-only parser reads to the same services', () => {
    const eeprom = buildCard();
    const raw = rawBlocks(eeprom);
    const m = dumpModel(eeprom, { showKeys: false });
    const parsed = parseRaw(raw);
    expect(raw.length).toBe(1024 * 16);
    expect(parsed.manufacturer).toBe('02fe');
    expect([parsed.u, parsed.s]).toEqual([m.allocation.userBlocks, m.allocation.systemBlocks]);
    expect(parsed.services).toEqual(modelServices(m));
    expect(parsed.services.filter((s) => !s.includes('>')).map((s) => s.split(':')[1])).toEqual(
      PROFILE_SERVICES.map((s) => s.code),
    );
  });
});

describe('mica card dump (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mica-dump-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const mica = (...args: string[]): { stdout: string; stderr: string; status: number | null } => {
    const r = spawnSync(process.execPath, ['tools/bin/mica.js', ...args], {
      cwd: new URL('../..', import.meta.url).pathname,
      encoding: 'utf8',
    });
    return { stdout: r.stdout, stderr: r.stderr, status: r.status };
  };

  it('prints only JSON with --json, writes --raw and --svg, and never changes the image', () => {
    const img = join(dir, 'card.img');
    const profile = join(dir, 'profile.json');
    writeFileSync(profile, JSON.stringify(ISSUE));
    const made = mica(
      'card',
      'new',
      img,
      '--blocks',
      '1024',
      '--idm',
      CHIP.idm,
      '--transport-key',
      TRANSPORT_KEY,
      '--date',
      '20260101',
    );
    expect(made.status, made.stderr).toBe(0);
    const issued = mica('card', 'issue', img, '--profile', profile, '--transport-key', TRANSPORT_KEY);
    expect(issued.status, issued.stderr).toBe(0);
    const before = createHash('sha256').update(readFileSync(img)).digest('hex');
    const raw = join(dir, 'card.bin');
    const svg = join(dir, 'card.svg');
    const r = mica('card', 'dump', img, '--json', '--raw', raw, '--svg', svg);
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as DumpModel;
    expect(m.geometry.blocks).toBe(1024);
    expect(m.userBlocks.services.map((s) => s.code)).toEqual(PROFILE_SERVICES.map((s) => s.code));
    expect(m.records.flatMap((x) => x.keyBlocks).every((k) => k.value === 'masked')).toBe(true);
    for (const key of ALL_KEYS) expect(r.stdout).not.toContain(key);
    const rawBytes = new Uint8Array(readFileSync(raw));
    expect(rawBytes.length).toBe(1024 * 16);
    expect(parseRaw(rawBytes).services).toEqual(modelServices(m));
    expect(readFileSync(svg, 'utf8')).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(createHash('sha256').update(readFileSync(img)).digest('hex')).toBe(before);

    const text = mica('card', 'dump', img);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain('definition records (keys masked)');
    const missing = mica('card', 'dump', join(dir, 'none.img'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^mica: .*none\.img/);
  });
});
