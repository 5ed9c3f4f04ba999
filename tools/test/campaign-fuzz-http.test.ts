// The back-end HTTP fuzz target (fuzz-http.ts): a clean run at a small budget over every kind of
// input, and broken back-ends injected through its `serve` seam (a throw, a write before validating,
// a hang, an answer outside the contract, a one-sided booking under another method) that it must
// report.
import { describe, expect, it } from 'vitest';
import type { SqliteBackend } from '@mica/host-sdk/backend/backend';
import type { World } from '@mica/host-sdk/backend/world';
import { fuzzCampaign, fuzzTargets } from '../src/campaign/fuzz-campaign';
import { completeBefore, httpFuzzTarget, type HttpFuzzOptions } from '../src/campaign/fuzz-http';
import { runCampaign } from '../src/campaign/runner';

const run = (budget: number, options: HttpFuzzOptions = {}) =>
  runCampaign(
    fuzzCampaign(() => [httpFuzzTarget(options)]),
    { budget },
  );

type Method = (request: Record<string, unknown>) => Promise<unknown>;

/** The world as the server sees it, with the bank's methods replaced by `methods(real bank)`. */
function withBank(
  methods: (bank: Record<string, Method>) => Record<string, Method>,
): (world: World) => World {
  return (world) =>
    new Proxy(world, {
      get(target, prop, receiver) {
        if (prop !== 'list') return Reflect.get(target, prop, receiver) as unknown;
        return () =>
          target.list().map((x) => {
            if (x.kind !== 'bank') return x;
            const real = x.backend as unknown as Record<string, Method>;
            const bound = new Proxy(real, {
              get: (b, p) => {
                const v = Reflect.get(b, p, b) as unknown;
                return typeof v === 'function' ? (v as Method).bind(b) : v;
              },
            });
            const override = methods(bound);
            const backend = new Proxy(x.backend, {
              get: (b, p, r) => (typeof p === 'string' && override[p]) || (Reflect.get(b, p, r) as unknown),
            }) as SqliteBackend;
            return { ...x, backend };
          });
      },
    });
}

let fresh = 0;
const txId = (): string => (0xf00000 + fresh++).toString(16).padStart(32, '0');

describe('campaign fuzz: backend http', () => {
  it('is one of the fuzz targets', () => {
    expect(fuzzTargets().map((t) => t.name)).toContain('backend http');
  });

  it('tells a whole request followed by more bytes (node answers those with its own 400)', () => {
    const req = (head: string, body: string): Uint8Array =>
      new TextEncoder().encode(`${head}\r\n\r\n${body}`);
    const head = 'POST /v1/bank/bank1/account HTTP/1.1\r\nhost: x\r\nContent-Length: 2';
    expect(completeBefore(req(head, '{}x'))).toBe(true);
    expect(completeBefore(req(head, '{}'))).toBe(false);
    expect(completeBefore(req(head, '{'))).toBe(false);
    expect(completeBefore(req(`${head}\r\ncontent-length: 2`, '{}x'))).toBe(false);
    expect(completeBefore(req(`${head}\r\ntransfer-encoding: chunked`, '{}x'))).toBe(false);
    expect(completeBefore(req('POST / HTTP/1.1\r\nhost: x', '{}x'))).toBe(false);
  });

  it('answers every input as the HTTP contract says; a rejected input changes nothing; the audit passes', async () => {
    const t0 = performance.now();
    const r = await run(500, { epoch: 200 });
    const ms = performance.now() - t0;
    expect(r.failures).toEqual([]);
    expect(r.tried['backend http']).toBe(500);
    for (const how of [
      'structured, 400',
      'structured, accepted',
      'valid, accepted',
      'txId replayed, replayed',
      'txId reused, another body, conflict',
      'wrong method, 405',
      'unknown path, 404',
      'token, 401',
      'content type, 415',
      'oversized, 413',
      'body, 400',
      'raw bytes, 400',
    ])
      expect(r.tried[`backend http: ${how}`], how).toBeGreaterThan(0);
    console.log(`backend http: 500 inputs in ${ms.toFixed(0)} ms (${((500 * 1000) / ms).toFixed(0)}/s)`);
  }, 60_000);

  it('reports a 500, a write before validating, a hang and an answer outside the contract', async () => {
    const r = await run(300, {
      timeoutMs: 200,
      serve: withBank((bank) => ({
        // Throws on a big amount: the server answers 500.
        depositCash: (q) => {
          if (typeof q['amount'] === 'number' && q['amount'] > 250)
            throw new TypeError('deliberately broken');
          return bank['depositCash']!(q);
        },
        // Writes before validating: a refused (400) request has moved money.
        withdrawCash: async (q) => {
          await bank['depositCash']!({ txId: txId(), accountNo: 'A2', amount: 1 });
          return bank['withdrawCash']!(q);
        },
        // Never answers.
        account: () => new Promise(() => {}),
        // Answers outside the contract.
        poolRows: () => Promise.resolve({ ok: 'yes' }),
      })),
    });
    const problems = new Set(r.failures.map((f) => f.problem.replace(/\d+/g, 'N')));
    expect([...problems].some((p) => /^answered N: .*deliberately broken/.test(p))).toBe(true);
    expect([...problems].some((p) => /^a request answered N changed .*bankN.ledger/.test(p))).toBe(true);
    expect(problems).toContain('no answer within N ms (the connection stayed open)');
    expect([...problems].some((p) => p.startsWith('a N answer without ok true or false'))).toBe(true);
  }, 60_000);

  it('reports an audit that fails: money booked one-sided under a method that is not a transfer', async () => {
    const r = await run(120, {
      epoch: 60,
      serve: withBank((bank) => ({
        account: async (q) => {
          const answer = (await bank['account']!(q)) as { ok: boolean };
          if (answer.ok)
            await bank['payToPeer']!({ txId: txId(), accountNo: 'A1', amount: 7, peer: 'credit1' });
          return answer;
        },
      })),
    });
    expect(r.failures.length).toBeGreaterThan(0);
    for (const f of r.failures) {
      expect(f.input).toMatch(/^\(audit after world \d\)$/);
      expect(f.problem).toMatch(/^C2: bank1 ↔ credit1 [0-9a-f]{32}: clearing legs sum to -7$/);
    }
  }, 60_000);
});
