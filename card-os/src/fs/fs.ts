// The card's file system: a cached index over EEPROM plus the IDm of each system.
import type { Eeprom } from '../hal/eeprom';
import { buildIndex, type FsIndex } from './file-system';
import type { SystemView } from './nodes';

export class FileSystem {
  private cached: FsIndex | undefined;
  private generation = -1;

  constructor(readonly eeprom: Eeprom) {}

  /** The index, rebuilt when stored bytes changed outside a command. */
  get index(): FsIndex {
    if (this.cached === undefined || this.generation !== this.eeprom.externalGeneration) {
      this.cached = buildIndex(this.eeprom);
      this.generation = this.eeprom.externalGeneration;
    }
    return this.cached;
  }

  /** Called by every operation that writes definition records or fixed blocks. */
  invalidate(): void {
    this.cached = undefined;
  }

  system(number: number): SystemView | undefined {
    return this.index.systems.find((s) => s.system.number === number);
  }

  /** IDm of system n: the manufacture IDm with the upper nibble of byte 0 replaced by n. */
  idm(systemNumber: number): Uint8Array {
    const m = this.index.manufacture;
    const idm = new Uint8Array(8);
    idm.set(m.manufacturerCode, 0);
    idm.set(m.serial, 2);
    idm[0] = (idm[0]! & 0x0f) | (systemNumber << 4);
    return idm;
  }

  /** The system whose IDm equals `frame[offset..offset+8)`, if any. */
  systemByIdm(frame: Uint8Array, offset: number): SystemView | undefined {
    const m = this.index.manufacture;
    if (
      (frame[offset]! & 0x0f) !== (m.manufacturerCode[0]! & 0x0f) ||
      frame[offset + 1] !== m.manufacturerCode[1]
    )
      return undefined;
    for (let i = 0; i < 6; i++) if (frame[offset + 2 + i] !== m.serial[i]) return undefined;
    return this.system(frame[offset]! >> 4);
  }

  pmm(): Uint8Array {
    const pmm = new Uint8Array(8);
    pmm.set(this.index.manufacture.icCode, 0);
    pmm.set(this.index.definition.pmmTiming, 2);
    return pmm;
  }
}
