// The inputs of the back-end HTTP fuzz target (fuzz-http.ts): a real method route with its JSON body
// (a valid template per method, mutated: a field dropped, given another type or an edge value, a long
// or unicode string, nested junk, an unknown field), HTTP-level mutations (method, path, token,
// content type, body framing, header values) and raw bytes; each as the bytes of one HTTP/1.1 request.
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { Draw } from './draw';
import { mutateBytes } from './mutate';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export const FUZZ_TOKEN = 'f0'.repeat(32);
/** A caller allowed one route only (403 everywhere else). */
export const NARROW_TOKEN = '0f'.repeat(32);
/** The served body limit (413 above it). */
export const MAX_BODY = 16 * 1024;

/** The served instances the target opens (kind → id) and its seeded state. */
export const INSTANCES = { bank: 'bank1', credit: 'credit1', emoney: 'emoney1', brand: 'brand1' } as const;
export type FuzzKind = keyof typeof INSTANCES;
export const ACCOUNTS = ['A1', 'A2'] as const;
export const CARD_NO = '4000000000000001';
export const EMONEY_NO = '1001';

/** A valid body of a method, with fresh txIds and ids from the draw. */
export interface Template {
  readonly kind: FuzzKind;
  readonly method: string;
  body(d: Draw): JsonObject;
}

const tx = (d: Draw): string => bytesToHex(Uint8Array.from(d.bytes(16)));
const amt = (d: Draw): number => 1 + d.below(d.chance(0.8) ? 500 : 60_000);
const acct = (d: Draw): string => d.pick(ACCOUNTS);

export const TEMPLATES: readonly Template[] = [
  { kind: 'bank', method: 'account', body: (d) => ({ accountNo: acct(d) }) },
  {
    kind: 'bank',
    method: 'openAccount',
    body: (d) => ({ accountNo: `F${d.below(1000)}`, userId: `u${d.below(100)}`, name: 'Fuzz User' }),
  },
  { kind: 'bank', method: 'depositCash', body: (d) => ({ txId: tx(d), accountNo: acct(d), amount: amt(d) }) },
  {
    kind: 'bank',
    method: 'withdrawCash',
    body: (d) => ({ txId: tx(d), accountNo: acct(d), amount: amt(d) }),
  },
  {
    kind: 'bank',
    method: 'payToPeer',
    body: (d) => ({ txId: tx(d), accountNo: acct(d), amount: amt(d), peer: 'credit1' }),
  },
  {
    kind: 'bank',
    method: 'holdFunds',
    body: (d) => ({ txId: tx(d), accountNo: acct(d), amount: amt(d), peer: 'emoney1', step: 'T2' }),
  },
  { kind: 'bank', method: 'releaseHold', body: (d) => ({ txId: tx(d) }) },
  { kind: 'bank', method: 'poolRows', body: () => ({ userId: 'u1' }) },
  { kind: 'bank', method: 'openContract', body: () => ({ creditCoId: 'credit1' }) },
  {
    kind: 'bank',
    method: 'receiveStatement',
    body: (d) => ({
      creditCoId: 'credit1',
      cycleId: '2026-11',
      rows: [{ userId: 'u1', bankAccountNo: acct(d), billed: amt(d) }],
    }),
  },
  { kind: 'credit', method: 'account', body: () => ({ cardNo: CARD_NO }) },
  {
    kind: 'credit',
    method: 'openCardAccount',
    body: (d) => ({
      cardNo: `4000${String(d.below(10_000)).padStart(12, '0')}`,
      userId: 'u2',
      name: 'Fuzz Card',
      billingBankId: 'bank1',
      billingAccountNo: acct(d),
      cardExpiry: 10_000 + d.below(1000),
      limit: d.below(200_000),
      pin: '1234',
    }),
  },
  { kind: 'credit', method: 'setLost', body: (d) => ({ cardNo: CARD_NO, lost: d.chance(0.2) }) },
  { kind: 'credit', method: 'billing', body: () => ({ cardNo: CARD_NO }) },
  {
    kind: 'credit',
    method: 'authorizeCardNotPresent',
    body: (d) => ({
      txId: tx(d),
      cardNo: CARD_NO,
      expiry: 10_500,
      pin: '1234',
      amount: amt(d),
      merchantId: 'shop1',
    }),
  },
  { kind: 'credit', method: 'reverseCardNotPresent', body: (d) => ({ txId: tx(d) }) },
  { kind: 'emoney', method: 'user', body: () => ({ emoneyNo: EMONEY_NO }) },
  { kind: 'emoney', method: 'charges', body: () => ({ emoneyNo: EMONEY_NO }) },
  {
    kind: 'emoney',
    method: 'registerUser',
    body: (d) => ({
      emoneyNo: String(2000 + d.below(1000)),
      name: 'Fuzz Holder',
      password: 'pw',
      refundBankId: 'bank1',
      refundAccountNo: acct(d),
      idm: '0102030405060708',
    }),
  },
  {
    kind: 'emoney',
    method: 'inquire',
    body: (d) => ({ emoneyNo: EMONEY_NO, password: d.chance(0.5) ? 'pw' : 'no', terminalId: 't1' }),
  },
  {
    kind: 'emoney',
    method: 'recordPayment',
    body: (d) => ({ txId: tx(d), emoneyNo: EMONEY_NO, amount: amt(d), merchant: 'shop1', terminalId: 't1' }),
  },
  { kind: 'brand', method: 'participant', body: () => ({ id: 'issuer1' }) },
  {
    kind: 'brand',
    method: 'registerParticipant',
    body: (d) => ({
      id: `m${d.below(500)}`,
      kind: d.pick(['issuer', 'merchant', 'center', 'cybershop']),
      name: 'Fuzz Shop',
      agreement: 'standard',
      feeBps: d.below(1000),
    }),
  },
  {
    kind: 'brand',
    method: 'recordCustomer',
    body: (d) => ({
      cardId: bytesToHex(Uint8Array.from(d.bytes(8))),
      issuerId: 'issuer1',
      name: 'Fuzz Customer',
    }),
  },
  {
    kind: 'brand',
    method: 'revokePermission',
    body: () => ({ issuerId: 'issuer1', recipientId: 'm1', keyName: 'A' }),
  },
  { kind: 'brand', method: 'keyRegistry', body: () => ({}) },
];

