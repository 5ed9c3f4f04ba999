// `rf:<inner target>[?key=value&…]` (cli.md, rf.md §10.1): the radio simulator around an in-process card.
// The inner target is opened through the same registry (in v1 it must give a card endpoint, so sim:);
// --seed and --power-cut-after-bytes pass through to it. Closing completes the transaction (DESELECT,
// field off), closes the inner target and writes the report, JSONL trace and pcap the options name.
import { writeFileSync } from 'node:fs';
import { RfOptionError, parseRfQuery, splitRfTarget } from '@mica/host-sdk/transport/rf/rf-options';
import { RfTransport } from '@mica/host-sdk/transport/rf/rf-transport';
import type { WireEvent } from '@mica/host-sdk/transport/wire-trace';
import { UsageError } from '../cli-error';
import { writeTraceFiles } from '../trace/write';
import { openTarget, schemeOf } from './index';
import type { OpenedTarget, TargetOptions } from './types';

export async function openRf(rest: string, options: TargetOptions): Promise<OpenedTarget> {
  const { inner, query } = splitRfTarget(rest);
  let parsed;
  try {
    parsed = parseRfQuery(query);
  } catch (e) {
    if (e instanceof RfOptionError) throw new UsageError(e.message);
    throw e;
  }
  if (inner === '') throw new UsageError('rf: target needs an inner target (rf:sim:<image>[?options])');
  if (schemeOf(inner).scheme === 'rf') throw new UsageError('rf: targets do not nest');
  const { onWire, ...innerOptions } = options;
  const opened = await openTarget(inner, innerOptions);
  if (!opened.endpoint) {
    await opened.close();
    throw new UsageError(`rf: needs an in-process inner target (sim:<image>), not "${inner}"`);
  }
  const events: WireEvent[] = [];
  const keep = parsed.pcap !== undefined || parsed.trace !== undefined;
  let transport: RfTransport;
  try {
    transport = new RfTransport(opened.endpoint, {
      ...parsed,
      description: `rf:${rest}`,
      onWire: (e) => {
        if (keep) events.push(e);
        onWire?.(e);
      },
    });
  } catch (e) {
    await opened.close();
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  return {
    transport,
    async close() {
      try {
        await transport.close();
      } finally {
        await opened.close();
      }
      if (parsed.report !== undefined)
        writeFileSync(parsed.report, `${JSON.stringify(transport.report(), null, 2)}\n`);
      writeTraceFiles(events, { pcap: parsed.pcap, jsonl: parsed.trace });
    },
  };
}
