// `mica rf simulate` (rf.md §13.3): one card transaction over the air — activation, then a script's
// exchanges — with several cards in the field, faults, distances; prints the exchange table and the
// transaction line (rf.md §8.7), writes the JSON report and the pcap.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hexToBytes } from '@mica/apdu-specs/hex';
import type { WireEvent } from '@mica/host-sdk/transport/wire-trace';
import type { Command } from 'commander';
import type { RfCardEndpoint } from '@mica/apdu-specs/rf/endpoint';
import { RfOptionError, parseRfQuery } from '@mica/host-sdk/transport/rf/rf-options';
import { RfTransport, type RfReport } from '@mica/host-sdk/transport/rf/rf-transport';
import { intArg } from '../args';
import { OperationError, UsageError } from '../cli-error';
import { openTarget, schemeOf, type OpenedTarget } from '../targets';
import { TraceRecorder } from '../trace/recorder';
import { readScriptFile, runScript, type Script } from '../trace/script-run';
import { prepareFrame } from './frame-input';
import { frameWaveformSvg } from './frame-svg';
import { parseRfOptions } from './options';

interface SimulateOptions {
  target?: string;
  card: string[];
  script?: string;
  repeat?: string;
  inject: string[];
  distance: string[];
  report?: string;
  pcap?: string;
  jsonl?: string;
  svg?: string;
  pcapEpoch?: string;
  tech?: string;
  rate?: string;
  k?: string;
  lm?: string;
  spb?: string;
  snr?: string;
  sigma?: string;
  seed?: string;
  ppm?: string;
  level?: string;
  retries?: string;
  cid?: string;
  fsd?: string;
  diff?: boolean;
  strictTiming?: boolean;
  json?: boolean;
}

const collect = (v: string, all: string[]): string[] => [...all, v];

const EXAMPLE = `
Examples:
  mica rf simulate --target sim:card.img
  mica rf simulate --target sim:card.img --script payment.json --snr 12 --pcap payment.pcap
  mica rf simulate --target sim:a.img --card b.img --tech a --script apdus.json
  mica rf simulate --target sim:card.img --script read.json --inject 1:crc --report report.json

The script is a JSON file of exchanges in the transcript shape of vectors.md: {"exchanges": [{"tx": "…"}]}
for FeliCa frames (LEN first) or [{"c": "…"}] for APDUs; an "rx"/"r" answer, when given, is compared.
Without a script the transaction is the activation alone. Exchanges are numbered as in the report
(activation frames count) for --inject E:F, F one of crc, bit:N, chip:N, drop, late:µs, invert.
`;

/** The rf: options of the command line, checked by the same parser as rf: targets. */
function rfQuery(o: SimulateOptions): string {
  const kv: [string, string | undefined][] = [
    ['tech', o.tech],
    ['rate', o.rate],
    ['k', o.k],
    ['lm', o.lm],
    ['spb', o.spb],
    ['snr', o.snr],
    ['sigma', o.sigma],
    ['seed', o.seed],
    ['ppm', o.ppm],
    ['level', o.level],
    ['retries', o.retries],
    ['cid', o.cid],
    ['fsd', o.fsd],
    ['diff', o.diff ? '1' : undefined],
    ['strictTiming', o.strictTiming ? '1' : undefined],
    ['inject', o.inject.length > 0 ? o.inject.join(',') : undefined],
    ['distance', o.distance.length > 0 ? o.distance.join(',') : undefined],
  ];
  return kv
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
}

const us = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : v.toFixed(2));

