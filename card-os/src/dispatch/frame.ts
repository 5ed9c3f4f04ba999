// Response frame building and request-frame reading helpers shared by the FeliCa command handlers.
import { SF1_GENERAL } from '@mica/apdu-specs/status-flags';

/** Builds LEN ‖ code ‖ IDm ‖ body. */
export function response(
  code: number,
  idm: Uint8Array,
  ...body: readonly (Uint8Array | readonly number[])[]
): Uint8Array {
  let n = 2 + idm.length;
  for (const b of body) n += b.length;
  if (n > 255) throw new RangeError(`response of ${n} bytes exceeds LEN`);
  const out = new Uint8Array(n);
  out[0] = n;
  out[1] = code;
  out.set(idm, 2);
  let o = 2 + idm.length;
  for (const b of body) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

export function statusResponse(code: number, idm: Uint8Array, sf1: number, sf2: number): Uint8Array {
  return response(code, idm, [sf1, sf2]);
}

export { SF1_GENERAL };
