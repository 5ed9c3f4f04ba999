// The options of the `rf:` transport (rf.md §10.1): parsed from `rf:<inner>?key=value&…` or given to
// `new RfTransport(endpoint, options)` under the same names. An unknown key or an out-of-range value is an
// RfOptionError naming it, never silently ignored.

export type RfTech = 'a' | 'b' | 'f';

export type FaultKind = 'crc' | 'bit' | 'chip' | 'drop' | 'late' | 'invert';

/** A fault injected into one exchange's first attempt (rf.md §9.4). */
export interface Fault {
  /** The exchange index of the report (activation exchanges count). */
  readonly exchange: number;
  readonly kind: FaultKind;
  /** bit and chip: the index; late: µs. */
  readonly value?: number;
}

export interface RfTransportOptions {
  readonly tech: RfTech | 'auto';
  /** Type F bit rate; Type A/B always 106. */
  readonly rate: 212 | 424;
  /** Modulation degree reader→card; undefined = 0.1 (F, B) or 1.0 (A). */
  readonly k: number | undefined;
  readonly lm: number;
  /** Eb/N0 in dB per direction; undefined = no noise. */
  readonly snrR2c: number | undefined;
  readonly snrC2r: number | undefined;
  readonly sigma: number | undefined;
  /** Samples per bit/etu per direction; undefined = the code's default. */
  readonly spbR2c: number | undefined;
  readonly spbC2r: number | undefined;
  readonly level: 'samples' | 'chips';
  readonly seed: number;
  readonly ppm: number;
  /** Metres per card (rf.md §6.7); empty = the distance model is off. */
  readonly distance: readonly number[];
  readonly retries: number;
  readonly marginUs: number;
  readonly strictTiming: boolean;
  readonly cid: number | undefined;
  readonly fsd: number;
  readonly diff: boolean;
  readonly inject: readonly Fault[];
  readonly report: string | undefined;
  readonly pcap: string | undefined;
  readonly trace: string | undefined;
}

export const RF_DEFAULTS: RfTransportOptions = Object.freeze({
  tech: 'auto',
  rate: 212,
  k: undefined,
  lm: 0.1,
  snrR2c: undefined,
  snrC2r: undefined,
  sigma: undefined,
  spbR2c: undefined,
  spbC2r: undefined,
  level: 'samples',
  seed: 1,
  ppm: 0,
  distance: [],
  retries: 2,
  marginUs: 1000,
  strictTiming: false,
  cid: undefined,
  fsd: 256,
  diff: false,
  inject: [],
  report: undefined,
  pcap: undefined,
  trace: undefined,
});

export class RfOptionError extends RangeError {
  override readonly name = 'RfOptionError';
}

const KEYS = [
  'tech',
  'rate',
  'k',
  'lm',
  'snr',
  'snrR2c',
  'snrC2r',
  'sigma',
  'spb',
  'spbR2c',
  'spbC2r',
  'level',
  'seed',
  'ppm',
  'distance',
  'retries',
  'margin',
  'strictTiming',
  'cid',
  'fsd',
  'diff',
  'inject',
  'report',
  'pcap',
  'trace',
] as const;

function num(key: string, text: string, min: number, max: number, integer = false): number {
  const t = text.trim();
  const n = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
    throw new RfOptionError(
      `rf option ${key} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${text}"`,
    );
  return n;
}

function flag(key: string, text: string): boolean {
  if (text === '1' || text === 'true' || text === '') return true;
  if (text === '0' || text === 'false') return false;
  throw new RfOptionError(`rf option ${key} must be 0 or 1, got "${text}"`);
}

function snr(key: string, text: string): number | undefined {
  return text === 'none' ? undefined : num(key, text, -20, 60);
}

/** `<exchange>:<fault>[,…]`, fault = crc | bit:<n> | chip:<n> | drop | late:<µs> | invert. */
export function parseFaults(text: string): Fault[] {
  if (text.trim() === '') return [];
  return text.split(',').map((item) => {
    const m = /^(\d+):(crc|drop|invert|bit:(\d+)|chip:(\d+)|late:(\d+(?:\.\d+)?))$/.exec(item.trim());
    if (!m)
      throw new RfOptionError(
        `rf option inject: "${item}" is not <exchange>:<fault> with fault crc, bit:<n>, chip:<n>, drop, late:<µs> or invert`,
      );
    const exchange = Number(m[1]);
    const kind = m[2]!.split(':')[0] as FaultKind;
    const value = m[3] ?? m[4] ?? m[5];
    return value === undefined ? { exchange, kind } : { exchange, kind, value: Number(value) };
  });
}

