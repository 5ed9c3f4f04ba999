// The HTTP server's answer to a request target that is not a URL path (`POST //x:99999/… HTTP/1.1`):
// node's parser lets it through and WHATWG URL refuses it, which was a 500 (found by the back-end
// HTTP fuzz target of `mica campaign fuzz`). It is a 400 naming the target, and nothing changes.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BackendServer } from '@mica/host-sdk/backend/http/server';
import { World } from '@mica/host-sdk/backend/world';
import { VirtualClock } from '@mica/host-sdk/platform/clock';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { START } from './contract';

const TOKEN = 'c3'.repeat(32);

/** Sends `target` as the request line's target; answers the status line and the body. */
function raw(port: number, target: string): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const s = connect({ port, host: '127.0.0.1' }, () =>
      s.write(
        `POST ${target} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\n` +
          'content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}',
      ),
    );
    s.setEncoding('utf8');
    s.on('data', (d: string) => (data += d));
    s.on('error', reject);
    s.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: head.split('\r\n')[0] ?? '', body });
    });
  });
}

describe('HTTP: a request target that is not a URL path', () => {
  it.each(['//', '//x:99999/v1/bank/bank1/account', 'http://', '//[/v1/bank/bank1/account'])(
    '%s is a 400 naming the target',
    async (target) => {
      const w = new World({ dataDir: ':memory:', clock: new VirtualClock(START), rng: new SeededRng(1) });
      const bank = w.open('bank', 'bank1');
      expectOk(await bank.openAccount({ accountNo: 'a1', userId: 'u', name: 'n' }));
      const digests = (): Record<string, string>[] => w.list().map((x) => x.backend.storeDigests());
      const before = digests();
      const server = new BackendServer(w, { callers: { c: { token: TOKEN, allow: ['**'] } } });
      const { port } = await server.listen(0);
      try {
        const r = await raw(port, target);
        expect(r.status).toBe('HTTP/1.1 400 Bad Request');
        expect(JSON.parse(r.body)).toEqual({
          ok: false,
          code: 'E_BAD_REQUEST',
          message: `the request target ${JSON.stringify(target)} is not a path (use /v1/<kind>/<id>/<method>)`,
        });
        expect(digests()).toEqual(before);
      } finally {
        await server.close();
        w.close();
      }
    },
  );
});
