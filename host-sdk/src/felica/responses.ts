// FeliCa-style answers as values: status flags are data; `expectOk()` throws only when asked.
import { bytesToHex } from '@mica/apdu-specs/hex';
import { statusFlag2 } from '@mica/apdu-specs/status-flags';

export class StatusError extends Error {
  override readonly name = 'StatusError';
  constructor(
    readonly sf1: number,
    readonly sf2: number,
    command: string,
  ) {
    super(
      `${command}: SF1 ${sf1.toString(16).padStart(2, '0')} SF2 ${sf2.toString(16).padStart(2, '0')} (${statusFlag2(sf2)?.name ?? 'unknown'})`,
    );
  }
}

export class StatusResult<T> {
  constructor(
    readonly command: string,
    readonly sf1: number,
    readonly sf2: number,
    /** Present on success. */
    readonly value: T | undefined,
  ) {}

  get ok(): boolean {
    return this.sf1 === 0;
  }

  expectOk(): T {
    if (this.sf1 !== 0 || this.value === undefined) throw new StatusError(this.sf1, this.sf2, this.command);
    return this.value;
  }

  toString(): string {
    return `${this.command} ${bytesToHex(Uint8Array.of(this.sf1, this.sf2))}`;
  }
}
