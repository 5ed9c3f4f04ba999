// Back-end HTTP fuzzing (issue 9 item 3): a world of bank, credit, e-money and brand back-ends in
// memory, seeded with accounts and balances through their API and served by the real BackendServer on
// 127.0.0.1 (an ephemeral port). Inputs: a method's valid body, mutated (fuzz-http-inputs.ts), a txId
// reused with the same or another body, HTTP-level mutations (method, path, token, content type, body
// framing, size, header values) and raw bytes, each on its own connection. Judged: an answer within
// the timeout (a malformed request may instead be closed), never a 5xx, every JSON answer in the
// contract of server.ts (200 {ok:true,result} or {ok:false,code,step,message}; 4xx
// {ok:false,code,message} with the status's code), the status a mutation must get, a 400 naming the
// mutated field, and a rejected input (4xx, closed, or a refusal, which may only add its idempotency
// row or a recorded decline) changing no row of any table of any back-end. A replayed txId answers the
// stored answer and changes nothing; the same txId with another request is E_TXID_CONFLICT. Every
// `epoch` inputs and at the end, the audit: C1 must pass, and C2 may only name txIds of accepted
// one-sided requests (payToPeer books its peer's leg by design; a fuzzer calls no peer back); C3 is
// not judged (no card backs the e-money float). The world then starts afresh (tables stay small).
import { isDeepStrictEqual } from 'node:util';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { Callers } from '@mica/host-sdk/backend/http/callers';
import { BackendServer } from '@mica/host-sdk/backend/http/server';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { KINDS, World } from '@mica/host-sdk/backend/world';
import { VirtualClock } from '@mica/host-sdk/platform/clock';
import { isResultCode } from '@mica/host-sdk/platform/result-codes';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import type { Draw } from './draw';
import { exchange, parseAnswer, type Answer } from './fuzz-http-exchange';
import {
  ACCOUNTS,
  CARD_NO,
  EMONEY_NO,
  INSTANCES,
  TEMPLATES,
  jsonBytes,
  jsonHeaders,
  mutateBody,
  mutateRequestBytes,
  requestBytes,
  routeOf,
  FUZZ_TOKEN,
  MAX_BODY,
  NARROW_TOKEN,
  type FuzzKind,
  type HttpInput,
  type JsonObject,
  type Remembered,
  type Template,
} from './fuzz-http-inputs';
import { thrown, type FuzzLog, type FuzzSession, type FuzzTarget } from './fuzz-target';
import { httpLevelInput } from './fuzz-http-level';

const START = Date.UTC(2026, 10, 1, 1, 0);
/** A malformed request's silence before the fuzzer ends its side (an incomplete request then ends). */
const GRACE_MS = 50;

export interface HttpFuzzOptions {
  /** What the server serves, given the real world (the tests' seam for a broken back-end). */
  readonly serve?: (world: World) => World;
  /** An answer later than this is a hang (default 5 s). */
  readonly timeoutMs?: number;
  /** Inputs per world before the audit and a fresh world (default 2,000). */
  readonly epoch?: number;
}

/** Methods that book one side of a transfer (the caller books the other, C2 stays open by design). */
const ONE_SIDED = new Set(['payToPeer', 'holdFunds', 'commitHold', 'receiveFromPeer', 'recordPayment']);
/** Refusals that record themselves by design, and the tables they may write besides idempotency. */
const REFUSAL_RECORDS: Readonly<Record<string, readonly string[]>> = {
  // flows.md 4.2 row 20: a card-not-present decline is recorded with its reason (credit-permission.ts).
  E_CREDIT_DECLINED: ['authorizations'],
};
const STATUS_CODE: Readonly<Record<number, string>> = {
  400: 'E_BAD_REQUEST',
  401: 'E_UNAUTHORIZED',
  403: 'E_UNAUTHORIZED',
  404: 'E_NO_ROUTE',
  405: 'E_METHOD',
  413: 'E_BAD_REQUEST',
  415: 'E_BAD_REQUEST',
};

type Digests = Map<string, Record<string, string>>;

/** Each instance's write counter and table digests: a digest is recomputed only when the counter moved. */
interface Snapshot {
  readonly changes: number;
  readonly tables: Record<string, string>;
}

