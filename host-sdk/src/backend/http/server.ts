// The back-ends over HTTP/JSON (flows.md 1.2), on node:http: `POST /v1/<kind>/<id>/<method>` with a
// JSON body answers 200 with the method's outcome ({"ok":true,"result"} or {"ok":false,"code",…});
// 4xx only for transport-level problems, each with {"ok":false,"code","message"} naming what was
// wrong, and nothing changes: 401/403 E_UNAUTHORIZED, 400 E_BAD_REQUEST (not JSON, a field of the
// wrong shape, a request target that is not a path), 404 E_NO_ROUTE, 405, 413; 502
// E_PEER_UNREACHABLE when the back-end's own call to a peer lost its link. Key holders are
// served at /v1/<kind>/<id>/keyholder/<op> (the RemoteKeyHolder message link). GET /v1/_instances
// lists the served instances; with a virtual clock, GET /v1/_clock and POST /v1/_clock/advance.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VirtualClock } from '../../platform/clock';
import type { KeyHolder } from '../../keys/key-holder';
import { keyHolderService, type KeyHolderLink, type KeyHolderMessage } from '../../keys/remote-key-holder';
import { TransportError } from '../../transport/transport';
import { RequestError } from '../schema';
import { isKind, KINDS, type World } from '../world';
import { allowed, callerOf, type Callers } from './callers';

export interface BackendServerOptions {
  readonly callers: Callers;
  /** Exposes the world's clock at /v1/_clock when it is virtual. */
  readonly virtualClock?: VirtualClock;
  /** Key holders by "<kind>/<id>"; only callers allowed "<kind>/<id>/keyholder/*" reach them. */
  readonly keyHolders?: ReadonlyMap<string, KeyHolder>;
  readonly maxBodyBytes?: number;
}

