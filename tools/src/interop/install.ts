// What the interop tier needs on the machine (interop.md 1), installed from Debian when missing (as
// root), and the optional npm `smartcard` binding built once libpcsclite-dev is there: `npm ci` on a
// machine without the headers leaves that optional package out, so the tier builds it itself.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasCommand, VPCD_DRIVER } from './pcscd-sandbox';

interface Need {
  readonly pkg: string;
  readonly present: () => boolean;
}

const cmd = (name: string) => () => hasCommand(name);
const file = (path: string) => () => existsSync(path);

const NEEDS: readonly Need[] = [
  { pkg: 'pcscd', present: cmd('pcscd') },
  { pkg: 'vsmartcard-vpcd', present: file(VPCD_DRIVER) },
  { pkg: 'libccid', present: file('/usr/lib/pcsc/drivers/ifd-ccid.bundle') },
  { pkg: 'pcsc-tools', present: () => hasCommand('pcsc_scan') && hasCommand('scriptor') },
  { pkg: 'opensc', present: cmd('opensc-tool') },
  {
    pkg: 'python3-pyscard',
    present: () =>
      spawnSync('/usr/bin/python3', ['-c', 'import smartcard.System'], { stdio: 'ignore' }).status === 0,
  },
  { pkg: 'libpcsclite-dev', present: file('/usr/include/PCSC/winscard.h') },
  { pkg: 'iproute2', present: () => hasCommand('ip') && hasCommand('ss') },
  { pkg: 'util-linux', present: () => hasCommand('unshare') && hasCommand('nsenter') },
  { pkg: 'libnfc-bin', present: () => hasCommand('nfc-list') && hasCommand('nfc-read-forum-tag3') },
  { pkg: 'socat', present: cmd('socat') },
  { pkg: 'g++', present: cmd('g++') },
  { pkg: 'make', present: cmd('make') },
];

export interface SetupResult {
  readonly ok: boolean;
  readonly detail: string;
}

function sh(command: string, args: string[], cwd?: string): { ok: boolean; out: string } {
  process.stdout.write(`$ ${command} ${args.join(' ')}\n`);
  const r = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 900_000,
  });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function bindingLoads(root: string): boolean {
  return (
    spawnSync(process.execPath, ['-e', "require('smartcard')"], {
      cwd: join(root, 'host-sdk'),
      stdio: 'ignore',
    }).status === 0
  );
}

/** Installs what is missing; the detail names what could not be had. */
export function ensureInteropPackages(root: string): SetupResult {
  const missing = NEEDS.filter((n) => !n.present()).map((n) => n.pkg);
  if (missing.length > 0) {
    if (process.getuid?.() !== 0)
      return { ok: false, detail: `missing Debian packages (install as root): ${missing.join(' ')}` };
    const upd = sh('apt-get', ['update']);
    if (!upd.ok) return { ok: false, detail: `apt-get update failed:\n${upd.out.slice(-2000)}` };
    const inst = sh('apt-get', ['install', '-y', '--no-install-recommends', ...missing]);
    if (!inst.ok)
      return { ok: false, detail: `apt-get install ${missing.join(' ')} failed:\n${inst.out.slice(-3000)}` };
    const still = NEEDS.filter((n) => !n.present()).map((n) => n.pkg);
    if (still.length > 0) return { ok: false, detail: `still missing after apt-get: ${still.join(' ')}` };
  }
  if (!bindingLoads(root)) {
    const version = (
      JSON.parse(readFileSync(join(root, 'host-sdk/package.json'), 'utf8')) as {
        optionalDependencies?: Record<string, string>;
      }
    ).optionalDependencies?.['smartcard'];
    if (!version) return { ok: false, detail: 'host-sdk/package.json names no optional smartcard version' };
    // Built against the machine's Node headers (npm_config_nodedir, when set, keeps node-gyp offline).
    const r = existsSync(join(root, 'node_modules/smartcard'))
      ? sh('npm', ['rebuild', 'smartcard'], root)
      : sh(
          'npm',
          ['install', '--no-save', '--ignore-scripts=false', `smartcard@${version}`, '-w', 'host-sdk'],
          root,
        );
    if (!r.ok || !bindingLoads(root))
      return { ok: false, detail: `the smartcard binding did not build:\n${r.out.slice(-3000)}` };
  }
  return { ok: true, detail: '' };
}