function snapshot(world: World, prior: ReadonlyMap<string, Snapshot>): Map<string, Snapshot> {
  return new Map(
    world.list().map(({ id, backend }) => {
      const changes = backend.storeChanges();
      const was = prior.get(id);
      return [id, was?.changes === changes ? was : { changes, tables: backend.storeDigests() }];
    }),
  );
}

function tablesOf(s: ReadonlyMap<string, Snapshot>): Digests {
  return new Map([...s].map(([id, x]) => [id, x.tables]));
}

/** The tables that differ (`skip` left out), as "id.table". */
function changed(before: Digests, after: Digests, skip: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const [id, tables] of after) {
    const was = before.get(id) ?? {};
    for (const name of new Set([...Object.keys(was), ...Object.keys(tables)]))
      if (!skip.includes(name) && was[name] !== tables[name]) out.push(`${id}.${name}`);
  }
  return out;
}

async function seed(world: World, d: Draw): Promise<void> {
  const tx = (): string => Array.from(d.bytes(16), (b) => b.toString(16).padStart(2, '0')).join('');
  const bank = world.open('bank', INSTANCES.bank);
  const credit = world.open('credit', INSTANCES.credit);
  const emoney = world.open('emoney', INSTANCES.emoney);
  const brand = world.open('brand', INSTANCES.brand);
  for (const [i, accountNo] of ACCOUNTS.entries()) {
    expectOk(await bank.openAccount({ accountNo, userId: `u${i + 1}`, name: `Holder ${i + 1}` }));
    expectOk(await bank.depositCash({ txId: tx(), accountNo, amount: 50_000 * (i + 1) }));
  }
  expectOk(
    await credit.openCardAccount({
      cardNo: CARD_NO,
      userId: 'u1',
      name: 'Holder 1',
      billingBankId: INSTANCES.bank,
      billingAccountNo: 'A1',
      cardExpiry: 10_500,
      limit: 100_000,
      pin: '1234',
    }),
  );
  expectOk(
    await emoney.registerUser({
      emoneyNo: EMONEY_NO,
      name: 'Holder 1',
      password: 'pw',
      refundBankId: INSTANCES.bank,
      refundAccountNo: 'A1',
    }),
  );
  expectOk(await emoney.openingBalance({ txId: tx(), emoneyNo: EMONEY_NO, amount: 3000 }));
  expectOk(await brand.setUp({}));
  const secret = Uint8Array.from(d.bytes(32));
  expectOk(
    await brand.registerParticipant({
      id: 'issuer1',
      kind: 'issuer',
      name: 'Issuer 1',
      areaCode: 0x1000,
      signKey: bytesToHex(ed25519.getPublicKey(secret)),
      boxKey: bytesToHex(x25519.getPublicKey(secret)),
    }),
  );
  expectOk(
    await brand.registerParticipant({ id: 'm1', kind: 'merchant', name: 'Shop 1', agreement: 'standard' }),
  );
}

/** What is wrong with a JSON answer of `status`, or undefined. */
function contractProblem(a: Answer, json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return 'the answer is not a JSON object';
  const o = json as Record<string, unknown>;
  if (a.status === 200) {
    if (o['ok'] === true) return 'result' in o ? undefined : '{ok:true} without a result';
    if (o['ok'] !== false) return 'a 200 answer without ok true or false';
    if (!isResultCode(o['code'])) return `a refusal with the unknown code ${JSON.stringify(o['code'])}`;
    if (typeof o['step'] !== 'string' || typeof o['message'] !== 'string' || o['message'] === '')
      return 'a refusal without its step and message';
    return undefined;
  }
  const want = STATUS_CODE[a.status];
  if (want === undefined) return `an unexpected status ${a.status}`;
  if (o['ok'] !== false || o['code'] !== want)
    return `a ${a.status} answer with ok ${JSON.stringify(o['ok'])} and code ${JSON.stringify(o['code'])} (want ${want})`;
  if (typeof o['message'] !== 'string' || o['message'] === '')
    return `a ${a.status} answer without a message`;
  return undefined;
}

