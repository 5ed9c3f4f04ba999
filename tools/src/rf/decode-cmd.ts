// `mica rf decode` (rf.md §13.2): samples (L4), a chip string (L2) or bytes (L1) upwards to a DecodedFrame.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { isFrameError } from '@mica/apdu-specs/rf/frame-error';
import { crcBOk } from '@mica/apdu-specs/rf/type-b';
import { parseFelicaAfterSync } from '@mica/apdu-specs/rf/type-f';
import { decodeFelicaFrame } from '@mica/apdu-specs/felica-frame';
import { codeFor, decodeFrameChips, encodeFrame, frameBits } from '@mica/card-os/rf/air-frame';
import { streamFromString } from '@mica/card-os/rf/chips';
import { SPB_LIMITS } from '@mica/card-os/rf/channel';
import { typeACrc, type DecodedFrame } from '@mica/card-os/rf/decoded-frame';
import { demodulate, type Received } from '@mica/card-os/rf/demod';
import { manchesterChipFc } from '@mica/card-os/rf/manchester';
import { fcToUs } from '@mica/card-os/rf/timing';
import { hexArg, intArg } from '../args';
import { OperationError, UsageError } from '../cli-error';
import { spaced, windowArg } from './encode-cmd';
import { frameFields } from './frame-input';
import { waveformSvg } from './svg';
import { parseRfOptions, techName, withRfOptions, type RawRfOptions, type RfOptions } from './options';

interface DecodeOptions extends RawRfOptions {
  in?: string;
  svg?: string;
  window?: string;
  chips?: string;
  firstBit?: string;
  polarityDetection?: boolean;
}

const EXAMPLE = `
Examples:
  mica rf decode --tech f --dir c2r --in frame.f32 --spb 8
  mica rf decode --tech a --dir r2c --chips 1000100000100010000010000010000010000000
  mica rf decode --tech f --dir r2c 0600ffff01003a10

Exit status 0 when a frame with a good CRC (or no CRC by design) was found, 1 otherwise.
`;

/** Samples from a file: JSON { tech, dir, rateKbps, spb, samples } or raw little-endian Float32. */
function readSamples(path: string, o: RfOptions): { o: RfOptions; samples: Float32Array } {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new OperationError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (path.endsWith('.json')) {
    let j: unknown;
    try {
      j = JSON.parse(data.toString('utf8'));
    } catch {
      throw new UsageError(`${path} is not JSON`);
    }
    const r = j as { tech?: unknown; dir?: unknown; rateKbps?: unknown; spb?: unknown; samples?: unknown };
    if (!Array.isArray(r.samples) || !r.samples.every((v) => typeof v === 'number'))
      throw new UsageError(`${path} needs a "samples" array of numbers`);
    const merged = parseRfOptions({
      tech: typeof r.tech === 'string' ? r.tech : o.tech,
      dir: typeof r.dir === 'string' ? r.dir : o.dir,
      rate: String(typeof r.rateKbps === 'number' ? r.rateKbps : o.rate),
      spb: String(typeof r.spb === 'number' ? r.spb : o.spb),
      json: o.json,
    });
    return {
      o: { ...o, ...merged, json: o.json, diff: o.diff },
      samples: Float32Array.from(r.samples as number[]),
    };
  }
  if (data.length % 4 !== 0)
    throw new UsageError(`${path} is not a whole number of Float32 samples (${data.length} bytes)`);
  const samples = new Float32Array(data.length / 4);
  for (let i = 0; i < samples.length; i++) samples[i] = data.readFloatLE(i * 4);
  return { o, samples };
}

