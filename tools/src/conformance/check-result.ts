// The outcome of checking one test vector, and the field readers every vector kind shares.
import { hexToBytes } from '@mica/apdu-specs/hex';
import type { RfTransportOptions } from '@mica/host-sdk/transport/rf/rf-options';

export type CheckResult = { ok: true } | { ok: false; message: string };

/** How card-transcript kinds reach the vector's card (other kinds ignore it). */
export interface CheckContext {
  /** Over the rf: transport with these options (rf.md §10.4); absent = in-process. */
  readonly rf?: RfTransportOptions;
}

/** A vector checker: never throws; a missing or mistyped field is a failure naming the field. */
export type Checker = (vector: Record<string, unknown>, context?: CheckContext) => CheckResult;

export const PASS: CheckResult = Object.freeze({ ok: true });

export function fail(message: string): CheckResult {
  return { ok: false, message };
}

/** A field's value, or the failure that explains why it could not be read. */
export type FieldRead<T> = { ok: true; value: T } | { ok: false; message: string };

/** Reads a hex field (upper or lower case, spaces allowed); `length` pins its byte count. */
export function hexField(
  vector: Record<string, unknown>,
  name: string,
  length?: number,
): FieldRead<Uint8Array> {
  const raw = vector[name];
  if (raw === undefined) return { ok: false, message: `field "${name}" is missing` };
  if (typeof raw !== 'string')
    return { ok: false, message: `field "${name}" must be a hex string, got ${typeName(raw)}` };
  let bytes: Uint8Array;
  try {
    bytes = hexToBytes(raw, `field "${name}"`);
  } catch (e) {
    return { ok: false, message: errorMessage(e) };
  }
  if (length !== undefined && bytes.length !== length) {
    return { ok: false, message: `field "${name}" must be ${length} bytes, got ${bytes.length}` };
  }
  return { ok: true, value: bytes };
}

/** Reads a string field that must be one of `allowed`. */
export function choiceField<T extends string>(
  vector: Record<string, unknown>,
  name: string,
  allowed: readonly T[],
): FieldRead<T> {
  const raw = vector[name];
  if (raw === undefined) return { ok: false, message: `field "${name}" is missing` };
  if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw)) {
    const got = typeof raw === 'string' ? `"${raw}"` : typeName(raw);
    return { ok: false, message: `field "${name}" must be one of ${allowed.join(', ')}, got ${got}` };
  }
  return { ok: true, value: raw as T };
}

/** Reads a boolean field; `undefined` when it is absent. */
export function optionalBooleanField(
  vector: Record<string, unknown>,
  name: string,
): FieldRead<boolean | undefined> {
  const raw = vector[name];
  if (raw === undefined || typeof raw === 'boolean') return { ok: true, value: raw };
  return { ok: false, message: `field "${name}" must be true or false, got ${typeName(raw)}` };
}

/** Runs a checker body, turning anything it throws into a failure (checkers must never throw). */
export function guarded(check: () => CheckResult): CheckResult {
  try {
    return check();
  } catch (e) {
    return fail(`unexpected error: ${errorMessage(e)}`);
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' || t === 'undefined' ? `an ${t}` : `a ${t}`;
}
