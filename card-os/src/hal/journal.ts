// The write-ahead journal that makes every command's block writes all-or-nothing (eeprom.md 2).
//
// It lives in J physical slots after the N logical blocks. A commit of n block images uses
// 1 + ceil(n/8) + n consecutive slots (ring order) from a rotating cursor:
//   header slot:  4A C3 n salt seq(2, BE) crc(2, BE) 00×8
//   address slots: 8 logical addresses each (u16 BE), zero padded
//   data slots:   the n new block images, in address-slot order
// Order: write address and data slots, then the header (the commit point), then apply each block,
// then erase the header, then erase the address and data slots. Between commands every journal slot
// is erased (22 zero bytes). The header's `salt` is chosen so that both bytes of its check value are
// non-zero: a header torn before its last check byte is written can never verify, since an erased
// slot holds check bytes 00 00. `crc` is CRC-16/XMODEM over the address and data slots' data.
// Recovery (every power-on): a header that decodes, carries 4A C3 and whose crc matches is replayed
// (idempotent) and erased; then every non-erased journal slot is erased.
import { crcFelica } from '@mica/apdu-specs/crc';
import { MemoryError } from './errors';
import type { PhysicalStore } from './physical-store';

export const JOURNAL_MAGIC = 0x4a;
export const JOURNAL_COMMITTED = 0xc3;
const ADDRESSES_PER_SLOT = 8;

export interface BlockWrite {
  readonly address: number;
  readonly data: Uint8Array;
}

export function journalSlotsNeeded(n: number): number {
  return 1 + Math.ceil(n / ADDRESSES_PER_SLOT) + n;
}

export class Journal {
  private cursor: number;
  private seq = 0;
  private readonly block = new Uint8Array(16);

  constructor(
    private readonly store: PhysicalStore,
    /** First physical slot of the journal area. */
    private readonly base: number,
    readonly slots: number,
  ) {
    this.cursor = this.leastWornSlot();
  }

  /** The largest number of block images one commit can carry. */
  get capacity(): number {
    let n = this.slots - 1;
    while (journalSlotsNeeded(n) > this.slots) n -= 1;
    return n;
  }

  /** Journals, applies and erases `writes` (logical block index = physical slot). */
  commit(writes: readonly BlockWrite[]): void {
    const n = writes.length;
    if (n === 0) return;
    if (n > this.capacity)
      throw new RangeError(`one command may write at most ${this.capacity} blocks, not ${n}`);
    const used = journalSlotsNeeded(n);
    const start = this.cursor;
    const slot = (i: number): number => this.base + ((start + i) % this.slots);
    const addrSlots = used - 1 - n;
    let crc = 0;
    const b = this.block;
    for (let a = 0; a < addrSlots; a++) {
      b.fill(0);
      for (let k = 0; k < ADDRESSES_PER_SLOT; k++) {
        const w = writes[a * ADDRESSES_PER_SLOT + k];
        if (w === undefined) break;
        b[2 * k] = w.address >> 8;
        b[2 * k + 1] = w.address & 0xff;
      }
      crc = crcFelica(b, crc);
      this.store.write(slot(1 + a), b);
    }
    for (let i = 0; i < n; i++) {
      const w = writes[i]!;
      crc = crcFelica(w.data, crc);
      this.store.write(slot(1 + addrSlots + i), w.data);
    }
    this.seq = (this.seq + 1) & 0xffff;
    this.writeHeader(slot(0), n, crc);
    for (const w of writes) this.store.write(w.address, w.data);
    for (let i = 0; i < used; i++) this.store.zero(slot(i));
    this.cursor = (start + used) % this.slots;
  }

  private writeHeader(slot: number, n: number, crc: number): void {
    const b = this.block;
    b.fill(0);
    b[0] = JOURNAL_MAGIC;
    b[1] = JOURNAL_COMMITTED;
    b[2] = n;
    b[4] = this.seq >> 8;
    b[5] = this.seq & 0xff;
    b[6] = crc >> 8;
    b[7] = crc & 0xff;
    for (let salt = 0; salt < 256; salt++) {
      b[3] = salt;
      const c = crcFelica(b);
      if (c >> 8 !== 0 && (c & 0xff) !== 0) break;
    }
    this.store.write(slot, b);
  }

  /** Power-on recovery. Returns the number of block images replayed (0 when nothing was pending). */
  recover(): { replayed: number; erased: number } {
    let replayed = 0;
    for (let i = 0; i < this.slots && replayed === 0; i++) {
      const writes = this.readCommitted(i);
      if (writes === undefined) continue;
      for (const w of writes) this.store.write(w.address, w.data);
      this.store.zero(this.base + i);
      replayed = writes.length;
    }
    let erased = 0;
    for (let i = 0; i < this.slots; i++) {
      if (!this.store.isErased(this.base + i)) {
        this.store.zero(this.base + i);
        erased += 1;
      }
    }
    this.cursor = this.leastWornSlot();
    return { replayed, erased };
  }

  /** The block images of a committed transaction whose header is at ring position `h`, if valid. */
  private readCommitted(h: number): BlockWrite[] | undefined {
    const b = new Uint8Array(16);
    const slot = (i: number): number => this.base + ((h + i) % this.slots);
    if (this.store.isErased(slot(0))) return undefined;
    try {
      this.store.readInto(slot(0), b, 0);
    } catch (e) {
      if (e instanceof MemoryError) return undefined;
      throw e;
    }
    if (b[0] !== JOURNAL_MAGIC || b[1] !== JOURNAL_COMMITTED) return undefined;
    const n = b[2]!;
    if (n === 0 || journalSlotsNeeded(n) > this.slots) return undefined;
    const expected = (b[6]! << 8) | b[7]!;
    const addrSlots = journalSlotsNeeded(n) - 1 - n;
    const addresses: number[] = [];
    const datas: Uint8Array[] = [];
    let crc = 0;
    try {
      for (let a = 0; a < addrSlots; a++) {
        const d = new Uint8Array(16);
        this.store.readInto(slot(1 + a), d, 0);
        crc = crcFelica(d, crc);
        for (let k = 0; k < ADDRESSES_PER_SLOT && addresses.length < n; k++)
          addresses.push((d[2 * k]! << 8) | d[2 * k + 1]!);
      }
      for (let i = 0; i < n; i++) {
        const d = new Uint8Array(16);
        this.store.readInto(slot(1 + addrSlots + i), d, 0);
        crc = crcFelica(d, crc);
        datas.push(d);
      }
    } catch (e) {
      if (e instanceof MemoryError) return undefined;
      throw e;
    }
    if (crc !== expected || addresses.some((a) => a >= this.base)) return undefined;
    return addresses.map((address, i) => ({ address, data: datas[i]! }));
  }

  private leastWornSlot(): number {
    let best = 0;
    for (let i = 1; i < this.slots; i++) {
      if (this.store.writeCounts[this.base + i]! < this.store.writeCounts[this.base + best]!) best = i;
    }
    return best;
  }
}
