// Tearing: cut the power at every EEPROM byte write of one command, recover, and judge the whole
// physical image (data, parity and check bytes, journal) against the states before and after it.
import type { Card } from '@mica/card-os/card';

export interface TearingCase {
  /** A fresh, powered card in the state before the command (rebuilt for every cut point). */
  readonly setup: () => Card;
  readonly command: (card: Card) => unknown;
}

export interface TearingResult {
  /** Bytes the uninterrupted command wrote (0: it changed nothing, no cut point). */
  readonly bytes: number;
  readonly cuts: number;
  readonly oldState: number;
  readonly newState: number;
  /** Cut points whose recovered image was neither state, or had a parity error. */
  readonly failures: readonly string[];
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs the command once uninterrupted, then once per cut point; `stride` > 1 samples cut points. */
export function tearingSweep(c: TearingCase, stride = 1): TearingResult {
  const ref = c.setup();
  const before = ref.eeprom.snapshot();
  const start = ref.eeprom.physical.bytesWritten;
  c.command(ref);
  const bytes = ref.eeprom.physical.bytesWritten - start;
  const after = ref.eeprom.snapshot();
  const failures: string[] = [];
  let oldState = 0;
  let newState = 0;
  let cuts = 0;
  for (let cut = 0; cut < bytes; cut += stride) {
    cuts += 1;
    const card = c.setup();
    const e = card.eeprom;
    e.cutPowerAfter(e.physical.bytesWritten + cut);
    c.command(card);
    e.cutPowerAfter(undefined);
    card.powerOff();
    card.powerOn();
    const now = e.snapshot();
    const scrub = e.scrub(false);
    if (scrub.corrected.length > 0 || scrub.uncorrectable.length > 0)
      failures.push(`cut ${cut}: parity errors after recovery`);
    if (same(now, before)) oldState += 1;
    else if (same(now, after)) newState += 1;
    else failures.push(`cut ${cut}: the image is neither the old nor the new state`);
  }
  return { bytes, cuts, oldState, newState, failures };
}
