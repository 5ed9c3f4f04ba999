// `mica demo` (npm start) prints its story and summary and exits 0.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('runs the demo end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mica-demo-test-'));
  try {
    const root = new URL('../../', import.meta.url).pathname;
    const r = spawnSync(
      process.execPath,
      [join(root, 'tools/bin/mica.js'), 'demo', '--data', join(dir, 'new', 'folder')],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('purse 0091          1000 -> 750');
    expect(r.stdout).toContain('read back through the session: "secret 16 bytes!"');
    expect(r.stdout).toMatch(/Repeat the same charge ID[^\n]*\n[^\n]*0c0902fe01020304050602e1/);
    expect(r.stdout).toContain(join(dir, 'new', 'folder', 'demo-card.img'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