/** L1 only: the bytes as on air (Type F: the whole frame, or LEN..CRC after the sync). */
function decodeBytes(o: RfOptions, b: Uint8Array): DecodedFrame {
  const base = {
    tech: o.tech,
    dir: o.dir,
    bitsInLastByte: 8,
    parityErrors: [],
    collisions: [],
    polarity: 'normal' as const,
    startFc: 0,
    endFc: 0,
  };
  if (o.tech === 'f') {
    let p = 0;
    while (p < b.length && b[p] === 0) p++;
    if (p >= 6 && b[p] === 0xb2 && b[p + 1] === 0x4d) {
      const d = decodeFelicaFrame(b);
      const after = b.subarray(p + 2);
      if (!d.ok && d.error !== 'crc')
        return {
          ...base,
          outcome: d.error === 'length' ? 'bad-length' : 'no-sync',
          bytes: after,
          crc: 'none',
        };
    }
    const after = p >= 6 && b[p] === 0xb2 && b[p + 1] === 0x4d ? b.subarray(p + 2) : b;
    const r = parseFelicaAfterSync(after);
    if (isFrameError(r))
      return {
        ...base,
        outcome: r.error === 'bad-length' ? 'bad-length' : 'truncated',
        bytes: after,
        crc: 'none',
      };
    return {
      ...base,
      outcome: 'ok',
      bytes: after.slice(0, r.payload.length + 2),
      crc: r.crcOk ? 'ok' : 'bad',
    };
  }
  if (o.tech === 'a') return { ...base, outcome: 'ok', bytes: b, crc: typeACrc(o.dir, b, 8, 0) };
  return { ...base, outcome: 'ok', bytes: b, crc: b.length >= 3 ? (crcBOk(b) ? 'ok' : 'bad') : 'none' };
}

export function decodedJson(d: DecodedFrame): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...d,
    bytes: bytesToHex(d.bytes),
    startUs: fcToUs(d.startFc),
    endUs: fcToUs(d.endFc),
  };
  delete out['codedBits'];
  return out;
}

/**
 * The waveform of a decoded frame: the received samples, and the decided frame coded again as bits and
 * chips at the place the receiver found it (its decisions), with the decoded bytes and the frame limits.
 */
function decodedSvg(o: RfOptions, d: DecodedFrame, rx: Received, window?: readonly [number, number]): string {
  const bitFc = o.tech === 'f' ? (o.rate === 424 ? 32 : 64) : 128;
  const label = `${d.outcome}, CRC ${d.crc}: ${d.bytes.length > 0 ? spaced(d.bytes) : '-'}`;
  const ok = d.outcome === 'ok' && d.bytes.length >= (o.tech === 'f' ? 4 : 1);
  const bytes = o.tech === 'f' && ok ? d.bytes.subarray(0, d.bytes.length - 2) : d.bytes;
  const air = d.bitsInLastByte !== 8 ? { validBitsInLastByte: d.bitsInLastByte } : {};
  const stream = ok
    ? encodeFrame(o.tech, o.dir, bytes, { ...air, ...(o.rate === 424 ? { rate: 424 as const } : {}) })
    : undefined;
  const lead = o.tech === 'f' ? 48 * bitFc : o.tech === 'b' && o.dir === 'c2r' ? 10 * bitFc : 0;
  const start = d.startFc - lead;
  const end = rx.t0Fc + rx.samples.length * rx.tsFc;
  return waveformSvg({
    title: `${techName(o)}: decoded ${label}`,
    bitFc,
    bitsStartFc: start + (o.tech === 'a' ? bitFc : 0),
    bits: stream ? frameBits(o.tech, o.dir, bytes, air) : new Uint8Array(0),
    fields: stream ? frameFields(o, { bytes, air, kind: '', crcAdded: d.crc === 'ok' }) : [],
    stream: stream ?? { code: codeFor(o.tech, o.dir), chipFc: bitFc, length: 0, value: new Uint8Array(0) },
    streamStartFc: start,
    received: rx,
    decoded: { startFc: d.startFc, endFc: d.endFc, label },
    windowFc: window ?? [rx.t0Fc, end],
  });
}

