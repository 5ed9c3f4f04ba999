// Failures the chip's memory can raise; the dispatcher turns them into status flags or silence.

/** A block whose parity could not correct it, or whose check value does not match (SF2 70h). */
export class MemoryError extends Error {
  override readonly name = 'MemoryError';
  constructor(readonly address: number) {
    super(`uncorrectable memory error in block ${address.toString(16).padStart(4, '0')}h`);
  }
}

/** The power was cut (tearing): the write in progress stopped after some bytes; the chip is off. */
export class PowerLostError extends Error {
  override readonly name = 'PowerLostError';
  constructor(readonly afterBytes: number) {
    super(`power lost after ${afterBytes} EEPROM byte writes`);
  }
}

/** An allocation would make U + S exceed the block count. */
export class MemoryFullError extends Error {
  override readonly name = 'MemoryFullError';
}