/** Checks and completes options given in code (the SDK form). */
export function rfOptions(given: Partial<RfTransportOptions> = {}): RfTransportOptions {
  const o = { ...RF_DEFAULTS, ...given };
  if (!['a', 'b', 'f', 'auto'].includes(o.tech))
    throw new RfOptionError(`rf option tech must be a, b, f or auto, got "${o.tech}"`);
  if (o.rate !== 212 && o.rate !== 424)
    throw new RfOptionError(`rf option rate must be 212 or 424 for Type F, got ${String(o.rate)}`);
  if (o.diff && o.tech !== 'f' && o.tech !== 'auto')
    throw new RfOptionError('rf option diff exists only for Type F');
  if (o.sigma !== undefined && (o.snrR2c !== undefined || o.snrC2r !== undefined))
    throw new RfOptionError('give rf option snr or sigma, not both');
  if (o.fsd < 16 || o.fsd > 256 || !Number.isInteger(o.fsd))
    throw new RfOptionError(`rf option fsd must be an integer from 16 to 256, got ${o.fsd}`);
  return o;
}

/** Parses the query part of an `rf:` target (`key=value&…`, without the `?`). */
export function parseRfQuery(query: string): RfTransportOptions {
  const o: { -readonly [K in keyof RfTransportOptions]?: RfTransportOptions[K] } = {};
  const seen = new Set<string>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const value = decodeURIComponent(eq < 0 ? '' : part.slice(eq + 1));
    if (!(KEYS as readonly string[]).includes(key))
      throw new RfOptionError(`unknown rf option "${key}" (known: ${KEYS.join(', ')})`);
    if (seen.has(key)) throw new RfOptionError(`rf option ${key} given twice`);
    seen.add(key);
    switch (key as (typeof KEYS)[number]) {
      case 'tech':
        if (!['a', 'b', 'f', 'auto'].includes(value))
          throw new RfOptionError(`rf option tech must be a, b, f or auto, got "${value}"`);
        o.tech = value as RfTech | 'auto';
        break;
      case 'rate': {
        const r = num(key, value, 106, 424, true);
        if (r !== 106 && r !== 212 && r !== 424)
          throw new RfOptionError(`rf option rate must be 106 (Type A/B), 212 or 424 (Type F), got ${r}`);
        if (r !== 106) o.rate = r;
        break;
      }
      case 'k':
        o.k = num(key, value, 0, 1);
        break;
      case 'lm':
        o.lm = num(key, value, 0, 1);
        break;
      case 'snr':
        o.snrR2c = o.snrR2c ?? snr(key, value);
        o.snrC2r = o.snrC2r ?? snr(key, value);
        break;
      case 'snrR2c':
        o.snrR2c = snr(key, value);
        break;
      case 'snrC2r':
        o.snrC2r = snr(key, value);
        break;
      case 'sigma':
        o.sigma = num(key, value, 0, 100);
        break;
      case 'spb':
        o.spbR2c = o.spbR2c ?? num(key, value, 1, 4096, true);
        o.spbC2r = o.spbC2r ?? num(key, value, 1, 4096, true);
        break;
      case 'spbR2c':
        o.spbR2c = num(key, value, 1, 4096, true);
        break;
      case 'spbC2r':
        o.spbC2r = num(key, value, 1, 4096, true);
        break;
      case 'level':
        if (value !== 'samples' && value !== 'chips')
          throw new RfOptionError(`rf option level must be samples or chips, got "${value}"`);
        o.level = value;
        break;
      case 'seed':
        o.seed = num(key, value, 0, Number.MAX_SAFE_INTEGER, true);
        break;
      case 'ppm':
        o.ppm = num(key, value, -10000, 10000);
        break;
      case 'distance':
        o.distance = value.split(',').map((d) => num(key, d, 0, 10));
        break;
      case 'retries':
        o.retries = num(key, value, 0, 100, true);
        break;
      case 'margin':
        o.marginUs = num(key, value, 0, 1e7);
        break;
      case 'strictTiming':
        o.strictTiming = flag(key, value);
        break;
      case 'cid':
        o.cid = num(key, value, 0, 14, true);
        break;
      case 'fsd':
        o.fsd = num(key, value, 16, 256, true);
        break;
      case 'diff':
        o.diff = flag(key, value);
        break;
      case 'inject':
        o.inject = parseFaults(value);
        break;
      case 'report':
      case 'pcap':
      case 'trace':
        if (value === '') throw new RfOptionError(`rf option ${key} needs a file path`);
        o[key as 'report' | 'pcap' | 'trace'] = value;
        break;
    }
  }
  // "snr" set both directions only where no per-direction key was given; a later per-direction key wins.
  return rfOptions(o);
}

/** Splits the part after `rf:` into the inner target and the options (after the last `?`). */
export function splitRfTarget(rest: string): { inner: string; query: string } {
  const q = rest.lastIndexOf('?');
  return q < 0 ? { inner: rest, query: '' } : { inner: rest.slice(0, q), query: rest.slice(q + 1) };
}
