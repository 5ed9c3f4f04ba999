// What the seed 003 back-ends share (flows.md 5.1): request fields, the table of key packages an
// instance holds (masters wrapped at rest under the instance's storage key), its X25519 box key for
// receiving packages, the key holder built from what it holds, and the notification setting
// (per-tx, or batched every N days: batched items stay in the outbox, in flight for C4).
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { x25519 } from '@noble/curves/ed25519.js';
import { LocalKeyHolder, type RandomBytes } from '../../keys/local-key-holder';
import { BRAND_SYSTEM_CODE } from '../../brand/card-layout';
import { openKeyPackage, type SealedKeyPackage } from '../../brand/key-package';
import { int, object, oneOf, optional, str, type Schema } from '../schema';
import type { SecretStore } from '../secrets';
import type { Db } from '../store';
import { refuse } from '../outcome';
import type { Rng } from '../../platform/rng';
import { MS_PER_DAY } from '../../platform/clock';
import { deliverToPeer } from '../link-retry';

export const peerId = str({ max: 64, pattern: /^[\w.-]+$/, describe: 'a back-end or participant id' });
export const cardId = str({
  min: 16,
  max: 16,
  pattern: /^[0-9a-f]{16}$/,
  describe: 'a card ID (8 bytes of hex)',
});
export const keyName = str({
  max: 8,
  pattern: /^(?:[A-M]|P|area|system|root)$/,
  describe: 'a key name (A-M, P, area, system or root)',
});
export const channelName = str({ max: 1, pattern: /^[A-M]$/, describe: 'a key name A-M' });
export const step = optional(str({ max: 16 }));
export const notification = optional(oneOf(['per-tx', 'batch'] as const));
/** A signed amount (settlement transfers go either way). */
export const signedAmount = int(-0xffffffff, 0xffffffff);

export const sealedPackage: Schema<SealedKeyPackage> = object({
  format: oneOf(['mica-key-package-v1'] as const),
  packageId: str({ min: 32, max: 32, pattern: /^[0-9a-f]{32}$/ }),
  senderId: peerId,
  recipientId: peerId,
  keyName,
  sealed: str({ min: 96, max: 65536, pattern: /^[0-9a-f]+$/ }),
}) as Schema<SealedKeyPackage>;

export const HELD_KEYS_MIGRATION = `
  CREATE TABLE keys (keyName TEXT NOT NULL, issuerId TEXT NOT NULL, node INTEGER NOT NULL, version INTEGER NOT NULL,
    packageId TEXT NOT NULL, receivedAt INTEGER NOT NULL, PRIMARY KEY (issuerId, node));
  CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);`;

export interface HeldKeyRow {
  readonly keyName: string;
  readonly issuerId: string;
  readonly node: number;
  readonly version: number;
  readonly packageId: string;
}

const BOX = 'box-key';

/** The instance's X25519 public key (created on first use; the private key is a wrapped secret). */
export function boxPublicKey(secrets: SecretStore, rng: Rng): string {
  let priv = secrets.get(BOX);
  if (!priv) {
    priv = rng.bytes(32);
    secrets.put(BOX, priv);
  }
  return bytesToHex(x25519.getPublicKey(priv));
}

/**
 * F0.2 at an issuer or a service center: only a package the brand holder `brandId` sent is opened and
 * stored; anything else is refused as an E_* outcome and stores nothing.
 */
export function installBrandPackage(
  db: Db,
  secrets: SecretStore,
  selfId: string,
  brandId: string,
  p: SealedKeyPackage,
  at: number,
): HeldKeyRow[] {
  if (p.senderId !== brandId)
    refuse('E_UNAUTHORIZED', 'F0.2', `key packages come from the brand holder, not ${p.senderId}`);
  try {
    return installPackage(db, secrets, selfId, p, at);
  } catch (e) {
    return refuse('E_BAD_STATE', 'F0.2', (e as Error).message);
  }
}