export function printDecoded(d: DecodedFrame, o: RfOptions): void {
  const lines: [string, string][] = [
    ['frame', techName(o)],
    ['outcome', d.outcome],
    ['bytes', d.bytes.length > 0 ? spaced(d.bytes) : '-'],
    ['crc', d.crc],
    ['polarity', d.polarity],
  ];
  if (d.bitsInLastByte !== 8) lines.push(['last byte', `${d.bitsInLastByte} bits`]);
  if (d.parityErrors.length > 0) lines.push(['parity', `errors in bytes ${d.parityErrors.join(', ')}`]);
  if (d.collisions.length > 0) lines.push(['collisions', `data bits ${d.collisions.join(', ')}`]);
  if (d.startFc !== 0 || d.endFc !== 0)
    lines.push(['time', `${fcToUs(d.startFc).toFixed(2)} .. ${fcToUs(d.endFc).toFixed(2)} µs`]);
  if (d.lastPauseEndFc !== undefined)
    lines.push(['last pause', `ends at ${fcToUs(d.lastPauseEndFc).toFixed(2)} µs`]);
  if (d.snrEstimateDb !== undefined) lines.push(['snr', `${d.snrEstimateDb.toFixed(1)} dB (estimate)`]);
  for (const [k, v] of lines) process.stdout.write(`${k.padEnd(10)} ${v}\n`);
}

export function registerRfDecode(rf: Command): void {
  withRfOptions(
    rf
      .command('decode [hex]')
      .description('decode samples, chips or bytes upwards and print the frame (rf.md §13.2)'),
  )
    .option(
      '--in <file>',
      'samples: .json from `rf encode --format json`, otherwise raw Float32 little-endian',
    )
    .option('--svg <file>', 'with --in: write the received samples and the decisions as SVG')
    .option('--window <from:to>', 'SVG time window in µs')
    .option('--chips <string>', 'a chip string (0/1) of the direction’s line code')
    .option('--first-bit <n>', 'Type A: bits of a split first byte the reader already sent')
    .option('--no-polarity-detection', 'Type F: do not search the inverted sync word')
    .addHelpText('after', EXAMPLE)
    .action((hex: string | undefined, raw: DecodeOptions) => {
      let o = parseRfOptions(raw);
      const inputs = [raw.in, raw.chips, hex].filter((v) => v !== undefined).length;
      if (inputs !== 1) throw new UsageError('give exactly one of --in FILE, --chips STRING or HEX');
      const firstBit = raw.firstBit === undefined ? undefined : intArg(raw.firstBit, '--first-bit', 0, 7);
      let d: DecodedFrame;
      if (raw.in !== undefined) {
        const r = readSamples(raw.in, o);
        o = r.o;
        const code = codeFor(o.tech, o.dir);
        if (o.spb < SPB_LIMITS[code].min)
          throw new UsageError(`--spb must be at least ${SPB_LIMITS[code].min} for ${code}`);
        const bitFc = o.tech === 'f' ? (o.rate === 424 ? 32 : 64) : 128;
        const rx = { samples: r.samples, t0Fc: 0, tsFc: bitFc / o.spb, spb: o.spb };
        d = demodulate(rx, o.tech, o.dir, {
          ...(o.diff ? { diff: true } : {}),
          ...(raw.polarityDetection === false ? { polarityDetection: false } : {}),
          ...(firstBit !== undefined ? { firstBit } : {}),
        });
        if (raw.svg !== undefined) writeFileSync(raw.svg, decodedSvg(o, d, rx, windowArg(raw.window)));
      } else if (raw.chips !== undefined) {
        const code = codeFor(o.tech, o.dir);
        const chipFc =
          code === 'manchester-f'
            ? manchesterChipFc(o.rate === 424 ? 424 : 212)
            : { 'miller-a': 32, 'ook-sc-a': 64, 'nrz-b': 128, 'bpsk-sc-b': 128 }[code];
        let stream;
        try {
          stream = streamFromString(code, chipFc, raw.chips);
        } catch (e) {
          throw new UsageError(`--chips: ${(e as Error).message}`);
        }
        d = decodeFrameChips(o.tech, o.dir, stream, {
          ...(o.diff ? { diff: true } : {}),
          ...(raw.polarityDetection === false ? { polarityDetection: false } : {}),
          ...(firstBit !== undefined ? { firstBit } : {}),
        });
      } else {
        d = decodeBytes(o, hexArg(hex ?? '', 'HEX'));
      }
      if (o.json) process.stdout.write(`${JSON.stringify(decodedJson(d), null, 2)}\n`);
      else printDecoded(d, o);
      if (d.outcome !== 'ok' || d.crc === 'bad') {
        process.stderr.write(
          `mica: no frame with a good CRC was found (outcome ${d.outcome}, CRC ${d.crc}).\n`,
        );
        process.exitCode = 1;
      }
    });
}
