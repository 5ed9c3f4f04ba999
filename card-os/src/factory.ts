// A fresh chip manufactured from a profile's `chip` object and personalised from the rest: what
// conformance transcripts, tests and the demo start from.
import type { Profile } from '@mica/apdu-specs/profile';
import type { Eeprom } from './hal/eeprom';
import { FileSystem } from './fs/fs';
import { defaultIdentity, manufacture, suiteKeyLength } from './fs/manufacture';
import { personalise, type KeyResolver } from './fs/personalise';

export interface FromProfileOptions {
  /** Manufacture date, BCD; default: the profile's issue date, else 2000-01-01. */
  readonly date?: number;
  readonly resolveKey?: KeyResolver;
}

/** Manufactures the chip the profile describes (transport key: `chip.transportKey`, else zeros). */
export function manufactureFromProfile(profile: Profile, options: FromProfileOptions = {}): Eeprom {
  const c = profile.chip;
  return manufacture({
    idm: c.idm,
    pmm: c.pmm,
    blocks: c.blocks,
    suite: c.suite,
    transportKey: c.transportKey ?? new Uint8Array(suiteKeyLength(c.suite)),
    date: options.date ?? profile.issue?.date ?? 0x20000101,
    systemCode: profile.systems[0]!.systemCode,
    ...(c.iso14443 ? { iso14443: defaultIdentity(c.idm, c.iso14443) } : {}),
  });
}

export function cardImageFromProfile(profile: Profile, options: FromProfileOptions = {}): Eeprom {
  const eeprom = manufactureFromProfile(profile, options);
  const fs = new FileSystem(eeprom);
  if (options.resolveKey) personalise(fs, profile, options.resolveKey);
  else personalise(fs, profile);
  return eeprom;
}
