// The foundation's documented issuing path: personalises a chip from a parsed profile by calling the
// issuance effects directly (Change Key of the system, Register Issue ID, Register Area, Register
// Service, then the initial data, then the profile's applets), each one atomic. The whole profile is first run against a copy of
// the chip, so a profile that does not fit is refused, with its JSON path, before anything is written.
import { purseBlock } from '@mica/apdu-specs/eeprom-records';
import { appletKindCode } from '@mica/apdu-specs/apdu/applet-kinds';
import { cardKey } from '@mica/apdu-specs/secure/card-key';
import { suiteByCode } from '@mica/apdu-specs/secure/suite';
import {
  ProfileError,
  type Profile,
  type ProfileArea,
  type ProfileKey,
  type ProfileService,
} from '@mica/apdu-specs/profile';
import { SYSTEM_NODE, formatCode, serviceAttribute } from '@mica/apdu-specs/node-code';
import { BlockTx } from './block-tx';
import { FileSystem } from './fs';
import { FsError } from './fs-error';
import {
  changeKey,
  registerArea,
  registerIssueId,
  registerService,
  registerSystem,
  type NewKey,
} from './issue-ops';
import { pushCyclicRecord, serviceBlockAddress } from './service-data';
import { grantShare, registerApplet } from './applet-registry';

/** Turns a profile key into the stored key: `value` as is, `master` diversified for the card (IDm of its system). */
export type KeyResolver = (
  key: ProfileKey,
  node: number,
  systemCode: number,
  idm: Uint8Array,
  path: string,
) => NewKey;

/** security.md 2: AN10922 diversification with M = IDm ‖ node code ‖ system code, in the chip's suite. */
export function diversifyingResolver(suiteCode: number): KeyResolver {
  const suite = suiteByCode(suiteCode);
  return (key, node, systemCode, idm, path) => {
    try {
      return { version: key.version, value: cardKey(suite, key, idm, node, systemCode) };
    } catch (e) {
      throw new ProfileError(path, (e as Error).message);
    }
  };
}

export function personalise(
  fs: FileSystem,
  profile: Profile,
  resolveKey: KeyResolver = diversifyingResolver(fs.index.manufacture.cryptoSuite),
): void {
  const chipCode = fs.index.definition.systemCode;
  const first = profile.systems[0];
  if (first && first.systemCode !== chipCode)
    throw new ProfileError(
      `${first.path}.systemCode`,
      `${formatCode(first.systemCode)} differs from the chip's system 0 code ${formatCode(chipCode)}`,
    );
  const trial = new FileSystem(fs.eeprom.clone());
  trial.eeprom.powerOn();
  run(trial, profile, resolveKey);
  run(fs, profile, resolveKey);
}

function step<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FsError || e instanceof RangeError) throw new ProfileError(path, e.message);
    throw e;
  }
}

function run(fs: FileSystem, profile: Profile, resolveKey: KeyResolver): void {
  if (profile.issue) {
    const { cardId, date, sequence } = profile.issue;
    step('$.issue', () => registerIssueId(fs, cardId, date, sequence));
  }
  profile.systems.forEach((s, i) => {
    const number = i;
    const key = s.key
      ? resolveKey(s.key, SYSTEM_NODE, s.systemCode, fs.idm(number), `${s.path}.key`)
      : undefined;
    if (i === 0) {
      if (key) step(`${s.path}.key`, () => changeKey(fs, 0, SYSTEM_NODE, key));
    } else {
      if (!key) throw new ProfileError(`${s.path}.key`, 'a separated system needs a system key');
      const capacity = s.areas.reduce((n, a) => n + a.capacity, 0);
      step(s.path, () => registerSystem(fs, { code: s.systemCode, capacity, key }));
    }
    for (const a of s.areas) issueArea(fs, number, s.systemCode, a, resolveKey);
  });
  // Applets last, once their areas exist: each goes to the first system holding its area.
  for (const a of profile.applets) {
    const view = fs.index.systems.find((v) => v.byCode.get(a.area)?.kind === 'area');
    if (!view) throw new ProfileError(`${a.path}.area`, `no system holds area ${formatCode(a.area)}`);
    step(a.path, () =>
      registerApplet(fs, {
        kind: appletKindCode(a.kind),
        system: view.system.number,
        area: a.area,
        aid: a.aid,
      }),
    );
    // The parser checked that each granted service lies in the applet's area.
    for (const g of a.config.grants) {
      step(g.path, () =>
        grantShare(fs, { system: view.system.number, service: g.service, granteeArea: g.to }),
      );
    }
  }
}

function issueArea(
  fs: FileSystem,
  system: number,
  systemCode: number,
  a: ProfileArea,
  resolveKey: KeyResolver,
): void {
  const key = a.key ? resolveKey(a.key, a.code, systemCode, fs.idm(system), `${a.path}.key`) : undefined;
  step(a.path, () => registerArea(fs, { system, code: a.code, end: a.end, capacity: a.capacity, key }));
  for (const s of a.services) issueService(fs, system, systemCode, s, resolveKey);
  for (const sub of a.areas) issueArea(fs, system, systemCode, sub, resolveKey);
}

function issueService(
  fs: FileSystem,
  system: number,
  systemCode: number,
  s: ProfileService,
  resolveKey: KeyResolver,
): void {
  const key = s.key ? resolveKey(s.key, s.code, systemCode, fs.idm(system), `${s.path}.key`) : undefined;
  const purse = s.purse && {
    maxBalance: s.purse.maxBalance,
    logServiceCode: s.purse.log ?? 0xffff,
    requireLog: s.purse.requireLog,
  };
  step(s.path, () =>
    registerService(fs, {
      system,
      code: s.code,
      blocks: s.blocks ?? (serviceAttribute(s.code)?.family === 'purse' ? 1 : 0),
      overlapOf: s.overlaps,
      key,
      purse,
    }),
  );
  const data = s.purse
    ? [
        purseBlock.encode({
          balance: s.purse.balance,
          userData: new Uint8Array(6),
          lastAmount: 0,
          executionId: 0,
        }),
      ]
    : s.data;
  if (data.length === 0) return;
  const node = fs.system(system)!.byCode.get(s.code);
  if (node?.kind !== 'service') throw new ProfileError(s.path, 'service vanished after registration');
  if (data.length > node.blockCount)
    throw new ProfileError(
      `${s.path}.data`,
      `${data.length} blocks given for a service of ${node.blockCount}`,
    );
  if (node.attribute.family === 'cyclic') {
    // Oldest first, so that data[i] reads back as record i.
    for (let i = data.length - 1; i >= 0; i--) {
      const tx = new BlockTx(fs.eeprom);
      pushCyclicRecord(tx, node, data[i]!);
      step(`${s.path}.data[${i}]`, () => tx.commit());
    }
    return;
  }
  const tx = new BlockTx(fs.eeprom);
  data.forEach((d, i) => tx.write(serviceBlockAddress(fs.eeprom, node, i), d));
  step(`${s.path}.data`, () => tx.commit());
}
