// A JSONL trace file in the shape of rf.md 11.1: one object per line,
// { "t": µs since the trace began, "dir": "tx" | "rx", "layer": "apdu" | "felica" | "event", "hex" },
// tx = reader→card. Events (power, connection, warnings) carry "event" and, where useful, "message".
import { closeSync, openSync, writeSync } from 'node:fs';
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { TraceEvent } from '@mica/host-sdk/transport/transport';

export interface TraceLine {
  readonly t: number;
  readonly dir: 'tx' | 'rx';
  readonly layer: 'apdu' | 'felica' | 'event';
  readonly hex?: string | null;
  readonly event?: string;
  readonly message?: string;
}

export class JsonlTrace {
  private fd: number | undefined;
  private readonly start: bigint;

  /** `now` returns nanoseconds (injected; process.hrtime.bigint by default). */
  constructor(
    path: string,
    private readonly now: () => bigint = process.hrtime.bigint,
  ) {
    this.fd = openSync(path, 'w');
    this.start = now();
  }

  private micros(): number {
    return Number((this.now() - this.start) / 1000n);
  }

  private write(line: TraceLine): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
  }

  /** host-sdk's tracer hook: commands are tx, answers rx; a null answer is silence. */
  readonly tracer = (e: TraceEvent): void => {
    this.write({
      t: this.micros(),
      dir: e.direction === 'command' ? 'tx' : 'rx',
      layer: e.interface,
      hex: e.bytes === null ? null : bytesToHex(e.bytes),
    });
  };

  event(name: string, dir: 'tx' | 'rx', message?: string): void {
    this.write({
      t: this.micros(),
      dir,
      layer: 'event',
      event: name,
      ...(message !== undefined ? { message } : {}),
    });
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
