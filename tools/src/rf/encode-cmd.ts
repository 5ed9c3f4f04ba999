// `mica rf encode` (rf.md §13.1): a frame through L1, L2 and optionally L3, printed, as SVG, or as samples.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { bitsToString } from '@mica/apdu-specs/rf/bits';
import { typeABitCount } from '@mica/apdu-specs/rf/type-a';
import { felicaFrame } from '@mica/apdu-specs/rf/type-f';
import { codeFor, encodeFrame, frameBits } from '@mica/card-os/rf/air-frame';
import { rectify } from '@mica/card-os/rf/channel';
import { chipString } from '@mica/card-os/rf/chips';
import { sequencesOf } from '@mica/card-os/rf/line-code';
import { transmitStream } from '@mica/card-os/rf/link';
import { RfRandom, RF_STREAM } from '@mica/card-os/rf/prng';
import { fcToUs, felicaAirtimeFc, typeAAirtimeFc, typeBAirtimeFc } from '@mica/card-os/rf/timing';
import { hexArg } from '../args';
import { UsageError } from '../cli-error';
import { frameFields, prepareFrame, type CrcMode, type PreparedFrame } from './frame-input';
import {
  numberArg,
  parseRfOptions,
  techName,
  withRfOptions,
  type RawRfOptions,
  type RfOptions,
} from './options';
import { waveformSvg } from './svg';

interface EncodeOptions extends RawRfOptions {
  level?: string;
  crc?: string;
  full?: boolean;
  rectified?: boolean;
  vf?: string;
  svg?: string;
  window?: string;
  out?: string;
  format?: string;
}

const EXAMPLE = `
Examples:
  mica rf encode --tech f --dir r2c 0600ffff0100
  mica rf encode --tech a --dir r2c 26
  mica rf encode --tech b --dir r2c 050000 --svg reqb.svg
  mica rf encode --tech f --dir r2c --k 0.05 --v10 3 --vf 0.7 --rectified 0600ffff0100
  mica rf encode --tech f --dir c2r --level samples --snr 12 --out frame.f32 --format f32 0600ffff0100

HEX is LEN ‖ data for Type F (preamble, sync and CRC are added) and the frame bytes for
Type A and B; --crc auto adds CRC_A/CRC_B where the frame type carries one (rf.md §4.2).
`;

export function airtimeFcOf(o: RfOptions, f: PreparedFrame): number {
  if (o.tech === 'f') return felicaAirtimeFc(f.bytes.length, o.rate as 212 | 424);
  if (o.tech === 'a') {
    const v = f.air.validBitsInLastByte;
    return typeAAirtimeFc(
      typeABitCount(v === undefined ? { bytes: f.bytes } : { bytes: f.bytes, validBitsInLastByte: v }),
    );
  }
  return typeBAirtimeFc(o.dir, f.bytes.length);
}

/** `FROM:TO` in µs → carrier cycles. */
export function windowArg(text: string | undefined): readonly [number, number] | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*([\d.]+)\s*:\s*([\d.]+)\s*$/.exec(text);
  const a = m ? Number(m[1]) : NaN;
  const b = m ? Number(m[2]) : NaN;
  if (!(a >= 0 && b > a))
    throw new UsageError(`--window must be FROM:TO in µs with FROM < TO, got "${text}"`);
  return [(a * 13.56e6) / 1e6, (b * 13.56e6) / 1e6];
}

