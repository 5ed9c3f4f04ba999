// The personalisation profile (cli.md, v1): parsed and checked field by field; every error names its
// JSON path, and nothing is written to a chip until the whole profile is valid.
import { hexToBytes } from './hex';
import { SUITE_NAMES, type CryptoSuiteCode } from './eeprom-records';
import { formatCode, parseCode } from './node-code';
import { pinBlock } from './apdu/applet-commands';
import { AID_MAX, AID_MIN, APPLET_KINDS } from './apdu/applet-kinds';
import { CREDIT_SERVICES, PK_DATA } from './apdu/bank-credit';
import { CERT_NAME_BYTES } from './certificate';
import { pinCounterBlock, pinReferenceBlock } from './apdu/pin-blocks';

/** The transport key's length per crypto suite code (DES 8, 2K3DES 16, 3K3DES 24, AES-128 16). */
const TRANSPORT_KEY_BYTES: Readonly<Record<number, number>> = { 0x01: 8, 0x02: 16, 0x03: 24, 0x04: 16 };

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

export type ProfileKey = { readonly version: number } & (
  { readonly value: Uint8Array } | { readonly master: Uint8Array }
);

export interface ProfilePurse {
  readonly balance: number;
  readonly maxBalance: number;
  readonly log: number | undefined;
  readonly requireLog: boolean;
}

export interface ProfileService {
  readonly path: string;
  readonly code: number;
  readonly blocks: number | undefined;
  readonly overlaps: number | undefined;
  readonly key: ProfileKey | undefined;
  readonly data: readonly Uint8Array[];
  readonly purse: ProfilePurse | undefined;
}

export interface ProfileArea {
  readonly path: string;
  readonly code: number;
  readonly end: number;
  readonly capacity: number;
  readonly key: ProfileKey | undefined;
  readonly areas: readonly ProfileArea[];
  readonly services: readonly ProfileService[];
}

export interface ProfileSystem {
  readonly path: string;
  readonly systemCode: number;
  readonly key: ProfileKey | undefined;
  readonly areas: readonly ProfileArea[];
}

export interface ProfileIso14443 {
  readonly uid?: Uint8Array;
  readonly atqa?: Uint8Array;
  readonly sak?: number;
  readonly ats?: Uint8Array;
  readonly pupi?: Uint8Array;
  readonly appData?: Uint8Array;
  readonly protInfo?: Uint8Array;
}

export interface ProfileChip {
  readonly idm: Uint8Array;
  readonly pmm: Uint8Array;
  readonly blocks: number;
  readonly suite: CryptoSuiteCode;
  readonly transportKey: Uint8Array | undefined;
  readonly iso14443: ProfileIso14443 | undefined;
}

/** A share grant (record 07h) made at personalisation: the applets of area `to` may read `service`. */
export interface ProfileGrant {
  readonly path: string;
  readonly service: number;
  readonly to: number;
}

/**
 * `applets[].config`, per kind (the project's reading of cli.md's open `config` object):
 * `grants` (every kind) lists services of the applet's area shared with another area; `pin` (credit)
 * personalises the PIN service (area + 08h) and is turned into that service's `data` when parsed;
 * `trustAnchor` (credit: `{ issuerId, publicKey }`) becomes blocks 0-3 of the PK data service (area +
 * 148h, a keyed random service of 14 or more blocks) for AUTHENTICATE PK (flows.md 2.5);
 * `mode` (settlement: "hardened" or "faithful") becomes byte 8 of the ID block (the first random
 * service's block 0, after the card ID), which the applet reads as its SECURE COMMAND mode.
 */
export interface ProfileAppletConfig {
  readonly grants: readonly ProfileGrant[];
}

export interface ProfileApplet {
  readonly path: string;
  readonly kind: string;
  readonly aid: Uint8Array;
  readonly area: number;
  readonly config: ProfileAppletConfig;
}