/** Values that break a field: other types, edges of integers and amounts, NaN-ish text, nesting. */
const EDGE_VALUES: readonly Json[] = [
  null,
  true,
  false,
  0,
  -1,
  0.5,
  1e21,
  -1e21,
  4294967295,
  4294967296,
  9007199254740991,
  9007199254740992,
  Number.MAX_VALUE,
  'NaN',
  'Infinity',
  '-0',
  '1e3',
  '',
  ' ',
  '0',
  '00000000000000000000000000000000',
  'A1',
  '../../etc',
  "'; DROP TABLE ledger; --",
  '\u0000',
  '\u202e\ud83d\udca5é',
  '\ud800',
  'x'.repeat(300),
  '9'.repeat(40),
  [],
  [1, 2, 3],
  {},
  { $ne: null },
  JSON.parse('{"__proto__":{"amount":1}}') as Json,
];

interface Slot {
  readonly parent: Json[] | JsonObject;
  readonly key: string | number;
  /** The top-level field this slot sits under. */
  readonly top: string;
}

function slots(v: Json, top: string | undefined, out: Slot[]): Slot[] {
  if (Array.isArray(v))
    v.forEach((x, i) => {
      out.push({ parent: v, key: i, top: top ?? String(i) });
      slots(x, top ?? String(i), out);
    });
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      out.push({ parent: v, key: k, top: top ?? k });
      slots(x, top ?? k, out);
    }
  return out;
}

function setSlot(s: Slot, value: Json): void {
  if (Array.isArray(s.parent)) s.parent[s.key as number] = value;
  else s.parent[s.key as string] = value;
}

function getSlot(s: Slot): Json {
  return Array.isArray(s.parent) ? s.parent[s.key as number]! : s.parent[s.key as string]!;
}

function junk(d: Draw, depth: number): Json {
  if (depth <= 0 || d.chance(0.3)) return d.pick(EDGE_VALUES);
  return d.chance(0.5)
    ? Array.from({ length: d.below(4) }, () => junk(d, depth - 1))
    : Object.fromEntries(Array.from({ length: d.below(4) }, (_, i) => [`k${i}`, junk(d, depth - 1)]));
}

/** A string mutated by a character: dropped, unicode or a control inserted, repeated to a huge length. */
function tweakString(d: Draw, s: string): string {
  const at = s.length === 0 ? 0 : d.below(s.length);
  switch (d.below(5)) {
    case 0:
      return s.slice(0, at) + s.slice(at + 1);
    case 1:
      return (
        s.slice(0, at) + d.pick(['é', '\u0000', '\n', '"', '\\', '\ud83d\ude00', 'Z', '-']) + s.slice(at)
      );
    case 2:
      return s.repeat(2 + d.below(40));
    case 3:
      return s.toUpperCase();
    default:
      return ` ${s}`;
  }
}

