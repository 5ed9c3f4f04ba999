// The request schemas of schema.ts: an object's unknown field is an error, including the names every
// JavaScript object inherits (found by the back-end HTTP fuzz target: {"constructor": 1} passed).
import { describe, expect, it } from 'vitest';
import { int, object, optional, RequestError, str } from '@mica/host-sdk/backend/schema';

describe('object schemas', () => {
  const s = object({ amount: int(1, 100), note: optional(str({ max: 8 })) });

  it('accepts exactly its fields', () => {
    expect(s.check({ amount: 5 }, 'pay')).toEqual({ amount: 5 });
    expect(s.check({ amount: 5, note: 'x' }, 'pay')).toEqual({ amount: 5, note: 'x' });
  });

  it.each(['extra', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__', 'isPrototypeOf'])(
    'refuses the unknown field %s, naming it',
    (name) => {
      // JSON.parse makes "__proto__" an own field, as a JSON body over HTTP does.
      const body = JSON.parse(`{"amount": 5, ${JSON.stringify(name)}: 1}`) as unknown;
      expect(() => s.check(body, 'pay')).toThrow(RequestError);
      expect(() => s.check(body, 'pay')).toThrow(`pay.${name} is not a field of this request`);
    },
  );
});

describe('a refusal message', () => {
  const s = object({ amount: int(1, 100) });

  it('shows a wrong value in at most about 40 characters, however big or deep (a deep one overflowed the stack: a 500)', () => {
    const deep = JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`) as unknown;
    expect(() => s.check(deep, 'pay')).toThrow(
      new RequestError('pay must be a JSON object, got a list of 1 items'),
    );
    expect(() => s.check({ amount: deep }, 'pay')).toThrow(
      new RequestError('pay.amount must be an integer from 1 to 100, got a list of 1 items'),
    );
    const wide = { amount: Array.from({ length: 10_000 }, (_, i) => i) };
    expect(() => s.check(wide, 'pay')).toThrow(
      new RequestError('pay.amount must be an integer from 1 to 100, got a list of 10000 items'),
    );
    expect(() => s.check({ amount: [1, 2] }, 'pay')).toThrow(
      new RequestError('pay.amount must be an integer from 1 to 100, got [1,2]'),
    );
    expect(() => s.check({ amount: { a: 'x'.repeat(50) } }, 'pay')).toThrow(
      new RequestError('pay.amount must be an integer from 1 to 100, got an object of 1 fields'),
    );
  });
});