class HttpFuzzSession implements FuzzSession {
  private world!: World;
  private server!: BackendServer;
  private port = 0;
  private before = new Map<string, Snapshot>();
  private inEpoch = 0;
  private broken = false;
  private epochs = 0;
  private readonly remembered: Remembered[] = [];
  /** txIds of accepted one-sided requests (C2 may stay open under them). */
  private oneSided = new Set<string>();

  constructor(
    private readonly d: Draw,
    private readonly options: HttpFuzzOptions,
  ) {}

  async start(): Promise<void> {
    const clock = new VirtualClock(START);
    this.world = new World({
      dataDir: ':memory:',
      clock,
      rng: new SeededRng(`fuzz-http/${this.epochs}/${this.d.below(65536)}`),
      mode: 'hardened',
    });
    await seed(this.world, this.d);
    const callers: Callers = {
      fuzz: { token: FUZZ_TOKEN, allow: ['**'] },
      narrow: { token: NARROW_TOKEN, allow: ['bank/bank1/account'] },
    };
    this.server = new BackendServer(this.options.serve?.(this.world) ?? this.world, {
      callers,
      maxBodyBytes: MAX_BODY,
    });
    this.port = (await this.server.listen(0)).port;
    this.before = snapshot(this.world, new Map());
    this.inEpoch = 0;
    this.oneSided = new Set();
    this.remembered.length = 0;
  }

  async next(log: FuzzLog): Promise<string> {
    if (this.broken) return 'no world';
    if (this.inEpoch >= (this.options.epoch ?? 2000)) {
      await this.endEpoch(log);
      try {
        await this.start();
      } catch (e) {
        log.fail('(setup)', `a fresh world could not start: ${thrown(e)}`);
        this.broken = true;
        return 'no world';
      }
    }
    this.inEpoch++;
    const input = this.input();
    try {
      return `${input.how}, ${await this.judge(input, log)}`;
    } catch (e) {
      log.fail(input.shown, `the target itself ${thrown(e)}`);
      this.before = snapshot(this.world, this.before);
      return `${input.how}, target error`;
    }
  }

  async finish(log: FuzzLog): Promise<void> {
    if (!this.broken) await this.endEpoch(log);
  }

  private async endEpoch(log: FuzzLog): Promise<void> {
    this.epochs++;
    try {
      const report = await this.world.audit();
      for (const c of report.checks) {
        // Any 32-hex word of the problem (its txId; a peer id can be 32 hex digits too).
        const attributed = (p: string): boolean =>
          (p.match(/\b[0-9a-f]{32}\b/g) ?? []).some((tx) => this.oneSided.has(tx));
        // C3 is not judged: no card backs the e-money float, so every accepted load or payment opens it.
        const open =
          c.id === 'C2' ? c.problems.filter((p) => !attributed(p)) : c.id === 'C1' ? c.problems : [];
        for (const p of open.slice(0, 5)) log.fail(`(audit after world ${this.epochs})`, `${c.id}: ${p}`);
      }
    } catch (e) {
      log.fail(`(audit after world ${this.epochs})`, thrown(e));
    }
    await this.server.close();
    this.world.close();
  }

