// `mica card issue`: personalises a chip from a profile through the documented issuing path.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { keyBlockCount } from '@mica/apdu-specs/eeprom-records';
import { ProfileError, parseProfile, type Profile } from '@mica/apdu-specs/profile';
import { keyBlocks } from '@mica/card-os/fs/key-blocks';
import { personalise } from '@mica/card-os/fs/personalise';
import type { Card } from '@mica/card-os/card';
import { withCard } from '../card-session';
import { hexArg } from '../args';
import { OperationError, UsageError } from '../cli-error';

export function readProfile(path: string): Profile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read profile ${path}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`profile ${path} is not valid JSON (${(e as Error).message})`);
  }
  return parseProfile(json);
}

/** The issuing machine proves it holds the transport key before it personalises the chip. */
function checkTransportKey(card: Card, given: Uint8Array): void {
  const idx = card.fs.index;
  const sys = idx.systems[0]!.system;
  const stored: Uint8Array[] = [];
  for (let i = 0; i < keyBlockCount(sys.key.algorithm); i++)
    stored.push(card.eeprom.read(sys.key.address - i));
  const expected = keyBlocks(idx.manufacture.cryptoSuite, given);
  const same =
    expected.length === stored.length && expected.every((b, i) => b.every((x, j) => x === stored[i]![j]));
  if (!same) throw new OperationError("the transport key does not match the chip's system key");
}

export function registerCardIssue(card: Command): void {
  card
    .command('issue <image>')
    .description("personalise a chip from a profile (issuance commands through the card's command interface)")
    .requiredOption('--profile <file>', 'personalisation profile (JSON, cli.md)')
    .option('--transport-key <hex>', "the chip's transport key, checked before anything is written")
    .addHelpText('after', '\nExample:\n  mica card issue card.img --profile tools/profiles/transit.json\n')
    .action(async (image: string, o: { profile: string; transportKey?: string }) => {
      const profile = readProfile(o.profile);
      await withCard(image, {}, (c) => {
        if (o.transportKey) checkTransportKey(c, hexArg(o.transportKey, '--transport-key'));
        try {
          personalise(c.fs, profile);
        } catch (e) {
          if (e instanceof ProfileError) throw new UsageError(`profile ${o.profile}: ${e.message}`);
          throw e;
        }
      });
      process.stdout.write(`issued ${image} from ${o.profile}\n`);
    });
}
