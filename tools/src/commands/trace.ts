// `mica trace` (rf.md §13.6): run a script against any card target and capture it (rf: targets as frames
// on air, others as exchanges), or convert a JSONL trace into a pcap or pcapng.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { WireEvent } from '@mica/host-sdk/transport/wire-trace';
import { intArg } from '../args';
import { OperationError, UsageError } from '../cli-error';
import { openTarget, schemeOf } from '../targets';
import { TraceRecorder } from '../trace/recorder';
import { readScriptFile, runScript } from '../trace/script-run';
import { pcapBytes } from '../trace/write';

function epochArg(text: string | undefined): number | undefined {
  return text === undefined ? undefined : intArg(text, '--pcap-epoch', 0, 4294967295);
}

/** JSONL records (rf.md §11.1), one object per line; a bad line is a usage error naming it. */
export function parseJsonl(text: string, file: string): WireEvent[] {
  const out: WireEvent[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw new UsageError(`${file} line ${i + 1} is not JSON`);
    }
    const e = o as Partial<WireEvent>;
    if (
      typeof e !== 'object' ||
      typeof e.t !== 'number' ||
      (e.dir !== 'tx' && e.dir !== 'rx') ||
      !['air', 'apdu', 'felica', 'event'].includes(String(e.layer))
    )
      throw new UsageError(
        `${file} line ${i + 1} needs t (µs), dir (tx|rx) and layer (air|apdu|felica|event)`,
      );
    out.push({ ...(e as WireEvent), hex: typeof e.hex === 'string' ? e.hex : '' });
  });
  return out;
}

export function registerTrace(program: Command): void {
  const trace = program
    .command('trace')
    .description('capture a card session as pcap/pcapng, or convert a JSONL trace (rf.md §11, §13.6)')
    .addHelpText(
      'after',
      "\nExamples:\n  mica trace run --target 'rf:sim:card.img?snr=14' --script payment.json --pcap payment.pcap\n  mica trace convert session.jsonl --pcap session.pcapng\n",
    );
  trace
    .command('run')
    .description('run a script against a card target and write its capture')
    .requiredOption('--target <target>', 'the card target (sim:, rf:, tcp:, …)')
    .option('--script <file>', 'exchanges in the transcript shape of vectors.md (FILE or FILE#vector-id)')
    .requiredOption('--pcap <file>', 'the capture (.pcapng for pcapng)')
    .option('--jsonl <file>', 'also write the JSONL trace')
    .option('--pcap-epoch <s>', 'timestamps start at this many seconds since 1970')
    .action(
      async (o: { target: string; script?: string; pcap: string; jsonl?: string; pcapEpoch?: string }) => {
        const script =
          o.script === undefined ? { exchanges: [], unchecked: new Set<number>() } : readScriptFile(o.script);
        const recorder = new TraceRecorder(epochArg(o.pcapEpoch));
        const air = schemeOf(o.target).scheme === 'rf';
        const session = await openTarget(o.target, air ? { onWire: recorder.onWire } : {});
        let run;
        try {
          run = await runScript(air ? session.transport : recorder.wrap(session.transport), script);
        } finally {
          await session.close();
          recorder.write({ pcap: o.pcap, ...(o.jsonl !== undefined ? { jsonl: o.jsonl } : {}) }, air);
        }
        if (run.lines.length > 0) process.stdout.write(`${run.lines.join('\n')}\n`);
        for (const m of run.mismatches.slice(1)) process.stderr.write(`mica: ${m}\n`);
        if (run.error) throw new OperationError(`${run.error.kind}: ${run.error.message}`);
        if (run.mismatches.length > 0) throw new OperationError(run.mismatches[0]!);
      },
    );
  trace
    .command('convert <jsonl>')
    .description('turn a JSONL trace into a pcap (one link type) or pcapng (.pcapng)')
    .requiredOption('--pcap <file>', 'the capture to write')
    .option('--pcap-epoch <s>', 'seconds since 1970 added to the timestamps (default 0)')
    .action((file: string, o: { pcap: string; pcapEpoch?: string }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
      }
      const epochS = epochArg(o.pcapEpoch);
      writeFileSync(
        o.pcap,
        pcapBytes(parseJsonl(text, file), {
          pcapng: o.pcap.endsWith('.pcapng'),
          ...(epochS !== undefined ? { epochS } : {}),
        }),
      );
    });
}
