// Loading and crash-safe saving of card image files (temporary file, fsync, rename).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Eeprom } from './eeprom';
import { ImageFormatError, parseImage, serializeImage } from './image';

export function loadImageFile(path: string): Eeprom {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new ImageFormatError(
      code === 'ENOENT' ? `no card image at ${path}` : `cannot read ${path}: ${(e as Error).message}`,
    );
  }
  try {
    return parseImage(bytes);
  } catch (e) {
    if (e instanceof ImageFormatError) throw new ImageFormatError(`${path}: ${e.message}`);
    throw e;
  }
}

export interface SaveImageOptions {
  /**
   * fsync the image and its folder (default true). false is for throw-away images (a run's temporary
   * folder): the rename still replaces the image whole, only an OS crash may lose the last save.
   */
  readonly durable?: boolean;
}

export function saveImageFile(path: string, eeprom: Eeprom, options: SaveImageOptions = {}): void {
  const durable = options.durable ?? true;
  const bytes = serializeImage(eeprom);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (!durable) return;
  try {
    const dfd = openSync(dirname(path), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // Directory fsync is not possible on every file system; the rename itself is atomic.
  }
}