const KEYHOLDER_OPS = new Set(['authenticate', 'respond', 'confirm', 'seal', 'open', 'close']);

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class BackendServer {
  private readonly server: Server;
  private readonly links = new Map<string, KeyHolderLink>();

  constructor(
    private readonly world: World,
    private readonly options: BackendServerOptions,
  ) {
    for (const [name, holder] of options.keyHolders ?? []) this.links.set(name, keyHolderService(holder));
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        const p =
          e instanceof HttpProblem
            ? e
            : new HttpProblem(500, 'E_INTERNAL', `internal error: ${(e as Error).message}`);
        send(res, p.status, { ok: false, code: p.code, message: p.message });
      });
    });
  }

  listen(port: number, host = '127.0.0.1'): Promise<{ host: string; port: number; url: string }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port, url: `http://${a.address}:${a.port}` });
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://x');
    } catch {
      // node's parser passes any request target; "//", "http://" or "//host:99999/…" is no URL path.
      throw new HttpProblem(
        400,
        'E_BAD_REQUEST',
        `the request target ${JSON.stringify((req.url ?? '').slice(0, 80))} is not a path (use /v1/<kind>/<id>/<method>)`,
      );
    }
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (parts[0] !== 'v1' || parts.length < 2)
      throw new HttpProblem(404, 'E_NO_ROUTE', `no route ${url.pathname} (use /v1/<kind>/<id>/<method>)`);
    const path = parts.slice(1).join('/');
    // Authentication first: an unauthenticated caller learns nothing about routes.
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer ([0-9a-f]{64})$/.exec(auth);
    const caller = m ? callerOf(this.options.callers, m[1]!) : undefined;
    if (!caller)
      throw new HttpProblem(
        401,
        'E_UNAUTHORIZED',
        m ? 'unknown token' : 'missing Authorization: Bearer <token>',
      );
    if (!allowed(this.options.callers, caller, path))
      throw new HttpProblem(403, 'E_UNAUTHORIZED', `caller ${caller} may not call ${path}`);

    if (parts[1] === '_clock') return this.clock(req, res, parts.slice(2));
    if (parts[1] === '_instances' && parts.length === 2) {
      if (req.method !== 'GET') throw new HttpProblem(405, 'E_METHOD', 'use GET /v1/_instances');
      return send(res, 200, { ok: true, result: this.world.list().map(({ kind, id }) => ({ kind, id })) });
    }
    if (req.method !== 'POST')
      throw new HttpProblem(
        405,
        'E_METHOD',
        `${req.method ?? '?'} is not allowed; back-end methods are POST`,
      );
    const [, kind, id, method, op, ...rest] = parts;
    if (!kind || !id || !method)
      throw new HttpProblem(404, 'E_NO_ROUTE', `no route ${url.pathname} (use /v1/<kind>/<id>/<method>)`);
    const body = await readJson(req, this.options.maxBodyBytes ?? 1 << 20);
    if (method === 'keyholder') {
      const link = this.links.get(`${kind}/${id}`);
      if (!link || !op || rest.length > 0 || !KEYHOLDER_OPS.has(op))
        throw new HttpProblem(404, 'E_NO_ROUTE', `no key holder operation ${path}`);
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new HttpProblem(400, 'E_BAD_REQUEST', 'the body must be a JSON object');
      let reply;
      try {
        reply = await link({ ...(body as object), op } as KeyHolderMessage);
      } catch (e) {
        throw new HttpProblem(400, 'E_BAD_REQUEST', (e as Error).message);
      }
      return send(res, 200, { ok: true, result: reply });
    }
    if (op !== undefined) throw new HttpProblem(404, 'E_NO_ROUTE', `no route ${url.pathname}`);
    if (!isKind(kind))
      throw new HttpProblem(
        404,
        'E_NO_ROUTE',
        `no back-end kind "${kind}" (served: ${Object.keys(KINDS).join(', ')})`,
      );
    const instance = this.world.list().find((x) => x.id === id && x.kind === kind);
    if (!instance) throw new HttpProblem(404, 'E_NO_ROUTE', `no ${kind} back-end "${id}"`);
    const api = KINDS[kind].api as Record<string, unknown>;
    if (!Object.hasOwn(api, method))
      throw new HttpProblem(
        404,
        'E_NO_ROUTE',
        `${kind} has no method "${method}" (methods: ${Object.keys(api).join(', ')})`,
      );
    const fn = (instance.backend as unknown as Record<string, (r: unknown) => Promise<unknown>>)[method]!;
    let outcome: unknown;
    try {
      outcome = await fn.call(instance.backend, body);
    } catch (e) {
      if (e instanceof RequestError) throw new HttpProblem(400, 'E_BAD_REQUEST', e.message);
      // The back-end's own call to a peer failed on its link: a transport error (flows.md 1.4), whose
      // outcome the caller must treat as uncertain, as in-process; HTTP clients read it back as one.
      if (e instanceof TransportError)
        throw new HttpProblem(
          502,
          'E_PEER_UNREACHABLE',
          `${kind}/${id}/${method}: a peer back-end did not answer (${e.kind}): ${e.message}`,
        );
      throw e;
    }
    send(res, 200, outcome);
  }

  private async clock(req: IncomingMessage, res: ServerResponse, rest: string[]): Promise<void> {
    const clock = this.options.virtualClock;
    if (!clock)
      throw new HttpProblem(404, 'E_NO_ROUTE', 'the clock is not virtual (serve with --clock virtual)');
    if (rest.length === 0 && req.method === 'GET')
      return send(res, 200, {
        ok: true,
        result: { now: clock.now(), today: clock.today(), pending: clock.pending },
      });
    if (rest.length === 1 && rest[0] === 'advance' && req.method === 'POST') {
      const body = (await readJson(req, 4096)) as Record<string, unknown> | null;
      const ms = body?.['ms'];
      const to = body?.['to'];
      if (typeof body !== 'object' || body === null || (ms === undefined) === (to === undefined))
        throw new HttpProblem(400, 'E_BAD_REQUEST', 'give {"ms": n} or {"to": t}');
      const n = (ms ?? to) as unknown;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
        throw new HttpProblem(
          400,
          'E_BAD_REQUEST',
          `${ms !== undefined ? 'ms' : 'to'} must be a non-negative integer`,
        );
      if (to !== undefined && n < clock.now())
        throw new HttpProblem(400, 'E_BAD_REQUEST', `to ${n} is before now ${clock.now()}`);
      await (ms !== undefined ? clock.advanceBy(n) : clock.advanceTo(n));
      return send(res, 200, {
        ok: true,
        result: { now: clock.now(), today: clock.today(), pending: clock.pending },
      });
    }
    throw new HttpProblem(
      req.method === 'GET' || req.method === 'POST' ? 404 : 405,
      'E_NO_ROUTE',
      'use GET /v1/_clock or POST /v1/_clock/advance',
    );
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': new TextEncoder().encode(text).length,
  });
  res.end(text);
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (req.method === 'POST' && !/^\s*application\/json\s*(;|$)/i.test(type))
    throw new HttpProblem(415, 'E_BAD_REQUEST', 'send the body as Content-Type: application/json');
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of req) {
    n += (chunk as Uint8Array).length;
    if (n > max) throw new HttpProblem(413, 'E_BAD_REQUEST', `the body exceeds ${max} bytes`);
    chunks.push(chunk as Uint8Array);
  }
  const all = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const text = new TextDecoder().decode(all);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new HttpProblem(400, 'E_BAD_REQUEST', `the body is not JSON: ${(e as Error).message}`);
  }
}
