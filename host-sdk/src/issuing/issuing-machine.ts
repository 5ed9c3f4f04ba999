// The issuing machine: personalises a chip from a profile through the card's own commands
// (security.md 5, cli.md `mica card issue`): authenticate to the system with the transport key, Change
// Key, Register Issue ID, Register Area / Service (and Separate System), then write the initial data.
import { purseBlock } from '@mica/apdu-specs/eeprom-records';
import { SYSTEM_NODE, serviceAttribute } from '@mica/apdu-specs/node-code';
import type {
  Profile,
  ProfileArea,
  ProfileKey,
  ProfileService,
  ProfileSystem,
} from '@mica/apdu-specs/profile';
import { suiteByName, type Suite } from '@mica/apdu-specs/secure/suite';
import { MAX_WRITE_BLOCKS } from '@mica/apdu-specs/felica-commands';
import type { FelicaClient } from '../felica/client';
import { SecureFelicaSession } from '../felica/secure-session';
import { LocalKeyHolder, type HeldKey, type RandomBytes } from '../keys/local-key-holder';
import type { StatusResult } from '../felica/responses';
import { ApduClient } from '../apdu/apdu-client';
import { LocalAppletKeys } from '../applets/applet-keys';
import { CardManagerClient } from '../applets/card-manager-client';

