// SVG output of `mica rf` (rf.md §13.5): the stacked waveform of one frame and the BER curve of a sweep.
// Deterministic: fixed element order, numbers rounded to 2 decimals, no timestamps, fonts or scripts.
import type { ChipStream } from '@mica/card-os/rf/chips';
import { chipAt } from '@mica/card-os/rf/chips';
import { FC_HZ } from '@mica/card-os/rf/timing';
import type { Field } from './frame-input';

const MAX_POINTS = 4000;

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A number with at most 2 decimals, no trailing zeros, never "-0". */
export function num(v: number): string {
  const r = Math.round(v * 100) / 100;
  return (Object.is(r, -0) ? 0 : r).toString();
}

/** min/max decimation per pixel column once a trace has more than MAX_POINTS points. */
export function decimate(
  points: readonly (readonly [number, number])[],
  columns: number,
): [number, number][] {
  if (points.length <= MAX_POINTS) return points.map(([x, y]) => [x, y]);
  const x0 = points[0]![0];
  const x1 = points[points.length - 1]![0];
  const cols = Math.min(columns, MAX_POINTS / 2);
  const out: [number, number][] = [];
  let col = -1;
  let lo = 0;
  let hi = 0;
  let xc = 0;
  const flush = (): void => {
    if (col >= 0) out.push([xc, lo], [xc, hi]);
  };
  for (const [x, y] of points) {
    const c = Math.min(cols - 1, Math.floor(((x - x0) / (x1 - x0 || 1)) * cols));
    if (c !== col) {
      flush();
      col = c;
      lo = hi = y;
      xc = x;
    } else {
      lo = Math.min(lo, y);
      hi = Math.max(hi, y);
    }
  }
  flush();
  return out;
}

function polyline(points: readonly (readonly [number, number])[], attrs: string): string {
  return `<polyline fill="none" ${attrs} points="${points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ')}"/>`;
}

