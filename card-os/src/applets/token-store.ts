// Token slots of flows.md 2.2 in a keyed random service (apdu-specs bank-credit): read, list, put with eviction.
import {
  LIST_ENTRY,
  MAX_ENVELOPE,
  PUT_TOKEN_HEADER,
  SLOT_BLOCKS,
  TOKEN_STATE,
  slotMeta,
} from '@mica/apdu-specs/apdu/bank-credit';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { bytesEqual } from '@mica/apdu-specs/hex';
import type { AppletFirewall, BlockWriteRequest } from '../apdu/applet-firewall';
import { IsoError } from '../apdu/iso-error';
import type { FileSystem } from '../fs/fs';

/** A token store as seen by one applet: its blocks read through the firewall (own area or a grant). */
export interface TokenStore {
  readonly service: number;
  readonly blocks: number;
  read(n: number): Uint8Array;
}

export interface SlotInfo {
  readonly slot: number;
  readonly state: number;
  readonly tokenId: Uint8Array;
  readonly length: number;
  readonly effectiveUntil: number;
  readonly creditCompanyId: Uint8Array;
}

export interface PutToken {
  readonly today: number;
  readonly tokenId: Uint8Array;
  readonly creditCompanyId: Uint8Array;
  readonly effectiveUntil: number;
  readonly envelope: Uint8Array;
}

const ZERO_BLOCK = new Uint8Array(16);

/** Tokens marked used outside the store's own slot state (the credit applet's used marks). */
export type UsedMarks = (tokenId: Uint8Array) => boolean;

/** The store service `code` read through `fw` (6A88 when it does not exist, 6982 behind the firewall). */
export function tokenStore(fs: FileSystem, fw: AppletFirewall, code: number): TokenStore {
  const node = fs.system(fw.scope.system)?.byCode.get(code);
  if (!node || node.kind !== 'service') throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
  return { service: code, blocks: node.blockCount, read: (n) => fw.readBlock(code, n) };
}

export function slotCount(store: { readonly blocks: number }): number {
  return Math.floor(store.blocks / SLOT_BLOCKS);
}

export function readSlot(store: TokenStore, slot: number): SlotInfo {
  if (!Number.isInteger(slot) || slot < 0 || slot >= slotCount(store)) throw new IsoError(SW.WRONG_P1P2);
  const base = slot * SLOT_BLOCKS;
  const m = slotMeta.decode(store.read(base + 1));
  return {
    slot,
    state: m.state,
    tokenId: store.read(base),
    length: m.length,
    effectiveUntil: m.effectiveUntil,
    creditCompanyId: m.creditCompanyId,
  };
}

export function readSlots(store: TokenStore): SlotInfo[] {
  return Array.from({ length: slotCount(store) }, (_, i) => readSlot(store, i));
}

/** The envelope of a non-empty slot (6A88 for an empty one). */
export function readEnvelope(store: TokenStore, slot: number): Uint8Array {
  const s = readSlot(store, slot);
  if (s.state === TOKEN_STATE.empty) throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
  const out = new Uint8Array(Math.ceil(s.length / 16) * 16);
  for (let i = 0; i * 16 < s.length; i++) out.set(store.read(slot * SLOT_BLOCKS + 2 + i), i * 16);
  return out.slice(0, s.length);
}

/** LIST TOKENS entries of the non-empty slots; `used` reports extra used marks (shared stores). */
export function listEntries(store: TokenStore, used: UsedMarks = () => false): Uint8Array {
  const slots = readSlots(store).filter((s) => s.state !== TOKEN_STATE.empty);
  const out = new Uint8Array(slots.length * LIST_ENTRY);
  slots.forEach((s, i) => {
    const o = i * LIST_ENTRY;
    out[o] = s.slot;
    out[o + 1] = s.state === TOKEN_STATE.stored && used(s.tokenId) ? TOKEN_STATE.used : s.state;
    out.set(s.tokenId, o + 2);
    out.set(s.creditCompanyId, o + 18);
    new DataView(out.buffer).setUint32(o + 26, s.effectiveUntil);
  });
  return out;
}

/** PUT TOKEN data: today ‖ tokenId ‖ creditCompanyId ‖ effectiveUntil ‖ envelope. */
export function parsePut(d: Uint8Array): PutToken {
  if (d.length <= PUT_TOKEN_HEADER || d.length > PUT_TOKEN_HEADER + MAX_ENVELOPE)
    throw new IsoError(SW.WRONG_LENGTH);
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  return {
    today: v.getUint32(0),
    tokenId: d.slice(4, 20),
    creditCompanyId: d.slice(20, 28),
    effectiveUntil: v.getUint32(28),
    envelope: d.slice(PUT_TOKEN_HEADER),
  };
}

