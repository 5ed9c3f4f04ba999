// Writes a run's trace files: the JSONL records and the pcap (or pcapng: by the .pcapng extension, and
// required when a run needs both link types, rf.md §13.6).
import { writeFileSync } from 'node:fs';
import type { WireEvent } from '@mica/host-sdk/transport/wire-trace';
import { UsageError } from '../cli-error';
import { packetsOf } from './packets';
import { LINKTYPE_UPPER_PDU, pcapFile, pcapngFile } from './pcap';

export interface TraceFiles {
  readonly pcap?: string | undefined;
  readonly jsonl?: string | undefined;
  /** Seconds since 1970 added to the pcap timestamps (default 0). */
  readonly epochS?: number | undefined;
}

/** The pcap or pcapng bytes of a trace. */
export function pcapBytes(
  events: readonly WireEvent[],
  opts: { pcapng?: boolean; epochS?: number } = {},
): Uint8Array {
  const { packets, linktypes } = packetsOf(events, opts.epochS === undefined ? {} : { epochS: opts.epochS });
  if (opts.pcapng) return pcapngFile(linktypes.length > 0 ? linktypes : [LINKTYPE_UPPER_PDU], packets);
  if (linktypes.length > 1)
    throw new UsageError(
      'this run has Type F and Type A/B frames, which need two link types: name the capture file .pcapng',
    );
  return pcapFile(linktypes[0] ?? LINKTYPE_UPPER_PDU, packets);
}

export function jsonlText(events: readonly WireEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + (events.length > 0 ? '\n' : '');
}

export function writeTraceFiles(events: readonly WireEvent[], files: TraceFiles): void {
  if (files.jsonl !== undefined) writeFileSync(files.jsonl, jsonlText(events));
  if (files.pcap !== undefined)
    writeFileSync(
      files.pcap,
      pcapBytes(events, {
        pcapng: files.pcap.endsWith('.pcapng'),
        ...(files.epochS !== undefined ? { epochS: files.epochS } : {}),
      }),
    );
}
