// `mica serve ...`: present a card image to other software (cli.md). Each adapter is its own module
// (serve-tcp.ts, serve-vpcd.ts, ...) registered below.
import type { Command } from 'commander';
import { addServeTcp } from './serve-tcp';
import { registerServePn532 } from './serve-pn532';
import { registerServeVpcd } from './serve-vpcd';

/** Adapters of `mica serve`; each adds one subcommand. */
const ADAPTERS: ReadonlyArray<(serve: Command) => void> = [
  registerServeVpcd,
  registerServePn532,
  addServeTcp,
];

export function registerServe(program: Command): void {
  const serve = program
    .command('serve')
    .description('serve a card image to other software (tcp:, vpcd, ...) until interrupted');
  for (const add of ADAPTERS) add(serve);
}
