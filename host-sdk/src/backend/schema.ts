// Request shapes of the back-end methods, declared once: each method's schema both types its request
// (Infer<...>) and checks a JSON body (HTTP, and every in-process call) with a message naming the
// field. Binary fields are lowercase hex strings, amounts JSON integers (flows.md 1.2).

export class RequestError extends Error {
  override readonly name = 'RequestError';
}

export interface Schema<T> {
  readonly describe: string;
  /** Returns the checked value or throws RequestError naming `path`. */
  check(value: unknown, path: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function schema<T>(describe: string, check: (v: unknown, path: string) => T): Schema<T> {
  return Object.freeze({ describe, check });
}

/** The value as the message shows it: at most about 40 characters, whatever its size or depth. */
function shownValue(got: unknown): string {
  if (typeof got === 'string') return `"${got.length > 40 ? `${got.slice(0, 40)}…` : got}"`;
  let text: string;
  try {
    text = JSON.stringify(got) ?? String(got);
  } catch {
    // Nested too deep to print (a RangeError): a body of thousands of brackets is still a 400.
    text = '';
  }
  if (text !== '' && text.length <= 40) return text;
  if (Array.isArray(got)) return `a list of ${got.length} items`;
  if (typeof got === 'object' && got !== null) return `an object of ${Object.keys(got).length} fields`;
  return `${text.slice(0, 40)}…`;
}

function bad(path: string, want: string, got: unknown): never {
  throw new RequestError(`${path} must be ${want}, got ${shownValue(got)}`);
}

export const str = (
  options: { min?: number; max?: number; pattern?: RegExp; describe?: string } = {},
): Schema<string> => {
  const { min = 1, max = 256, pattern } = options;
  const describe = options.describe ?? `a string of ${min}-${max} characters`;
  return schema(describe, (v, p) => {
    if (typeof v !== 'string' || v.length < min || v.length > max || (pattern && !pattern.test(v)))
      bad(p, describe, v);
    return v;
  });
};

/** Lowercase hex of exactly `bytes` bytes (or any even length up to 4096 bytes). */
export const hex = (bytes?: number): Schema<string> => {
  const describe = bytes === undefined ? 'lowercase hex' : `${bytes} bytes of lowercase hex`;
  return schema(describe, (v, p) => {
    if (
      typeof v !== 'string' ||
      !/^(?:[0-9a-f]{2})*$/.test(v) ||
      (bytes !== undefined ? v.length !== bytes * 2 : v.length > 8192)
    )
      bad(p, describe, v);
    return v;
  });
};

export const txId = hex(16);

export const int = (min = 0, max = Number.MAX_SAFE_INTEGER): Schema<number> => {
  const describe = `an integer from ${min} to ${max}`;
  return schema(describe, (v, p) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) bad(p, describe, v);
    return v;
  });
};

/** A positive amount of yen (1 = ¥1), at most 2^32 - 1 like a card balance. */
export const amount = int(1, 0xffffffff);

export const bool: Schema<boolean> = schema('true or false', (v, p) => {
  if (typeof v !== 'boolean') bad(p, 'true or false', v);
  return v;
});

export const oneOf = <const T extends readonly string[]>(values: T): Schema<T[number]> => {
  const describe = `one of ${values.join(', ')}`;
  return schema(describe, (v, p) => {
    if (typeof v !== 'string' || !values.includes(v)) bad(p, describe, v);
    return v as T[number];
  });
};

export const list = <T>(item: Schema<T>, max = 1000): Schema<T[]> =>
  schema(`a list of ${item.describe}`, (v, p) => {
    if (!Array.isArray(v) || v.length > max) bad(p, `a list of at most ${max} items`, v);
    return v.map((x, i) => item.check(x, `${p}[${i}]`));
  });

/** Marks an object field optional (absent; null is not absence). */
export interface Optional<T> {
  readonly optional: Schema<T>;
}
export const optional = <T>(s: Schema<T>): Optional<T> => Object.freeze({ optional: s });

type Fields = Record<string, Schema<unknown> | Optional<unknown>>;
type RequiredKeys<F extends Fields> = { [K in keyof F]: F[K] extends Optional<unknown> ? never : K }[keyof F];
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends Optional<unknown> ? K : never }[keyof F];
export type ObjectOf<F extends Fields> = {
  readonly [K in RequiredKeys<F>]: F[K] extends Schema<infer T> ? T : never;
} & {
  readonly [K in OptionalKeys<F>]?: F[K] extends Optional<infer T> ? T : never;
};

/** An object with exactly these fields: an unknown field is an error too. */
export const object = <F extends Fields>(fields: F): Schema<ObjectOf<F>> =>
  schema('an object', (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(p, 'a JSON object', v);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!Object.hasOwn(fields, k)) throw new RequestError(`${p}.${k} is not a field of this request`);
    const out: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(fields)) {
      if ('optional' in f) {
        if (o[k] !== undefined) out[k] = f.optional.check(o[k], `${p}.${k}`);
      } else {
        if (o[k] === undefined) throw new RequestError(`${p}.${k} is missing`);
        out[k] = f.check(o[k], `${p}.${k}`);
      }
    }
    return out as ObjectOf<F>;
  });

/** One back-end kind's methods: name → request schema. */
export type ApiSpec = Record<string, Schema<unknown>>;
