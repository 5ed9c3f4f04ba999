// `mica card issue`: personalises a chip from a profile through the documented issuing path.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { formatCode } from '@mica/apdu-specs/node-code';
import { suiteByCode } from '@mica/apdu-specs/secure/suite';
import { ProfileError, parseProfile, type Profile } from '@mica/apdu-specs/profile';
import { FileSystem } from '@mica/card-os/fs/fs';
import { personalise } from '@mica/card-os/fs/personalise';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import { AuthenticationError } from '@mica/host-sdk/felica/secure-session';
import { IssuanceError, issueProfile } from '@mica/host-sdk/issuing/issuing-machine';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
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

export function registerCardIssue(card: Command): void {
  card
    .command('issue <image>')
    .description(
      "personalise a chip from a profile through the card's issuance commands, as an issuing machine would",
    )
    .requiredOption('--profile <file>', 'personalisation profile (JSON, cli.md)')
    .option('--transport-key <hex>', "the chip's transport key (default: the profile's chip.transportKey)")
    .addHelpText(
      'after',
      '\nExample:\n  mica card issue card.img --profile tools/profiles/demo.json --transport-key 000102030405060708090a0b0c0d0e0f\n',
    )
    .action(async (image: string, o: { profile: string; transportKey?: string }) => {
      const profile = readProfile(o.profile);
      const transportKey = o.transportKey
        ? hexArg(o.transportKey, '--transport-key')
        : profile.chip.transportKey;
      if (!transportKey) throw new UsageError('give --transport-key (the profile has no chip.transportKey)');
      await withCard(image, {}, async (c) => {
        const chipCode = c.fs.index.definition.systemCode;
        const first = profile.systems[0]!;
        if (first.systemCode !== chipCode)
          throw new UsageError(
            `profile ${o.profile}: ${first.path}.systemCode: ${formatCode(first.systemCode)} differs from the chip's system 0 code ${formatCode(chipCode)}`,
          );
        // Refuse a profile that does not fit before anything is written: try it on a copy of the chip.
        try {
          personalise(new FileSystem(c.eeprom.clone()), profile);
        } catch (e) {
          if (e instanceof ProfileError) throw new UsageError(`profile ${o.profile}: ${e.message}`);
          throw e;
        }
        const suite = suiteByCode(c.fs.index.manufacture.cryptoSuite).name;
        const client = new FelicaClient(new InProcessTransport(c));
        try {
          await issueProfile(client, profile, {
            suite,
            transportKey,
            random: (n) => new Uint8Array(randomBytes(n)),
          });
        } catch (e) {
          if (e instanceof AuthenticationError)
            throw new OperationError("the transport key does not match the chip's system key");
          if (e instanceof IssuanceError) throw new OperationError(`profile ${o.profile}: ${e.message}`);
          throw e;
        }
      });
      process.stdout.write(`issued ${image} from ${o.profile}\n`);
    });
}
