// The answer-to-reset a PC/SC reader builds for a contactless card (interop.md 3.2, PC/SC Part 3
// contactless form: 3B 8n 80 01 <historical bytes> TCK): from the ATS's historical bytes (Type A), or
// from ATQB application data, protocol info and the ATTRIB answer's MBLI (Type B).

/** Historical bytes of an ATS (TL T0 [TA] [TB] [TC] historical…). */
export function historicalBytes(ats: Uint8Array): Uint8Array {
  if (ats.length < 2) return new Uint8Array(0);
  const t0 = ats[1]!;
  let at = 2;
  for (const bit of [0x10, 0x20, 0x40]) if (t0 & bit) at += 1;
  return ats.slice(at, ats[0]!);
}

/** 3B 8n 80 01 ‖ historical bytes ‖ TCK (XOR of the bytes after 3B). */
export function atrFromHistorical(hist: Uint8Array): Uint8Array {
  if (hist.length > 15) throw new RangeError('more than 15 historical bytes do not fit an ATR');
  const body = Uint8Array.of(0x80 | hist.length, 0x80, 0x01, ...hist);
  let tck = 0;
  for (const b of body) tck ^= b;
  return Uint8Array.of(0x3b, ...body, tck);
}

export function atrFromAts(ats: Uint8Array): Uint8Array {
  return atrFromHistorical(historicalBytes(ats));
}

/** Type B: application data (4) ‖ protocol info (3) ‖ MBLI << 4 as the historical bytes. */
export function atrFromAtqb(appData: Uint8Array, protInfo: Uint8Array, mbli = 0): Uint8Array {
  return atrFromHistorical(
    Uint8Array.of(...appData.subarray(0, 4), ...protInfo.subarray(0, 3), (mbli & 0x0f) << 4),
  );
}
