// `mica backend new|serve|audit` (cli.md, flows.md 1.2-1.3): create back-end instances in a data
// directory, serve every instance over HTTP/JSON, and run the conservation audit C1-C4.
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { formatAudit, audit, type AuditReport } from '@mica/host-sdk/backend/audit';
import type { AuditView } from '@mica/host-sdk/backend/backend';
import { CallersError, readCallers } from '@mica/host-sdk/backend/http/callers';
import {
  HttpBackendLink,
  HttpBankClient,
  HttpCreditClient,
  HttpEMoneyClient,
} from '@mica/host-sdk/backend/http/client';
import { BackendServer } from '@mica/host-sdk/backend/http/server';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { KINDS, World, isKind } from '@mica/host-sdk/backend/world';
import { SystemClock, VirtualClock, type Clock } from '@mica/host-sdk/platform/clock';
import { SeededRng, SystemRng, type Rng } from '@mica/host-sdk/platform/rng';
import { intArg } from '../args';
import { OperationError, UsageError } from '../cli-error';

interface WorldFlags {
  data: string;
  seed?: string;
  mode?: string;
  clock?: string;
  start?: string;
}

function makeWorld(
  o: WorldFlags,
  open: (options: ConstructorParameters<typeof World>[0]) => World,
): { world: World; clock: Clock } {
  const mode = o.mode ?? 'hardened';
  if (mode !== 'hardened' && mode !== 'faithful')
    throw new UsageError(`--mode must be hardened or faithful, got "${mode}"`);
  const kind = o.clock ?? 'system';
  if (kind !== 'system' && kind !== 'virtual')
    throw new UsageError(`--clock must be system or virtual, got "${kind}"`);
  let clock: Clock;
  if (kind === 'virtual') {
    const start = o.start === undefined ? Date.UTC(2004, 5, 7, 1) : Date.parse(o.start);
    if (!Number.isFinite(start)) throw new UsageError(`--start must be an ISO date-time, got "${o.start}"`);
    clock = new VirtualClock(start);
  } else {
    if (o.start !== undefined) throw new UsageError('--start needs --clock virtual');
    clock = new SystemClock();
  }
  const rng: Rng =
    o.seed === undefined
      ? new SystemRng()
      : new SeededRng(intArg(o.seed, '--seed', 0, Number.MAX_SAFE_INTEGER));
  try {
    return { world: open({ dataDir: o.data, clock, rng, mode }), clock };
  } catch (e) {
    throw new OperationError((e as Error).message);
  }
}

export function registerBackend(program: Command): void {
  const backend = program
    .command('backend')
    .description('back-end instances in a data directory: create, serve over HTTP, audit');

  backend
    .command('new <kind> <id>')
    .description(
      `create a back-end instance <dataDir>/<kind>-<id>.sqlite (kinds: ${Object.keys(KINDS).join(', ')})`,
    )
    .requiredOption('--data <dir>', 'data directory')
    .option('--seed <n>', 'seed of the random source (the storage key); default: the system CSPRNG')
    .addHelpText('after', '\nExample:\n  mica backend new bank bank1 --data ./backends\n')
    .action((kind: string, id: string, o: WorldFlags) => {
      if (!isKind(kind))
        throw new UsageError(`kind must be one of ${Object.keys(KINDS).join(', ')}, got "${kind}"`);
      mkdirSync(o.data, { recursive: true });
      const { world } = makeWorld(o, (w) => new World(w));
      try {
        world.open(kind, id);
      } catch (e) {
        throw new UsageError((e as Error).message);
      } finally {
        world.close();
      }
      process.stdout.write(`${o.data}/${kind}-${id}.sqlite\n`);
    });

  backend
    .command('serve')
    .description('serve every back-end instance of the data directory over HTTP/JSON until interrupted')
    .requiredOption('--data <dir>', 'data directory (instances <kind>-<id>.sqlite and callers.json)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', '0')
    .option(
      '--clock <kind>',
      'system, or virtual (exposes GET /v1/_clock and POST /v1/_clock/advance)',
      'system',
    )
    .option('--start <iso>', 'start of the virtual clock (default 2004-06-07T10:00+09:00)')
    .option('--seed <n>', 'seed of the random source (default: the system CSPRNG)')
    .option('--mode <mode>', 'hardened or faithful (flows.md 1.6)', 'hardened')
    .addHelpText(
      'after',
      '\nThe first line on stdout is "listening on http://<host>:<port>".\n\nExample:\n  mica backend serve --data ./backends --port 8080 --clock virtual\n',
    )
    .action(async (o: WorldFlags & { host: string; port: string }) => {
      const port = intArg(o.port, '--port', 0, 65535);
      let callers;
      try {
        callers = readCallers(o.data);
      } catch (e) {
        if (e instanceof CallersError) throw new UsageError(e.message);
        throw e;
      }
      const { world, clock } = makeWorld(o, (w) => World.openDirectory(w));
      if (world.list().length === 0)
        throw new UsageError(`${o.data} holds no back-end instances (create them with mica backend new)`);
      const server = new BackendServer(world, {
        callers,
        ...(clock instanceof VirtualClock ? { virtualClock: clock } : {}),
      });
      let url: string;
      try {
        ({ url } = await server.listen(port, o.host));
      } catch (e) {
        throw new OperationError(`cannot listen on ${o.host}:${port}: ${(e as Error).message}`);
      }
      process.stdout.write(`listening on ${url}\n`);
      for (const { kind, id } of world.list())
        process.stderr.write(`mica backend serve: ${url}/v1/${kind}/${id}/<method>\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          void server.close().then(() => {
            world.close();
            resolve();
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  backend
    .command('audit')
    .description(
      'the conservation audit C1-C4 over every instance (from the data directory, or from a served world)',
    )
    .option('--data <dir>', 'data directory to open read-only-in-effect (no request is made)')
    .option('--url <url>', 'a served world (mica backend serve); needs --token')
    .option('--token <hex>', 'caller token allowed */*/auditView and _instances')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExit 0 when C1-C4 pass, 1 otherwise.\n\nExamples:\n  mica backend audit --data ./backends\n  mica backend audit --url http://127.0.0.1:8080 --token <hex>\n',
    )
    .action(async (o: { data?: string; url?: string; token?: string; json?: boolean }) => {
      if ((o.data === undefined) === (o.url === undefined))
        throw new UsageError('give --data DIR or --url URL (with --token)');
      let report: AuditReport;
      if (o.data !== undefined) {
        const { world } = makeWorld({ data: o.data }, (w) => World.openDirectory(w));
        try {
          report = await world.audit();
        } finally {
          world.close();
        }
      } else {
        if (o.token === undefined) throw new UsageError('--url needs --token');
        const link = new HttpBackendLink({ baseUrl: o.url!, token: o.token });
        const listed = (await link.get('_instances')) as {
          ok: boolean;
          result?: { kind: string; id: string }[];
          message?: string;
        };
        if (!listed.ok || !listed.result)
          throw new OperationError(`${o.url} refused the instance list: ${listed.message ?? 'unauthorised'}`);
        const views: AuditView[] = [];
        for (const { kind, id } of listed.result) {
          const client =
            kind === 'bank'
              ? new HttpBankClient(link, id)
              : kind === 'credit'
                ? new HttpCreditClient(link, id)
                : new HttpEMoneyClient(link, id);
          views.push(expectOk(await client.auditView()));
        }
        report = audit(views);
      }
      process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : `${formatAudit(report).join('\n')}\n`);
      if (!report.ok) process.exitCode = 1;
    });
}
