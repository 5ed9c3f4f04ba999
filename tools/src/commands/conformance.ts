// `mica conformance`: runs test-vector files; last line "N passed, N failed"; exit 0 only if none failed.
import type { Command } from 'commander';
import { runConformance } from '../conformance/runner';
import { progressBar } from '../progress';

export function registerConformance(program: Command): void {
  program
    .command('conformance <paths...>')
    .description('run test-vector files or folders of them (vectors.md)')
    .option('--json', 'print a machine-readable report instead')
    .addHelpText('after', '\nExample:\n  mica conformance test-vectors/\n')
    .action((paths: string[], o: { json?: boolean }) => {
      const bar = o.json ? undefined : progressBar('vector files');
      const report = runConformance(paths, (done, total) => bar?.update(done, total));
      bar?.stop();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        for (const f of report.files) {
          if (f.error) process.stdout.write(`FAIL ${f.file}: ${f.error}\n`);
          for (const x of f.failures) process.stdout.write(`FAIL ${f.file} ${x.id}: ${x.message}\n`);
        }
        for (const f of report.files)
          process.stdout.write(`${f.file} (${f.kind}): ${f.passed} passed, ${f.failed} failed\n`);
        process.stdout.write(`${report.passed} passed, ${report.failed} failed\n`);
      }
      if (report.failed > 0) process.exitCode = 1;
    });
}
