// The seed 003 card (flows.md 5.1): one brand system whose system key and root area belong to the
// brand holder, one area per issuer, and inside it an ID service, a purse, a cyclic log, and for each
// key A-M a purse overlap (cashback for the loading channels A-E, decrement for the merchant services
// F-M) with a log overlap. Node codes are derived from the issuer's area code (decision: README).
import { formatCode } from '@mica/apdu-specs/node-code';

/** The brand's system code (system 0 of every brand card; decision: README). */
export const BRAND_SYSTEM_CODE = 0x8b0f;
/** The card's crypto suite (security.md 2: the default). */
export const BRAND_SUITE = '2k3des';
/** Master keys of the 2K3DES suite are 16 bytes. */
export const MASTER_KEY_BYTES = 16;

export const LOADING_KEYS = ['A', 'B', 'C', 'D', 'E'] as const;
export const MERCHANT_KEYS = ['F', 'G', 'H', 'I', 'J'] as const;
/** Cybershop keys: held by the brand holder, never distributed (flows.md 5.3 F0.6). */
export const CYBERSHOP_KEYS = ['K', 'L', 'M'] as const;
export const SERVICE_KEYS = [...LOADING_KEYS, ...MERCHANT_KEYS, ...CYBERSHOP_KEYS] as const;
export type ServiceKeyName = (typeof SERVICE_KEYS)[number];

export function isServiceKeyName(name: string): name is ServiceKeyName {
  return (SERVICE_KEYS as readonly string[]).includes(name);
}
export function isLoadingKey(name: string): boolean {
  return (LOADING_KEYS as readonly string[]).includes(name);
}
export function isMerchantKey(name: string): boolean {
  return (MERCHANT_KEYS as readonly string[]).includes(name);
}
export function isCybershopKey(name: string): boolean {
  return (CYBERSHOP_KEYS as readonly string[]).includes(name);
}

/** Blocks of the cyclic log (one record per value change; the oldest drops out). */
export const LOG_BLOCKS = 12;
/** User blocks of an issuer area: ID 1, purse 1, log. */
export const AREA_CAPACITY = 2 + LOG_BLOCKS;
/** Purse policy: maxBalance (flows.md 1.3 default). */
export const MAX_BALANCE = 50_000;

/** The root area, owned by the brand holder. */
export const ROOT_AREA_CODE = 0x0000;
export const ROOT_AREA_END = 0xfffe;

/** Node codes of one issuer's area (area code: number << 6, attribute 00). */
export interface IssuerAreaLayout {
  readonly area: number;
  readonly end: number;
  /** Random read-only without key: the card ID. */
  readonly id: number;
  /** The purse (direct access with key: the issuer's own). */
  readonly purse: number;
  /** The purse's cyclic log (with key: the issuer's own). */
  readonly log: number;
  /** For each key A-M: the purse overlap and the log overlap it guards. */
  readonly services: Readonly<Record<ServiceKeyName, { readonly purse: number; readonly log: number }>>;
}

const svc = (area: number, k: number, attribute: number): number => area + (k << 6) + attribute;

/** The layout of the issuer area `area` (a multiple of 0800h between 0800h and F800h). */
export function issuerAreaLayout(area: number): IssuerAreaLayout {
  if (!Number.isInteger(area) || area <= 0 || area > 0xf800 || area % 0x800 !== 0)
    throw new RangeError(
      `an issuer area code must be a multiple of 0800h in 0800h..F800h, got ${formatCode(area)}`,
    );
  const services = {} as Record<ServiceKeyName, { purse: number; log: number }>;
  SERVICE_KEYS.forEach((name, j) => {
    // Cashback (12h) for loading channels, decrement (14h) for merchants; the log overlap is cyclic (0Ch).
    const attribute = isLoadingKey(name) ? 0x12 : 0x14;
    services[name] = { purse: svc(area, 4 + 2 * j, attribute), log: svc(area, 5 + 2 * j, 0x0c) };
  });
  return Object.freeze({
    area,
    end: area + 0x7ff,
    id: svc(area, 1, 0x0b),
    purse: svc(area, 2, 0x10),
    log: svc(area, 3, 0x0c),
    services: Object.freeze(services),
  });
}

/** The nodes a key name guards in one issuer area: the purse overlap, then the log overlap. */
export function keyNodes(area: number, keyName: ServiceKeyName): [number, number] {
  const s = issuerAreaLayout(area).services[keyName];
  return [s.purse, s.log];
}

/** The log record's origin byte: the index of the key (channel A = 1 … M = 13). */
export function originOf(keyName: ServiceKeyName): number {
  return SERVICE_KEYS.indexOf(keyName) + 1;
}
