// The noiseless waveform SVG of one frame on air (rf.md §13.5), as `mica rf encode --svg` draws it and
// `mica rf simulate --svg DIR` writes per frame.
import { bytesToHex } from '@mica/apdu-specs/hex';
import { encodeFrame, frameBits } from '@mica/card-os/rf/air-frame';
import { sequencesOf } from '@mica/card-os/rf/line-code';
import { transmitStream } from '@mica/card-os/rf/link';
import { frameFields, type PreparedFrame } from './frame-input';
import { techName, type RfOptions } from './options';
import { waveformSvg } from './svg';

export function frameWaveformSvg(o: RfOptions, f: PreparedFrame, title?: string): string {
  const bits = frameBits(o.tech, o.dir, f.bytes, f.air);
  const stream = encodeFrame(o.tech, o.dir, f.bytes, f.air);
  const clean = transmitStream(stream, o.tech, o.dir, {
    spb: o.spb,
    k: o.k,
    lm: o.lm,
    v10: o.v10,
    ppm: o.ppm,
  });
  const seq = o.tech === 'a' ? sequencesOf(stream) : undefined;
  const bitFc = o.tech === 'f' ? (o.rate === 424 ? 32 : 64) : 128;
  return waveformSvg({
    title: title ?? `${techName(o)}: ${bytesToHex(f.bytes)} (${f.kind})`,
    bitFc,
    bitsStartFc: clean.startFc + (o.tech === 'a' ? 128 : 0),
    bits,
    fields: frameFields(o, f),
    stream,
    streamStartFc: clean.startFc,
    ...(seq !== undefined ? { letters: seq } : {}),
    envelope: clean,
  });
}
