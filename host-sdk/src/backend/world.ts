// A world of back-end instances sharing one clock, one seeded random source and one mode (flows.md
// 1.2-1.4). Instances live in `<dataDir>/<kind>-<id>.sqlite` (or in memory); each has a storage key
// in `<dataDir>/<kind>-<id>.key` (in memory: drawn from the world's Rng). Peers are reached through
// the world in-process (or through the `peers` option, e.g. over HTTP); `mica backend serve` serves a
// world's instances over HTTP.
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import type { Clock } from '../platform/clock';
import type { Rng } from '../platform/rng';
import { audit, type AuditReport, type CardPurse } from './audit';
import type {
  AuditView,
  BackendContext,
  KindInterfaces,
  Mode,
  PeerDirectory,
  SqliteBackend,
} from './backend';
import { expectOk } from './outcome';
import type { ApiSpec } from './schema';
import { BANK_API, SqliteBank } from './kinds/bank';
import { CREDIT_API, SqliteCredit } from './kinds/credit';
import { EMONEY_API, SqliteEMoney } from './kinds/emoney';
import { BRAND_API, SqliteBrand } from './kinds/brand';
import { ISSUER_API, SqliteIssuer } from './kinds/issuer';
import { SERVICE_CENTER_API, SqliteServiceCenter } from './kinds/service-center';
import { CYBERSHOP_API, SqliteCybershop } from './kinds/cybershop';
import { EMONEY_CENTER_API, SqliteEMoneyCenter } from './kinds/emoney-center';
import { CENTER_DB_API, SqliteCenterDatabase } from './kinds/center-db';
import { BUREAU_API, SqliteBureau } from './kinds/bureau';
import { SMD_API, SqliteSmd } from './kinds/smd';
import { STORE_API, SqliteStore } from './kinds/store';

export interface KindEntry {
  readonly api: ApiSpec;
  create(context: BackendContext): SqliteBackend;
}

/** Every kind this version implements (flows.md 1.1 lists the rest). */
export const KINDS = {
  bank: { api: BANK_API, create: (c: BackendContext) => new SqliteBank(c) },
  credit: { api: CREDIT_API, create: (c: BackendContext) => new SqliteCredit(c) },
  emoney: { api: EMONEY_API, create: (c: BackendContext) => new SqliteEMoney(c) },
  brand: { api: BRAND_API, create: (c: BackendContext) => new SqliteBrand(c) },
  issuer: { api: ISSUER_API, create: (c: BackendContext) => new SqliteIssuer(c) },
  'service-center': { api: SERVICE_CENTER_API, create: (c: BackendContext) => new SqliteServiceCenter(c) },
  cybershop: { api: CYBERSHOP_API, create: (c: BackendContext) => new SqliteCybershop(c) },
  'emoney-center': { api: EMONEY_CENTER_API, create: (c: BackendContext) => new SqliteEMoneyCenter(c) },
  'center-db': { api: CENTER_DB_API, create: (c: BackendContext) => new SqliteCenterDatabase(c) },
  bureau: { api: BUREAU_API, create: (c: BackendContext) => new SqliteBureau(c) },
  smd: { api: SMD_API, create: (c: BackendContext) => new SqliteSmd(c) },
  store: { api: STORE_API, create: (c: BackendContext) => new SqliteStore(c) },
} as const satisfies Record<string, KindEntry>;

export type Kind = keyof typeof KINDS;

export function isKind(value: string): value is Kind {
  return Object.hasOwn(KINDS, value);
}

const ID = /^[a-z0-9][\w.]{0,63}$/i;
const FILE = /^([a-z-]+)-([a-z0-9][\w.]{0,63})\.sqlite$/i;

export interface WorldOptions {
  /** A directory, or ':memory:'. */
  readonly dataDir: string;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly mode?: Mode;
  /**
   * How the instances reach their peers (default: this world, in-process). A scenario served over
   * HTTP passes a directory of HTTP clients, so back-end-to-back-end calls cross the network too.
   */
  readonly peers?: PeerDirectory;
}

