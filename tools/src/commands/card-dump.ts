// `mica card dump`: shows the EEPROM (eeprom.md 3 and 6) as a table, JSON, a raw block file or an SVG map.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { formatCode } from '@mica/apdu-specs/node-code';
import { Card } from '@mica/card-os/card';
import type { Eeprom } from '@mica/card-os/hal/eeprom';
import { MemoryError } from '@mica/card-os/hal/errors';
import { loadImageFile } from '@mica/card-os/hal/image-file';
import { OperationError, UsageError } from '../cli-error';
import { dumpModel } from '../dump/dump-model';
import { dumpSvg } from '../dump/dump-svg';
import { dumpText } from '../dump/dump-text';

interface DumpOptions {
  json?: boolean;
  raw?: string;
  svg?: string;
  showKeys?: boolean;
}

const EXAMPLE = `
Examples:
  mica card dump card.img
  mica card dump card.img --json > card.json
  mica card dump card.img --raw card.bin --svg card.svg

--raw writes the N logical blocks after parity correction (N x 16 bytes), key blocks
included; the table and --json mask keys unless --show-keys. The image file is never
changed: power-on recovery runs in memory only.
`;

/** The N logical blocks after correction, N × 16 bytes; an uncorrectable block is an OperationError. */
export function rawBlocks(eeprom: Eeprom): Uint8Array {
  const out = new Uint8Array(eeprom.blocks * 16);
  const bad: number[] = [];
  for (let a = 0; a < eeprom.blocks; a++) {
    try {
      eeprom.readInto(a, out, a * 16);
    } catch (e) {
      if (!(e instanceof MemoryError)) throw e;
      bad.push(a);
    }
  }
  if (bad.length > 0) {
    const list = bad.slice(0, 8).map((a) => `${formatCode(a)}h`);
    const more = bad.length > 8 ? ` and ${bad.length - 8} more` : '';
    throw new OperationError(
      `block${bad.length > 1 ? 's' : ''} ${list.join(', ')}${more} ${bad.length > 1 ? 'are' : 'is'} uncorrectable, so no raw dump was written`,
    );
  }
  return out;
}

export function registerCardDump(card: Command): void {
  card
    .command('dump <image>')
    .description('show the EEPROM: fixed blocks, definition records, user-block map, parity, write counts')
    .option('--json', 'print the dump as JSON (nothing else on stdout)')
    .option(
      '--raw <file>',
      'write the N logical blocks after correction to FILE (N x 16 bytes, keys included)',
    )
    .option('--svg <file>', 'write the EEPROM map to FILE as SVG')
    .option('--show-keys', 'print key blocks in the table and JSON instead of masking them')
    .addHelpText('after', EXAMPLE)
    .action((image: string, o: DumpOptions) => {
      for (const [flag, path] of [
        ['--raw', o.raw],
        ['--svg', o.svg],
      ] as const) {
        if (path !== undefined && resolve(path) === resolve(image))
          throw new UsageError(`${flag} ${path} would overwrite the card image`);
      }
      const eeprom = loadImageFile(image);
      // Recovery runs on the in-memory copy only: a dump never saves the image.
      const recovery = new Card(eeprom).powerOn();
      const model = dumpModel(eeprom, { showKeys: o.showKeys === true, recovery });
      const raw = o.raw === undefined ? undefined : rawBlocks(eeprom);
      if (o.raw !== undefined && raw !== undefined) writeFileSync(o.raw, raw);
      if (o.svg !== undefined) writeFileSync(o.svg, dumpSvg(model));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
        return;
      }
      let text = dumpText(model);
      if (o.raw !== undefined) text += `\nraw blocks written to ${o.raw} (${eeprom.blocks * 16} bytes)\n`;
      if (o.svg !== undefined) text += `${o.raw === undefined ? '\n' : ''}EEPROM map written to ${o.svg}\n`;
      process.stdout.write(text);
    });
}
