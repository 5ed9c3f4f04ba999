// The EEPROM map of `mica card dump --svg`: one vertical bar from address 0 (bottom) to top, user
// services growing up, definition records growing down, free space between; standalone SVG.
import type { DumpModel } from './dump-model';

interface Segment {
  /** Lowest address of the segment and its block count. */
  readonly from: number;
  readonly count: number;
  readonly fill: string;
  readonly label: string;
  readonly free?: boolean;
}

const BAR_X = 120;
const BAR_W = 150;
const BAR_TOP = 70;
const MIN_BAR_H = 640;
const LABEL_X = BAR_X + BAR_W + 10;
const LEGEND_X = 640;
const WIDTH = 1000;
const MIN_SEGMENT_PX = 14;
const MIN_FREE_PX = 48;
const MIN_LABEL_PX = 9;

const RECORD_FILLS: Readonly<Record<string, string>> = {
  fixed: '#5b6770',
  system: '#1f4e79',
  area: '#2e75b6',
  service: '#9dc3e6',
  'purse policy': '#c55a11',
  'interface identity': '#7030a0',
  other: '#a5a5a5',
  deleted: '#d0d0d0',
};
const FREE_FILL = '#ffffff';
const UNASSIGNED_FILL = '#e7e6e6';
const USER_PALETTE = ['#70ad47', '#ffc000', '#ed7d31', '#4bacc6', '#f4b183', '#a9d18e', '#ffd966', '#8faadc'];

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Colour of the i-th user service: the palette first, then golden-angle hues. */
function userFill(i: number): string {
  const p = USER_PALETTE[i];
  if (p !== undefined) return p;
  const h = (i * 137.508) % 360;
  const f = (n: number): string => {
    const k = (n + h / 30) % 12;
    const v = 0.6 - 0.45 * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(v * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

function segments(m: DumpModel): Segment[] {
  const n = m.geometry.blocks;
  const top = n - 1;
  const out: Segment[] = [];
  const user = [
    ...m.userBlocks.services.map((s, i) => ({
      from: parseInt(s.firstBlock, 16),
      count: s.blockCount,
      fill: userFill(i),
      label: `${s.code}${s.overlappedBy.length > 0 ? ` (+${s.overlappedBy.join(', ')})` : ''} · ${s.blockCount} blocks from ${s.firstBlock}${m.systems.length > 1 ? ` · system ${s.system}` : ''}`,
    })),
    ...m.userBlocks.unassigned.map((u) => ({
      from: parseInt(u.first, 16),
      count: u.count,
      fill: UNASSIGNED_FILL,
      label: `unassigned ${u.first}..${u.last}`,
    })),
  ];
  out.push(...user.filter((s) => s.count > 0).sort((a, b) => a.from - b.from));
  const a = m.allocation;
  if (a.freeBlocks > 0)
    out.push({
      from: a.userBlocks,
      count: a.freeBlocks,
      fill: FREE_FILL,
      label: `free · ${a.freeBlocks} blocks`,
      free: true,
    });
  for (const r of [...m.records].reverse()) {
    const from = parseInt(r.address, 16) - r.span + 1;
    const fill = r.deleted ? RECORD_FILLS['deleted']! : (RECORD_FILLS[r.typeName] ?? RECORD_FILLS['other']!);
    const keys =
      r.keyBlocks.length > 0 ? ` + ${r.keyBlocks.length} key block${r.keyBlocks.length > 1 ? 's' : ''}` : '';
    const f = r.fields;
    const what =
      r.typeName === 'service'
        ? `service ${String(f['serviceCode'])}${f['overlapOf'] === 'ffff' ? '' : ` → ${String(f['overlapOf'])}`}`
        : r.summary;
    out.push({
      from,
      count: r.span,
      fill,
      label: `${r.address}  ${what}${keys}${r.deleted ? ' (deleted)' : ''}`,
    });
  }
  out.push({
    from: top - 2,
    count: 3,
    fill: RECORD_FILLS['fixed']!,
    label: `${m.geometry.top}  manufacture ID · issuance ID · system definition`,
  });
  return out;
}

/** Pixel heights: proportional, but every segment stays visible; the free band takes what is left. */
function heights(segs: readonly Segment[], blocks: number, barH: number): number[] {
  const hasFree = segs.some((s) => s.free);
  const hs = segs.map((s) => (s.free ? 0 : Math.max((s.count / blocks) * barH, MIN_SEGMENT_PX)));
  const used = hs.reduce((x, y) => x + y, 0);
  const room = hasFree ? barH - MIN_FREE_PX : barH;
  const scale = used > room || !hasFree ? room / used : 1;
  const scaled = hs.map((h) => h * scale);
  const free = barH - scaled.reduce((x, y) => x + y, 0);
  return segs.map((s, i) => (s.free ? free : scaled[i]!));
}

function legend(m: DumpModel): string[] {
  const items: [string, string][] = [
    [RECORD_FILLS['fixed']!, 'fixed blocks (top, top-1, top-2)'],
    [RECORD_FILLS['system']!, 'system record (+ system key)'],
    [RECORD_FILLS['area']!, 'area record (+ area key)'],
    [RECORD_FILLS['service']!, 'service record (+ service key)'],
    [RECORD_FILLS['purse policy']!, 'purse policy record'],
    [RECORD_FILLS['interface identity']!, 'interface identity record'],
    [RECORD_FILLS['deleted']!, 'deleted record'],
    [FREE_FILL, 'free space'],
    [UNASSIGNED_FILL, 'user blocks of deleted services'],
    ...m.userBlocks.services.map((s, i): [string, string] => [
      userFill(i),
      `user blocks of service ${s.code} (system ${s.system} ${s.systemCode})`,
    ]),
  ];
  const out = [`<text x="${LEGEND_X}" y="${BAR_TOP + 4}" class="h">Legend</text>`];
  items.forEach(([fill, text], i) => {
    const y = BAR_TOP + 18 + i * 20;
    out.push(
      `<rect x="${LEGEND_X}" y="${y}" width="14" height="14" fill="${fill}" stroke="#404040" stroke-width="0.5"/>`,
    );
    out.push(`<text x="${LEGEND_X + 22}" y="${y + 11}">${esc(text)}</text>`);
  });
  return out;
}

export function dumpSvg(m: DumpModel): string {
  const segs = segments(m);
  const barH = Math.max(MIN_BAR_H, segs.length * (MIN_SEGMENT_PX + 2) + MIN_FREE_PX);
  const hs = heights(segs, m.geometry.blocks, barH);
  const a = m.allocation;
  const body: string[] = [];
  let y = BAR_TOP + barH;
  segs.forEach((s, i) => {
    const h = hs[i]!;
    y -= h;
    const last = s.from + s.count - 1;
    const tip = `${last.toString(16).padStart(4, '0')}..${s.from.toString(16).padStart(4, '0')}: ${s.label}`;
    body.push(
      `<rect x="${BAR_X}" y="${y.toFixed(2)}" width="${BAR_W}" height="${h.toFixed(2)}" fill="${s.fill}" stroke="#404040" stroke-width="0.5"><title>${esc(tip)}</title></rect>`,
    );
    if (h >= MIN_LABEL_PX)
      body.push(`<text x="${LABEL_X}" y="${(y + h / 2 + 4).toFixed(2)}">${esc(s.label)}</text>`);
    if (s.free) {
      const mid = (y + h / 2 + 4).toFixed(2);
      body.push(`<text x="${BAR_X + BAR_W / 2}" y="${mid}" class="c">free</text>`);
      body.push(
        `<text x="${BAR_X - 8}" y="${(y + h - 2).toFixed(2)}" class="r">U = ${a.userBlocks.toString(16).padStart(4, '0')}</text>`,
      );
      body.push(
        `<text x="${BAR_X - 8}" y="${(y + 10).toFixed(2)}" class="r">top-S = ${(m.geometry.blocks - 1 - a.systemBlocks).toString(16).padStart(4, '0')}</text>`,
      );
    }
  });
  const height = Math.max(BAR_TOP + barH + 60, BAR_TOP + 40 + (10 + m.userBlocks.services.length) * 20);
  const title = `EEPROM map: ${m.geometry.blocks} blocks, U = ${a.userBlocks}, S = ${a.systemBlocks}, free = ${a.freeBlocks}`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<title>${esc(title)}</title>`,
    '<style>text{font-family:sans-serif;font-size:11px;fill:#202020}.h{font-size:14px;font-weight:bold}.r{text-anchor:end}.c{text-anchor:middle;fill:#808080}</style>',
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#fafafa"/>`,
    `<text x="20" y="28" class="h">${esc(title)}</text>`,
    `<text x="20" y="48">user region grows up from 0000, system region grows down from ${m.geometry.top}; heights not to scale (every segment stays visible)</text>`,
    `<text x="${BAR_X - 8}" y="${BAR_TOP + 10}" class="r">${m.geometry.top} top</text>`,
    `<text x="${BAR_X - 8}" y="${BAR_TOP + barH}" class="r">0000</text>`,
    ...body,
    `<rect x="${BAR_X}" y="${BAR_TOP}" width="${BAR_W}" height="${barH}" fill="none" stroke="#202020" stroke-width="1"/>`,
    ...legend(m),
    '</svg>',
    '',
  ].join('\n');
}
