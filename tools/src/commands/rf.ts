// `mica rf`: the radio-framing simulator's commands (rf.md §13): encode, decode, simulate and the BER sweep.
import type { Command } from 'commander';
import { registerRfBer } from '../rf/ber-cmd';
import { registerRfDecode } from '../rf/decode-cmd';
import { registerRfEncode } from '../rf/encode-cmd';
import { registerRfSimulate } from '../rf/simulate-cmd';

export function registerRf(program: Command): void {
  const rf = program
    .command('rf')
    .description('radio-framing simulator: code, decode, simulate and measure frames on the air interface')
    .addHelpText(
      'after',
      '\nExamples:\n  mica rf encode --tech a --dir r2c 26\n  mica rf decode --tech f --dir r2c 0600ffff01003a10\n  mica rf simulate --target sim:card.img --snr 12\n  mica rf ber --tech f --dir c2r --from 0 --to 8 --step 2\n',
    );
  registerRfEncode(rf);
  registerRfDecode(rf);
  registerRfSimulate(rf);
  registerRfBer(rf);
}