export interface Profile {
  readonly chip: ProfileChip;
  readonly issue:
    { readonly cardId: Uint8Array; readonly date: number; readonly sequence: number } | undefined;
  readonly systems: readonly ProfileSystem[];
  readonly applets: readonly ProfileApplet[];
}

/** Defaults of a chip created from a profile without `chip` fields. */
export const PROFILE_CHIP_DEFAULTS = Object.freeze({
  idm: '02fe010203040506',
  pmm: '0120220427674eff',
  blocks: 65_536,
  suite: '2k3des',
});

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ProfileError(path, 'must be an object');
  return v as Obj;
}

function only(o: Obj, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k))
      throw new ProfileError(`${path}.${k}`, `unknown field (allowed: ${allowed.join(', ')})`);
}

function arr(v: unknown, path: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ProfileError(path, 'must be an array');
  return v;
}

function hex(v: unknown, path: string, lengths?: readonly number[]): Uint8Array {
  if (typeof v !== 'string') throw new ProfileError(path, 'must be a hex string');
  let b: Uint8Array;
  try {
    b = hexToBytes(v, path);
  } catch (e) {
    throw new ProfileError(path, (e as Error).message.replace(`${path} `, ''));
  }
  if (lengths && !lengths.includes(b.length))
    throw new ProfileError(path, `must be ${lengths.join(' or ')} bytes, got ${b.length}`);
  return b;
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new ProfileError(path, `must be an integer from ${min} to ${max}`);
  return v;
}

function code(v: unknown, path: string): number {
  if (typeof v !== 'string') throw new ProfileError(path, 'must be a 4-hex-digit code');
  try {
    return parseCode(v, path);
  } catch (e) {
    throw new ProfileError(path, (e as Error).message);
  }
}

function bcdDate(v: unknown, path: string): number {
  if (typeof v !== 'string' || !/^\d{8}$/.test(v)) throw new ProfileError(path, 'must be a date YYYYMMDD');
  return parseInt(v, 16);
}

function key(v: unknown, path: string): ProfileKey | undefined {
  if (v === undefined) return undefined;
  const o = obj(v, path);
  only(o, path, ['version', 'value', 'master']);
  const version = int(o['version'] ?? 0, `${path}.version`, 0, 0xffff);
  if ((o['value'] === undefined) === (o['master'] === undefined))
    throw new ProfileError(path, 'give exactly one of value and master');
  return o['value'] !== undefined
    ? { version, value: hex(o['value'], `${path}.value`, [8, 16, 24]) }
    : { version, master: hex(o['master'], `${path}.master`, [8, 16, 24]) };
}

function service(v: unknown, path: string): ProfileService {
  const o = obj(v, path);
  only(o, path, ['code', 'blocks', 'overlaps', 'key', 'data', 'purse']);
  const overlaps = o['overlaps'] === undefined ? undefined : code(o['overlaps'], `${path}.overlaps`);
  const blocks = o['blocks'] === undefined ? undefined : int(o['blocks'], `${path}.blocks`, 1, 0xffff);
  if (overlaps !== undefined && blocks !== undefined)
    throw new ProfileError(`${path}.blocks`, "an overlap service takes its target's blocks");
  if (overlaps !== undefined && o['data'] !== undefined)
    throw new ProfileError(`${path}.data`, 'an overlap service has no data of its own');
  const data = arr(o['data'], `${path}.data`).map((d, i) => hex(d, `${path}.data[${i}]`, [16]));
  let purse: ProfilePurse | undefined;
  if (o['purse'] !== undefined) {
    const p = obj(o['purse'], `${path}.purse`);
    only(p, `${path}.purse`, ['balance', 'maxBalance', 'log', 'requireLog']);
    const maxBalance = int(p['maxBalance'] ?? 50_000, `${path}.purse.maxBalance`, 0, 0xffffffff);
    const balance = int(p['balance'] ?? 0, `${path}.purse.balance`, 0, 0xffffffff);
    if (balance > maxBalance)
      throw new ProfileError(`${path}.purse.balance`, `${balance} is above maxBalance ${maxBalance}`);
    if (p['requireLog'] !== undefined && typeof p['requireLog'] !== 'boolean')
      throw new ProfileError(`${path}.purse.requireLog`, 'must be true or false');
    purse = {
      balance,
      maxBalance,
      log: p['log'] === undefined ? undefined : code(p['log'], `${path}.purse.log`),
      requireLog: p['requireLog'] === true,
    };
    if (data.length > 0) throw new ProfileError(`${path}.purse`, 'give either purse or data, not both');
  }
  return {
    path,
    code: code(o['code'], `${path}.code`),
    blocks,
    overlaps,
    key: key(o['key'], `${path}.key`),
    data,
    purse,
  };
}

