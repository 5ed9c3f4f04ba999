// Collects a command's trace for `--pcap` (rf.md §11): an rf: target reports its frames as on air through
// the target's tracer hook; any other target is wrapped with host-sdk's `traced`, and its APDU and FeliCa
// exchanges are stamped with the wall clock, or with epoch + 1 ms × exchange index when `--pcap-epoch` is
// given (rf.md §11.3). `mica run` and `mica trace` reuse it.
import { bytesToHex } from '@mica/apdu-specs/hex';
import { traced, type TraceEvent, type Transport } from '@mica/host-sdk/transport/transport';
import type { WireEvent } from '@mica/host-sdk/transport/wire-trace';
import { writeTraceFiles } from './write';

export class TraceRecorder {
  readonly events: WireEvent[] = [];
  private exchange = -1;

  constructor(
    /** Seconds since 1970 (rf.md §11.3 `pcapEpoch`); undefined = wall clock for exchange-level targets. */
    private readonly epochS: number | undefined,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The tracer hook an rf: target calls with every JSONL record (simulated µs since field on). */
  readonly onWire = (e: WireEvent): void => {
    this.events.push(e);
  };

  private stamp(): number {
    return this.epochS === undefined ? Math.round(this.nowMs() * 1000) : this.exchange * 1000;
  }

  private readonly tracer = (e: TraceEvent): void => {
    if (e.direction === 'command') this.exchange += 1;
    if (e.bytes === null) return;
    this.events.push({
      t: this.stamp(),
      dir: e.direction === 'command' ? 'tx' : 'rx',
      layer: e.interface,
      hex: bytesToHex(e.bytes),
    });
  };

  /** Wraps an exchange-level transport (not rf:, which traces itself). */
  wrap(transport: Transport): Transport {
    return traced(transport, this.tracer);
  }

  /** Writes the pcap (and optionally JSONL); rf: times are offset by the epoch, wall-clock times are absolute. */
  write(files: { pcap?: string; jsonl?: string }, air: boolean): void {
    const epochS = air || this.epochS !== undefined ? (this.epochS ?? 0) : 0;
    writeTraceFiles(this.events, { ...files, epochS });
  }
}
