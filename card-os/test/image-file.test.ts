// saveImageFile / loadImageFile: a saved image loads back block for block, durable (fsync, the default)
// or not (a throw-away image); either way the temporary file is renamed over the image, none is left.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Eeprom } from '../src/hal/eeprom';
import { serializeImage } from '../src/hal/image';
import { loadImageFile, saveImageFile } from '../src/hal/image-file';

function written(fill: number): Eeprom {
  const e = new Eeprom({ blocks: 256 });
  e.powerOn();
  e.commit([
    { address: 7, data: new Uint8Array(16).fill(fill) },
    { address: 200, data: Uint8Array.from({ length: 16 }, (_, i) => i ^ fill) },
  ]);
  return e;
}

describe('card image files', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const folder = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'mica-image-'));
    dirs.push(d);
    return d;
  };

  it.each([
    ['durable (the default)', {}],
    ['durable: true', { durable: true }],
    ['durable: false', { durable: false }],
  ] as const)('saves %s and loads back the same blocks, replacing the image whole', (_, options) => {
    const dir = folder();
    const path = join(dir, 'card.img');
    saveImageFile(path, written(0x11), options);
    const second = written(0x5a);
    saveImageFile(path, second, options);
    expect(readdirSync(dir)).toEqual(['card.img']);
    expect(new Uint8Array(readFileSync(path))).toEqual(serializeImage(second));
    const loaded = loadImageFile(path);
    loaded.powerOn();
    expect(loaded.read(7)).toEqual(new Uint8Array(16).fill(0x5a));
    expect(loaded.read(200)).toEqual(Uint8Array.from({ length: 16 }, (_, i) => i ^ 0x5a));
  });
});
