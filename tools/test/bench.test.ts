// `mica bench`: the shape of its rows in a tiny run (timings are never asserted).
import { describe, expect, it } from 'vitest';
import { benchTable, runBench } from '../src/commands/bench';

describe('runBench', () => {
  it('returns one well-formed row per figure', async () => {
    const progress: number[] = [];
    const rows = await runBench({ quick: true, seconds: 0.01, onRow: (done) => progress.push(done) });
    expect(rows.map((r) => r.unit)).toEqual([
      'commands/s',
      'commits/s',
      'transactions/s',
      '× faster than the air',
      'sessions/s',
      'ms',
      '× real time',
      '× real time',
      '× real time',
      '× real time',
    ]);
    for (const r of rows) {
      expect(Object.keys(r).sort()).toEqual([
        'met',
        'name',
        'ratio',
        'reference',
        'referenceName',
        'target',
        'unit',
        'value',
      ]);
      expect(typeof r.name).toBe('string');
      expect(Number.isFinite(r.value) && r.value > 0).toBe(true);
      expect(Number.isFinite(r.ratio) && r.ratio > 0).toBe(true);
      expect(typeof r.met).toBe('boolean');
      expect(r.referenceName).toMatch(/target/);
      expect(r.reference).toBe(r.target);
    }
    expect(rows.map((r) => r.target)).toEqual([500_000, 50_000, 20_000, 250, 20_000, 50, 1000, 20, 1, 1]);
    expect(rows.slice(6).map((r) => r.name.split(':')[0])).toEqual([
      'rf.f212.codec',
      'rf.f212.channel',
      'rf.a106.channel',
      'rf.b106.channel',
    ]);
    expect(JSON.parse(JSON.stringify(rows))).toEqual(rows);
    expect(progress).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const table = benchTable(rows).trimEnd().split('\n');
    expect(table).toHaveLength(11);
    expect(table[1]).toContain('commands/s');
  });
});
