#!/usr/bin/env node
// The project's whole test command (`npm test`): type check, lint, unit and property tests, the
// conformance vectors, then any tier that needs system packages. Ends with "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
let passed = 0;
let failed = 0;

function run(name, cmd, args, extraEnv = {}) {
  process.stdout.write(`\n== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...extraEnv },
  });
  return r.status === 0;
}

function step(name, cmd, args) {
  if (run(name, cmd, args)) passed += 1;
  else {
    failed += 1;
    process.stdout.write(`FAILED: ${name}\n`);
  }
}

const bin = (b) => join(root, 'node_modules', '.bin', b);

step('typecheck', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
step('eslint', bin('eslint'), ['.']);
step('prettier', bin('prettier'), ['--check', '.']);

// vitest: count individual tests from its JSON report.
const dir = mkdtempSync(join(tmpdir(), 'mica-test-'));
const report = join(dir, 'vitest.json');
const ok = run('vitest', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
]);
try {
  const j = JSON.parse(readFileSync(report, 'utf8'));
  passed += j.numPassedTests;
  failed += j.numFailedTests + (ok || j.numFailedTests > 0 ? 0 : 1);
  process.stdout.write(`vitest: ${j.numPassedTests} passed, ${j.numFailedTests} failed\n`);
} catch {
  failed += 1;
  process.stdout.write('FAILED: vitest wrote no report\n');
}
rmSync(dir, { recursive: true, force: true });

// conformance vectors through the CLI, as a user would run them.
const conf = spawnSync(
  process.execPath,
  [join(root, 'tools/bin/mica.js'), 'conformance', 'test-vectors/', '--json'],
  {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  },
);
process.stdout.write('\n== conformance: mica conformance test-vectors/\n');
try {
  const j = JSON.parse(conf.stdout);
  passed += j.passed;
  failed += j.failed;
  for (const f of j.files)
    process.stdout.write(
      `${f.file}: ${f.passed} passed, ${f.failed} failed${f.error ? ` (${f.error})` : ''}\n`,
    );
  if (conf.status !== 0 && j.failed === 0) failed += 1;
} catch {
  failed += 1;
  process.stdout.write(`FAILED: conformance did not answer in JSON\n${conf.stderr}\n`);
}

// System tiers: every tools/scripts/tiers/*.mjs (tshark, PC/SC interop, ...) installs what it needs
// (as root in CI), runs, and writes {"passed": n, "failed": n} to $MICA_TIER_REPORT. A tier that
// exits non-zero without a report counts as one failure; with CI=true a tier never skips.
const tiersDir = join(root, 'tools/scripts/tiers');
const tiers = existsSync(tiersDir)
  ? readdirSync(tiersDir)
      .filter((f) => f.endsWith('.mjs'))
      .sort()
  : [];
for (const tier of tiers) {
  const tdir = mkdtempSync(join(tmpdir(), 'mica-tier-'));
  const treport = join(tdir, 'report.json');
  const tok = run(`tier ${tier}`, process.execPath, [join(tiersDir, tier)], {
    MICA_TIER_REPORT: treport,
  });
  try {
    const j = JSON.parse(readFileSync(treport, 'utf8'));
    passed += j.passed;
    failed += j.failed + (tok || j.failed > 0 ? 0 : 1);
    process.stdout.write(`tier ${tier}: ${j.passed} passed, ${j.failed} failed\n`);
  } catch {
    failed += 1;
    process.stdout.write(`FAILED: tier ${tier} wrote no report\n`);
  }
  rmSync(tdir, { recursive: true, force: true });
}

process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
