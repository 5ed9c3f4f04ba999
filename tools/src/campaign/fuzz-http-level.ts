// HTTP-level inputs of the back-end fuzz target: a valid method request with one thing wrong at the
// HTTP level (method, path, token, content type, body framing and size, header values), each with the
// statuses server.ts must answer (its order: the route's /v1 prefix, the token, the caller's rights,
// the method, the route's shape, the body, then the kind, instance and method).
import type { Draw } from './draw';
import {
  FUZZ_TOKEN,
  MAX_BODY,
  NARROW_TOKEN,
  jsonBytes,
  jsonHeaders,
  requestBytes,
  routeOf,
  type HttpInput,
  type Template,
} from './fuzz-http-inputs';
const utf8 = new TextEncoder();

type Headers = [string, string][];

function build(
  how: string,
  method: string,
  path: string,
  headers: Headers,
  body: Uint8Array,
  more: Partial<HttpInput> = {},
): HttpInput {
  const text = new TextDecoder().decode(body.subarray(0, 200));
  return {
    how,
    bytes: requestBytes({ method, path, headers, body }),
    shown: `${method} ${path.slice(0, 120)} [${headers.map(([k, v]) => `${k}: ${v.slice(0, 40)}`).join('; ')}] ${text}`,
    ...more,
  };
}

const without = (h: Headers, name: string): Headers => h.filter(([k]) => k !== name);
const replaced = (h: Headers, name: string, value: string): Headers => [...without(h, name), [name, value]];

