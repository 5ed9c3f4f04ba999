// The `mica` command line: commander program with one module per command and one error boundary.
import { Command, CommanderError } from 'commander';
import { exitCodeFor, report } from './cli-error';
import { registerCommands } from './commands/index';

const program = new Command('mica')
  .description('mica: a byte-accurate multi-application contactless IC card emulator')
  .showHelpAfterError()
  .exitOverride();
registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    report(e);
    process.exitCode = exitCodeFor(e);
  }
}
