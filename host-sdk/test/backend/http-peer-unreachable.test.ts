// A back-end whose own call to a peer loses its link (here the issuer's read of the bank account in
// approveLoad): in-process the caller gets the TransportError itself; over HTTP it was a 500
// E_INTERNAL. The server answers 502 E_PEER_UNREACHABLE naming the method and the peer's error, the
// HTTP client reads it back as a TransportError (so the caller's retry of the same txId applies, as
// in-process), and nothing changes.
import { describe, expect, it } from 'vitest';
import type { PeerDirectory } from '@mica/host-sdk/backend/backend';
import { HttpBackendLink, HttpIssuerClient } from '@mica/host-sdk/backend/http/client';
import { BackendServer } from '@mica/host-sdk/backend/http/server';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { World } from '@mica/host-sdk/backend/world';
import { VirtualClock } from '@mica/host-sdk/platform/clock';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import { TransportError } from '@mica/host-sdk/transport/transport';
import { START } from './contract';

const TOKEN = 'c4'.repeat(32);
const CARD = '0300000000000001';
const LOAD = {
  txId: '1'.padStart(32, '0'),
  cardId: CARD,
  amount: 1000,
  funding: 'bank',
  step: 'S62',
} as const;

/** Peers whose every method fails as a lost link. */
const unreachable: PeerDirectory = {
  peer: (kind, id) =>
    new Proxy(
      {},
      {
        get: () => () => Promise.reject(new TransportError('link-lost', `${kind}/${id}: link lost (test)`)),
      },
    ) as never,
};

describe('HTTP: a back-end whose peer does not answer', () => {
  it('is a 502 E_PEER_UNREACHABLE, read back as a TransportError, and changes nothing', async () => {
    const w = new World({
      dataDir: ':memory:',
      clock: new VirtualClock(START),
      rng: new SeededRng(1),
      peers: unreachable,
    });
    const issuer = w.open('issuer', 'issuer1');
    expectOk(await issuer.registerUser({ cardId: CARD, name: 'USER ONE', bankId: 'bank1', accountNo: 'u1' }));
    const digests = (): Record<string, string>[] => w.list().map((x) => x.backend.storeDigests());
    const before = digests();
    await expect(issuer.approveLoad(LOAD)).rejects.toThrow('bank/bank1: link lost (test)');
    const server = new BackendServer(w, { callers: { c: { token: TOKEN, allow: ['**'] } } });
    const { url } = await server.listen(0);
    try {
      const res = await fetch(`${url}/v1/issuer/issuer1/approveLoad`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(LOAD),
      });
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({
        ok: false,
        code: 'E_PEER_UNREACHABLE',
        message:
          'issuer/issuer1/approveLoad: a peer back-end did not answer (link-lost): bank/bank1: link lost (test)',
      });
      const client = new HttpIssuerClient(new HttpBackendLink({ baseUrl: url, token: TOKEN }), 'issuer1');
      const e = await client.approveLoad(LOAD).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TransportError);
      expect((e as TransportError).kind).toBe('link-lost');
      expect((e as Error).message).toBe(
        '/v1/issuer/issuer1/approveLoad answered 502: issuer/issuer1/approveLoad: a peer back-end did not answer (link-lost): bank/bank1: link lost (test)',
      );
      expect(digests()).toEqual(before);
    } finally {
      await server.close();
      w.close();
    }
  });
});