/** The exchange table and the transaction line. */
export function reportText(r: RfReport): string {
  const rows = [
    ['i', 'kind', 'att', 'outcome', 'start µs', 'cmd µs', 'gap µs', 'rsp µs', 'command → answer'],
  ];
  for (const e of r.exchanges)
    rows.push([
      String(e.i),
      e.kind,
      String(e.attempts),
      e.outcome + (e.timingViolation ? '!' : '') + (e.retriedAfterExecution ? '*' : ''),
      us(e.cmd.startUs),
      us(e.cmd.airtimeUs),
      us(e.gapUs),
      us(e.rsp?.airtimeUs),
      `${e.cmd.hex.replace(/ /g, '')} → ${e.rsp ? e.rsp.hex.replace(/ /g, '') + (e.rsp.crc === 'bad' ? ' (bad CRC)' : '') : '-'}${
        'slots' in e && e.slots ? `  slots ${e.slots.map((s) => `${s.slot}:${s.outcome}`).join(' ')}` : ''
      }`,
    ]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const lines = rows.map((row) =>
    row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '),
  );
  const t = r.transaction;
  lines.push(
    `transaction: ${t.outcome}; elapsed ${us(t.elapsedUs)} µs, airtime ${us(t.airtimeUs)} µs, activation ${us(t.activationUs)} µs; ${t.exchanges} exchanges, ${t.attempts} attempts, ${t.retries} retries`,
  );
  return `${lines.join('\n')}\n`;
}

/** One waveform SVG per frame found on air; frames the encoder cannot redraw (a bad LEN) are skipped. */
function writeSvgs(dir: string, events: readonly WireEvent[], o: SimulateOptions): number {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  events.forEach((e) => {
    if (e.layer !== 'air' || e.lost || e.tech === undefined) return;
    const dirName = e.dir === 'tx' ? 'r2c' : 'c2r';
    try {
      const ro = parseRfOptions({
        tech: e.tech,
        dir: dirName,
        ...(e.tech === 'f' && o.rate ? { rate: o.rate } : {}),
      });
      let bytes = hexToBytes(e.hex);
      if (e.tech === 'f') bytes = bytes.subarray(0, bytes.length - 2);
      const f = prepareFrame(ro, bytes, 'no');
      const name = `${String(n).padStart(3, '0')}-${e.tech}-${dirName}.svg`;
      writeFileSync(join(dir, name), frameWaveformSvg(ro, f, `${name}: ${e.hex} at ${e.t.toFixed(2)} µs`));
      n++;
    } catch {
      // not redrawable on its own (a wrong LEN, a split anticollision answer): the pcap still has it
    }
  });
  return n;
}

async function openCards(
  o: SimulateOptions,
): Promise<{ opened: OpenedTarget[]; endpoints: RfCardEndpoint[] }> {
  const opened: OpenedTarget[] = [];
  const endpoints: RfCardEndpoint[] = [];
  for (const t of [o.target!, ...o.card]) {
    if (schemeOf(t).scheme === 'rf')
      throw new UsageError('--target and --card take sim: images; the rf options are flags here');
    const c = await openTarget(t);
    opened.push(c);
    if (!c.endpoint) {
      for (const x of opened) await x.close();
      throw new UsageError(`"${t}" is not an in-process card (give sim:<image> or an image path)`);
    }
    endpoints.push(c.endpoint);
  }
  return { opened, endpoints };
}

export function registerRfSimulate(rf: Command): void {
  rf.command('simulate')
    .description(
      'run one card transaction over the simulated air: activation, a script, a report (rf.md §13.3)',
    )
    .requiredOption('--target <target>', 'the card (sim:<image> or an image path)')
    .option('--card <image>', 'another card in the field (repeatable; collisions)', collect, [])
    .option('--script <file>', 'exchanges to run after activation (FILE or FILE#vector-id)')
    .option('--repeat <n>', 'run the transaction n times (seed, seed + 1, …)', '1')
    .option('--inject <E:F>', 'fault F on exchange E (repeatable)', collect, [])
    .option('--distance <m>', 'card distance in metres, one per card in order (repeatable)', collect, [])
    .option('--report <file>', 'write the JSON report (rf.md §8.7)')
    .option('--pcap <file>', 'write the frames as on air (.pcapng for pcapng)')
    .option('--jsonl <file>', 'write the JSONL trace (rf.md §11.1)')
    .option('--svg <dir>', 'write one waveform SVG per frame into this folder')
    .option('--pcap-epoch <s>', 'pcap timestamps start at this many seconds since 1970 (default 0)')
    .option('--tech <a|b|f|auto>', 'technology (auto: FeliCa scripts f, APDU scripts a)')
    .option('--rate <kbps>', 'Type F bit rate: 212 or 424')
    .option('--k <degree>', 'modulation degree reader→card')
    .option('--lm <depth>', 'load-modulation depth card→reader')
    .option('--spb <n>', 'samples per bit (Type F) or per etu (Type A/B)')
    .option('--snr <dB>', 'Eb/N0 in dB at the demodulators (default no noise)')
    .option('--sigma <s>', 'absolute noise σ instead of --snr')
    .option('--seed <n>', 'seed of the channel noise', '1')
    .option('--ppm <ppm>', 'transmitter clock offset')
    .option('--level <samples|chips>', 'simulation level')
    .option('--retries <n>', 'reader retries per exchange')
    .option('--cid <n>', 'ISO-DEP CID to request')
    .option('--fsd <bytes>', 'reader frame size')
    .option('--diff', 'Type F differential conversion (not FeliCa-compatible)')
    .option('--strict-timing', 'a late FeliCa answer counts as a timeout')
    .option('--json', 'print the report as JSON only')
    .addHelpText('after', EXAMPLE)
    .action(async (o: SimulateOptions) => {
      let base;
      try {
        base = parseRfQuery(rfQuery(o));
      } catch (e) {
        if (e instanceof RfOptionError) throw new UsageError(e.message.replace(/^rf option /, '--'));
        throw e;
      }
      const repeat = intArg(o.repeat ?? '1', '--repeat', 1, 100000);
      const epoch =
        o.pcapEpoch === undefined ? undefined : intArg(o.pcapEpoch, '--pcap-epoch', 0, 4294967295);
      const script: Script | undefined = o.script === undefined ? undefined : readScriptFile(o.script);
      const { opened, endpoints } = await openCards(o);
      const reports: RfReport[] = [];
      const problems: string[] = [];
      let recorder: TraceRecorder | undefined;
      try {
        for (let n = 0; n < repeat; n++) {
          recorder =
            o.pcap !== undefined || o.jsonl !== undefined || o.svg !== undefined
              ? new TraceRecorder(epoch)
              : undefined;
          const t = new RfTransport(endpoints, {
            ...base,
            seed: base.seed + n,
            ...(recorder ? { onWire: recorder.onWire } : {}),
          });
          try {
            if (script) {
              const run = await runScript(t, script);
              problems.push(...run.mismatches);
              if (run.error) problems.push(`transaction ${n + 1}: ${run.error.kind}: ${run.error.message}`);
            } else t.activate();
          } catch (e) {
            if (!(e instanceof Error && e.name === 'TransportError')) throw e;
            problems.push(`transaction ${n + 1}: ${e.message}`);
          } finally {
            await t.close();
          }
          reports.push(t.report());
        }
      } finally {
        for (const c of opened) await c.close();
      }
      const last = reports[reports.length - 1]!;
      if (o.report !== undefined)
        writeFileSync(o.report, `${JSON.stringify(repeat === 1 ? last : reports, null, 2)}\n`);
      if (recorder && o.svg !== undefined) writeSvgs(o.svg, recorder.events, o);
      if (recorder && (o.pcap !== undefined || o.jsonl !== undefined))
        recorder.write({ ...(o.pcap ? { pcap: o.pcap } : {}), ...(o.jsonl ? { jsonl: o.jsonl } : {}) }, true);
      if (o.json) process.stdout.write(`${JSON.stringify(repeat === 1 ? last : reports, null, 2)}\n`);
      else {
        process.stdout.write(reportText(last));
        if (repeat > 1) {
          const ok = reports.filter((r) => r.transaction.outcome === 'ok').length;
          process.stdout.write(`${repeat} transactions: ${ok} ok, ${repeat - ok} not ok\n`);
        }
      }
      // The first problem is the command's error line; any others go before it.
      for (const p of problems.slice(1)) process.stderr.write(`mica: ${p}\n`);
      if (problems.length > 0 || reports.some((r) => r.transaction.outcome !== 'ok'))
        throw new OperationError(problems[0] ?? `transaction outcome ${last.transaction.outcome}`);
    });
}
