// `mica reference`: writes (or checks) the generated command reference.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { generateReference } from '@mica/apdu-specs/reference';
import { OperationError } from '../cli-error';

export function registerReference(program: Command): void {
  program
    .command('reference')
    .description('print the command reference generated from apdu-specs (Markdown)')
    .option('--out <file>', 'write it to a file instead of stdout')
    .option('--check <file>', 'exit 1 if the file differs from the generated reference')
    .addHelpText('after', '\nExample:\n  mica reference --out apdu-specs/REFERENCE.md\n')
    .action((o: { out?: string; check?: string }) => {
      const text = generateReference();
      if (o.check) {
        let current = '';
        try {
          current = readFileSync(o.check, 'utf8');
        } catch {
          // a missing file differs
        }
        if (current !== text) throw new OperationError(`${o.check} is out of date; run npm run reference`);
        process.stdout.write(`${o.check} is up to date\n`);
      } else if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    });
}