  private input(): HttpInput {
    const d = this.d;
    const roll = d.below(100);
    const t = d.pick(TEMPLATES);
    if (roll < 45) {
      const m = mutateBody(d, t.body(d));
      const bytes = jsonBytes(m.body);
      return {
        how: 'structured',
        bytes: requestBytes({
          method: 'POST',
          path: routeOf(t),
          headers: jsonHeaders(FUZZ_TOKEN, bytes),
          body: bytes,
        }),
        shown: `POST ${routeOf(t)} ${JSON.stringify(m.body).slice(0, 300)}`,
        method: t.method,
        ...(m.field === undefined ? {} : { field: m.field }),
        // A string repeated many times can pass the body limit.
        expect: bytes.length > MAX_BODY ? [413] : [200, 400],
        ...(typeof m.body === 'object' && m.body !== null && !Array.isArray(m.body)
          ? { remember: { template: t, body: m.body } }
          : {}),
      };
    }
    if (roll < 55) {
      const body = t.body(d);
      return this.post('valid', t, body, { expect: [200], remember: { template: t, body } });
    }
    if (roll < 65 && this.remembered.length > 0) {
      const r = d.pick(this.remembered);
      if (typeof r.body['amount'] === 'number' && d.chance(0.5)) {
        const body = { ...r.body, amount: (r.body['amount'] + 1) % 0xffffffff || 1 };
        return this.post('txId reused, another body', r.template, body, { expect: [200], conflict: true });
      }
      return this.post('txId replayed', r.template, r.body, { expect: [200], replayOf: r.answer });
    }
    if (roll < 70) {
      const kind = d.pick(Object.keys(INSTANCES) as FuzzKind[]);
      const method = d.pick(Object.keys(KINDS[kind].api));
      const base = TEMPLATES.find((x) => x.kind === kind && x.method === method);
      const m = mutateBody(d, base?.body(d) ?? {});
      // Without a template the base body {} lacks the method's fields: a 400 names the method only.
      return this.post('any method', { kind, method, body: () => ({}) }, m.body, {
        expect: jsonBytes(m.body).length > MAX_BODY ? [413] : [200, 400],
        method,
        ...(m.field === undefined || base === undefined ? {} : { field: m.field }),
      });
    }
    if (roll < 90) return httpLevelInput(d, t);
    // Raw bytes: random, or a valid request's bytes mutated.
    if (d.chance(0.4)) {
      const bytes = Uint8Array.from(d.bytes(d.below(400)));
      return { how: 'raw bytes', bytes, shown: hexShown(bytes), framing: true };
    }
    const body = jsonBytes(t.body(d));
    const valid = requestBytes({
      method: 'POST',
      path: routeOf(t),
      headers: jsonHeaders(FUZZ_TOKEN, body),
      body,
    });
    const bytes = mutateRequestBytes(d, valid);
    return { how: 'mutated bytes', bytes, shown: hexShown(bytes), framing: true };
  }

  private post(how: string, t: Template, body: unknown, more: Partial<HttpInput>): HttpInput {
    const bytes = jsonBytes(body as JsonObject);
    return {
      how,
      bytes: requestBytes({
        method: 'POST',
        path: routeOf(t),
        headers: jsonHeaders(FUZZ_TOKEN, bytes),
        body: bytes,
      }),
      shown: `POST ${routeOf(t)} ${JSON.stringify(body).slice(0, 300)}`,
      method: t.method,
      ...more,
    };
  }

  private async judge(input: HttpInput, log: FuzzLog): Promise<string> {
    const r = await this.judged(input, log);
    return this.graceEnded ? `${r} (incomplete: ended after ${GRACE_MS} ms)` : r;
  }

  private graceEnded = false;

