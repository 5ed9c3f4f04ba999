// The hand-written dispatcher transcripts pass, and any changed expected answer makes its vector fail.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkApduTranscript } from '../src/conformance/kinds/apdu-transcript';

type Exchange = { c: string; r: string | null };
type Vector = Record<string, unknown> & { id: string; exchanges: Exchange[] };

const doc = JSON.parse(
  readFileSync(new URL('../../test-vectors/apdu-transcript-dispatcher.json', import.meta.url), 'utf8'),
) as { kind: string; vectors: Vector[] };

/** The hex string with its last byte XORed with 01. */
function flipLast(hex: string): string {
  const clean = hex.replace(/\s+/g, '');
  const b = parseInt(clean.slice(-2), 16) ^ 0x01;
  return clean.slice(0, -2) + b.toString(16).padStart(2, '0');
}

describe('apdu-transcript-dispatcher.json', () => {
  it('is kind apdu-transcript with unique ids', () => {
    expect(doc.kind).toBe('apdu-transcript');
    expect(new Set(doc.vectors.map((v) => v.id)).size).toBe(doc.vectors.length);
  });

  it.each(doc.vectors.map((v) => [v.id, v] as const))('%s passes', (_id, v) => {
    expect(checkApduTranscript(v)).toEqual({ ok: true });
  });

  it.each(doc.vectors.map((v) => [v.id, v] as const))('%s fails with any answer changed', (_id, v) => {
    for (let i = 0; i < v.exchanges.length; i++) {
      const exchanges = v.exchanges.map((e, j) => (j === i ? { ...e, r: flipLast(e.r ?? '9000') } : e));
      const result = checkApduTranscript({ ...v, exchanges });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toMatch(new RegExp(`exchange ${i + 1} `));
    }
  });
});
