// The card's answer-to-reset over PC/SC, derived from the ATS's historical bytes (interop.md 3.2,
// PC/SC Part 3 contactless form: 3B 8n 80 01 <historical bytes> TCK).

/** Historical bytes of an ATS (TL T0 [TA] [TB] [TC] historical…). */
export function historicalBytes(ats: Uint8Array): Uint8Array {
  if (ats.length < 2) return new Uint8Array(0);
  const t0 = ats[1]!;
  let at = 2;
  for (const bit of [0x10, 0x20, 0x40]) if (t0 & bit) at += 1;
  return ats.slice(at, ats[0]!);
}

export function atrFromAts(ats: Uint8Array): Uint8Array {
  const hist = historicalBytes(ats);
  if (hist.length > 15) throw new RangeError('more than 15 historical bytes do not fit an ATR');
  const body = Uint8Array.of(0x80 | hist.length, 0x80, 0x01, ...hist);
  let tck = 0;
  for (const b of body) tck ^= b;
  return Uint8Array.of(0x3b, ...body, tck);
}