  private async judged(input: HttpInput, log: FuzzLog): Promise<string> {
    const timeout = this.options.timeoutMs ?? 5000;
    const ex = await exchange(this.port, input.bytes, timeout, input.framing ? GRACE_MS : undefined);
    this.graceEnded = ex.graceEnded;
    const before = tablesOf(this.before);
    this.before = snapshot(this.world, this.before);
    const after = tablesOf(this.before);
    const fail = (problem: string): string => {
      log.fail(input.shown, problem);
      return 'failed';
    };
    const unchanged = (what: string, skip: readonly string[] = []): boolean => {
      const c = changed(before, after, skip);
      if (c.length > 0) fail(`${what} changed ${c.join(', ')}`);
      return c.length === 0;
    };
    if (ex.timedOut) return fail(`no answer within ${timeout} ms (the connection stayed open)`);
    if (ex.data.length === 0) {
      if (!input.framing) return fail('the connection closed without an answer');
      // A complete request slower than the grace ran and lost its answer when the fuzzer ended its side.
      if (ex.graceEnded && changed(before, after).length > 0) return 'closed after the grace, ran';
      unchanged('a request closed without an answer');
      return 'closed';
    }
    const a = parseAnswer(ex.data, input.head === true);
    if (typeof a === 'string') return fail(a);
    if (a.status >= 500) return fail(`answered ${a.status}: ${a.body.slice(0, 200)}`);
    const json = /^application\/json\b/.test(a.headers.get('content-type') ?? '');
    if (!json) {
      if (!input.framing || a.status < 400)
        return fail(`answered ${a.status} without a JSON body (${a.body.slice(0, 80)})`);
      // node answers bytes after a complete request (pipelined garbage) with its own 400 in place of
      // the first request's answer: that request ran, and may have changed what it changes.
      if (changed(before, after).length > 0 && completeBefore(input.bytes))
        return `${a.status}, a complete request ran before the trailing bytes`;
      unchanged(`a malformed request answered ${a.status}`);
      return `${a.status}`;
    }
    let parsed: unknown;
    if (input.head !== true) {
      try {
        parsed = JSON.parse(a.body) as unknown;
      } catch {
        return fail(`answered ${a.status} with a body that is not JSON: ${a.body.slice(0, 80)}`);
      }
      const p = contractProblem(a, parsed);
      if (p !== undefined) return fail(`${p}: ${a.body.slice(0, 200)}`);
    }
    const o = (parsed ?? {}) as Record<string, unknown>;
    const said = `${a.status} ${String(o['code'] ?? '')} ${String(o['message'] ?? '')}`.trim();
    if (input.expect && !input.expect.includes(a.status))
      return fail(`answered ${said.slice(0, 200)}, expected ${input.expect.join(' or ')}`);
    if (a.status !== 200) {
      if (a.status === 400 && input.method !== undefined && typeof o['message'] === 'string') {
        const m = o['message'];
        if (!m.startsWith('the body') && !m.startsWith(input.method))
          fail(`a 400 that does not name the method's request: ${m.slice(0, 200)}`);
        else if (
          input.field !== undefined &&
          !m.startsWith('the body') &&
          !m.includes(`${input.method}.${input.field}`)
        )
          fail(`a 400 that does not name the mutated field ${input.field}: ${m.slice(0, 200)}`);
      }
      unchanged(`a request answered ${a.status}`);
      return `${a.status}`;
    }
    if (input.replayOf !== undefined) {
      if (!isDeepStrictEqual(parsed, input.replayOf))
        fail(
          `a replay answered ${a.body.slice(0, 150)}, not the stored ${JSON.stringify(input.replayOf).slice(0, 150)}`,
        );
      unchanged('a replay');
      return 'replayed';
    }
    if (input.conflict) {
      if (o['ok'] !== false || o['code'] !== 'E_TXID_CONFLICT')
        fail(`the same txId with another request answered ${a.body.slice(0, 200)}, not E_TXID_CONFLICT`);
      unchanged('a txId conflict');
      return 'conflict';
    }
    if (o['ok'] === false) {
      unchanged(`a refusal (${String(o['code'])})`, [
        'idempotency',
        ...(REFUSAL_RECORDS[String(o['code'])] ?? []),
      ]);
      return 'refused';
    }
    // Whatever made the request (a template, a header mutation, mutated bytes), its route and txId.
    const text = latin1.decode(input.bytes);
    const method = /^\S+ \S*\/v1\/[^/\s]+\/[^/\s]+\/([^/?#\s]+)/.exec(text)?.[1];
    const txId = /"txId"\s*:\s*"([0-9a-f]{32})"/.exec(text)?.[1];
    if (txId !== undefined && method !== undefined && ONE_SIDED.has(method)) this.oneSided.add(txId);
    if (input.remember && typeof txId === 'string') {
      this.remembered.push({ ...input.remember, answer: parsed });
      if (this.remembered.length > 64) this.remembered.shift();
    }
    return 'accepted';
  }
}

const latin1 = new TextDecoder('latin1');

/** Whether `bytes` hold a whole request (head and Content-Length body) followed by more bytes. */
export function completeBefore(bytes: Uint8Array): boolean {
  const text = latin1.decode(bytes);
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const lengths = [...text.slice(0, end).matchAll(/\r\ncontent-length:[ \t]*(\d+)[ \t]*(?=\r\n|$)/gi)];
  if (lengths.length !== 1 || /\r\ntransfer-encoding:/i.test(text.slice(0, end))) return false;
  return bytes.length > end + 4 + Number(lengths[0]![1]);
}

function hexShown(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 200), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function httpFuzzTarget(options: HttpFuzzOptions = {}): FuzzTarget {
  return {
    name: 'backend http',
    share: 0.2,
    async open(d: Draw): Promise<FuzzSession> {
      const s = new HttpFuzzSession(d, options);
      await s.start();
      return s;
    },
  };
}
