// The crc, felica-frame and reed-solomon vector checkers: every shared vector passes, every mutation fails.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CheckResult, Checker } from '../src/conformance/check-result';
import { checkCrc } from '../src/conformance/kinds/crc';
import { checkFelicaFrame } from '../src/conformance/kinds/felica-frame';
import { checkReedSolomon } from '../src/conformance/kinds/reed-solomon';

type Vector = Record<string, unknown>;

function load(file: string): { kind: string; vectors: Vector[] } {
  return JSON.parse(readFileSync(new URL(`../../test-vectors/${file}`, import.meta.url), 'utf8')) as {
    kind: string;
    vectors: Vector[];
  };
}

const files: readonly (readonly [string, string, Checker])[] = [
  ['crc-iso14443.json', 'crc', checkCrc],
  ['crc-felica.json', 'crc', checkCrc],
  ['felica-frame.json', 'felica-frame', checkFelicaFrame],
  ['reed-solomon-rs20-16.json', 'reed-solomon', checkReedSolomon],
];

/** The hex string with byte `index` (of its bytes, spaces ignored) XORed with `xor`. */
function flipByte(hex: string, index: number, xor = 0x01): string {
  const clean = hex.replace(/\s+/g, '');
  const b = parseInt(clean.slice(2 * index, 2 * index + 2), 16) ^ xor;
  return clean.slice(0, 2 * index) + b.toString(16).padStart(2, '0') + clean.slice(2 * index + 2);
}

function hexLength(hex: unknown): number {
  return typeof hex === 'string' ? hex.replace(/\s+/g, '').length / 2 : 0;
}

function expectFailure(result: CheckResult, pattern?: RegExp): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.message.length).toBeGreaterThan(0);
  if (pattern !== undefined) expect(result.message).toMatch(pattern);
}

/** Mutations that must make a vector fail: one flipped byte (first, middle, last) in each checked field. */
function mutations(kind: string, v: Vector): [string, Vector][] {
  const fields =
    kind === 'crc' ? ['data', 'crc'] : kind === 'felica-frame' ? ['payload', 'frame'] : ['data', 'parity'];
  const out: [string, Vector][] = [];
  for (const field of fields) {
    const n = hexLength(v[field]);
    for (const i of new Set([0, n >> 1, n - 1])) {
      if (i < 0 || i >= n) continue;
      out.push([`${field}[${i}] flipped`, { ...v, [field]: flipByte(v[field] as string, i) }]);
    }
  }
  // A third wrong byte in a word with two: must not decode to `data` any more.
  if (kind === 'reed-solomon' && v['correctable'] === true && typeof v['received'] === 'string') {
    const received = (v['received'] as string).replace(/\s+/g, '');
    const codeword = `${v['data'] as string}${v['parity'] as string}`;
    const wrong = [...Array(20).keys()].filter(
      (i) => received.slice(2 * i, 2 * i + 2) !== codeword.slice(2 * i, 2 * i + 2),
    );
    if (wrong.length === 2) {
      const spare = [...Array(20).keys()].find((i) => !wrong.includes(i))!;
      out.push([
        `received[${spare}] flipped (third error)`,
        { ...v, received: flipByte(received, spare, 0x5a) },
      ]);
    }
  }
  return out;
}

describe.each(files)('%s', (file, kind, check) => {
  const doc = load(file);
  it(`is kind ${kind}`, () => expect(doc.kind).toBe(kind));

  it.each(doc.vectors.map((v) => [String(v['id']), v] as const))('%s passes', (_id, v) => {
    expect(check(v)).toEqual({ ok: true });
  });

  const mutated = doc.vectors.flatMap((v) =>
    mutations(kind, v).map(([what, m]) => [`${String(v['id'])}: ${what}`, m] as const),
  );
  it.each(mutated)('%s fails', (_name, v) => expectFailure(check(v)));
});

describe('field handling', () => {
  const crc = { id: 'x', alg: 'crc-a', data: '0000', crc: 'a01e' };
  const frame = { id: 'x', payload: '0600ffff0000', frame: '000000000000 b24d 0600ffff0000 0921' };
  const rs = {
    id: 'x',
    data: 'e1ad5cf66eda7d0f4d5ef1dc57d83007',
    parity: '2b07df55',
    received: 'bfad5cf66eda7d0f4d5ef1dc57d830072b07df55',
    correctable: true,
  };
  const without = (v: Vector, field: string): Vector =>
    Object.fromEntries(Object.entries(v).filter(([k]) => k !== field));

  it('accepts uppercase hex and spaces', () => {
    expect(checkCrc({ ...crc, data: '00 00', crc: 'A0 1E' })).toEqual({ ok: true });
    expect(checkFelicaFrame({ ...frame, frame: '000000000000B24D0600FFFF00000921' })).toEqual({ ok: true });
    expect(checkReedSolomon({ ...rs, parity: '2B07 DF55' })).toEqual({ ok: true });
  });

  it.each([
    ['crc', checkCrc, crc, ['alg', 'data', 'crc']],
    ['felica-frame', checkFelicaFrame, frame, ['payload', 'frame']],
    ['reed-solomon', checkReedSolomon, rs, ['data', 'parity', 'received', 'correctable']],
  ] as const)('%s: a missing field is a failure naming it', (_kind, check, v, fields) => {
    for (const field of fields) expectFailure(check(without(v, field)), new RegExp(`"${field}"`));
  });

  it('names a mistyped field', () => {
    expectFailure(checkCrc({ ...crc, alg: 'crc-c' }), /"alg".*crc-c/);
    expectFailure(checkCrc({ ...crc, alg: 7 }), /"alg"/);
    expectFailure(checkCrc({ ...crc, data: 42 }), /"data".*number/);
    expectFailure(checkCrc({ ...crc, data: 'zz' }), /"data"/);
    expectFailure(checkCrc({ ...crc, data: '000' }), /"data"/);
    expectFailure(checkCrc({ ...crc, crc: 'a01e00' }), /"crc".*2 bytes/);
    expectFailure(checkFelicaFrame({ ...frame, payload: null }), /"payload".*null/);
    expectFailure(checkFelicaFrame({ ...frame, payload: '0700ffff0000' }), /"payload"/);
    expectFailure(checkFelicaFrame({ ...frame, frame: ['00'] }), /"frame".*array/);
    expectFailure(checkReedSolomon({ ...rs, data: '00' }), /"data".*16 bytes/);
    expectFailure(checkReedSolomon({ ...rs, received: '00' }), /"received".*20 bytes/);
    expectFailure(checkReedSolomon({ ...rs, correctable: 'yes' }), /"correctable"/);
  });

  it('fails a felica-frame whose frame is not what the encoder sends (longer preamble)', () => {
    expectFailure(checkFelicaFrame({ ...frame, frame: '00000000000000 b24d 0600ffff0000 0921' }), /encode/);
  });

  it('reports a word that should be uncorrectable but decodes', () => {
    expectFailure(checkReedSolomon({ ...rs, correctable: false }), /uncorrectable/);
  });

  it('never throws, whatever the vector', () => {
    const odd = [{}, { data: {} }, { alg: 'felica', data: '00', crc: 'x' }, Object.create(null) as Vector];
    for (const check of [checkCrc, checkFelicaFrame, checkReedSolomon]) {
      for (const v of odd) expect(check(v).ok).toBe(false);
      expect(check(null as unknown as Vector).ok).toBe(false);
    }
  });
});
