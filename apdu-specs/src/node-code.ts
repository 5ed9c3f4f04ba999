// Node codes: service and area codes as small value types (FeliCa attribute table, eeprom.md 5).

export const SYSTEM_NODE = 0xffff;
export const ROOT_AREA = 0x0000;
export const ROOT_AREA_END = 0xfffe;

export type ServiceFamily = 'random' | 'cyclic' | 'purse';
/** What a service attribute allows. `purse` access splits into direct, cashback, decrement, read-only. */
export type ServiceAccess = 'read-write' | 'read-only' | 'direct' | 'cashback' | 'decrement';

export interface ServiceAttribute {
  readonly code: number;
  readonly family: ServiceFamily;
  readonly access: ServiceAccess;
  readonly withKey: boolean;
  readonly withPin: boolean;
  readonly name: string;
}

function attr(code: number): ServiceAttribute | undefined {
  const pin = code >= 0x28 && code <= 0x37;
  const base = pin ? code - 0x20 : code;
  if (base < 0x08 || base > 0x17) return undefined;
  const withKey = (base & 1) === 0;
  let family: ServiceFamily;
  let access: ServiceAccess;
  if (base < 0x0c) {
    family = 'random';
    access = base < 0x0a ? 'read-write' : 'read-only';
  } else if (base < 0x10) {
    family = 'cyclic';
    access = base < 0x0e ? 'read-write' : 'read-only';
  } else {
    family = 'purse';
    access = (['direct', 'cashback', 'decrement', 'read-only'] as const)[(base - 0x10) >> 1]!;
  }
  const name = `${family} ${access}${withKey ? ' with key' : ' without key'}${pin ? ', PIN' : ''}`;
  return Object.freeze({ code, family, access, withKey, withPin: pin, name });
}

/** The FeliCa service attribute table (attributes 08h-17h, and 28h-37h with PIN). */
export const SERVICE_ATTRIBUTES: ReadonlyMap<number, ServiceAttribute> = new Map(
  Array.from({ length: 64 }, (_, i) => [i, attr(i)] as const).filter(
    (e): e is readonly [number, ServiceAttribute] => e[1] !== undefined,
  ),
);

/** Area attributes: 00 may hold sub-areas, 01 may not. */
export const AreaAttribute = Object.freeze({ parent: 0x00, leaf: 0x01 } as const);

export function nodeAttribute(code: number): number {
  return code & 0x3f;
}
export function nodeNumber(code: number): number {
  return code >> 6;
}
export function isAreaCode(code: number): boolean {
  return code !== SYSTEM_NODE && (code & 0x3f) <= 1;
}
export function isServiceCode(code: number): boolean {
  return SERVICE_ATTRIBUTES.has(code & 0x3f);
}
export function serviceAttribute(code: number): ServiceAttribute | undefined {
  return SERVICE_ATTRIBUTES.get(code & 0x3f);
}
export function makeNodeCode(number: number, attribute: number): number {
  if (!Number.isInteger(number) || number < 0 || number > 0x3ff)
    throw new RangeError(`node number ${number} out of range 0..1023`);
  if (!Number.isInteger(attribute) || attribute < 0 || attribute > 0x3f)
    throw new RangeError(`attribute ${attribute} out of range 0..63`);
  return (number << 6) | attribute;
}

/** Four hex digits, lowercase: the notation of profiles and output. */
export function formatCode(code: number): string {
  return code.toString(16).padStart(4, '0');
}

/** Parses a 4-hex-digit node or system code. */
export function parseCode(text: string, what = 'code'): number {
  const t = text.replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]{4}$/.test(t)) throw new RangeError(`${what} must be 4 hex digits, got "${text}"`);
  return parseInt(t, 16);
}

/** Node codes travel little-endian in FeliCa frames. */
export function readNodeCodeLE(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}
export function writeNodeCodeLE(out: Uint8Array, offset: number, code: number): void {
  out[offset] = code & 0xff;
  out[offset + 1] = code >> 8;
}