/** The block writes (relative to the store) that put `t` into `slot`. */
export function slotWrites(slot: number, t: Omit<PutToken, 'today'>, state: number): BlockWriteRequest[] {
  const base = slot * SLOT_BLOCKS;
  const writes: BlockWriteRequest[] = [
    { block: base, data: t.tokenId.slice() },
    {
      block: base + 1,
      data: slotMeta.encode({
        state,
        length: t.envelope.length,
        effectiveUntil: t.effectiveUntil,
        creditCompanyId: t.creditCompanyId,
        reserved: 0,
      }),
    },
  ];
  for (let i = 0; i * 16 < t.envelope.length; i++) {
    const b = new Uint8Array(16);
    b.set(t.envelope.subarray(i * 16, i * 16 + 16));
    writes.push({ block: base + 2 + i, data: b });
  }
  return writes;
}

/** The writes that empty a slot: metadata and the envelope blocks it used, zeroed. */
export function clearWrites(s: SlotInfo): BlockWriteRequest[] {
  const base = s.slot * SLOT_BLOCKS;
  const n = 2 + Math.ceil(s.length / 16);
  return Array.from({ length: Math.min(n, SLOT_BLOCKS) }, (_, i) => ({ block: base + i, data: ZERO_BLOCK }));
}

/** The one write that marks a slot used. */
export function markUsedWrite(s: SlotInfo): BlockWriteRequest {
  return {
    block: s.slot * SLOT_BLOCKS + 1,
    data: slotMeta.encode({
      state: TOKEN_STATE.used,
      length: s.length,
      effectiveUntil: s.effectiveUntil,
      creditCompanyId: s.creditCompanyId,
      reserved: 0,
    }),
  };
}

export function findToken(store: TokenStore, tokenId: Uint8Array): SlotInfo | undefined {
  return readSlots(store).find((s) => s.state !== TOKEN_STATE.empty && bytesEqual(s.tokenId, tokenId));
}

export type Placement = { readonly slot: number; readonly noop: boolean };

/**
 * Where PUT TOKEN goes: an identical re-put is a no-op; a re-put of a used token, or of the same ID
 * with other content, is 6985; otherwise the first empty slot, then the first used or expired one
 * (judged by `today`); none: 6A84.
 */
export function placeToken(
  store: TokenStore,
  t: Omit<PutToken, 'today'>,
  today?: number,
  used: UsedMarks = () => false,
): Placement {
  const slots = readSlots(store);
  const same = slots.find((s) => s.state !== TOKEN_STATE.empty && bytesEqual(s.tokenId, t.tokenId));
  if (same) {
    if (same.state === TOKEN_STATE.used || used(same.tokenId))
      throw new IsoError(SW.CONDITIONS_OF_USE, 'the token is used');
    const identical =
      same.length === t.envelope.length &&
      same.effectiveUntil === t.effectiveUntil &&
      bytesEqual(same.creditCompanyId, t.creditCompanyId) &&
      bytesEqual(readEnvelope(store, same.slot), t.envelope);
    if (!identical) throw new IsoError(SW.CONDITIONS_OF_USE, 'another token with this ID is stored');
    return { slot: same.slot, noop: true };
  }
  const free =
    slots.find((s) => s.state === TOKEN_STATE.empty) ??
    slots.find(
      (s) =>
        s.state === TOKEN_STATE.used || used(s.tokenId) || (today !== undefined && s.effectiveUntil <= today),
    );
  if (!free) throw new IsoError(SW.NOT_ENOUGH_MEMORY, 'every token slot is taken');
  return { slot: free.slot, noop: false };
}

/** Evicting a longer envelope's tail too, so nothing of the old token stays in the slot. */
export function putWrites(store: TokenStore, slot: number, t: Omit<PutToken, 'today'>): BlockWriteRequest[] {
  const old = readSlot(store, slot);
  const writes = slotWrites(slot, t, TOKEN_STATE.stored);
  if (old.state !== TOKEN_STATE.empty) {
    const covered = new Set(writes.map((w) => w.block));
    for (const w of clearWrites(old)) if (!covered.has(w.block)) writes.push(w);
  }
  return writes;
}
