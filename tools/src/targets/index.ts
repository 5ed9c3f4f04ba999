// The registry of card-target schemes (cli.md "Card targets"). A plain path means sim:<path>.
import { UsageError } from '../cli-error';
import { openSim } from './sim';
import { openScript } from './script';
import { openTcp } from './tcp';
import { openVpcd } from './vpcd';
import { openPcsc } from './pcsc';
import { openRf } from './rf';
import type { OpenedTarget, TargetOpener, TargetOptions } from './types';

export type { OpenedTarget, TargetOptions } from './types';

const OPENERS: ReadonlyMap<string, TargetOpener> = new Map<string, TargetOpener>([
  ['sim', openSim],
  ['tcp', openTcp],
  ['script', openScript],
  ['vpcd', openVpcd],
  ['pcsc', openPcsc],
  ['rf', openRf],
]);

/** Options that only a card in this process can honour. */
const SIM_ONLY: ReadonlySet<string> = new Set(['sim', 'rf']);

/** Splits `scheme:rest`; a plain path (or a Windows drive path) is `sim`. */
export function schemeOf(target: string): { scheme: string; rest: string } {
  const m = /^([a-z][a-z0-9]*):/.exec(target);
  if (!m || /^[a-zA-Z]:[\\/]/.test(target)) return { scheme: 'sim', rest: target };
  return { scheme: m[1] ?? '', rest: target.slice(m[0].length) };
}

export function openTarget(target: string, options: TargetOptions = {}): Promise<OpenedTarget> {
  const { scheme, rest } = schemeOf(target);
  const opener = OPENERS.get(scheme);
  if (!opener)
    throw new UsageError(
      `card target scheme "${scheme}:" is not supported (this version supports ${[...OPENERS.keys()]
        .map((s) => `${s}:`)
        .join(', ')} and plain image paths)`,
    );
  if (!SIM_ONLY.has(scheme) && (options.random || options.powerCutAfterBytes !== undefined))
    throw new UsageError('--seed and --power-cut-after-bytes need a sim: target (or rf: around one)');
  return opener(rest, options);
}
