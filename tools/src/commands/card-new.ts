// `mica card new`: manufactures a blank chip image (cli.md, eeprom.md 4.1-4.4).
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { SUITE_NAMES } from '@mica/apdu-specs/eeprom-records';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { ProfileError, parseProfile } from '@mica/apdu-specs/profile';
import { defaultIdentity, manufacture, suiteKeyLength } from '@mica/card-os/fs/manufacture';
import { saveImageFile } from '@mica/card-os/hal/image-file';
import { codeArg, dateArg, hexArg, intArg, todayBcd } from '../args';
import { UsageError } from '../cli-error';

interface NewOptions {
  idm?: string;
  pmm?: string;
  blocks?: string;
  suite: string;
  transportKey?: string;
  date?: string;
  systemCode: string;
  iso14443?: string;
  force?: boolean;
}

function identityFrom(json: string, idm: Uint8Array): ReturnType<typeof defaultIdentity> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new UsageError('--iso14443 is not valid JSON');
  }
  try {
    // The same rules as a profile's chip.iso14443 object.
    const p = parseProfile({
      chip: { idm: bytesToHex(idm), iso14443: parsed },
      systems: [{ systemCode: '0000' }],
    });
    return defaultIdentity(idm, p.chip.iso14443);
  } catch (e) {
    if (e instanceof ProfileError)
      throw new UsageError(`--iso14443: ${e.message.replace('$.chip.iso14443', 'field')}`);
    throw e;
  }
}

export function registerCardNew(card: Command): void {
  card
    .command('new <image>')
    .description(
      'manufacture a blank chip: manufacture ID, system definition, system 0 with its transport key',
    )
    .option(
      '--idm <hex8>',
      'IDm of system 0 (manufacturer code and serial); default random with manufacturer code 02fe',
    )
    .option('--pmm <hex8>', 'PMm (IC code and response-time parameters)', '0120220427674eff')
    .option('--blocks <n>', 'number of 16-byte blocks, 256..65536', '65536')
    .option('--suite <name>', 'crypto suite: des | 2k3des | 3k3des | aes128', '2k3des')
    .option('--transport-key <hex>', 'transport system key; default random (printed)')
    .option('--date <YYYYMMDD>', 'manufacture date; default today (UTC)')
    .option('--system-code <hex4>', 'system code of system 0', '12fc')
    .option('--iso14443 <json>', "ISO/IEC 14443 identity (the profile's chip.iso14443 object)")
    .option('--force', 'overwrite an existing image')
    .addHelpText(
      'after',
      '\nExample:\n  mica card new card.img --idm 02fe010203040506 --transport-key 00112233445566778899aabbccddeeff\n',
    )
    .action((image: string, o: NewOptions) => {
      const suite = SUITE_NAMES[o.suite];
      if (suite === undefined)
        throw new UsageError(
          `--suite must be one of ${Object.keys(SUITE_NAMES).join(', ')}, got "${o.suite}"`,
        );
      if (existsSync(image) && !o.force)
        throw new UsageError(`${image} exists already (use --force to overwrite it)`);
      const idm = o.idm ? hexArg(o.idm, '--idm', [8]) : Uint8Array.of(0x02, 0xfe, ...randomBytes(6));
      if (idm[0]! >> 4 !== 0)
        throw new UsageError(
          '--idm: the upper nibble of the first byte must be 0 (it carries the system number)',
        );
      const keyLen = suiteKeyLength(suite);
      const transportKey = o.transportKey
        ? hexArg(o.transportKey, '--transport-key', [keyLen])
        : new Uint8Array(randomBytes(keyLen));
      const eeprom = manufacture({
        idm,
        pmm: hexArg(o.pmm ?? '', '--pmm', [8]),
        blocks: intArg(o.blocks ?? '', '--blocks', 256, 65_536),
        suite,
        transportKey,
        date: o.date ? dateArg(o.date, '--date') : todayBcd(),
        systemCode: codeArg(o.systemCode, '--system-code'),
        ...(o.iso14443 ? { iso14443: identityFrom(o.iso14443, idm) } : {}),
      });
      saveImageFile(image, eeprom);
      process.stdout.write(
        `image          ${image}\nidm            ${bytesToHex(idm)}\nsystem code    ${o.systemCode.toLowerCase()}\nsuite          ${o.suite}\nblocks         ${eeprom.blocks}\ntransport key  ${bytesToHex(transportKey)}\n`,
      );
    });
}
