// `mica rf ber` (rf.md §13.4, §9.5): a BER sweep over Eb/N0, printed as a table, and as CSV, JSON and SVG.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { theoryBer } from '@mica/card-os/rf/theory';
import { alignRows } from '../dump/dump-text';
import { UsageError } from '../cli-error';
import { progressBar } from '../progress';
import { BER_COLUMNS, berCsvLine, berPoint, type BerConfig, type BerRow } from './ber';
import { numberArg, parseRfOptions, withRfOptions, type RawRfOptions } from './options';
import { berSvg } from './svg';

interface BerOptions extends RawRfOptions {
  from?: string;
  to?: string;
  step?: string;
  bits?: string;
  minErrors?: string;
  maxBits?: string;
  payload?: string;
  idealSync?: boolean;
  csv?: string;
  svg?: string;
}

const EXAMPLE = `
Examples:
  mica rf ber --tech f --dir c2r --from 0 --to 12 --step 1
  mica rf ber --tech f --dir c2r --spb 8 --from 0 --to 6 --step 2 --ideal-sync --csv ber.csv --svg ber.svg
  mica rf ber --tech a --dir c2r --from 10 --to 16 --step 2 --bits 20000 --json

Columns: snr_db,frames,bits,bit_errors,ber,ber_theory,frames_lost,frames_crc_fail,fer (rf.md §9.5).
`;

function micaVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function intOpt(text: string | undefined, fallback: number, what: string, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = numberArg(text, what, min, max);
  if (!Number.isInteger(n)) throw new UsageError(`${what} must be an integer, got "${text}"`);
  return n;
}

export function registerRfBer(rf: Command): void {
  withRfOptions(rf.command('ber').description('measure the bit-error rate over an Eb/N0 sweep (rf.md §9.5)'))
    .option('--from <dB>', 'first Eb/N0 point', '0')
    .option('--to <dB>', 'last Eb/N0 point', '12')
    .option('--step <dB>', 'step between points', '1')
    .option('--bits <n>', 'bits per point at least', '200000')
    .option('--min-errors <n>', 'errors per point at least', '100')
    .option('--max-bits <n>', 'stop a point after this many bits', '10000000')
    .option('--payload <n>', 'data bytes per frame', '32')
    .option('--ideal-sync', 'give the receiver the true timing and polarity')
    .option('--csv <file>', 'write the table as CSV')
    .option('--svg <file>', 'write the BER curve as SVG')
    .addHelpText('after', EXAMPLE)
    .action((raw: BerOptions) => {
      const o = parseRfOptions(raw);
      const from = numberArg(raw.from ?? '0', '--from', -20, 60);
      const to = numberArg(raw.to ?? '12', '--to', -20, 60);
      const step = numberArg(raw.step ?? '1', '--step', 0.01, 80);
      if (to < from) throw new UsageError(`--to (${to}) must not be below --from (${from})`);
      const points: number[] = [];
      for (let i = 0; from + i * step <= to + 1e-9; i++)
        points.push(Math.round((from + i * step) * 1e6) / 1e6);
      if (points.length > 200)
        throw new UsageError(`the sweep has ${points.length} points; at most 200 are allowed`);
      const maxBits = intOpt(raw.maxBits, 10_000_000, '--max-bits', 1, 1e10);
      const cfg: BerConfig = {
        o,
        snrPoints: points,
        bits: Math.min(intOpt(raw.bits, 200_000, '--bits', 1, 1e10), maxBits),
        minErrors: intOpt(raw.minErrors, 100, '--min-errors', 0, 1e9),
        maxBits,
        payload: intOpt(raw.payload, 32, '--payload', 1, o.tech === 'f' ? 253 : 254),
        idealSync: raw.idealSync ?? false,
      };
      const bar = o.json ? undefined : progressBar('Eb/N0 points');
      const rows: BerRow[] = [];
      points.forEach((snr, i) => {
        rows.push(berPoint(cfg, snr, (spent) => bar?.update(i * maxBits + spent, points.length * maxBits)));
        bar?.update((i + 1) * maxBits, points.length * maxBits);
      });
      bar?.stop();
      const title = `Type ${o.tech.toUpperCase()} ${o.dir} ${o.rate} kbps, spb ${o.spb}, seed ${o.seed}${o.diff ? ', diff' : ''}${cfg.idealSync ? ', ideal sync' : ''} (mica ${micaVersion()})`;
      const csv = [BER_COLUMNS, ...rows.map(berCsvLine)].join('\n') + '\n';
      if (raw.csv !== undefined) writeFileSync(raw.csv, csv);
      if (raw.svg !== undefined)
        writeFileSync(
          raw.svg,
          berSvg(
            title,
            rows.map((r) => ({ snrDb: r.snrDb, bits: r.bits, bitErrors: r.bitErrors, theory: r.berTheory })),
            o.tech === 'a' ? undefined : (v) => theoryBer(o.tech, v, o.diff),
          ),
        );
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ title, rows }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${title}\n`);
      const table = [BER_COLUMNS.split(','), ...rows.map((r) => berCsvLine(r).split(','))];
      process.stdout.write(`${alignRows(table).join('\n')}\n`);
    });
}