function area(v: unknown, path: string): ProfileArea {
  const o = obj(v, path);
  only(o, path, ['code', 'end', 'capacity', 'key', 'areas', 'services']);
  return {
    path,
    code: code(o['code'], `${path}.code`),
    end: code(o['end'], `${path}.end`),
    capacity: int(o['capacity'] ?? 0, `${path}.capacity`, 0, 0xffff),
    key: key(o['key'], `${path}.key`),
    areas: arr(o['areas'], `${path}.areas`).map((a, i) => area(a, `${path}.areas[${i}]`)),
    services: arr(o['services'], `${path}.services`).map((s, i) => service(s, `${path}.services[${i}]`)),
  };
}

function chip(v: unknown): ProfileChip {
  const o = v === undefined ? {} : obj(v, '$.chip');
  only(o, '$.chip', ['idm', 'pmm', 'blocks', 'suite', 'transportKey', 'iso14443']);
  const suiteName = o['suite'] ?? PROFILE_CHIP_DEFAULTS.suite;
  const suite = typeof suiteName === 'string' ? SUITE_NAMES[suiteName] : undefined;
  if (suite === undefined)
    throw new ProfileError('$.chip.suite', `must be one of ${Object.keys(SUITE_NAMES).join(', ')}`);
  let iso: ProfileIso14443 | undefined;
  if (o['iso14443'] !== undefined) {
    const p = '$.chip.iso14443';
    const i = obj(o['iso14443'], p);
    only(i, p, ['uid', 'atqa', 'sak', 'ats', 'pupi', 'appData', 'protInfo']);
    const out: { -readonly [K in keyof ProfileIso14443]: ProfileIso14443[K] } = {};
    if (i['uid'] !== undefined) out.uid = hex(i['uid'], `${p}.uid`, [4, 7, 10]);
    if (out.uid?.[0] === 0x88)
      throw new ProfileError(`${p}.uid`, 'must not start with 88h (the cascade tag)');
    if (i['atqa'] !== undefined) out.atqa = hex(i['atqa'], `${p}.atqa`, [2]);
    if (i['sak'] !== undefined) out.sak = hex(i['sak'], `${p}.sak`, [1])[0]!;
    if (i['ats'] !== undefined) out.ats = hex(i['ats'], `${p}.ats`);
    if (out.ats && (out.ats.length > 14 || out.ats[0] !== out.ats.length))
      throw new ProfileError(
        `${p}.ats`,
        'must be 1 to 14 bytes with TL (its first byte) equal to its length',
      );
    if (i['pupi'] !== undefined) out.pupi = hex(i['pupi'], `${p}.pupi`, [4]);
    if (i['appData'] !== undefined) out.appData = hex(i['appData'], `${p}.appData`, [4]);
    if (i['protInfo'] !== undefined) out.protInfo = hex(i['protInfo'], `${p}.protInfo`, [3]);
    iso = out;
  }
  return {
    idm: hex(o['idm'] ?? PROFILE_CHIP_DEFAULTS.idm, '$.chip.idm', [8]),
    pmm: hex(o['pmm'] ?? PROFILE_CHIP_DEFAULTS.pmm, '$.chip.pmm', [8]),
    blocks: int(o['blocks'] ?? PROFILE_CHIP_DEFAULTS.blocks, '$.chip.blocks', 256, 65_536),
    suite,
    transportKey:
      o['transportKey'] === undefined
        ? undefined
        : hex(o['transportKey'], '$.chip.transportKey', [TRANSPORT_KEY_BYTES[suite]!]),
    iso14443: iso,
  };
}