export class IssuanceError extends Error {
  override readonly name = 'IssuanceError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

export interface IssueOptions {
  readonly suite: string;
  readonly transportKey: Uint8Array;
  readonly random: RandomBytes;
}

function held(k: ProfileKey): HeldKey {
  return 'value' in k ? { version: k.version, value: k.value } : { version: k.version, master: k.master };
}

function ok(r: StatusResult<unknown>, path: string): void {
  if (!r.ok)
    throw new IssuanceError(
      path,
      `${r.command} refused with SF1 ${r.sf1.toString(16).padStart(2, '0')} SF2 ${r.sf2.toString(16).padStart(2, '0')}`,
    );
}

interface PendingData {
  readonly service: ProfileService;
  readonly keyed: boolean;
}

/** Issues `profile` onto the card behind `client`, whose system 0 answers Polling with `idm`. */
export async function issueProfile(
  client: FelicaClient,
  profile: Profile,
  options: IssueOptions,
): Promise<void> {
  const suite = suiteByName(options.suite);
  const holder = new LocalKeyHolder(options.random);
  const sys0 = profile.systems[0]!;
  holder.set(sys0.systemCode, SYSTEM_NODE, { version: 0, value: options.transportKey });
  const idm0 = (await client.polling(sys0.systemCode)).idm;
  const pkgKey = (idm: Uint8Array, code: number, sys: number): { version: number; value: Uint8Array } => ({
    version: holder.versionOf(sys, code),
    value: holder.keyFor(suite, idm, sys, code),
  });

  const a = await SecureFelicaSession.open(client, holder, {
    idm: idm0,
    systemCode: sys0.systemCode,
    suite: suite.name,
    areas: [SYSTEM_NODE],
    services: [],
  });
  try {
    if (profile.issue)
      ok(
        await a.registerIssueId({
          cardId: profile.issue.cardId,
          issueDate: profile.issue.date,
          sequence: profile.issue.sequence,
        }),
        '$.issue',
      );
    if (sys0.key) {
      holder.set(sys0.systemCode, SYSTEM_NODE, held(sys0.key));
      ok(await a.changeKey(SYSTEM_NODE, pkgKey(idm0, SYSTEM_NODE, sys0.systemCode)), `${sys0.path}.key`);
    }
  } finally {
    await a.close();
  }
  await issueSystem(client, holder, suite, sys0);
  // Each further system is separated by system 0's key holder, then issued like system 0 (the order of
  // the records is the profile's order, as in the factory path).
  for (const [i, s] of profile.systems.entries()) {
    if (i === 0) continue;
    if (!s.key) throw new IssuanceError(`${s.path}.key`, 'a separated system needs a system key');
    holder.set(s.systemCode, SYSTEM_NODE, held(s.key));
    const capacity = s.areas.reduce((n, x) => n + x.capacity, 0);
    // The new system's key is diversified with its own IDm (system number in IDm[0]'s upper nibble).
    const idmN = idm0.slice();
    idmN[0] = (idmN[0]! & 0x0f) | (i << 4);
    await client.polling(sys0.systemCode);
    const z = await SecureFelicaSession.open(client, holder, {
      idm: idm0,
      systemCode: sys0.systemCode,
      suite: suite.name,
      areas: [SYSTEM_NODE],
      services: [],
    });
    try {
      ok(
        await z.separateSystem({
          systemCode: s.systemCode,
          capacity,
          key: pkgKey(idmN, SYSTEM_NODE, s.systemCode),
        }),
        s.path,
      );
    } finally {
      await z.close();
    }
    await issueSystem(client, holder, suite, s);
  }
  if (profile.applets.length > 0) await installApplets(client, holder, suite, profile, idm0, options.random);
}

/** The area of `code` somewhere below the system's areas. */
function holdsArea(areas: readonly ProfileArea[], code: number): boolean {
  return areas.some((a) => a.code === code || holdsArea(a.areas, code));
}

/**
 * Applets last, as in the factory path: for each, the card manager is authenticated with the key of the
 * applet's area (P2 = the number of the first system holding it), INSTALLs it, then GRANTs its shares.
 */
async function installApplets(
  client: FelicaClient,
  holder: LocalKeyHolder,
  suite: Suite,
  profile: Profile,
  idm0: Uint8Array,
  random: RandomBytes,
): Promise<void> {
  const manager = new CardManagerClient(new ApduClient(client.transport));
  for (const a of profile.applets) {
    const system = profile.systems.findIndex((s) => holdsArea(s.areas, a.area));
    const s = profile.systems[system];
    if (!s) throw new IssuanceError(`${a.path}.area`, 'no system of the profile holds this area');
    const idm = idm0.slice();
    idm[0] = (idm[0]! & 0x0f) | (system << 4);
    const keys = new LocalAppletKeys(
      suite.name,
      [{ code: a.area, key: holder.keyFor(suite, idm, s.systemCode, a.area) }],
      random,
    );
    const sw = (r: { readonly sw: number }, path: string): void => {
      if (r.sw !== 0x9000)
        throw new IssuanceError(path, `refused with SW ${r.sw.toString(16).padStart(4, '0')}`);
    };
    sw(await manager.select(), `${a.path} (SELECT card manager)`);
    const auth = await manager.authenticate(keys, system);
    if (!auth.ok) sw(auth, `${a.path} (AUTHENTICATE)`);
    sw(await manager.install(a.kind, a.area, a.aid), a.path);
    for (const g of a.config.grants) sw(await manager.grant(g.service, g.to), g.path);
  }
}

async function issueSystem(
  client: FelicaClient,
  holder: LocalKeyHolder,
  suite: Suite,
  s: ProfileSystem,
): Promise<void> {
  const idm = (await client.polling(s.systemCode)).idm;
  const data: PendingData[] = [];
  const session = await SecureFelicaSession.open(client, holder, {
    idm,
    systemCode: s.systemCode,
    suite: suite.name,
    areas: [SYSTEM_NODE],
    services: [],
  });
  try {
    const key = (
      k: ProfileKey | undefined,
      code: number,
    ): { version: number; value: Uint8Array } | undefined => {
      if (!k) return undefined;
      holder.set(s.systemCode, code, held(k));
      return { version: k.version, value: holder.keyFor(suite, idm, s.systemCode, code) };
    };
    const area = async (x: ProfileArea): Promise<void> => {
      ok(
        await session.registerArea({
          code: x.code,
          end: x.end,
          capacity: x.capacity,
          key: key(x.key, x.code),
        }),
        x.path,
      );
      for (const svc of x.services) {
        const attr = serviceAttribute(svc.code);
        const basePurse = attr?.family === 'purse' && svc.overlaps === undefined;
        const purse = basePurse
          ? {
              maxBalance: svc.purse?.maxBalance ?? 50_000,
              logServiceCode: svc.purse?.log ?? 0xffff,
              requireLog: svc.purse?.requireLog ?? false,
            }
          : undefined;
        ok(
          await session.registerService({
            code: svc.code,
            blocks: svc.blocks ?? (attr?.family === 'purse' ? 1 : 0),
            overlapOf: svc.overlaps ?? 0xffff,
            key: key(svc.key, svc.code),
            purse,
          }),
          svc.path,
        );
        if (svc.data.length > 0 || svc.purse) data.push({ service: svc, keyed: svc.key !== undefined });
      }
      for (const sub of x.areas) await area(sub);
    };
    for (const x of s.areas) await area(x);
    // Keyless services are written without encryption while this issuance session holds the system.
    for (const d of data.filter((x) => !x.keyed))
      await writeData(d.service, (blocks, datas) =>
        client.writeWithoutEncryption(idm, [d.service.code], blocks, datas),
      );
  } finally {
    await session.close();
  }
  // Keyed services: an issuance session over the system and up to 15 of them at a time.
  const keyed = data.filter((x) => x.keyed);
  for (let i = 0; i < keyed.length; i += 15) {
    const group = keyed.slice(i, i + 15);
    const w = await SecureFelicaSession.open(client, holder, {
      idm,
      systemCode: s.systemCode,
      suite: suite.name,
      areas: [SYSTEM_NODE],
      services: group.map((g) => g.service.code),
    });
    try {
      for (const d of group)
        await writeData(d.service, (blocks, datas) => w.write([d.service.code], blocks, datas));
    } finally {
      await w.close();
    }
  }
}

type WriteFn = (
  blocks: { serviceIndex: number; block: number }[],
  data: Uint8Array[],
) => Promise<StatusResult<true>>;

/** Initial data: purse blocks as given, cyclic records oldest first (one per command), random blocks in chunks. */
async function writeData(svc: ProfileService, write: WriteFn): Promise<void> {
  const where = `${svc.path}.data`;
  if (svc.purse) {
    const block = purseBlock.encode({
      balance: svc.purse.balance,
      userData: new Uint8Array(6),
      lastAmount: 0,
      executionId: 0,
    });
    ok(await write([{ serviceIndex: 0, block: 0 }], [block]), `${svc.path}.purse`);
    return;
  }
  if (serviceAttribute(svc.code)?.family === 'cyclic') {
    for (let i = svc.data.length - 1; i >= 0; i--)
      ok(await write([{ serviceIndex: 0, block: 0 }], [svc.data[i]!]), `${where}[${i}]`);
    return;
  }
  for (let i = 0; i < svc.data.length; i += MAX_WRITE_BLOCKS) {
    const chunk = svc.data.slice(i, i + MAX_WRITE_BLOCKS);
    ok(
      await write(
        chunk.map((_, j) => ({ serviceIndex: 0, block: i + j })),
        chunk,
      ),
      where,
    );
  }
}
