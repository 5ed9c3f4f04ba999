// Byte hygiene for crypto code: argument checks, constant-time comparison and wiping of secrets.

/** How a value that is not a Uint8Array reads in an error message. */
function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  if (t === 'object') return `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
  return t === 'undefined' ? 'undefined' : `a ${t}`;
}

/**
 * Throws TypeError unless `value` is a Uint8Array, and RangeError unless its length is `length`
 * (one number or a list of allowed lengths). `name` names the argument in the message.
 */
export function assertBytes(
  value: unknown,
  name: string,
  length?: number | readonly number[],
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array, got ${describeValue(value)}`);
  }
  if (length === undefined) return;
  if (typeof length === 'number') {
    if (value.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
  } else if (!length.includes(value.length)) {
    throw new RangeError(`${name} must be ${length.join(', ')} bytes, got ${value.length}`);
  }
}

/**
 * True when `a` and `b` hold the same bytes. The time taken depends only on the lengths, never on
 * where the arrays differ: every byte of the compared length is visited; unequal lengths still scan
 * `a` completely (against itself) before answering false.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'a');
  assertBytes(b, 'b');
  const sameLength = a.length === b.length;
  const other = sameLength ? b : a;
  let diff = sameLength ? 0 : 1;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ other[i]!;
  return diff === 0;
}

/** Overwrites every given array with zeros (for keys and other secrets that are done with). */
export function zero(...arrays: Uint8Array[]): void {
  arrays.forEach((a, i) => assertBytes(a, `arrays[${i}]`));
  for (const a of arrays) a.fill(0);
}