/** Parses a profile (the JSON text's parsed value); throws ProfileError naming the JSON path. */
export function parseProfile(json: unknown): Profile {
  const o = obj(json, '$');
  only(o, '$', ['chip', 'issue', 'systems', 'applets']);
  let issue: Profile['issue'];
  if (o['issue'] !== undefined) {
    const i = obj(o['issue'], '$.issue');
    only(i, '$.issue', ['cardId', 'date', 'sequence']);
    issue = {
      cardId: hex(i['cardId'], '$.issue.cardId', [8]),
      date: bcdDate(i['date'], '$.issue.date'),
      sequence: int(i['sequence'] ?? 0, '$.issue.sequence', 0, 0xffffffff),
    };
  }
  const systems = arr(o['systems'], '$.systems').map((s, i) => {
    const path = `$.systems[${i}]`;
    const so = obj(s, path);
    only(so, path, ['systemCode', 'key', 'areas']);
    const systemCode = code(so['systemCode'], `${path}.systemCode`);
    if (systemCode === 0xffff)
      throw new ProfileError(`${path}.systemCode`, 'FFFFh is the wildcard, not a system code');
    return {
      path,
      systemCode,
      key: key(so['key'], `${path}.key`),
      areas: arr(so['areas'], `${path}.areas`).map((a, j) => area(a, `${path}.areas[${j}]`)),
    };
  });
  if (systems.length === 0) throw new ProfileError('$.systems', 'must list at least one system');
  if (systems.length > 16) throw new ProfileError('$.systems', 'a card holds at most 16 systems');
  const pins = new Map<number, readonly Uint8Array[]>();
  const modes = new Map<number, { path: string; mode: number }>();
  const anchors = new Map<number, Anchor>();
  const applets = arr(o['applets'], '$.applets').map((a, i) => {
    const path = `$.applets[${i}]`;
    const ao = obj(a, path);
    only(ao, path, ['kind', 'aid', 'area', 'config']);
    if (typeof ao['kind'] !== 'string') throw new ProfileError(`${path}.kind`, 'must be a string');
    const kind = ao['kind'];
    if (!(kind in APPLET_KINDS) || kind === 'card-manager')
      throw new ProfileError(
        `${path}.kind`,
        `unknown applet kind "${kind}" (one of ${Object.keys(APPLET_KINDS)
          .filter((k) => k !== 'card-manager')
          .join(', ')})`,
      );
    const appletArea = code(ao['area'], `${path}.area`);
    const c = ao['config'] === undefined ? {} : obj(ao['config'], `${path}.config`);
    only(
      c,
      `${path}.config`,
      kind === 'credit'
        ? ['grants', 'pin', 'trustAnchor']
        : kind === 'settlement'
          ? ['grants', 'mode']
          : ['grants'],
    );
    if (c['mode'] !== undefined) {
      if (c['mode'] !== 'hardened' && c['mode'] !== 'faithful')
        throw new ProfileError(`${path}.config.mode`, 'must be "hardened" or "faithful"');
      modes.set(appletArea, { path: `${path}.config.mode`, mode: c['mode'] === 'faithful' ? 1 : 0 });
    }
    if (c['pin'] !== undefined)
      pins.set(appletArea + CREDIT_SERVICES.pin, pinData(c['pin'], `${path}.config.pin`));
    if (c['trustAnchor'] !== undefined) {
      const ap = `${path}.config.trustAnchor`;
      anchors.set(appletArea + CREDIT_SERVICES.pkData, { path: ap, data: anchorData(c['trustAnchor'], ap) });
    }
    const grants = arr(c['grants'], `${path}.config.grants`).map((g, j) => {
      const gp = `${path}.config.grants[${j}]`;
      const go = obj(g, gp);
      only(go, gp, ['service', 'to']);
      return { path: gp, service: code(go['service'], `${gp}.service`), to: code(go['to'], `${gp}.to`) };
    });
    const owner = systems.map((x) => findArea(x.areas, appletArea)).find((x) => x !== undefined);
    if (!owner)
      throw new ProfileError(`${path}.area`, `no system of the profile holds area ${formatCode(appletArea)}`);
    for (const g of grants)
      if (g.service < owner.code || g.service > owner.end)
        throw new ProfileError(`${g.path}.service`, `${formatCode(g.service)} is not in the applet's area`);
    return {
      path,
      kind,
      aid: hex(ao['aid'], `${path}.aid`, AID_LENGTHS),
      area: appletArea,
      config: { grants },
    };
  });
  const withPins = (
    pins.size === 0 ? systems : systems.map((s) => ({ ...s, areas: s.areas.map((a) => fillPins(a, pins)) }))
  )
    .map((s) => (modes.size === 0 ? s : { ...s, areas: s.areas.map((a) => fillModes(a, modes)) }))
    .map((s) => (anchors.size === 0 ? s : { ...s, areas: s.areas.map((a) => fillAnchors(a, anchors)) }));
  const noPkData = [...anchors.values()][0];
  if (noPkData)
    throw new ProfileError(
      noPkData.path,
      `needs the PK data service (the applet's area + 148h: a keyed random service of ${PK_DATA.blocks} or more blocks)`,
    );
  const missing = [...pins.keys()][0];
  if (missing !== undefined)
    throw new ProfileError(
      `${applets.find((x) => x.area + CREDIT_SERVICES.pin === missing)?.path ?? '$.applets'}.config.pin`,
      `needs the PIN service ${missing.toString(16).padStart(4, '0')} (the applet's area + 08h: a keyed random service of 2 or more blocks)`,
    );
  return { chip: chip(o['chip']), issue, systems: withPins, applets };
}

