// The chip's physical memory: logical blocks then journal slots, each a 22-byte physical block, with
// per-block write counters and byte-granular tearing (a power cut between any two byte writes).
import { MemoryError, PowerLostError } from './errors';
import { DATA_BYTES, PHYSICAL_BYTES, decodePhysical, encodePhysical } from './physical-block';

export class PhysicalStore {
  /** (slots × 22) bytes: data ‖ parity ‖ check per slot. */
  readonly bytes: Uint8Array;
  readonly writeCounts: Uint32Array;
  /** 1 = decoded clean since its last write, so reads may skip decoding (a cache, eeprom.md). */
  private readonly clean: Uint8Array;
  private readonly scratch = new Uint8Array(PHYSICAL_BYTES);
  /** Byte writes since power-on. */
  bytesWritten = 0;
  /** Power is cut once `bytesWritten` reaches this (cli.md --power-cut-after-bytes). */
  cutAfter: number | undefined;
  /** Corrected reads since power-on, and which slots they were. */
  corrections = 0;
  readonly correctedSlots = new Set<number>();
  /** Slots written since the last `takeWritten()`: endurance is judged per command. */
  private maxCountWritten = 0;

  constructor(
    readonly slots: number,
    bytes?: Uint8Array,
    writeCounts?: Uint32Array,
  ) {
    this.bytes = bytes ?? new Uint8Array(slots * PHYSICAL_BYTES);
    this.writeCounts = writeCounts ?? new Uint32Array(slots);
    if (this.bytes.length !== slots * PHYSICAL_BYTES)
      throw new RangeError('physical store size does not match its slot count');
    if (this.writeCounts.length !== slots)
      throw new RangeError('write counter count does not match the slot count');
    this.clean = new Uint8Array(slots);
  }

  /** Forgets every cached decode (after power-on, injection or loading). */
  invalidate(slot?: number): void {
    if (slot === undefined) this.clean.fill(0);
    else this.clean[slot] = 0;
  }

  /** Copies the 16 data bytes of `slot` into `out[o..]`, correcting up to 2 bytes; throws MemoryError. */
  readInto(slot: number, out: Uint8Array, o: number, address = slot): void {
    const p = slot * PHYSICAL_BYTES;
    if (this.clean[slot] === 1) {
      out.set(this.bytes.subarray(p, p + DATA_BYTES), o);
      return;
    }
    const r = decodePhysical(this.bytes, p);
    if (r.status === 'failed') throw new MemoryError(address);
    if (r.status === 'corrected') {
      this.corrections += 1;
      this.correctedSlots.add(slot);
      out.set(r.data, o);
      return;
    }
    this.clean[slot] = 1;
    out.set(this.bytes.subarray(p, p + DATA_BYTES), o);
  }

  /** Writes one physical block (data, parity, check; in that order, byte by byte when tearing is armed). */
  write(slot: number, data: Uint8Array, d = 0): void {
    encodePhysical(data, d, this.scratch, 0);
    this.writePhysical(slot, this.scratch);
  }

  /** Writes 22 zero bytes: an erased slot (a valid codeword of zero data). */
  zero(slot: number): void {
    this.scratch.fill(0);
    this.writePhysical(slot, this.scratch);
  }

  /** True when all 22 physical bytes of the slot are zero. */
  isErased(slot: number): boolean {
    const p = slot * PHYSICAL_BYTES;
    for (let i = p; i < p + PHYSICAL_BYTES; i++) if (this.bytes[i] !== 0) return false;
    return true;
  }

  private writePhysical(slot: number, phys: Uint8Array): void {
    const p = slot * PHYSICAL_BYTES;
    const n = (this.writeCounts[slot]! + 1) >>> 0;
    this.writeCounts[slot] = n;
    if (n > this.maxCountWritten) this.maxCountWritten = n;
    if (this.cutAfter === undefined || this.bytesWritten + PHYSICAL_BYTES <= this.cutAfter) {
      this.bytes.set(phys, p);
      this.bytesWritten += PHYSICAL_BYTES;
      this.clean[slot] = 1;
      return;
    }
    this.clean[slot] = 0;
    for (let i = 0; i < PHYSICAL_BYTES; i++) {
      if (this.bytesWritten >= this.cutAfter) throw new PowerLostError(this.bytesWritten);
      this.bytes[p + i] = phys[i]!;
      this.bytesWritten += 1;
    }
  }

  /** The highest write count reached by a slot written since the last call. */
  takeMaxWriteCount(): number {
    const m = this.maxCountWritten;
    this.maxCountWritten = 0;
    return m;
  }

  /** Flips bits of one stored byte (fault injection; `mica card inject`). */
  inject(slot: number, byteIndex: number, xor: number): void {
    if (byteIndex < 0 || byteIndex >= PHYSICAL_BYTES)
      throw new RangeError(`byte index ${byteIndex} outside 0..21`);
    this.bytes[slot * PHYSICAL_BYTES + byteIndex]! ^= xor;
    this.clean[slot] = 0;
  }
}
