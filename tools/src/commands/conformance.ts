// `mica conformance`: runs test-vector files; last line "N passed, N failed"; exit 0 only if none failed.
import type { Command } from 'commander';
import { RfOptionError, parseRfQuery } from '@mica/host-sdk/transport/rf/rf-options';
import { UsageError } from '../cli-error';
import { runConformance } from '../conformance/runner';
import { progressBar } from '../progress';

export function registerConformance(program: Command): void {
  program
    .command('conformance <paths...>')
    .description('run test-vector files or folders of them (vectors.md)')
    .option('--json', 'print a machine-readable report instead')
    .option(
      '--rf [K=V&…]',
      'run the card transcripts (felica-transcript, apdu-transcript) over the radio simulator, rf:sim:<card>?K=V&… (rf.md §10.4)',
    )
    .addHelpText(
      'after',
      "\nExamples:\n  mica conformance test-vectors/\n  mica conformance test-vectors/ --rf 'snr=18'\n",
    )
    .action((paths: string[], o: { json?: boolean; rf?: string | boolean }) => {
      let rf;
      try {
        rf = o.rf === undefined ? undefined : parseRfQuery(o.rf === true ? '' : String(o.rf));
      } catch (e) {
        if (e instanceof RfOptionError) throw new UsageError(e.message);
        throw e;
      }
      if (rf && (rf.report !== undefined || rf.pcap !== undefined || rf.trace !== undefined))
        throw new UsageError('--rf takes no report, pcap or trace paths (one run per vector)');
      const bar = o.json ? undefined : progressBar('vector files');
      const report = runConformance(paths, (done, total) => bar?.update(done, total), rf ? { rf } : {});
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
