// The radio simulator's benchmarks (rf.md §12): real-time factors (Σ frame airtime / wall time) of the
// Type F symbol-level codec and of the sample-level channel with noise, and the Type A/B channels for
// reference. Each warms up on 10 % of its workload and reports the median of at least 1 s or 5 runs
// (scaled down with --quick). Never asserted by time.
import { crcFelica } from '@mica/apdu-specs/crc';
import { withCrcA } from '@mica/apdu-specs/rf/type-a';
import { withCrcB } from '@mica/apdu-specs/rf/type-b';
import { encodeFrame, type Tech } from '@mica/card-os/rf/air-frame';
import { decodeFelicaChips } from '@mica/card-os/rf/manchester';
import { receiveFrame, transmitFrame } from '@mica/card-os/rf/link';
import { RfRandom, RF_STREAM } from '@mica/card-os/rf/prng';
import { FC_HZ, felicaAirtimeFc, typeAAirtimeFc, typeBAirtimeFc } from '@mica/card-os/rf/timing';

export interface RfWorkload {
  /** The bench row's workload column, e.g. "10000 frames, 1..254 B". */
  readonly label: string;
  /** Σ airtime of one run, seconds. */
  readonly airtimeS: number;
  /** One run over the whole workload; throws if a frame does not come back intact. */
  run(fraction?: number): void;
}

function elapsed(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Median real-time factor: warm-up on 10 %, then runs until `seconds` and at least `minRuns`. */
export function realtimeFactor(w: RfWorkload, seconds: number, minRuns = 5): number {
  w.run(0.1);
  const factors: number[] = [];
  const start = process.hrtime.bigint();
  while (factors.length < minRuns || elapsed(start) < seconds) {
    const t0 = process.hrtime.bigint();
    w.run();
    factors.push(w.airtimeS / elapsed(t0));
  }
  factors.sort((a, b) => a - b);
  return factors[factors.length >> 1]!;
}

/** rf.f212.codec: Type F frames, data length uniform in 1..254; L1 + L2 encode, sync search, decode, CRC. */
export function codecWorkload(frames: number): RfWorkload {
  const rng = new RfRandom(12, RF_STREAM.choices);
  const payloads: Uint8Array[] = [];
  let airFc = 0;
  for (let i = 0; i < frames; i++) {
    const n = 1 + rng.below(254);
    const p = new Uint8Array(n + 1);
    p[0] = n + 1;
    for (let k = 1; k <= n; k++) p[k] = rng.below(256);
    payloads.push(p);
    airFc += felicaAirtimeFc(n + 1);
  }
  return {
    label: `${frames} frames, 1..254 B`,
    airtimeS: airFc / FC_HZ,
    run(fraction = 1) {
      const count = Math.max(1, Math.round(payloads.length * fraction));
      for (let i = 0; i < count; i++) {
        const p = payloads[i]!;
        const stream = encodeFrame('f', 'c2r', p);
        const d = decodeFelicaChips(stream.value, stream.length);
        const len = p.length;
        if (!d || d.bad !== 0 || d.body[0] !== len) throw new Error('the codec lost a frame');
        const crc = (d.body[len]! << 8) | d.body[len + 1]!;
        if (crcFelica(d.body.subarray(0, len)) !== crc) throw new Error('the codec broke a CRC');
      }
    },
  };
}

/** rf.<tech>.channel: card→reader frames of `bytes` data bytes at the default or given spb and Eb/N0. */
export function channelWorkload(
  tech: Tech,
  frames: number,
  bytes: number,
  snrDb: number,
  spb?: number,
): RfWorkload {
  const rng = new RfRandom(34, RF_STREAM.choices);
  const noise = new RfRandom(34, RF_STREAM.noiseC2r);
  const list: Uint8Array[] = [];
  let airFc = 0;
  for (let i = 0; i < frames; i++) {
    const data = Uint8Array.from({ length: bytes }, () => rng.below(256));
    const frame =
      tech === 'f' ? Uint8Array.of(bytes + 1, ...data) : tech === 'a' ? withCrcA(data) : withCrcB(data);
    list.push(frame);
    airFc +=
      tech === 'f'
        ? felicaAirtimeFc(bytes + 1)
        : tech === 'a'
          ? typeAAirtimeFc(9 * frame.length)
          : typeBAirtimeFc('c2r', frame.length);
  }
  return {
    label: `${frames} frames, ${bytes} B, spb ${spb ?? 'default'}, ${snrDb} dB`,
    airtimeS: airFc / FC_HZ,
    run(fraction = 1) {
      const count = Math.max(1, Math.round(list.length * fraction));
      // At 10 dB the receivers lose some frames (Type A most); the row times the work, not the outcome.
      for (let i = 0; i < count; i++) {
        const tx = transmitFrame(tech, 'c2r', list[i]!, {
          snrDb,
          rng: noise,
          ...(spb !== undefined ? { spb } : {}),
        });
        receiveFrame(tx, tech, 'c2r');
      }
    },
  };
}
