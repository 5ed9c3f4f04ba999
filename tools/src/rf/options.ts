// The options shared by the `mica rf` subcommands (rf.md §13): parsing, checking and defaults.
import type { Command } from 'commander';
import { codeFor, type Dir, type Tech } from '@mica/card-os/rf/air-frame';
import { SPB_LIMITS } from '@mica/card-os/rf/channel';
import { DEFAULT_LM, defaultK } from '@mica/card-os/rf/link';
import { UsageError } from '../cli-error';

export interface RawRfOptions {
  tech?: string;
  dir?: string;
  rate?: string;
  k?: string;
  lm?: string;
  v10?: string;
  spb?: string;
  snr?: string;
  sigma?: string;
  seed?: string;
  ppm?: string;
  diff?: boolean;
  json?: boolean;
}

export interface RfOptions {
  readonly tech: Tech;
  readonly dir: Dir;
  /** 106 for Type A/B, 212 or 424 for Type F. */
  readonly rate: 106 | 212 | 424;
  readonly k: number;
  readonly lm: number;
  readonly v10: number;
  readonly spb: number;
  readonly snrDb: number | undefined;
  readonly sigma: number | undefined;
  readonly seed: number;
  readonly ppm: number;
  readonly diff: boolean;
  readonly json: boolean;
}

/** Adds the shared options to a subcommand. */
export function withRfOptions(cmd: Command): Command {
  return cmd
    .option('--tech <a|b|f>', 'technology: ISO 14443 Type A or B, or Type F (FeliCa)', 'f')
    .option('--dir <r2c|c2r>', 'direction: reader→card or card→reader', 'r2c')
    .option('--rate <kbps>', 'bit rate: 212 or 424 for Type F, 106 for Type A/B')
    .option('--k <degree>', 'modulation degree reader→card (default 0.1 for F and B, 1.0 for A)')
    .option('--lm <depth>', 'load-modulation depth card→reader', String(DEFAULT_LM))
    .option('--v10 <volts>', 'unmodulated amplitude V10 at the card', '1')
    .option('--spb <n>', 'samples per bit (Type F) or per etu (Type A/B)')
    .option('--snr <dB>', 'Eb/N0 in dB at the demodulator input')
    .option('--sigma <s>', 'absolute noise standard deviation (units of V10), instead of --snr')
    .option('--seed <n>', 'seed of the channel generator', '1')
    .option('--ppm <ppm>', 'transmitter clock offset in parts per million', '0')
    .option('--diff', 'Type F differential conversion (not FeliCa-compatible)')
    .option('--json', 'print machine-readable JSON only');
}

export function numberArg(text: string, what: string, min: number, max: number): number {
  const t = text.trim();
  const n = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`${what} must be a number from ${min} to ${max}, got "${text}"`);
  return n;
}

function intIn(text: string, what: string, min: number, max: number): number {
  const n = numberArg(text, what, min, max);
  if (!Number.isInteger(n)) throw new UsageError(`${what} must be an integer, got "${text}"`);
  return n;
}

export function parseRfOptions(o: RawRfOptions): RfOptions {
  const tech = o.tech ?? 'f';
  if (tech !== 'a' && tech !== 'b' && tech !== 'f')
    throw new UsageError(`--tech must be a, b or f, got "${tech}"`);
  const dir = o.dir ?? 'r2c';
  if (dir !== 'r2c' && dir !== 'c2r') throw new UsageError(`--dir must be r2c or c2r, got "${dir}"`);
  const rate = o.rate === undefined ? (tech === 'f' ? 212 : 106) : intIn(o.rate, '--rate', 106, 424);
  if (tech === 'f' ? rate !== 212 && rate !== 424 : rate !== 106)
    throw new UsageError(
      `--rate must be ${tech === 'f' ? '212 or 424' : '106'} for Type ${tech.toUpperCase()}, got ${rate}`,
    );
  const code = codeFor(tech, dir);
  const lim = SPB_LIMITS[code];
  const spb = o.spb === undefined ? lim.default : intIn(o.spb, '--spb', 1, 4096);
  if (spb < lim.min) throw new UsageError(`--spb must be at least ${lim.min} for ${code}, got ${spb}`);
  if (o.snr !== undefined && o.sigma !== undefined) throw new UsageError('give --snr or --sigma, not both');
  if (o.diff && tech !== 'f') throw new UsageError('--diff exists only for Type F');
  return {
    tech,
    dir,
    rate: rate as 106 | 212 | 424,
    k: o.k === undefined ? defaultK(tech) : numberArg(o.k, '--k', 0, 1),
    lm: numberArg(o.lm ?? String(DEFAULT_LM), '--lm', 0, 1),
    v10: numberArg(o.v10 ?? '1', '--v10', 0, 1000),
    spb,
    snrDb: o.snr === undefined ? undefined : numberArg(o.snr, '--snr', -20, 60),
    sigma: o.sigma === undefined ? undefined : numberArg(o.sigma, '--sigma', 0, 100),
    seed: intIn(o.seed ?? '1', '--seed', 0, Number.MAX_SAFE_INTEGER),
    ppm: numberArg(o.ppm ?? '0', '--ppm', -10000, 10000),
    diff: o.diff ?? false,
    json: o.json ?? false,
  };
}

export function techName(o: Pick<RfOptions, 'tech' | 'dir' | 'rate'>): string {
  const t = o.tech === 'f' ? 'Type F' : `Type ${o.tech.toUpperCase()}`;
  return `${t}, ${o.dir === 'r2c' ? 'reader→card' : 'card→reader'}, ${o.rate} kbps`;
}
