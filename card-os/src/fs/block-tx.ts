// The pending block writes of one command: reads see them, nothing reaches EEPROM until commit().
import type { CommitResult, Eeprom } from '../hal/eeprom';

export class BlockTx {
  private readonly pending = new Map<number, Uint8Array>();

  constructor(readonly eeprom: Eeprom) {}

  /** A copy of the block as this command would leave it. */
  read(address: number): Uint8Array {
    const p = this.pending.get(address);
    return p ? p.slice() : this.eeprom.read(address);
  }

  write(address: number, data: Uint8Array): void {
    if (data.length !== 16) throw new RangeError(`block ${address}: data must be 16 bytes`);
    this.pending.set(address, data.slice());
  }

  get size(): number {
    return this.pending.size;
  }

  addresses(): number[] {
    return [...this.pending.keys()];
  }

  commit(): CommitResult {
    const writes = [...this.pending].map(([address, data]) => ({ address, data }));
    this.pending.clear();
    return this.eeprom.commit(writes);
  }
}
