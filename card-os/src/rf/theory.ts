// Theoretical bit-error rates for the BER sweep (rf.md §6.3, §9.5): Q(√(2·Eb/N0)) for the antipodal codes.

/** Complementary error function (Numerical Recipes erfcc, fractional error below 1.2e-7 everywhere). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Gaussian tail Q(x) = P(N(0, 1) > x). */
export function qFunction(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}

/** Q(√(2 · Eb/N0)) for Eb/N0 in dB. */
export function antipodalBer(ebN0Db: number): number {
  return qFunction(Math.sqrt(2 * 10 ** (ebN0Db / 10)));
}

/** Theory for a link: antipodal for Type F and Type B, 2p(1 − p) with differential conversion, none for Type A. */
export function theoryBer(tech: 'a' | 'b' | 'f', ebN0Db: number, diff = false): number | undefined {
  if (tech === 'a') return undefined;
  const p = antipodalBer(ebN0Db);
  return diff ? 2 * p * (1 - p) : p;
}
