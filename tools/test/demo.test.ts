// `mica demo` (npm start) prints its story and summary and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
    // Seed 001 (flows.md 3.3): 1,000 + 2,000 − 250 = 2,750 on the card and in the float.
    expect(r.stdout).toContain('PASS D2 charge-up: the card holds ¥3,000 and the charge is completed');
    expect(r.stdout).toContain('purse 20d0          2750 (card 12345678)');
    expect(r.stdout).toMatch(/emoney1 +liab:float:emoney1 +-2750/);
    expect(r.stdout).toContain('audit               C1-C4 pass');
    expect(
      existsSync(join(dir, 'new', 'folder', 'credit-charge-emoney', 'main', 'emoney-emoney1.sqlite')),
    ).toBe(true);
    // Seed 004 (flows.md 6.3 table; 3,000 − 500 = 2,500 on card A and in the float).
    expect(r.stdout).toContain('  none            780        1130          2');
    expect(r.stdout).toContain('  terminal        100         650          1');
    expect(r.stdout).toMatch(/center1 +liab:float:center1 +-2500/);
    expect(r.stdout).toContain('card a004000000000001   balance 2500');
    // Seed 000 (flows.md 2.6, Fig. 5): 70,000 of the 100,000 from the personal account (200,000 − 70,000).
    expect(r.stdout).toMatch(/PASS D1 Fig\. 5: /);
    expect(r.stdout).toMatch(/MICABANK +liab:personal:0012345678 +-130000/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
