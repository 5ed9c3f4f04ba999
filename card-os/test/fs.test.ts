import { describe, expect, it } from 'vitest';
import { parseProfile } from '@mica/apdu-specs/profile';
import { ProfileError } from '@mica/apdu-specs/profile';
import { cardImageFromProfile, manufactureFromProfile } from '../src/factory';
import { FileSystem } from '../src/fs/fs';
import { registerArea, registerService } from '../src/fs/issue-ops';
import { FsError } from '../src/fs/fs-error';
import { personalise } from '../src/fs/personalise';

const KEY = { version: 1, value: '00112233445566778899aabbccddeeff' };

function profile(areas: unknown[], blocks = 512): ReturnType<typeof parseProfile> {
  return parseProfile({ chip: { blocks }, systems: [{ systemCode: '12fc', areas }] });
}

function fsOf(areas: unknown[], blocks = 512): FileSystem {
  const fs = new FileSystem(cardImageFromProfile(profile(areas, blocks)));
  fs.eeprom.powerOn();
  return fs;
}

function sf2(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof FsError) return e.sf2;
    throw e;
  }
  return undefined;
}

describe('layout of an issued chip (eeprom.md 1, 4)', () => {
  it('puts fixed blocks at top, records from top-3 downward, user blocks from 0 upward', () => {
    const fs = fsOf([
      {
        code: '0000',
        end: 'fffe',
        capacity: 100,
        key: KEY,
        services: [
          { code: '0009', blocks: 3 },
          { code: '1008', blocks: 2, key: KEY },
          { code: '0051', purse: { balance: 5 } },
        ],
      },
    ]);
    const idx = fs.index;
    const top = fs.eeprom.top;
    expect(top).toBe(511);
    // system 0 record + transport key, root area + key, 0009, 1008 + key, purse + policy
    expect(idx.records.map((r) => [r.address, r.type, r.span])).toEqual([
      [top - 3, 0x03, 2],
      [top - 5, 0x01, 2],
      [top - 7, 0x02, 1],
      [top - 8, 0x02, 2],
      [top - 10, 0x02, 1],
      [top - 11, 0x04, 1],
    ]);
    expect(idx.definition.systemBlocks).toBe(3 + 9);
    expect(idx.definition.userBlocks).toBe(6);
    const svc = idx.systems[0]!.byCode;
    expect(svc.get(0x0009)).toMatchObject({ firstBlock: 0, blockCount: 3 });
    expect(svc.get(0x1008)).toMatchObject({ firstBlock: 3, blockCount: 2 });
    expect(svc.get(0x0051)).toMatchObject({ firstBlock: 5, blockCount: 1 });
    expect(svc.get(0x0000)).toMatchObject({ used: 6, capacity: 100 });
  });
});

describe('nesting and capacity rules (eeprom.md 5)', () => {
  const root = { code: '0000', end: 'fffe', capacity: 64 };
  it('nests a sub-area inside its parent and refuses overlaps, duplicates and escapes', () => {
    const fs = fsOf([{ ...root, areas: [{ code: '1000', end: '1717', capacity: 16 }] }]);
    expect(
      sf2(() => registerArea(fs, { system: 0, code: 0x1001, end: 0x1717, capacity: 4 })),
    ).toBeUndefined();
    expect(sf2(() => registerArea(fs, { system: 0, code: 0x1000, end: 0x1717, capacity: 4 }))).toBe(0xad);
    // overlaps the sibling 1001-1717 inside 1000
    expect(sf2(() => registerArea(fs, { system: 0, code: 0x1400, end: 0x1500, capacity: 1 }))).toBe(0xa4);
    // 1001 is a leaf area (attribute 01): no sub-areas
    expect(sf2(() => registerArea(fs, { system: 0, code: 0x1100, end: 0x1200, capacity: 1 }))).toBe(0xa4);
    // inside root, crossing 1000-1717
    expect(sf2(() => registerArea(fs, { system: 0, code: 0x0c00, end: 0x1200, capacity: 1 }))).toBe(0xad);
  });
  it('takes service blocks from the area and every ancestor', () => {
    const fs = fsOf([{ ...root, areas: [{ code: '1000', end: '17ff', capacity: 10 }] }]);
    expect(sf2(() => registerService(fs, { system: 0, code: 0x1009, blocks: 11 }))).toBe(0xa9);
    expect(sf2(() => registerService(fs, { system: 0, code: 0x1009, blocks: 10 }))).toBeUndefined();
    expect(sf2(() => registerService(fs, { system: 0, code: 0x0009, blocks: 55 }))).toBe(0xa9);
    expect(sf2(() => registerService(fs, { system: 0, code: 0x0009, blocks: 54 }))).toBeUndefined();
    expect(fs.system(0)!.byCode.get(0)).toMatchObject({ used: 64 });
    expect(sf2(() => registerService(fs, { system: 0, code: 0x1009, blocks: 1 }))).toBe(0xad);
  });
  it('lets overlap services share blocks without allocating', () => {
    const fs = fsOf([
      {
        ...root,
        services: [
          { code: '0009', blocks: 4 },
          { code: '000b', overlaps: '0009' },
        ],
      },
    ]);
    expect(fs.index.definition.userBlocks).toBe(4);
    expect(fs.system(0)!.byCode.get(0x000b)).toMatchObject({ firstBlock: 0, blockCount: 4, overlapOf: 9 });
    expect(sf2(() => registerService(fs, { system: 0, code: 0x0051, blocks: 1, overlapOf: 0x0009 }))).toBe(
      0xa4,
    );
  });
  it('reports memory full when U + S would exceed N', () => {
    const fs = fsOf([{ ...root, capacity: 1000 }], 256);
    expect(sf2(() => registerService(fs, { system: 0, code: 0x0009, blocks: 250 }))).toBe(0xa9);
  });
});

describe('profiles are refused, with their JSON path, before anything is written', () => {
  it('names the path of a node that does not fit', () => {
    const p = profile([
      {
        code: '0000',
        end: 'fffe',
        capacity: 8,
        services: [
          { code: '0009', blocks: 4 },
          { code: '0049', blocks: 5 },
        ],
      },
    ]);
    const e = manufactureFromProfile(p);
    const before = e.snapshot();
    expect(() => personalise(new FileSystem(e), p)).toThrow(
      /\$\.systems\[0\]\.areas\[0\]\.services\[1\]: .*exceed/,
    );
    expect(e.snapshot()).toEqual(before);
  });
  it('names unknown fields and bad hex', () => {
    expect(() =>
      parseProfile({ systems: [{ systemCode: '12fc', areas: [{ code: '0000', end: 'fffe', colour: 1 }] }] }),
    ).toThrow(/\$\.systems\[0\]\.areas\[0\]\.colour: unknown field/);
    expect(() => parseProfile({ chip: { idm: 'zz' }, systems: [{ systemCode: '12fc' }] })).toThrow(
      ProfileError,
    );
    expect(() =>
      parseProfile({
        systems: [
          {
            systemCode: '12fc',
            areas: [{ code: '0000', end: 'fffe', services: [{ code: '0009', blocks: 1, data: ['00'] }] }],
          },
        ],
      }),
    ).toThrow(/services\[0\]\.data\[0\]: must be 16 bytes/);
  });
});
