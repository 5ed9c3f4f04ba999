// Command APDUs (ISO/IEC 7816-4 5.1): cases 1-4, short and extended, parsed and built in one place.

export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  /** Ne: the maximum number of response bytes expected (Le = 00 → 256, extended 0000 → 65536); 0 = none. */
  readonly ne: number;
  readonly extended: boolean;
  readonly case: 1 | 2 | 3 | 4;
}

export type ParsedApdu =
  { readonly ok: true; readonly apdu: CommandApdu } | { readonly ok: false; readonly reason: string };

/** Parses a command APDU; a malformed length structure is reported (the card answers 6700). */
export function parseCommandApdu(b: Uint8Array): ParsedApdu {
  if (b.length < 4) return { ok: false, reason: 'shorter than a header' };
  const [cla, ins, p1, p2] = [b[0]!, b[1]!, b[2]!, b[3]!];
  const base = { cla, ins, p1, p2 };
  const n = b.length - 4;
  if (n === 0)
    return { ok: true, apdu: { ...base, data: new Uint8Array(0), ne: 0, extended: false, case: 1 } };
  const b4 = b[4]!;
  if (n === 1)
    return {
      ok: true,
      apdu: { ...base, data: new Uint8Array(0), ne: b4 === 0 ? 256 : b4, extended: false, case: 2 },
    };
  if (b4 !== 0 || n < 3) {
    // Short Lc.
    const lc = b4;
    if (lc === 0) return { ok: false, reason: 'Lc of 0' };
    if (n === 1 + lc)
      return { ok: true, apdu: { ...base, data: b.slice(5, 5 + lc), ne: 0, extended: false, case: 3 } };
    if (n === 2 + lc) {
      const le = b[5 + lc]!;
      return {
        ok: true,
        apdu: { ...base, data: b.slice(5, 5 + lc), ne: le === 0 ? 256 : le, extended: false, case: 4 },
      };
    }
    return { ok: false, reason: `body of ${n} bytes does not match Lc ${lc}` };
  }
  // Extended: 00 then two bytes.
  const x = (b[5]! << 8) | b[6]!;
  if (n === 3)
    return {
      ok: true,
      apdu: { ...base, data: new Uint8Array(0), ne: x === 0 ? 65536 : x, extended: true, case: 2 },
    };
  if (x === 0) return { ok: false, reason: 'extended Lc of 0' };
  if (n === 3 + x)
    return { ok: true, apdu: { ...base, data: b.slice(7, 7 + x), ne: 0, extended: true, case: 3 } };
  if (n === 5 + x) {
    const le = (b[7 + x]! << 8) | b[8 + x]!;
    return {
      ok: true,
      apdu: { ...base, data: b.slice(7, 7 + x), ne: le === 0 ? 65536 : le, extended: true, case: 4 },
    };
  }
  return { ok: false, reason: `body of ${n} bytes does not match extended Lc ${x}` };
}

/** Builds a command APDU; short form unless the data or Ne need the extended form. */
export function buildCommandApdu(
  cla: number,
  ins: number,
  p1: number,
  p2: number,
  data: Uint8Array = new Uint8Array(0),
  ne = 0,
): Uint8Array {
  const extended = data.length > 255 || ne > 256;
  const out: number[] = [cla, ins, p1, p2];
  if (!extended) {
    if (data.length > 0) out.push(data.length, ...data);
    if (ne > 0) out.push(ne === 256 ? 0 : ne);
    return Uint8Array.from(out);
  }
  if (data.length > 65535) throw new RangeError('APDU data longer than 65535 bytes');
  if (data.length > 0) out.push(0, data.length >> 8, data.length & 0xff, ...data);
  if (ne > 0) {
    if (data.length === 0) out.push(0);
    const le = ne === 65536 ? 0 : ne;
    out.push(le >> 8, le & 0xff);
  }
  return Uint8Array.from(out);
}

/** The logical channel a CLA addresses (0-3 first-interindustry, 4-19 further-interindustry). */
export function channelOf(cla: number): number {
  return (cla & 0x40) !== 0 ? 4 + (cla & 0x0f) : cla & 0x03;
}

/** Command chaining bit (b5 of CLA). */
export function isChained(cla: number): boolean {
  return (cla & 0x10) !== 0;
}

/** Secure messaging indicated by CLA (b4 b3 = 11 in first-interindustry CLA; b6 in further-interindustry). */
export function isSecureMessaging(cla: number): boolean {
  return (cla & 0x40) !== 0 ? (cla & 0x20) !== 0 : (cla & 0x0c) === 0x0c;
}
