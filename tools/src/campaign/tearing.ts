// Tearing: cut the power at every EEPROM byte write of one command, recover, and judge the whole
// physical image (data, parity and check bytes, journal) against the states before and after it.
//
// The two reference states are scrubbed (no corrected or uncorrectable block) and their file system
// index is rebuilt from EEPROM once each; every recovered image is then compared byte for byte with
// them (ARCHITECTURE.md "Reliability"), so a recovered image equal to one of them is parity-clean and
// has consistent definitions too, without a scrub per cut point.
import type { Card } from '@mica/card-os/card';
import type { Eeprom } from '@mica/card-os/hal/eeprom';
import { buildIndex } from '@mica/card-os/fs/file-system';

export interface TearingCase {
  /** A fresh, powered card in the state before the command (rebuilt for every cut point). */
  readonly setup: () => Card;
  readonly command: (card: Card) => unknown;
  /**
   * A further judgment of each recovered card (e.g. purse and log agree); returns a problem or
   * undefined. Called after the byte comparison, with the state it matched.
   */
  readonly judge?: (card: Card, state: 'old' | 'new') => string | undefined;
}

export interface TearingResult {
  /** Bytes the uninterrupted command wrote (0: it changed nothing, no cut point). */
  readonly bytes: number;
  readonly cuts: number;
  readonly oldState: number;
  readonly newState: number;
  /** Cut points whose recovered image was neither state, or a reference state that is not clean. */
  readonly failures: readonly string[];
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Problems of a reference state: parity errors, or a file system index that does not rebuild. */
export function stateProblems(eeprom: Eeprom, which: string): string[] {
  const out: string[] = [];
  const probe = eeprom.clone();
  const scrub = probe.scrub(false);
  if (scrub.corrected.length > 0 || scrub.uncorrectable.length > 0)
    out.push(
      `the ${which} state has parity errors (${scrub.corrected.length} corrected, ${scrub.uncorrectable.length} uncorrectable blocks)`,
    );
  try {
    buildIndex(probe);
  } catch (e) {
    out.push(`the ${which} state's definitions do not rebuild: ${(e as Error).message}`);
  }
  return out;
}

/** Which cut points to try: every `stride`-th byte write from `offset`, at most `limit` (default: every one). */
export interface CutPlan {
  readonly stride?: number;
  readonly offset?: number;
  readonly limit?: number;
}

/** Runs the command once uninterrupted, then once per planned cut point. */
export function tearingSweep(c: TearingCase, plan: number | CutPlan = 1): TearingResult {
  const { stride = 1, offset = 0, limit = Infinity } = typeof plan === 'number' ? { stride: plan } : plan;
  if (!Number.isInteger(stride) || stride < 1) throw new RangeError(`stride must be ≥ 1, got ${stride}`);
  const ref = c.setup();
  const before = ref.eeprom.snapshot();
  const failures = stateProblems(ref.eeprom, 'old');
  const start = ref.eeprom.physical.bytesWritten;
  c.command(ref);
  const bytes = ref.eeprom.physical.bytesWritten - start;
  const after = ref.eeprom.snapshot();
  if (bytes > 0) failures.push(...stateProblems(ref.eeprom, 'new'));
  let oldState = 0;
  let newState = 0;
  let cuts = 0;
  for (let cut = offset; cut < bytes && cuts < limit; cut += stride) {
    cuts += 1;
    const card = c.setup();
    const e = card.eeprom;
    e.cutPowerAfter(e.physical.bytesWritten + cut);
    c.command(card);
    e.cutPowerAfter(undefined);
    card.powerOff();
    card.powerOn();
    const now = e.snapshot();
    let state: 'old' | 'new';
    if (same(now, before)) state = 'old';
    else if (same(now, after)) state = 'new';
    else {
      const scrub = e.scrub(false);
      const parity = scrub.corrected.length + scrub.uncorrectable.length;
      failures.push(
        `cut ${cut}: the image is neither the old nor the new state${parity > 0 ? `, with ${parity} blocks failing parity` : ''}`,
      );
      continue;
    }
    if (state === 'old') oldState += 1;
    else newState += 1;
    const problem = c.judge?.(card, state);
    if (problem !== undefined) failures.push(`cut ${cut} (${state} state): ${problem}`);
  }
  return { bytes, cuts, oldState, newState, failures };
}
