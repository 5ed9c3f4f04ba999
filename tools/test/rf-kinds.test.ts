// The line-code, airtime and felica-budget vector checkers: every shared vector passes, every mutation fails.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Checker } from '../src/conformance/check-result';
import { checkAirtime } from '../src/conformance/kinds/airtime';
import { checkFelicaBudget } from '../src/conformance/kinds/felica-budget';
import { checkLineCode } from '../src/conformance/kinds/line-code';

type Vector = Record<string, unknown>;

function load(file: string): { kind: string; source: string; vectors: Vector[] } {
  return JSON.parse(readFileSync(new URL(`../../test-vectors/${file}`, import.meta.url), 'utf8')) as {
    kind: string;
    source: string;
    vectors: Vector[];
  };
}

const files: readonly (readonly [string, string, Checker])[] = [
  ['rf-line-code.json', 'line-code', checkLineCode],
  ['rf-airtime.json', 'airtime', checkAirtime],
  ['rf-felica-budget.json', 'felica-budget', checkFelicaBudget],
];

/** Flips the first 0/1 (or a hex digit's low bit) of a string field. */
function flipFirst(text: string): string {
  const i = text.search(/[0-9a-fA-FXYZDEF]/);
  const c = text[i]!;
  const swap: Record<string, string> = { '0': '1', '1': '0', X: 'Y', Y: 'Z', Z: 'X', D: 'E', E: 'D', F: 'D' };
  const r = swap[c] ?? (parseInt(c, 16) ^ 1).toString(16);
  return text.slice(0, i) + r + text.slice(i + 1);
}

describe.each(files)('%s', (file, kind, check) => {
  const data = load(file);

  it(`is a ${kind} file whose vectors each name a source`, () => {
    expect(data.kind).toBe(kind);
    expect(data.source.length).toBeGreaterThan(0);
    for (const v of data.vectors) expect(typeof v['source'], String(v['id'])).toBe('string');
  });

  it('passes every vector', () => {
    for (const v of data.vectors) expect(check(v), String(v['id'])).toEqual({ ok: true });
  });

  it('fails every vector whose expected value is changed', () => {
    const field = kind === 'line-code' ? null : kind === 'airtime' ? 'airtimeFc' : 'budgetFc';
    for (const v of data.vectors) {
      let bad: Vector;
      if (field) bad = { ...v, [field]: (v[field] as number) + 1 };
      else if (typeof v['chips'] === 'string') bad = { ...v, chips: flipFirst(v['chips']) };
      else bad = { ...v, sequences: flipFirst(v['sequences'] as string) };
      const r = check(bad);
      expect(r.ok, String(v['id'])).toBe(false);
    }
  });

  it('reports a missing field instead of throwing', () => {
    const r = check({ id: 'x' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/field/);
  });
});

describe('line-code checker', () => {
  it('rejects a frame kind that does not go with the code', () => {
    const r = checkLineCode({ code: 'nrz-b', frame: 'a-std', bytes: '00', chips: '0' });
    expect(r.ok).toBe(false);
  });

  it('checks the decode direction too: a chip string that encodes differently but decodes the same is caught', () => {
    // Inverted polarity without saying so: encode differs.
    const r = checkLineCode({ code: 'manchester-f', bits: '00000000', chips: '1010101010101010' });
    expect(r.ok).toBe(false);
  });
});

describe('airtime checker', () => {
  it('checks airtimeUs when given', () => {
    expect(
      checkAirtime({ tech: 'a', dir: 'r2c', rate: 106, bits: 7, airtimeFc: 1152, airtimeUs: 84.95 }).ok,
    ).toBe(false);
  });

  it('rejects a rate that the technology does not have', () => {
    expect(checkAirtime({ tech: 'f', dir: 'r2c', rate: 106, bytes: '060000', airtimeFc: 1 }).ok).toBe(false);
  });
});

describe('felica-budget checker', () => {
  it('refuses Polling, which is governed by time slots', () => {
    const r = checkFelicaBudget({ pmm: '0000000000000000', command: '00', n: 0, budgetFc: 4096 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/time slots/);
  });
});
