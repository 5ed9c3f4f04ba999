// `mica card verify`: power-on recovery and a parity scrub; prints what it corrected.
import type { Command } from 'commander';
import { formatCode } from '@mica/apdu-specs/node-code';
import { withCard } from '../card-session';

export function registerCardVerify(card: Command): void {
  card
    .command('verify <image>')
    .description('run power-on recovery and a parity scrub; exit 0 healthy, 1 uncorrectable')
    .addHelpText('after', '\nExample:\n  mica card verify card.img\n')
    .action(async (image: string) => {
      const healthy = await withCard(image, {}, (c, recovery) => {
        const r = c.eeprom.scrub(true);
        const out = process.stdout;
        out.write(
          `recovery        ${recovery.replayed > 0 ? `replayed ${recovery.replayed} journaled blocks` : 'nothing pending'}\n`,
        );
        out.write(
          `corrected       ${r.corrected.length === 0 ? 'none' : r.corrected.map((a) => `${formatCode(a)}h`).join(' ')}\n`,
        );
        out.write(
          `uncorrectable   ${r.uncorrectable.length === 0 ? 'none' : r.uncorrectable.map((a) => `${formatCode(a)}h`).join(' ')}\n`,
        );
        return r.uncorrectable.length === 0;
      });
      process.stdout.write(healthy ? 'healthy\n' : 'uncorrectable blocks found\n');
      if (!healthy) process.exitCode = 1;
    });
}