/** Opens a sealed package addressed to `selfId` and stores its masters wrapped; returns the rows. */
export function installPackage(
  db: Db,
  secrets: SecretStore,
  selfId: string,
  p: SealedKeyPackage,
  at: number,
): HeldKeyRow[] {
  const priv = secrets.get(BOX);
  if (!priv) throw new RangeError(`${selfId} has no box key yet: call setUp first`);
  const content = openKeyPackage(p, selfId, priv);
  const rows: HeldKeyRow[] = [];
  for (const e of content.entries) {
    secrets.put(`key:${e.issuerId}:${e.node}`, hexToBytes(e.master, 'master'));
    db.prepare(
      'INSERT INTO keys (keyName, issuerId, node, version, packageId, receivedAt) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (issuerId, node) DO UPDATE SET keyName = excluded.keyName, version = excluded.version, packageId = excluded.packageId, receivedAt = excluded.receivedAt',
    ).run(content.keyName, e.issuerId, e.node, e.version, p.packageId, at);
    rows.push({
      keyName: content.keyName,
      issuerId: e.issuerId,
      node: e.node,
      version: e.version,
      packageId: p.packageId,
    });
  }
  return rows;
}

export function heldKeys(db: Db): HeldKeyRow[] {
  return db
    .prepare('SELECT keyName, issuerId, node, version, packageId FROM keys ORDER BY issuerId, node')
    .all() as HeldKeyRow[];
}

/** A key holder over every master this instance holds (the secure access module of the instance). */
export function keyHolderOf(db: Db, secrets: SecretStore, random: RandomBytes): LocalKeyHolder {
  const holder = new LocalKeyHolder(random);
  for (const r of heldKeys(db)) {
    const master = secrets.get(`key:${r.issuerId}:${r.node}`);
    if (master) holder.set(BRAND_SYSTEM_CODE, r.node, { version: r.version, master });
  }
  return holder;
}

/** Every master held (for the internet hook's key registry; never served over HTTP). */
export function heldMasters(db: Db, secrets: SecretStore): Uint8Array[] {
  return heldKeys(db)
    .map((r) => secrets.get(`key:${r.issuerId}:${r.node}`))
    .filter((k): k is Uint8Array => k !== undefined);
}

export function setting(db: Db, name: string): string | undefined {
  return (db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined)
    ?.value;
}

export function setSetting(db: Db, name: string, value: string): void {
  db.prepare(
    'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
  ).run(name, value);
}

/** Batch interval (flows.md 5.4: every 7 days by default). */
export const DEFAULT_BATCH_DAYS = 7;
export const batchIntervalMs = (days: number): number => days * MS_PER_DAY;

export interface OutboxRow {
  readonly seq: number;
  readonly txId: string;
  readonly peer: string;
  readonly topic: string;
  readonly payload: string;
}

export function undelivered(db: Db): OutboxRow[] {
  return db
    .prepare('SELECT seq, txId, peer, topic, payload FROM outbox WHERE deliveredAt IS NULL ORDER BY seq')
    .all() as OutboxRow[];
}

/**
 * Sends undelivered outbox rows through `send` (by topic); a row whose peer refuses or cannot be
 * reached stays in flight for the next attempt. Returns how many were delivered.
 */
export async function deliverRows(
  rows: readonly OutboxRow[],
  send: (row: OutboxRow) => Promise<{ readonly ok: boolean }>,
  delivered: (seq: number) => void,
): Promise<number> {
  let n = 0;
  for (const row of rows) {
    try {
      // Again while the link is lost (the receiver is idempotent by txId, flows.md 1.4).
      if (!(await deliverToPeer(() => send(row))).ok) continue;
    } catch {
      continue;
    }
    delivered(row.seq);
    n++;
  }
  return n;
}

/**
 * Batched notification (flows.md 5.4): one batch task at the next boundary origin + k·interval while
 * something waits; the clock's queue stays finite (no task is scheduled when nothing waits).
 */
export class BatchScheduler {
  private pending: number | undefined;

  constructor(
    private readonly clock: { now(): number; schedule(at: number, task: () => Promise<void>): unknown },
    private readonly flush: () => Promise<unknown>,
    private readonly intervalMs = batchIntervalMs(DEFAULT_BATCH_DAYS),
  ) {}

  ensure(origin: number): void {
    const now = this.clock.now();
    const k = Math.max(1, Math.floor((now - origin) / this.intervalMs) + 1);
    const at = origin + k * this.intervalMs;
    if (this.pending !== undefined && this.pending <= at) return;
    this.pending = at;
    this.clock.schedule(at, async () => {
      this.pending = undefined;
      await this.flush();
    });
  }
}

/** A txId derived from a label (accounting transfers: the same period always gives the same txIds). */
export function derivedTxId(label: string): string {
  return bytesToHex(sha256(utf8ToBytes(label))).slice(0, 32);
}
