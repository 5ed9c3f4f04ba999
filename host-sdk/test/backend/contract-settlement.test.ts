// Runs the seed 002 contract suites in-process and against a served world (node:http, port 0); over
// HTTP every method goes through the generic HTTP peer (http/peers.ts).
import { VirtualClock } from '@mica/host-sdk/platform/clock';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import { World } from '@mica/host-sdk/backend/world';
import { audit } from '@mica/host-sdk/backend/audit';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { BackendServer } from '@mica/host-sdk/backend/http/server';
import { HttpBackendLink, HttpClockClient } from '@mica/host-sdk/backend/http/client';
import { httpPeer } from '@mica/host-sdk/backend/http/peers';
import { START, settlementContract, type SettlementHarness } from './contract-settlement';

const TOKEN = 'c2'.repeat(32);

function world(): { world: World; clock: VirtualClock } {
  const clock = new VirtualClock(START);
  const w = new World({ dataDir: ':memory:', clock, rng: new SeededRng(2) });
  w.open('bureau', 'bureau1');
  w.open('smd', 'smd1');
  w.open('store', 'store1');
  w.open('store', 'mall1');
  w.open('credit', 'credit1');
  return { world: w, clock };
}

async function inProcess(): Promise<SettlementHarness> {
  const { world: w, clock } = world();
  return {
    bureau: w.peer('bureau', 'bureau1'),
    smd: w.peer('smd', 'smd1'),
    store: w.peer('store', 'store1'),
    mall: w.peer('store', 'mall1'),
    credit: w.peer('credit', 'credit1'),
    advanceBy: (ms) => clock.advanceBy(ms),
    audit: (balance = 5000) => w.audit([{ cardId: '5354000000000201', issuer: 'smd1', balance }]),
    close: () => Promise.resolve(w.close()),
  };
}

async function overHttp(): Promise<SettlementHarness> {
  const { world: w, clock } = world();
  const server = new BackendServer(w, {
    callers: { scenario: { token: TOKEN, allow: ['**'] } },
    virtualClock: clock,
  });
  const { url } = await server.listen(0);
  const link = new HttpBackendLink({ baseUrl: url, token: TOKEN });
  const clockClient = new HttpClockClient(link);
  const peers = {
    bureau: httpPeer(link, 'bureau', 'bureau1'),
    smd: httpPeer(link, 'smd', 'smd1'),
    store: httpPeer(link, 'store', 'store1'),
    mall: httpPeer(link, 'store', 'mall1'),
    credit: httpPeer(link, 'credit', 'credit1'),
  };
  return {
    ...peers,
    advanceBy: async (ms) => {
      await clockClient.advanceBy(ms);
    },
    audit: async (balance = 5000) => {
      const views = [];
      for (const p of Object.values(peers)) views.push(expectOk(await p.auditView({})));
      return audit(views, [{ cardId: '5354000000000201', issuer: 'smd1', balance }]);
    },
    close: async () => {
      await server.close();
      w.close();
    },
  };
}

settlementContract('in-process', inProcess);
settlementContract('HTTP', overHttp);
