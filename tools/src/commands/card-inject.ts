// `mica card inject`: flips bits of one stored byte to exercise error correction (eeprom.md 2).
import type { Command } from 'commander';
import { loadImageFile, saveImageFile } from '@mica/card-os/hal/image-file';
import { hexArg, intArg } from '../args';
import { UsageError } from '../cli-error';

interface InjectOptions {
  block: string;
  byte: string;
  xor: string;
  parity?: boolean;
  check?: boolean;
}

export function registerCardInject(card: Command): void {
  card
    .command('inject <image>')
    .description('flip bits of one stored byte: data byte 0-15, or --parity byte 0-3, or --check byte 0-1')
    .requiredOption('--block <addr>', 'logical block address (decimal, or hex with 0x)')
    .requiredOption('--byte <i>', 'byte index within the data, parity or check bytes')
    .option('--xor <hex>', 'bits to flip (one byte)', '01')
    .option('--parity', 'target a parity byte (0-3)')
    .option('--check', 'target a check byte (0-1)')
    .addHelpText('after', '\nExample:\n  mica card inject card.img --block 0xfffc --byte 3 --xor 5a\n')
    .action((image: string, o: InjectOptions) => {
      if (o.parity && o.check) throw new UsageError('give at most one of --parity and --check');
      const eeprom = loadImageFile(image);
      const block = intArg(o.block, '--block', 0, eeprom.top);
      const max = o.parity ? 3 : o.check ? 1 : 15;
      const i = intArg(o.byte, '--byte', 0, max);
      const xor = hexArg(o.xor, '--xor', [1])[0]!;
      if (xor === 0) throw new UsageError('--xor 00 flips nothing');
      eeprom.inject(block, (o.parity ? 16 : o.check ? 20 : 0) + i, xor);
      saveImageFile(image, eeprom);
      process.stdout.write(
        `flipped ${xor.toString(16).padStart(2, '0')} in ${o.parity ? 'parity' : o.check ? 'check' : 'data'} byte ${i} of block ${block.toString(16).padStart(4, '0')}h\n`,
      );
    });
}