export class World implements PeerDirectory {
  readonly mode: Mode;
  private readonly instances = new Map<string, { kind: Kind; backend: SqliteBackend }>();

  constructor(readonly options: WorldOptions) {
    this.mode = options.mode ?? 'hardened';
  }

  get clock(): Clock {
    return this.options.clock;
  }

  /** Opens every `<kind>-<id>.sqlite` of the data directory (unknown kinds are named in the error). */
  static openDirectory(options: WorldOptions): World {
    const w = new World(options);
    for (const f of readdirSync(options.dataDir).sort()) {
      const m = FILE.exec(f);
      if (!m) continue;
      const kind = m[1]!;
      if (!isKind(kind))
        throw new RangeError(
          `${f}: back-end kind "${kind}" is not implemented (known: ${Object.keys(KINDS).join(', ')})`,
        );
      w.open(kind, m[2]!);
    }
    return w;
  }

  /** Opens (creating if new) an instance. Ids are unique across kinds: clearing accounts name them. */
  open<K extends Kind>(kind: K, id: string): KindInterfaces[K] {
    if (!ID.test(id))
      throw new RangeError(`back-end id must be letters, digits, _ or . (at most 64), got "${id}"`);
    const have = this.instances.get(id);
    if (have) {
      if (have.kind !== kind) throw new RangeError(`id "${id}" is already a ${have.kind}`);
      return have.backend as unknown as KindInterfaces[K];
    }
    const memory = this.options.dataDir === ':memory:';
    const context: BackendContext = {
      id,
      path: memory ? ':memory:' : join(this.options.dataDir, `${kind}-${id}.sqlite`),
      storageKey: memory
        ? this.options.rng.fork(`storage-key/${kind}/${id}`).bytes(32)
        : this.storageKey(kind, id),
      clock: this.options.clock,
      rng: this.options.rng.fork(`${kind}/${id}`),
      mode: this.mode,
      peers: this.options.peers ?? this,
    };
    const backend = KINDS[kind].create(context);
    this.instances.set(id, { kind, backend });
    return backend as unknown as KindInterfaces[K];
  }

  peer<K extends keyof KindInterfaces>(kind: K, id: string): KindInterfaces[K] {
    const have = this.instances.get(id);
    if (!have || have.kind !== kind)
      throw new RangeError(`no ${String(kind)} back-end "${id}" in this world`);
    return have.backend as unknown as KindInterfaces[K];
  }

  list(): { kind: Kind; id: string; backend: SqliteBackend }[] {
    return [...this.instances.entries()].map(([id, v]) => ({ id, ...v }));
  }

  /** C1-C4 over every instance; `cards` gives the purse balances for C3. */
  async audit(cards: readonly CardPurse[] = []): Promise<AuditReport> {
    const views: AuditView[] = [];
    for (const { backend } of this.instances.values()) views.push(expectOk(await backend.auditView()));
    return audit(views, cards);
  }

  /**
   * Restarts an instance as a crashed and restarted server would be: closes it and reopens its SQLite
   * file (what it had committed survives, nothing held in memory does). `peer` answers the new one.
   */
  restart(id: string): void {
    const have = this.instances.get(id);
    if (!have) throw new RangeError(`no back-end "${id}" in this world to restart`);
    if (this.options.dataDir === ':memory:')
      throw new RangeError(`back-end "${id}" is in memory: a restart would lose it (give a data directory)`);
    have.backend.close();
    this.instances.delete(id);
    this.open(have.kind, id);
  }

  close(): void {
    for (const { backend } of this.instances.values()) backend.close();
    this.instances.clear();
  }

  private storageKey(kind: string, id: string): Uint8Array {
    const path = join(this.options.dataDir, `${kind}-${id}.key`);
    if (existsSync(path)) {
      const key = hexToBytes(readFileSync(path, 'utf8').trim(), path);
      if (key.length !== 32) throw new RangeError(`${path} must hold 32 bytes of hex`);
      return key;
    }
    const key = this.options.rng.fork(`storage-key/${kind}/${id}`).bytes(32);
    writeFileSync(path, `${bytesToHex(key)}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
    return key;
  }
}
