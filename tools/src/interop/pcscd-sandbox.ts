// pcscd in its own network and mount namespace with the vpcd driver in server mode (interop.md 3.3):
// vpcd's ports exist only on that namespace's loopback, the daemon's socket lives in a private /run, and
// every process is stopped by its recorded PID (3.4). Needs root, pcscd, vsmartcard-vpcd, iproute2.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const VPCD_DRIVER = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so';

/** The commands the sandbox needs, with the Debian package of each. */
export const SANDBOX_TOOLS: ReadonlyArray<readonly [string, string]> = [
  ['pcscd', 'pcscd'],
  ['unshare', 'util-linux'],
  ['nsenter', 'util-linux'],
  ['ip', 'iproute2'],
  ['ss', 'iproute2'],
];

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Why the sandbox cannot start here, or undefined when it can. */
export function sandboxUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the pcscd sandbox needs root (unshare -m -n)';
  const missing = SANDBOX_TOOLS.filter(([cmd]) => !hasCommand(cmd)).map(([, pkg]) => pkg);
  if (!existsSync(VPCD_DRIVER)) missing.push('vsmartcard-vpcd');
  return missing.length > 0 ? `missing Debian packages: ${[...new Set(missing)].join(' ')}` : undefined;
}

export interface PcscdSandbox {
  /** The temporary directory (run/, conf/, home/, logs). */
  readonly dir: string;
  /** PCSCLITE_CSOCK_NAME, HOME and XDG_CACHE_HOME for PC/SC clients in the normal namespace. */
  readonly env: Readonly<Record<string, string>>;
  readonly pcscdPid: number;
  readonly pcscdLog: string;
  /** Starts a process inside pcscd's network namespace only (nsenter -n does not fork: child.pid is it). */
  spawnInNet(command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /**
   * Stops pcscd and starts a new one in the same network namespace, entered through `holderPid` (a
   * process that stays in it, such as the card), with a fresh private mount namespace.
   */
  restartPcscd(holderPid: number): Promise<void>;
  /** TCP listeners on vpcd ports visible in the normal network namespace (must be none). */
  leakedPorts(): string[];
  /** Stops every process started here, newest first, then pcscd, by PID; removes the directory unless kept. */
  stop(options?: { keep?: boolean }): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM to `pid`, wait up to `ms` for it to end, then SIGKILL (that PID only). */
export async function stopPid(child: ChildProcess, ms = 5000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = sleep(ms).then(() => 'timeout' as const);
  if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  }
}

export async function startPcscdSandbox(): Promise<PcscdSandbox> {
  const why = sandboxUnavailable();
  if (why) throw new Error(why);
  const dir = mkdtempSync(join(tmpdir(), 'mica-pcsc.'));
  for (const d of ['run', 'conf', 'home']) mkdirSync(join(dir, d));
  writeFileSync(
    join(dir, 'conf', 'vpcd'),
    [
      'FRIENDLYNAME "Virtual PCD"',
      'DEVICENAME   /dev/null:0x8C7B',
      `LIBPATH      ${VPCD_DRIVER}`,
      'CHANNELID    0x8C7B',
      '',
    ].join('\n'),
  );
  const socket = join(dir, 'run', 'pcscd', 'pcscd.comm');
  const env = {
    PCSCLITE_CSOCK_NAME: socket,
    HOME: join(dir, 'home'),
    XDG_CACHE_HOME: join(dir, 'home', '.cache'),
  };
  const pcscdLog = join(dir, 'pcscd.log');
  const logFd = openSync(pcscdLog, 'w');
  const pcscdCommand = `mount --bind '${join(dir, 'run')}' /run && exec pcscd -f -a -c '${join(dir, 'conf')}'`;
  // unshare execs sh, sh execs pcscd: the child's PID is pcscd's.
  let pcscd = spawn(
    'unshare',
    ['-m', '-n', '--propagation', 'private', 'sh', '-c', `ip link set lo up && ${pcscdCommand}`],
    { stdio: ['ignore', logFd, logFd] },
  );
  const children: ChildProcess[] = [];
  const waitSocket = async (): Promise<void> => {
    for (let i = 0; i < 50 && !existsSync(socket); i++) {
      if (pcscd.exitCode !== null) break;
      await sleep(100);
    }
  };
  const pid = pcscd.pid;
  if (pid === undefined) throw new Error('could not start unshare/pcscd');
  await waitSocket();
  const box: PcscdSandbox = {
    dir,
    env,
    get pcscdPid() {
      return pcscd.pid ?? -1;
    },
    pcscdLog,
    spawnInNet(command, args, options = {}) {
      const child = spawn('nsenter', ['-t', String(pcscd.pid), '-n', command, ...args], options);
      children.push(child);
      return child;
    },
    async restartPcscd(holderPid) {
      await stopPid(pcscd);
      // nsenter -n and unshare -m both exec: the child's PID is the new pcscd's.
      pcscd = spawn(
        'nsenter',
        [
          '-t',
          String(holderPid),
          '-n',
          'unshare',
          '-m',
          '--propagation',
          'private',
          'sh',
          '-c',
          pcscdCommand,
        ],
        { stdio: ['ignore', logFd, logFd] },
      );
      await waitSocket();
      if (!existsSync(socket)) throw new Error(`the restarted pcscd made no socket (log: ${pcscdLog})`);
    },
    leakedPorts() {
      const r = spawnSync('ss', ['-ltnH'], { encoding: 'utf8' });
      return r.stdout.split('\n').filter((l) => /:3596[34]\b/.test(l));
    },
    async stop(options = {}) {
      for (const c of children.reverse()) await stopPid(c);
      await stopPid(pcscd);
      if (!options.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
  if (!existsSync(socket)) {
    await box.stop({ keep: true });
    throw new Error(`pcscd did not create its socket within 5 s (log: ${pcscdLog})`);
  }
  return box;
}
