// The optional distance model (rf.md §6.7): on-axis coupling of a loop antenna and the card's power limit.

/** mica defaults: loop radius 3.5 cm; V10 at d = 0 of 10 V; diode drop 0.7 V; minimum supply 2.0 V. */
export const DISTANCE_DEFAULTS = Object.freeze({ radiusM: 0.035, v10At0: 10, vf: 0.7, vMin: 2.0 } as const);

/** g(d) = (r² / (r² + d²))^(3/2); g(0) = 1. */
export function coupling(distanceM: number, radiusM: number = DISTANCE_DEFAULTS.radiusM): number {
  if (!(distanceM >= 0)) throw new RangeError(`distance must be at least 0 m, got ${distanceM}`);
  if (!(radiusM > 0)) throw new RangeError(`radius must be above 0 m, got ${radiusM}`);
  const r2 = radiusM * radiusM;
  return (r2 / (r2 + distanceM * distanceM)) ** 1.5;
}

/** A card answers only while V10(0) · g(d) − Vf ≥ Vmin (its unmodulated supply). */
export function cardPowered(
  distanceM: number,
  opts: { radiusM?: number; v10At0?: number; vf?: number; vMin?: number } = {},
): boolean {
  const d = { ...DISTANCE_DEFAULTS, ...opts };
  return d.v10At0 * coupling(distanceM, d.radiusM) - d.vf >= d.vMin;
}

/** Effective Eb/N0 at distance d: reader→card loses 20·log10 g, card→reader 40·log10 g. */
export function effectiveSnrDb(
  snrAt0: number,
  distanceM: number,
  dir: 'r2c' | 'c2r',
  radiusM?: number,
): number {
  const g = coupling(distanceM, radiusM);
  return snrAt0 + (dir === 'r2c' ? 20 : 40) * Math.log10(g);
}
