// openStore (store.ts): in-memory stores copied from one migrated database are each fresh and their
// own; the statement cache compiles each SQL text once, yet what a caller gets behaves as a freshly
// prepared statement (modes reset, an iterating one never shared, nothing kept across a close and reopen).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Db } from '@mica/host-sdk/backend/store';

const KIND = [`CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);`];

function seeded(path = ':memory:'): Db {
  const db = openStore(path, KIND);
  const insert = db.prepare('INSERT INTO item (id, name) VALUES (?, ?)');
  for (const [id, name] of [
    [1, 'one'],
    [2, 'two'],
    [3, 'three'],
  ] as const)
    insert.run(id, name);
  return db;
}

const SELECT = 'SELECT id, name FROM item ORDER BY id';

describe('in-memory stores', () => {
  it('each start migrated and empty, and are independent of each other', () => {
    const first = seeded();
    const second = openStore(':memory:', KIND);
    expect(second.pragma('user_version', { simple: true })).toBe(2);
    expect(second.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(second.prepare('SELECT COUNT(*) FROM item').pluck().get()).toBe(0);
    expect(second.prepare('SELECT COUNT(*) FROM ledger').pluck().get()).toBe(0);
    second.prepare('INSERT INTO item (id, name) VALUES (?, ?)').run(9, 'nine');
    expect(first.prepare('SELECT id FROM item ORDER BY id').pluck().all()).toEqual([1, 2, 3]);
    expect(second.prepare('SELECT id FROM item ORDER BY id').pluck().all()).toEqual([9]);
    first.close();
    second.close();
  });

  it('with other migrations have those tables, not the first set of tables', () => {
    seeded().close();
    const other = openStore(':memory:', [
      'CREATE TABLE thing (k TEXT PRIMARY KEY);',
      'CREATE TABLE more (n INTEGER);',
    ]);
    expect(other.pragma('user_version', { simple: true })).toBe(3);
    expect(
      other
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('item', 'thing', 'more') ORDER BY name",
        )
        .pluck()
        .all(),
    ).toEqual(['more', 'thing']);
    other.close();
  });

  it('count AUTOINCREMENT sequences from 1 in each store', () => {
    for (let i = 0; i < 2; i++) {
      const db = openStore(':memory:', KIND);
      const at = (txId: string): number =>
        Number(
          db
            .prepare('INSERT INTO ledger (txId, leg, account, amount, at) VALUES (?, 0, ?, 0, 0)')
            .run(txId, 'cash').lastInsertRowid,
        );
      expect([at('a'), at('b')]).toEqual([1, 2]);
      db.close();
    }
  });
});

describe('file stores', () => {
  it('keep every commit of a process killed without closing (WAL, synchronous NORMAL; flows.md §7.9)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mica-store-'));
    try {
      const path = join(dir, 'item.sqlite');
      const script = join(dir, 'writer.ts');
      const store = resolve(import.meta.dirname, '../../src/backend/store.ts');
      writeFileSync(
        script,
        `import { openStore } from ${JSON.stringify(store)};
const db = openStore(${JSON.stringify(path)}, ${JSON.stringify(KIND)});
const insert = db.prepare('INSERT INTO item (id, name) VALUES (?, ?)');
for (let i = 1; i <= 50; i++) db.transaction(() => insert.run(i, 'row ' + i))();
process.kill(process.pid, 'SIGKILL');
`,
      );
      const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
      expect(child.signal).toBe('SIGKILL');
      const db = openStore(path, KIND);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(1);
      expect(db.prepare('SELECT COUNT(*) FROM item').pluck().get()).toBe(50);
      expect(db.prepare('SELECT name FROM item WHERE id = 50').pluck().get()).toBe('row 50');
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the store statement cache', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('hands out the same compiled statement for the same SQL text', () => {
    const db = seeded();
    expect(db.prepare(SELECT)).toBe(db.prepare(SELECT));
    expect(db.prepare(SELECT)).not.toBe(db.prepare(`${SELECT} `));
    db.close();
  });

  it('does not leak pluck(), raw() or expand() into the next user of the same SQL', () => {
    const db = seeded();
    expect(db.prepare(SELECT).pluck().all()).toEqual([1, 2, 3]);
    expect(db.prepare(SELECT).all()).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
      { id: 3, name: 'three' },
    ]);
    expect(db.prepare(SELECT).raw().get()).toEqual([1, 'one']);
    expect(db.prepare(SELECT).get()).toEqual({ id: 1, name: 'one' });
    expect(db.prepare(SELECT).expand().get()).toEqual({ item: { id: 1, name: 'one' } });
    expect(db.prepare(SELECT).get()).toEqual({ id: 1, name: 'one' });
    db.close();
  });

  it('does not leak safeIntegers() either, and follows the connection default', () => {
    const db = seeded();
    expect(db.prepare('SELECT id FROM item WHERE id = 1').safeIntegers().get()).toEqual({ id: 1n });
    expect(db.prepare('SELECT id FROM item WHERE id = 1').get()).toEqual({ id: 1 });
    db.defaultSafeIntegers(true);
    expect(db.prepare('SELECT id FROM item WHERE id = 1').get()).toEqual({ id: 1n });
    db.defaultSafeIntegers(false);
    expect(db.prepare('SELECT id FROM item WHERE id = 1').get()).toEqual({ id: 1 });
    db.close();
  });

  it('gives a second user a statement of its own while the cached one is being iterated', () => {
    const db = seeded();
    const seen: [number, number[]][] = [];
    for (const row of db.prepare(SELECT).iterate() as IterableIterator<{ id: number }>) {
      const inner = db.prepare(SELECT);
      expect(inner.busy).toBe(false);
      seen.push([row.id, inner.pluck().all() as number[]]);
    }
    expect(seen).toEqual([
      [1, [1, 2, 3]],
      [2, [1, 2, 3]],
      [3, [1, 2, 3]],
    ]);
    // The iteration finished: the cached statement is free again, in its default mode.
    expect(db.prepare(SELECT).busy).toBe(false);
    expect(db.prepare(SELECT).get()).toEqual({ id: 1, name: 'one' });
    db.close();
  });

  it('keeps nothing across a close: a reopened file gets statements of its own connection', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mica-store-'));
    dirs.push(dir);
    const path = join(dir, 'item.sqlite');
    const first = seeded(path);
    const before = first.prepare(SELECT);
    first.close();
    expect(() => before.all()).toThrow(/not open/);
    const second = openStore(path, KIND);
    const after = second.prepare(SELECT);
    expect(after).not.toBe(before);
    expect(after.database).toBe(second);
    expect(after.pluck().all()).toEqual([1, 2, 3]);
    second.close();
  });

  it('leaves a statement that does not return data usable again (modes only apply to readers)', () => {
    const db = seeded();
    const update = 'UPDATE item SET name = ? WHERE id = ?';
    expect(db.prepare(update).run('uno', 1).changes).toBe(1);
    expect(db.prepare(update).run('dos', 2).changes).toBe(1);
    expect(db.prepare('SELECT name FROM item ORDER BY id').pluck().all()).toEqual(['uno', 'dos', 'three']);
    db.close();
  });
});