export function registerRfEncode(rf: Command): void {
  withRfOptions(
    rf
      .command('encode <hex>')
      .description('code one frame: bytes, bits, chips, airtime, samples (rf.md §13.1)'),
  )
    .option('--level <frame|chips|samples>', 'how far down to go', 'chips')
    .option('--crc <auto|yes|no>', 'append CRC_A/CRC_B (Type A/B)', 'auto')
    .option('--full', 'print every chip (default: the first 256)')
    .option('--rectified', 'print the rectified levels VHR, VLR and the data swing (reader→card)')
    .option('--vf <volts>', 'diode drop of the rectifier', '0.7')
    .option('--svg <file>', 'write the waveform as SVG')
    .option('--window <from:to>', 'SVG time window in µs')
    .option('--out <file>', 'write the samples (implies --level samples)')
    .option('--format <f32|json>', 'sample file format: raw little-endian Float32 or JSON')
    .addHelpText('after', EXAMPLE)
    .action((hex: string, raw: EncodeOptions) => {
      const o = parseRfOptions(raw);
      const crc = raw.crc ?? 'auto';
      if (crc !== 'auto' && crc !== 'yes' && crc !== 'no')
        throw new UsageError(`--crc must be auto, yes or no, got "${crc}"`);
      const level = raw.out !== undefined ? 'samples' : (raw.level ?? 'chips');
      if (level !== 'frame' && level !== 'chips' && level !== 'samples')
        throw new UsageError(`--level must be frame, chips or samples, got "${level}"`);
      const format = raw.format ?? (raw.out?.endsWith('.json') ? 'json' : 'f32');
      if (format !== 'f32' && format !== 'json')
        throw new UsageError(`--format must be f32 or json, got "${format}"`);
      if (raw.rectified && o.dir !== 'r2c')
        throw new UsageError('--rectified applies to the reader→card envelope (--dir r2c)');
      const window = windowArg(raw.window);
      const f = prepareFrame(o, hexArg(hex, 'HEX'), crc as CrcMode);
      const bits = frameBits(o.tech, o.dir, f.bytes, f.air);
      const stream = encodeFrame(o.tech, o.dir, f.bytes, f.air);
      const airtimeFc = airtimeFcOf(o, f);
      const onAir = o.tech === 'f' ? felicaFrame(f.bytes) : f.bytes;
      const seq = o.tech === 'a' ? sequencesOf(stream) : undefined;
      const maxChips = raw.full ? Infinity : 256;
      const rect = raw.rectified
        ? rectify({ v10: o.v10, k: o.k, vf: numberArg(raw.vf ?? '0.7', '--vf', 0, 100) })
        : undefined;
      const needSamples = level === 'samples' || raw.svg !== undefined;
      const channel = {
        spb: o.spb,
        k: o.k,
        lm: o.lm,
        v10: o.v10,
        ppm: o.ppm,
      };
      const clean = needSamples ? transmitStream(stream, o.tech, o.dir, channel) : undefined;
      const noisy =
        needSamples && (o.snrDb !== undefined || o.sigma !== undefined)
          ? transmitStream(stream, o.tech, o.dir, {
              ...channel,
              ...(o.snrDb !== undefined ? { snrDb: o.snrDb } : {}),
              ...(o.sigma !== undefined ? { sigma: o.sigma } : {}),
              rng: new RfRandom(o.seed, o.dir === 'r2c' ? RF_STREAM.noiseR2c : RF_STREAM.noiseC2r),
            })
          : undefined;
      const samples = noisy ?? clean;
      if (raw.out !== undefined && samples) {
        if (format === 'f32') {
          const buf = Buffer.alloc(samples.samples.length * 4);
          samples.samples.forEach((v, i) => buf.writeFloatLE(v, i * 4));
          writeFileSync(raw.out, buf);
        } else {
          const json = {
            tech: o.tech,
            dir: o.dir,
            rateKbps: o.rate,
            spb: o.spb,
            samples: Array.from(samples.samples),
          };
          writeFileSync(raw.out, `${JSON.stringify(json)}\n`);
        }
      }
      if (raw.svg !== undefined && clean) {
        const bitFc = o.tech === 'f' ? (o.rate === 424 ? 32 : 64) : 128;
        writeFileSync(
          raw.svg,
          waveformSvg({
            title: `${techName(o)}: ${bytesToHex(f.bytes)} (${f.kind})`,
            bitFc,
            bitsStartFc: clean.startFc + (o.tech === 'a' ? 128 : 0),
            bits,
            fields: frameFields(o, f),
            stream,
            streamStartFc: clean.startFc,
            ...(seq !== undefined ? { letters: seq } : {}),
            envelope: clean,
            ...(noisy ? { received: noisy } : {}),
            ...(window ? { windowFc: window } : {}),
          }),
        );
      }
      const result = {
        tech: o.tech,
        dir: o.dir,
        rateKbps: o.rate,
        kind: f.kind,
        bytes: bytesToHex(f.bytes),
        onAir: bytesToHex(onAir),
        bits: bitsToString(bits),
        ...(level !== 'frame'
          ? { code: codeFor(o.tech, o.dir), chipFc: stream.chipFc, chips: chipString(stream, maxChips) }
          : {}),
        ...(seq !== undefined ? { sequences: seq } : {}),
        airtimeFc,
        airtimeUs: fcToUs(airtimeFc),
        ...(level === 'samples' && samples
          ? {
              samples: {
                count: samples.samples.length,
                spb: o.spb,
                sigma: samples.sigma,
                ebPerBit: samples.eb,
              },
            }
          : {}),
        ...(rect ? { rectified: { vhr: rect.vhr, vlr: rect.vlr, pp: rect.pp } } : {}),
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const lines: [string, string][] = [
        ['frame', `${spaced(f.bytes)}  (${f.kind}; ${techName(o)})`],
        ['on air', spaced(onAir)],
        [
          'bits',
          `${bits.length}  ${result.bits.length > maxChips ? `${result.bits.slice(0, maxChips)}…` : result.bits}`,
        ],
      ];
      if (level !== 'frame')
        lines.push([
          'chips',
          `${stream.length}  ${stream.code}, ${stream.chipFc}/fc each: ${chipString(stream, maxChips)}`,
        ]);
      if (seq !== undefined) lines.push(['sequences', seq]);
      lines.push(['airtime', `${fcToUs(airtimeFc).toFixed(2)} µs (${airtimeFc}/fc)`]);
      if (level === 'samples' && samples)
        lines.push([
          'samples',
          `${samples.samples.length} at spb ${o.spb} (16-bit guards), ${o.dir === 'r2c' ? `k ${o.k}` : `lm ${o.lm}`}, ${samples.sigma > 0 ? `noise σ ${samples.sigma.toPrecision(4)}` : 'no noise'}`,
        ]);
      for (const [k, v] of lines) process.stdout.write(`${k.padEnd(10)} ${v}\n`);
      if (rect)
        process.stdout.write(
          `VHR ${rect.vhr.toFixed(3)} V  VLR ${rect.vlr.toFixed(3)} V  data p-p ${rect.pp.toFixed(3)} V\n`,
        );
    });
}

export function spaced(b: Uint8Array): string {
  return bytesToHex(b).replace(/(..)(?!$)/g, '$1 ');
}
