// `mica felica`: sends FeliCa frames (LEN ‖ code ‖ ...) to a card and prints each answer, or `-`.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { SeededRandom } from '@mica/card-os/random';
import type { Card } from '@mica/card-os/card';
import { hexArg, intArg } from '../args';
import { UsageError } from '../cli-error';
import { imagePathOf, withCard } from '../card-session';

interface FelicaOptions {
  seed?: string;
  powerCutAfterBytes?: string;
  stdin?: boolean;
}

function answer(card: Card, line: string, what: string): string {
  const frame = hexArg(line, what);
  const r = card.felica(frame);
  return r === null ? '-' : bytesToHex(r);
}

export function registerFelica(program: Command): void {
  program
    .command('felica <target> [frames...]')
    .description(
      'power the chip on, send each FeliCa frame, print each answer (hex, LEN first) or - for silence',
    )
    .option('--seed <n>', "seed of the card's random source (reproducible random numbers)")
    .option('--power-cut-after-bytes <n>', 'cut the power after the N-th EEPROM byte write of the session')
    .option('--stdin', 'read one frame per line from stdin, answering each at once')
    .addHelpText(
      'after',
      '\nExamples:\n  mica felica card.img 0600ffff0100\n  mica felica sim:card.img --stdin < frames.txt\n',
    )
    .action(async (target: string, frames: string[], o: FelicaOptions) => {
      const path = imagePathOf(target);
      if (o.stdin && frames.length > 0)
        throw new UsageError('give frames as arguments or with --stdin, not both');
      if (!o.stdin && frames.length === 0)
        throw new UsageError('no frames given (pass hex frames, or --stdin)');
      // Check every argument before the card is touched.
      frames.forEach((f, i) => hexArg(f, `frame ${i + 1}`));
      const random =
        o.seed === undefined
          ? undefined
          : new SeededRandom(BigInt(intArg(o.seed, '--seed', 0, Number.MAX_SAFE_INTEGER)));
      const cut =
        o.powerCutAfterBytes === undefined
          ? undefined
          : intArg(o.powerCutAfterBytes, '--power-cut-after-bytes', 0, Number.MAX_SAFE_INTEGER);
      await withCard(
        path,
        { ...(random ? { random } : {}), ...(cut !== undefined ? { powerCutAfterBytes: cut } : {}) },
        async (card) => {
          if (!o.stdin) {
            process.stdout.write(frames.map((f, i) => answer(card, f, `frame ${i + 1}`)).join('\n') + '\n');
            return;
          }
          const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
          let n = 0;
          for await (const line of rl) {
            if (line.trim() === '') continue;
            n += 1;
            let out: string;
            try {
              out = answer(card, line, `line ${n}`);
            } catch (e) {
              if (e instanceof UsageError) {
                process.stderr.write(`mica: ${e.message}.\n`);
                out = '-';
              } else throw e;
            }
            process.stdout.write(`${out}\n`);
          }
        },
      );
    });
}