export function httpLevelInput(d: Draw, t: Template): HttpInput {
  const body = jsonBytes(t.body(d));
  const route = routeOf(t);
  const h = jsonHeaders(FUZZ_TOKEN, body);
  const [, , kind, id, method] = route.split('/') as [string, string, string, string, string];
  switch (d.below(7)) {
    case 0: {
      const verb = d.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
      return build('wrong method', verb, route, h, body, { expect: [405], head: verb === 'HEAD' });
    }
    case 1: {
      const [path, expect] = d.pick<[string, number[] | undefined]>([
        [`/v2/${kind}/${id}/${method}`, [404]],
        ['/', [404]],
        ['/v1', [404]],
        [`/v1/${kind}/nosuch/${method}`, [404]],
        [`/v1/nokind/${id}/${method}`, [404]],
        [`/v1/${kind}/${id}/noSuchMethod`, [404]],
        [`/v1/${kind}/${id}`, [404]],
        [`/v1/${kind}/${id}/${method}/extra`, [404]],
        [`/v1/${kind}/${id}/constructor`, [404]],
        [`/v1/${kind}/${id}/__proto__`, [404]],
        [`/v1/${kind}/${id}/toString`, [404]],
        [`/v1/${kind}/${id}/keyholder/authenticate`, [404]],
        [`/v1/${kind}/${id}/%2e%2e`, [404]],
        [`/v1/${kind}%2F${id}/${method}`, [404]],
        ['/v1/_clock/advance', [404]],
        ['/v1/_instances', [405]],
        [`/v1/${kind}/${id}/${'m'.repeat(5000)}`, [404]],
        [`/v1/${kind}/${id}/${method}?x=1&y=%zz`, undefined],
        [`/v1/../v1/${kind}/${id}/${method}`, undefined],
        [`//v1/${kind}/${id}/${method}`, undefined],
        [`http://other.example${route}`, undefined],
        ['*', [404]],
        // Request targets that are not a URL path (WHATWG URL refuses them): 400, not a 500.
        ['//', [400]],
        [`//x:99999${route}`, [400]],
        ['http://', [400]],
        [`//[${route}`, [400]],
        [`/v1/${kind}/${id}/${method}#frag`, undefined],
        [`/v1/${kind}/${id}/${encodeURIComponent('é\u0000')}`, [404]],
      ]);
      return build('unknown path', 'POST', path, h, body, expect ? { expect } : {});
    }
    case 2: {
      const [auth, expect] = d.pick<[string | undefined, number]>([
        [undefined, 401],
        ['Bearer ' + 'ab'.repeat(32), 401],
        ['Bearer ' + FUZZ_TOKEN.toUpperCase(), 401],
        ['Bearer ' + FUZZ_TOKEN.slice(2), 401],
        ['Basic ' + FUZZ_TOKEN, 401],
        [`Bearer  ${FUZZ_TOKEN}`, 401],
        [`bearer ${FUZZ_TOKEN}`, 401],
        [`Bearer ${FUZZ_TOKEN}, Bearer ${NARROW_TOKEN}`, 401],
        ['', 401],
        [`Bearer ${NARROW_TOKEN}`, route === '/v1/bank/bank1/account' ? 200 : 403],
      ]);
      const headers = auth === undefined ? without(h, 'authorization') : replaced(h, 'authorization', auth);
      return build('token', 'POST', route, headers, body, { expect: [expect] });
    }
    case 3: {
      const [type, expect] = d.pick<[string | undefined, number[] | undefined]>([
        [undefined, [415]],
        ['text/plain', [415]],
        ['application/x-www-form-urlencoded', [415]],
        ['multipart/form-data; boundary=x', [415]],
        ['json', [415]],
        ['', [415]],
        ['APPLICATION/JSON', undefined],
        ['application/json; charset=utf-8', [200]],
        ['application/json; charset=utf-16', undefined],
        ['application/json-seq', undefined],
      ]);
      const headers = type === undefined ? without(h, 'content-type') : replaced(h, 'content-type', type);
      return build('content type', 'POST', route, headers, body, expect ? { expect } : {});
    }
    case 4: {
      const [b, expect] = d.pick<[Uint8Array, number[] | undefined]>([
        [body.subarray(0, 1 + d.below(Math.max(1, body.length - 1))), [400]],
        [utf8.encode("{'txId': 1}"), [400]],
        [utf8.encode('{"a":1,}'), [400]],
        [utf8.encode('NaN'), [400]],
        [utf8.encode('[1,'), [400]],
        [Uint8Array.of(0xff, 0xfe, 0x7b, 0x7d), [400]],
        [utf8.encode('[]'), [400]],
        [utf8.encode('"x"'), [400]],
        [utf8.encode('null'), [400]],
        [utf8.encode('12'), [400]],
        [utf8.encode('   '), undefined],
        [utf8.encode('['.repeat(5000) + ']'.repeat(5000)), [400]],
        [utf8.encode(`{"k":${'['.repeat(4000)}${']'.repeat(4000)}}`), [400]],
        // A byte order mark is dropped by the decoder: the body is {}.
        [utf8.encode('\ufeff{}'), undefined],
        [utf8.encode(`${new TextDecoder().decode(body)}${new TextDecoder().decode(body)}`), [400]],
      ]);
      return build('body', 'POST', route, replaced(h, 'content-length', String(b.length)), b, {
        ...(expect ? { expect } : {}),
        method,
      });
    }
    case 5: {
      const big = utf8.encode(`{"pad":"${'x'.repeat(MAX_BODY + d.below(4096))}"}`);
      return build('oversized', 'POST', route, replaced(h, 'content-length', String(big.length)), big, {
        expect: [413],
      });
    }
    default: {
      const choice = d.below(11);
      const headers: Headers =
        choice === 0
          ? replaced(h, 'content-length', String(body.length + 1 + d.below(100)))
          : choice === 1
            ? replaced(h, 'content-length', String(d.below(body.length)))
            : choice === 2
              ? replaced(
                  h,
                  'content-length',
                  d.pick(['abc', '-1', '1e3', '0x10', ' ', '99999999999999999999']),
                )
              : choice === 3
                ? [...h, ['content-length', String(body.length + 1)]]
                : choice === 4
                  ? [...without(h, 'content-length'), ['transfer-encoding', 'chunked']]
                  : choice === 5
                    ? [...h, ['x-fuzz', 'é\u0001\u007f']]
                    : choice === 6
                      ? [...h, ['x-big', 'y'.repeat(20_000)]]
                      : choice === 7
                        ? [...h, ['authorization', `Bearer ${NARROW_TOKEN}`]]
                        : choice === 8
                          ? [...h, ['bad header', 'x']]
                          : choice === 9
                            ? [...without(h, 'content-length'), ['transfer-encoding', 'chunked, gzip']]
                            : [...h, ['host', 'other']];
      let b = body;
      if (choice === 4)
        b = d.chance(0.5)
          ? utf8.encode(`${body.length.toString(16)}\r\n${new TextDecoder().decode(body)}\r\n0\r\n\r\n`)
          : utf8.encode(`zz\r\n${new TextDecoder().decode(body)}\r\n`);
      return build('headers', 'POST', route, headers, b, { framing: true });
    }
  }
}