const AID_LENGTHS = Array.from({ length: AID_MAX - AID_MIN + 1 }, (_, i) => AID_MIN + i);

function findArea(areas: readonly ProfileArea[], code: number): ProfileArea | undefined {
  for (const a of areas) {
    if (a.code === code) return a;
    const inner = findArea(a.areas, code);
    if (inner) return inner;
  }
  return undefined;
}

/** `config.pin` → the PIN service's two blocks (apdu-specs pin-blocks): full counters, then PIN ‖ unblocking code. */
function pinData(v: unknown, path: string): readonly Uint8Array[] {
  const o = obj(v, path);
  only(o, path, ['value', 'unblock', 'tries', 'unblockTries']);
  const digits = (x: unknown, p: string): Uint8Array => {
    if (typeof x !== 'string' || !/^[0-9]{4,12}$/.test(x))
      throw new ProfileError(p, 'must be 4 to 12 decimal digits');
    return pinBlock(x);
  };
  const tries = int(o['tries'] ?? 3, `${path}.tries`, 1, 15);
  const unblockTries = int(o['unblockTries'] ?? 10, `${path}.unblockTries`, 1, 15);
  return [
    pinCounterBlock.encode({
      pinTriesLeft: tries,
      pinMaxTries: tries,
      pukTriesLeft: unblockTries,
      pukMaxTries: unblockTries,
      reserved: new Uint8Array(12),
    }),
    pinReferenceBlock.encode({
      pin: digits(o['value'], `${path}.value`),
      puk: digits(o['unblock'], `${path}.unblock`),
    }),
  ];
}

