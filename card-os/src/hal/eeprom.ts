// The EEPROM of eeprom.md sections 1-2: N logical 16-byte blocks with parity and check bytes, a
// journal area beyond them, write counters with the endurance warning, and power-on recovery.
import { Journal, journalSlotsNeeded, type BlockWrite } from './journal';
import { PhysicalStore } from './physical-store';

export const DEFAULT_BLOCKS = 65_536;
export const MIN_BLOCKS = 256;
export const DEFAULT_JOURNAL_SLOTS = 64;
export const DEFAULT_ENDURANCE = 100_000;

export interface EepromOptions {
  readonly blocks?: number;
  readonly journalSlots?: number;
  readonly endurance?: number;
}

export interface CommitResult {
  /** A written block (journal included) is past its endurance: SF2 = 71h on success. */
  readonly enduranceWarning: boolean;
}

export interface ScrubReport {
  readonly corrected: readonly number[];
  readonly uncorrectable: readonly number[];
}

export class Eeprom {
  readonly blocks: number;
  readonly top: number;
  readonly journalSlots: number;
  endurance: number;
  readonly physical: PhysicalStore;
  private readonly journal: Journal;
  /** Moves on whenever stored bytes change outside a command (load, recovery, injection). */
  externalGeneration = 0;

  constructor(options: EepromOptions = {}, physical?: PhysicalStore) {
    const blocks = options.blocks ?? DEFAULT_BLOCKS;
    if (!Number.isInteger(blocks) || blocks < MIN_BLOCKS || blocks > DEFAULT_BLOCKS)
      throw new RangeError(
        `blocks must be an integer from ${MIN_BLOCKS} to ${DEFAULT_BLOCKS}, got ${blocks}`,
      );
    const journalSlots = options.journalSlots ?? DEFAULT_JOURNAL_SLOTS;
    if (!Number.isInteger(journalSlots) || journalSlots < journalSlotsNeeded(16) || journalSlots > 255)
      throw new RangeError(
        `journalSlots must be an integer from ${journalSlotsNeeded(16)} to 255, got ${journalSlots}`,
      );
    this.blocks = blocks;
    this.top = blocks - 1;
    this.journalSlots = journalSlots;
    this.endurance = options.endurance ?? DEFAULT_ENDURANCE;
    this.physical = physical ?? new PhysicalStore(blocks + journalSlots);
    if (this.physical.slots !== blocks + journalSlots)
      throw new RangeError('physical store does not match the geometry');
    this.journal = new Journal(this.physical, blocks, journalSlots);
  }

  private checkAddress(address: number): void {
    if (!Number.isInteger(address) || address < 0 || address >= this.blocks)
      throw new RangeError(`block address ${address} outside 0..${this.top}`);
  }

  /** The 16 data bytes of a logical block (a copy), corrected if needed; throws MemoryError. */
  read(address: number): Uint8Array {
    const out = new Uint8Array(16);
    this.readInto(address, out, 0);
    return out;
  }

  readInto(address: number, out: Uint8Array, offset: number): void {
    this.checkAddress(address);
    this.physical.readInto(address, out, offset, address);
  }

  /** Writes all blocks or, after a power cut at any byte, none (as seen after the next power-on). */
  commit(writes: readonly BlockWrite[]): CommitResult {
    for (const w of writes) {
      this.checkAddress(w.address);
      if (w.data.length !== 16) throw new RangeError(`block ${w.address} data must be 16 bytes`);
    }
    this.physical.takeMaxWriteCount();
    this.journal.commit(writes);
    return { enduranceWarning: this.physical.takeMaxWriteCount() > this.endurance };
  }

  /** Power-on: replays a committed journal entry, erases the journal, forgets cached decodes. */
  powerOn(): { replayed: number; erased: number } {
    this.physical.bytesWritten = 0;
    this.physical.corrections = 0;
    this.physical.correctedSlots.clear();
    this.physical.invalidate();
    const r = this.journal.recover();
    this.externalGeneration += 1;
    return r;
  }

  /** Arms tearing: power is lost once `bytes` byte writes have happened since power-on. */
  cutPowerAfter(bytes: number | undefined): void {
    this.physical.cutAfter = bytes;
  }

  /** Decodes every logical block; rewrites each corrected block in place (safe: it only removes errors). */
  scrub(repair: boolean): ScrubReport {
    const corrected: number[] = [];
    const uncorrectable: number[] = [];
    const buf = new Uint8Array(16);
    for (let a = 0; a < this.blocks; a++) {
      const before = this.physical.corrections;
      try {
        this.physical.readInto(a, buf, 0, a);
      } catch {
        uncorrectable.push(a);
        continue;
      }
      if (this.physical.corrections !== before) {
        corrected.push(a);
        if (repair) this.physical.write(a, buf);
      }
    }
    return { corrected, uncorrectable };
  }

  /** An independent chip with the same stored bytes, write counters and geometry. */
  clone(): Eeprom {
    const store = new PhysicalStore(
      this.physical.slots,
      this.physical.bytes.slice(),
      this.physical.writeCounts.slice(),
    );
    return new Eeprom(
      { blocks: this.blocks, journalSlots: this.journalSlots, endurance: this.endurance },
      store,
    );
  }

  /** A copy of every physical byte (blocks and journal; write counters excluded). */
  snapshot(): Uint8Array {
    return this.physical.bytes.slice();
  }

  /** Puts back a snapshot's physical bytes (tests and campaigns: the state before a cut point). */
  restore(snapshot: Uint8Array): void {
    if (snapshot.length !== this.physical.bytes.length)
      throw new RangeError('snapshot does not match this EEPROM');
    this.physical.bytes.set(snapshot);
    this.physical.invalidate();
    this.externalGeneration += 1;
  }

  /** Flips bits of one stored byte of a logical block: data 0-15, parity 16-19, check 20-21. */
  inject(address: number, physicalByte: number, xor: number): void {
    this.checkAddress(address);
    this.physical.inject(address, physicalByte, xor);
    this.externalGeneration += 1;
  }
}