function tweakNumber(d: Draw, n: number): Json {
  return d.pick([n + 1, n - 1, -n, n * 1000, n + 0.5, 0, 0xffffffff - n + 1, 2 ** 53 + n, String(n)]);
}

export interface MutatedBody {
  readonly body: JsonObject | Json;
  /** The one top-level field every mutation touched (undefined: several, or the whole body). */
  readonly field: string | undefined;
}

/** The template body with one to three mutations (the last-touched field named when it is the only one). */
export function mutateBody(d: Draw, base: JsonObject): MutatedBody {
  const root: JsonObject = structuredClone(base);
  const touched = new Set<string>();
  const rounds = 1 + (d.chance(0.8) ? 0 : d.below(3));
  for (let i = 0; i < rounds; i++) {
    const all = slots(root, undefined, []);
    const choice = all.length === 0 ? 6 : d.below(8);
    if (choice === 6) {
      const k = d.pick(['extra', 'txId', 'amount', '__proto__', 'constructor', 'accountNo', '']);
      Object.defineProperty(root, k, {
        value: junk(d, 2),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      touched.add(k);
      continue;
    }
    if (choice === 7 && d.chance(0.1)) return { body: junk(d, 3), field: undefined };
    const s = d.pick(all);
    touched.add(s.top);
    const v = getSlot(s);
    switch (choice) {
      case 0:
        if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
        else Reflect.deleteProperty(s.parent, s.key);
        break;
      case 1:
      case 2:
        setSlot(s, d.pick(EDGE_VALUES));
        break;
      case 3:
        setSlot(
          s,
          typeof v === 'string' ? tweakString(d, v) : typeof v === 'number' ? tweakNumber(d, v) : junk(d, 2),
        );
        break;
      case 4:
        setSlot(s, junk(d, 3));
        break;
      default:
        // Another field's value (a plausible type in the wrong place).
        setSlot(s, structuredClone(getSlot(d.pick(all))));
    }
  }
  return { body: root, field: touched.size === 1 ? [...touched][0] : undefined };
}

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
}

const utf8 = new TextEncoder();

/** A request as the bytes of HTTP/1.1 (Connection: close, so the answer ends with the connection). */
export function requestBytes(r: RawRequest): Uint8Array {
  const head = `${r.method} ${r.path} HTTP/1.1\r\n${r.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  const h = utf8.encode(head);
  const out = new Uint8Array(h.length + r.body.length);
  out.set(h);
  out.set(r.body, h.length);
  return out;
}

/** The usual headers of a JSON POST with `token`, the body's length and Connection: close. */
export function jsonHeaders(token: string, body: Uint8Array): [string, string][] {
  return [
    ['host', '127.0.0.1'],
    ['authorization', `Bearer ${token}`],
    ['content-type', 'application/json'],
    ['content-length', String(body.length)],
    ['connection', 'close'],
  ];
}

export function routeOf(t: Template): string {
  return `/v1/${t.kind}/${INSTANCES[t.kind]}/${t.method}`;
}

export function jsonBytes(body: Json): Uint8Array {
  return utf8.encode(JSON.stringify(body));
}

/** A byte-level mutation of a whole request (head and body). */
export function mutateRequestBytes(d: Draw, request: Uint8Array): Uint8Array {
  return mutateBytes(d, request, 8192);
}

/** One input: its bytes and what its answer must be. */
export interface HttpInput {
  readonly how: string;
  readonly bytes: Uint8Array;
  /** The failure line's input. */
  readonly shown: string;
  /** HEAD: the answer has no body. */
  readonly head?: boolean;
  /** The statuses allowed (undefined: any but 5xx). */
  readonly expect?: readonly number[];
  /** A malformed request: the server may close without an answer or answer without JSON. */
  readonly framing?: boolean;
  /** A method's body: a 400 must name `<method>` (and `<method>.<field>` when one field was mutated). */
  readonly method?: string;
  readonly field?: string;
  /** A replayed request: the stored answer, and nothing changes. */
  readonly replayOf?: unknown;
  /** The same txId with another request: E_TXID_CONFLICT, and nothing changes. */
  readonly conflict?: boolean;
  /** Remembered for a replay when accepted. */
  readonly remember?: Remembered;
}

export interface Remembered {
  readonly template: Template;
  readonly body: JsonObject;
  answer?: unknown;
}
