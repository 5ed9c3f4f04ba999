// The readable form of `mica card dump`: the dump model as aligned plain-text tables (no colour).
import type { DumpFields, DumpModel, DumpRange, DumpWriteStats } from './dump-model';

/** Pads every column but the last to its widest cell; rows are joined with two spaces. */
export function alignRows(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map(
    (row) =>
      indent +
      row
        .map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i]!) : c))
        .join('  ')
        .trimEnd(),
  );
}

/** Fields as `name=value`, leaving out the type byte (shown in its own column) and all-zero reserved bytes. */
function fieldText(fields: DumpFields | null): string {
  if (fields === null) return 'UNCORRECTABLE';
  return Object.entries(fields)
    .filter(([k, v]) => k !== 'type' && !(k === 'reserved' && (v === 0 || /^0*$/.test(String(v)))))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

function rangeText(r: DumpRange | null): string {
  return r === null ? '-' : `${r.first}..${r.last}`;
}

function listText(items: readonly string[]): string {
  return items.length === 0 ? 'none' : items.join(' ');
}

function writeText(w: DumpWriteStats): string {
  const most = w.mostWritten.map((x) => `${x.address}×${x.count}`).join(' ');
  return `max ${w.max}, total ${w.total}, past endurance ${w.pastEndurance}${most ? `; most written: ${most}` : ''}`;
}

export function dumpText(m: DumpModel): string {
  const out: string[] = [];
  const section = (title: string, lines: readonly string[]): void => {
    if (out.length > 0) out.push('');
    out.push(title, ...lines);
  };
  const a = m.allocation;
  const g = m.geometry;
  section(
    'geometry',
    alignRows([
      [
        'blocks',
        `${g.blocks} × ${g.blockSize} bytes (top ${g.top}; ${g.physicalBlockSize} bytes stored per block)`,
      ],
      ['journal slots', String(g.journalSlots)],
      ['endurance', `${g.endurance} writes per block`],
      ...(m.chip
        ? [
            ['idm / pmm', `${m.chip.idm} / ${m.chip.pmm}`],
            ['crypto suite', m.chip.cryptoSuite],
          ]
        : []),
      ...(m.recovery
        ? [
            [
              'recovery',
              m.recovery.replayed > 0
                ? `replayed ${m.recovery.replayed} journaled blocks (in memory)`
                : 'nothing pending',
            ],
          ]
        : []),
    ]),
  );
  section(
    'allocation',
    alignRows([
      ['U user blocks', String(a.userBlocks), rangeText(a.userRegion)],
      ['S system blocks', String(a.systemBlocks), rangeText(a.systemRegion)],
      ['free blocks', String(a.freeBlocks), rangeText(a.freeRegion)],
    ]),
  );
  section('fixed blocks', alignRows(m.fixedBlocks.map((b) => [b.address, b.name, fieldText(b.fields)])));
  const recordRows: string[][] = [['addr', 'type', 'span', 'record', 'fields']];
  for (const r of m.records) {
    recordRows.push([
      r.address,
      `${r.type} ${r.typeName}${r.deleted ? ' (deleted)' : ''}`,
      String(r.span),
      r.summary,
      fieldText(r.fields),
    ]);
    for (const b of r.moreBlocks)
      recordRows.push([b.address, '', '', `  block of ${r.address}`, fieldText(b.fields)]);
    for (const k of r.keyBlocks) recordRows.push([k.address, '', '', `  key of ${r.address}`, k.value]);
  }
  section(
    `definition records (keys ${m.keysShown ? 'SHOWN' : 'masked'})`,
    m.records.length > 0 ? alignRows(recordRows) : ['  none'],
  );
  const userRows: string[][] = [
    ['first', 'last', 'count', 'system', 'service', 'attribute', 'overlapped by'],
  ];
  for (const s of m.userBlocks.services)
    userRows.push([
      s.firstBlock,
      s.lastBlock ?? '-',
      String(s.blockCount),
      `${s.system} ${s.systemCode}`,
      s.code,
      s.attribute,
      listText(s.overlappedBy),
    ]);
  for (const u of m.userBlocks.unassigned)
    userRows.push([u.first, u.last, String(u.count), '-', '-', 'unassigned (deleted service)', '']);
  section(
    'user blocks',
    m.userBlocks.services.length + m.userBlocks.unassigned.length > 0 ? alignRows(userRows) : ['  none'],
  );
  if (m.userBlocks.overlaps.length > 0) {
    const rows = m.userBlocks.overlaps.map((o) => [
      o.code,
      `→ ${o.target}`,
      `system ${o.system} ${o.systemCode}`,
      o.attribute,
    ]);
    section('overlap services', alignRows(rows));
  }
  if (m.systems.length > 0) {
    const rows: string[][] = [['system', 'code', 'idm', 'capacity', 'used', 'record']];
    for (const s of m.systems)
      rows.push([
        String(s.number),
        s.code,
        s.idm,
        s.capacity === 0xffff ? 'shared' : String(s.capacity),
        String(s.used),
        s.recordAddress,
      ]);
    section('systems', alignRows(rows));
  }
  section(
    'parity',
    alignRows([
      ['corrected', listText(m.parity.corrected)],
      ['uncorrectable', listText(m.parity.uncorrectable)],
    ]),
  );
  section(
    'write counts',
    alignRows([
      ['blocks', writeText(m.writeCounts.blocks)],
      ['journal slots', writeText(m.writeCounts.journal)],
    ]),
  );
  if (m.problems.length > 0)
    section(
      'problems',
      m.problems.map((p) => `  ${p}`),
    );
  return `${out.join('\n')}\n`;
}