/** A "nice" tick step (1, 2 or 5 × 10^k) for about `count` ticks over `span`. */
function tickStep(span: number, count: number): number {
  const raw = span / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

export interface SampleTrace {
  readonly samples: Float32Array;
  readonly t0Fc: number;
  readonly tsFc: number;
}

export interface WaveformInput {
  readonly title: string;
  /** Duration of one L2 input bit (Type F bit, Type A coded bit, Type B etu). */
  readonly bitFc: number;
  readonly bitsStartFc: number;
  readonly bits: Uint8Array;
  readonly fields: readonly Field[];
  readonly stream: ChipStream;
  readonly streamStartFc: number;
  /** Letters of the Type A sequences, one per bit period from the stream start. */
  readonly letters?: string;
  readonly envelope?: SampleTrace;
  readonly received?: SampleTrace;
  readonly decoded?: { readonly startFc: number; readonly endFc: number; readonly label: string };
  /** Window in carrier cycles; default the whole stream with a bit of margin. */
  readonly windowFc?: readonly [number, number];
}

const WIDTH = 1200;
const LEFT = 110;
const RIGHT = 20;
const BAND = 80;
const TOP = 40;

export function waveformSvg(w: WaveformInput): string {
  const streamEnd = w.streamStartFc + w.stream.length * w.stream.chipFc;
  const [t0, t1] = w.windowFc ?? [w.streamStartFc - 2 * w.bitFc, streamEnd + 2 * w.bitFc];
  const plotW = WIDTH - LEFT - RIGHT;
  const X = (t: number): number => LEFT + ((t - t0) / (t1 - t0)) * plotW;
  const inWin = (a: number, b: number): boolean => b >= t0 && a <= t1;
  const bands: string[] = [];
  const names: string[] = [];
  let y = TOP;
  const band = (name: string, body: (top: number) => string): void => {
    names.push(`<text x="8" y="${num(y + BAND / 2 + 4)}" font-size="12">${esc(name)}</text>`);
    bands.push(`<g>${body(y)}</g>`);
    y += BAND;
  };
  const stepTrace = (
    values: (i: number) => number,
    n: number,
    start: number,
    dur: number,
    top: number,
  ): string => {
    const pts: [number, number][] = [];
    const Y = (v: number): number => top + BAND - 15 - v * (BAND - 30);
    for (let i = 0; i < n; i++) {
      const a = start + i * dur;
      if (!inWin(a, a + dur)) continue;
      const v = values(i);
      pts.push([X(Math.max(a, t0)), Y(v)], [X(Math.min(a + dur, t1)), Y(v)]);
    }
    return pts.length > 0 ? polyline(decimate(pts, plotW), 'stroke="#1f4e79" stroke-width="1"') : '';
  };

  band('bits', (top) => {
    const parts = [stepTrace((i) => w.bits[i]!, w.bits.length, w.bitsStartFc, w.bitFc, top)];
    for (const f of w.fields) {
      const a = w.bitsStartFc + f.from * w.bitFc;
      const b = w.bitsStartFc + f.to * w.bitFc;
      if (!inWin(a, b)) continue;
      parts.push(
        `<line x1="${num(X(a))}" y1="${num(top + 2)}" x2="${num(X(a))}" y2="${num(top + BAND - 2)}" stroke="#bbbbbb"/>`,
      );
      parts.push(
        `<text x="${num(X((Math.max(a, t0) + Math.min(b, t1)) / 2))}" y="${num(top + 11)}" font-size="10" text-anchor="middle">${esc(f.label)}</text>`,
      );
    }
    return parts.join('');
  });
  band(`chips (${w.stream.code})`, (top) => {
    const parts = [
      stepTrace((i) => chipAt(w.stream.value, i), w.stream.length, w.streamStartFc, w.stream.chipFc, top),
    ];
    if (w.letters !== undefined) {
      const per = (w.stream.length * w.stream.chipFc) / w.letters.length;
      for (let i = 0; i < w.letters.length; i++) {
        const a = w.streamStartFc + i * per;
        if (inWin(a, a + per))
          parts.push(
            `<text x="${num(X(a + per / 2))}" y="${num(top + 11)}" font-size="10" text-anchor="middle">${esc(w.letters[i]!)}</text>`,
          );
      }
    }
    return parts.join('');
  });
  const sampleBand = (name: string, s: SampleTrace, colour: string): void =>
    band(name, (top) => {
      let lo = Infinity;
      let hi = -Infinity;
      const pts: [number, number][] = [];
      for (let i = 0; i < s.samples.length; i++) {
        const t = s.t0Fc + i * s.tsFc;
        if (t < t0 || t > t1) continue;
        const v = s.samples[i]!;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        pts.push([t, v]);
      }
      if (pts.length === 0) return '';
      const span = hi - lo || 1;
      const Y = (v: number): number => top + BAND - 10 - ((v - lo) / span) * (BAND - 20);
      return polyline(
        decimate(
          pts.map(([t, v]) => [X(t), Y(v)]),
          plotW,
        ),
        `stroke="${colour}" stroke-width="1"`,
      );
    });
  if (w.envelope) sampleBand('envelope', w.envelope, '#2e75b6');
  if (w.received) sampleBand('received', w.received, '#7f7f7f');
  if (w.decoded) {
    const d = w.decoded;
    band('decoded', (top) =>
      [
        `<line x1="${num(X(d.startFc))}" y1="${num(top + 5)}" x2="${num(X(d.startFc))}" y2="${num(top + BAND - 5)}" stroke="#c55a11"/>`,
        `<line x1="${num(X(d.endFc))}" y1="${num(top + 5)}" x2="${num(X(d.endFc))}" y2="${num(top + BAND - 5)}" stroke="#c55a11"/>`,
        `<text x="${num(X(d.startFc) + 4)}" y="${num(top + BAND / 2)}" font-size="11">${esc(d.label)}</text>`,
      ].join(''),
    );
  }
  // Time axis in µs.
  const usOf = (t: number): number => (t / FC_HZ) * 1e6;
  const step = tickStep(usOf(t1) - usOf(t0), 10);
  const ticks: string[] = [];
  for (let u = Math.ceil(usOf(t0) / step) * step; u <= usOf(t1); u += step) {
    const x = X((u * FC_HZ) / 1e6);
    ticks.push(`<line x1="${num(x)}" y1="${num(y)}" x2="${num(x)}" y2="${num(y + 5)}" stroke="#000000"/>`);
    ticks.push(`<text x="${num(x)}" y="${num(y + 18)}" font-size="10" text-anchor="middle">${num(u)}</text>`);
  }
  const height = y + 40;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${num(height)}" viewBox="0 0 ${WIDTH} ${num(height)}" font-family="sans-serif">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${num(height)}" fill="#ffffff"/>`,
    `<text x="8" y="22" font-size="14">${esc(w.title)}</text>`,
    ...names,
    ...bands,
    `<line x1="${LEFT}" y1="${num(y)}" x2="${WIDTH - RIGHT}" y2="${num(y)}" stroke="#000000"/>`,
    ...ticks,
    `<text x="${num(LEFT + plotW / 2)}" y="${num(y + 34)}" font-size="11" text-anchor="middle">time (µs)</text>`,
    '</svg>',
    '',
  ].join('\n');
}

export interface BerPoint {
  readonly snrDb: number;
  readonly bits: number;
  readonly bitErrors: number;
  readonly theory: number | undefined;
}

/** The BER plot: 640 × 480, log y from 1e−7 (or lower) to 1, measured line, dashed theory, open triangles for zero errors. */
export function berSvg(
  title: string,
  points: readonly BerPoint[],
  theory?: (snrDb: number) => number | undefined,
): string {
  const W = 640;
  const H = 480;
  const L = 70;
  const R = 20;
  const T = 40;
  const B = 50;
  const xs = points.map((p) => p.snrDb);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs) > x0 ? Math.max(...xs) : x0 + 1;
  const measured = points.map((p) => (p.bitErrors > 0 ? p.bitErrors / p.bits : 1 / Math.max(1, p.bits)));
  const floor = Math.floor(Math.log10(Math.min(1e-7, ...measured.filter((v) => v > 0))));
  const X = (v: number): number => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const Y = (ber: number): number => T + (Math.log10(Math.max(ber, 10 ** floor)) / floor) * (H - T - B);
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" font-size="13" text-anchor="middle">${esc(title)}</text>`,
  ];
  for (let d = 0; d >= floor; d--) {
    const y = Y(10 ** d);
    out.push(`<line x1="${L}" y1="${num(y)}" x2="${W - R}" y2="${num(y)}" stroke="#dddddd"/>`);
    out.push(`<text x="${L - 6}" y="${num(y + 4)}" font-size="10" text-anchor="end">1e${d}</text>`);
  }
  const step = tickStep(x1 - x0, 8);
  for (let v = Math.ceil(x0 / step) * step; v <= x1 + 1e-9; v += step) {
    out.push(`<line x1="${num(X(v))}" y1="${T}" x2="${num(X(v))}" y2="${H - B}" stroke="#eeeeee"/>`);
    out.push(`<text x="${num(X(v))}" y="${H - B + 16}" font-size="10" text-anchor="middle">${num(v)}</text>`);
  }
  out.push(
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#000000"/>`,
  );
  out.push(
    `<text x="${num(L + (W - L - R) / 2)}" y="${H - 12}" font-size="11" text-anchor="middle">Eb/N0 (dB)</text>`,
  );
  out.push(
    `<text x="16" y="${num(T + (H - T - B) / 2)}" font-size="11" text-anchor="middle" transform="rotate(-90 16 ${num(T + (H - T - B) / 2)})">BER</text>`,
  );
  if (theory) {
    const pts: [number, number][] = [];
    for (let v = x0; v <= x1 + 1e-9; v += (x1 - x0) / 100) {
      const t = theory(v);
      if (t !== undefined && t >= 10 ** floor) pts.push([X(v), Y(t)]);
    }
    if (pts.length > 1) out.push(polyline(pts, 'stroke="#7f7f7f" stroke-width="1.5" stroke-dasharray="6 4"'));
  }
  const hits = points
    .filter((p) => p.bitErrors > 0)
    .map((p): [number, number] => [X(p.snrDb), Y(p.bitErrors / p.bits)]);
  if (hits.length > 1) out.push(polyline(hits, 'stroke="#1f4e79" stroke-width="1.5"'));
  for (const [x, y] of hits) out.push(`<circle cx="${num(x)}" cy="${num(y)}" r="3" fill="#1f4e79"/>`);
  for (const p of points.filter((q) => q.bitErrors === 0)) {
    const x = X(p.snrDb);
    const y = Y(1 / Math.max(1, p.bits));
    out.push(
      `<polygon points="${num(x)},${num(y - 5)} ${num(x - 5)},${num(y + 4)} ${num(x + 5)},${num(y + 4)}" fill="none" stroke="#1f4e79"/>`,
    );
  }
  out.push('</svg>', '');
  return out.join('\n');
}
