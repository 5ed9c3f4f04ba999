// The READMEs' examples run as written: the CLI lines of the root README and each package README's
// TypeScript example (whose `// expected` comment lines must appear in its output).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const mica = join(root, 'tools/bin/mica.js');

function blocks(markdown: string, lang: string): string[] {
  const re = new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g');
  return [...markdown.matchAll(re)].map((m) => m[1]!);
}

describe('README examples', () => {
  it('runs every `npx mica` line of the root README', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const lines = blocks(readme, 'sh')
      .flatMap((b) => b.split('\n'))
      .filter((l) => l.startsWith('npx mica '));
    expect(lines.length).toBeGreaterThan(5);
    const dir = mkdtempSync(join(tmpdir(), 'mica-readme-'));
    try {
      const outputs = lines.map((l) => {
        const args = l.slice('npx mica '.length).replaceAll('/tmp/', `${dir}/`).split(/\s+/);
        return execFileSync(process.execPath, [mica, ...args], { cwd: root, encoding: 'utf8' });
      });
      const felica = outputs[lines.findIndex((l) => l.startsWith('npx mica felica'))]!.trim().split('\n');
      expect(felica[0]).toBe('140102fe0102030405060120220427674eff12fc');
      expect(felica[1]).toMatch(/^1d0702fe010203040506000001[0-9a-f]{32}$/);
      const apdu = outputs[lines.findIndex((l) => l.startsWith('npx mica apdu'))]!.trim().split('\n');
      expect(apdu).toEqual(['fe0102030405069000', '140102fe0102030405060120220427674eff12fc9000']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // One process per line, each starting Node and tsx: the time grows with the README, not with a fault.
  }, 300_000);

  for (const pkg of ['apdu-specs', 'card-os', 'host-sdk']) {
    it(`runs the TypeScript example of ${pkg}/README.md`, () => {
      const readme = readFileSync(join(root, pkg, 'README.md'), 'utf8');
      const code = blocks(readme, 'ts')[0]!;
      const expected = code
        .split('\n')
        .filter((l) => /^\/\/ \S/.test(l))
        .map((l) => l.slice(3).trim());
      const file = join(root, 'tools', `.readme-example-${pkg}.ts`);
      writeFileSync(file, code);
      try {
        const out = execFileSync(process.execPath, ['--import', 'tsx', file], {
          cwd: root,
          encoding: 'utf8',
        });
        for (const e of expected) expect(out).toContain(e);
      } finally {
        rmSync(file, { force: true });
      }
    });
  }
});
