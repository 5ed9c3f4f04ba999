// `mica run <scenario>` (cli.md, flows.md 1.7): one business flow with its acceptance checks, over
// in-process or HTTP back-ends; exit 0 when every check and the audit pass, 1 otherwise, 2 on a
// usage or setup error.
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { intArg } from '../args';
import { UsageError } from '../cli-error';
import { SetupError } from '../run/fixture';
import { SCENARIOS, scenarioNamed } from '../run/registry';
import { resolveVariants, runScenario } from '../run/runner';
import type { BackendTransport } from '../run/scenario';

interface RunFlags {
  mode: string;
  transport: string;
  seed: string;
  data: string;
  json?: boolean;
  variant: string[];
  card?: string;
  rf?: string;
  pcap?: string;
  cache?: string;
}

export function registerRun(program: Command): void {
  program
    .command('run <scenario>')
    .description(
      `run one business flow and its acceptance checks (scenarios: ${SCENARIOS.map((s) => s.name).join(', ')})`,
    )
    .option('--mode <mode>', 'hardened or faithful: the main flow (attack pairs run in both)', 'hardened')
    .option('--transport <t>', 'inproc, or http (every back-end served on a loopback port)', 'inproc')
    .option('--seed <n>', 'seed of every random source: one seed, one transcript', '1')
    .option(
      '--data <dir>',
      'data directory for back-end files and card images (default: in memory)',
      ':memory:',
    )
    .option('--json', 'print {scenario, seed, mode, transport, steps, checks, ledgers, cards, audit}')
    .option(
      '--variant <v>',
      'a variant (value, or axis=value); repeatable',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--card <target>', "card target of the main flow's card (default: sim: of the scenario's image)")
    .option('--rf <K=V&...>', 'the main card through the radio simulator: --card rf:<card>?K=V&...')
    .option(
      '--pcap <file>',
      "capture of the main flow's card traffic for Wireshark (rf: frames as on air; .pcapng for pcapng)",
    )
    .option(
      '--cache <mode>',
      'validity-cache: all (none, both, medium, terminal in turn) or one mode (= --variant cache=<mode>)',
    )
    .addHelpText(
      'after',
      '\nPrints one line per step, a PASS or FAIL line per acceptance check, then the audit.\n\nExample:\n  mica run credit-charge-emoney --transport http --seed 7\n',
    )
    .action(async (name: string, o: RunFlags) => {
      const scenario = scenarioNamed(name);
      if (!scenario)
        throw new UsageError(
          `no scenario "${name}" (this version has ${SCENARIOS.map((s) => s.name).join(', ')})`,
        );
      if (o.mode !== 'hardened' && o.mode !== 'faithful')
        throw new UsageError(`--mode must be hardened or faithful, got "${o.mode}"`);
      if (o.transport !== 'inproc' && o.transport !== 'http')
        throw new UsageError(`--transport must be inproc or http, got "${o.transport}"`);
      const seed = intArg(o.seed, '--seed', 0, Number.MAX_SAFE_INTEGER);
      if (o.data !== ':memory:') mkdirSync(o.data, { recursive: true });
      const variants = resolveVariants(scenario, [
        ...o.variant,
        ...(o.cache !== undefined ? [`cache=${o.cache}`] : []),
      ]);
      const print = (l: string): void => {
        process.stdout.write(`${l}\n`);
      };
      let report;
      try {
        report = await runScenario(
          scenario,
          {
            mode: o.mode,
            transport: o.transport as BackendTransport,
            seed,
            data: o.data,
            variants,
            ...(o.card !== undefined ? { card: o.card } : {}),
            ...(o.rf !== undefined ? { rf: o.rf } : {}),
            ...(o.pcap !== undefined ? { pcap: o.pcap } : {}),
          },
          o.json ? undefined : print,
        );
      } catch (e) {
        if (e instanceof SetupError) throw new UsageError(`setup failed: ${e.message}`);
        throw e;
      }
      if (o.json) print(JSON.stringify(jsonReport(report)));
      process.exitCode = report.exitCode;
    });
}

/** The --json shape of flows.md 1.7 (plus variants). */
export function jsonReport(r: Awaited<ReturnType<typeof runScenario>>): unknown {
  return {
    scenario: r.scenario,
    seed: r.seed,
    mode: r.mode,
    transport: r.transport,
    variants: r.variants,
    steps: r.steps,
    checks: r.checks,
    ledgers: r.ledgers,
    cards: r.cards,
    ...(r.reports.length > 0 ? { reports: r.reports.map(({ name, data }) => ({ name, data })) } : {}),
    audit: r.audit,
  };
}