/** A credit applet's trust anchor: its path and the four blocks of the PK data service. */
interface Anchor {
  readonly path: string;
  readonly data: readonly Uint8Array[];
}

/** `config.trustAnchor` → blocks 0-3 of +148h: publicKey [32], then issuerId char[24] ‖ 8 zero bytes. */
function anchorData(v: unknown, path: string): readonly Uint8Array[] {
  const o = obj(v, path);
  only(o, path, ['issuerId', 'publicKey']);
  const id = o['issuerId'];
  const bytes = typeof id === 'string' ? new TextEncoder().encode(id) : undefined;
  if (!bytes || bytes.length === 0 || bytes.length > CERT_NAME_BYTES || bytes.includes(0))
    throw new ProfileError(
      `${path}.issuerId`,
      `must be a string of 1 to ${CERT_NAME_BYTES} UTF-8 bytes without NUL`,
    );
  const key = hex(o['publicKey'], `${path}.publicKey`, [32]);
  const name = new Uint8Array(32);
  name.set(bytes);
  return [key.slice(0, 16), key.slice(16), name.slice(0, 16), name.slice(16)];
}

/** Puts each trust anchor into its PK data service as `data`, removing the entries it used. */
function fillAnchors(a: ProfileArea, anchors: Map<number, Anchor>): ProfileArea {
  const services = a.services.map((s) => {
    const anchor = anchors.get(s.code);
    if (!anchor) return s;
    anchors.delete(s.code);
    if (!s.key || (s.code & 0x3c) !== 0x08 || (s.blocks ?? 0) < PK_DATA.blocks || s.overlaps !== undefined)
      throw new ProfileError(
        anchor.path,
        `the PK data service ${formatCode(s.code)} must be a keyed random service of ${PK_DATA.blocks} or more blocks`,
      );
    if (s.data.length > 0)
      throw new ProfileError(
        `${s.path}.data`,
        'the applet config.trustAnchor gives this PK data service its data',
      );
    return { ...s, data: anchor.data };
  });
  return { ...a, services, areas: a.areas.map((x) => fillAnchors(x, anchors)) };
}

/** Puts each PIN's blocks into its service as `data`, removing the entries it used from `pins`. */
/**
 * `config.mode` of a settlement applet → byte 8 of block 0 of its ID service (the area's first random
 * service, whose block 0 starts with the card ID): 00 hardened, 01 faithful (flows.md 4.2 (F)).
 */
function fillModes(a: ProfileArea, modes: Map<number, { path: string; mode: number }>): ProfileArea {
  const m = modes.get(a.code);
  let services = a.services;
  if (m) {
    const id = a.services.find((s) => (s.code & 0x3c) === 0x08 && s.overlaps === undefined);
    if (!id || id.data.length === 0)
      throw new ProfileError(
        m.path,
        'needs the ID service (the area’s first random service) with its block 0 data',
      );
    const block0 = id.data[0]!.slice();
    block0[8] = m.mode;
    services = a.services.map((s) => (s === id ? { ...s, data: [block0, ...s.data.slice(1)] } : s));
  }
  return { ...a, services, areas: a.areas.map((x) => fillModes(x, modes)) };
}

function fillPins(a: ProfileArea, pins: Map<number, readonly Uint8Array[]>): ProfileArea {
  const services = a.services.map((s) => {
    const data = pins.get(s.code);
    if (!data) return s;
    pins.delete(s.code);
    if (!s.key || (s.code & 0x3c) !== 0x08 || (s.blocks ?? 0) < 2 || s.overlaps !== undefined)
      throw new ProfileError(s.path, 'the PIN service must be a keyed random service of 2 or more blocks');
    if (s.data.length > 0)
      throw new ProfileError(`${s.path}.data`, 'the applet config gives this PIN service its data');
    return { ...s, data };
  });
  return { ...a, services, areas: a.areas.map((x) => fillPins(x, pins)) };
}
