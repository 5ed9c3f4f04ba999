// Runs each back-end contract suite in-process and against a served back-end (node:http on
// 127.0.0.1, port 0), with the same world behind both.
import { VirtualClock } from '@mica/host-sdk/platform/clock';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import { World } from '@mica/host-sdk/backend/world';
import { BackendServer } from '@mica/host-sdk/backend/http/server';
import {
  HttpBackendLink,
  HttpBankClient,
  HttpClockClient,
  HttpCreditClient,
  HttpEMoneyClient,
} from '@mica/host-sdk/backend/http/client';
import { bankContract, creditContract, emoneyContract, START, type Harness } from './contract';
import { pkmaContract } from './contract-pkma';

const TOKEN = 'a1'.repeat(32);

function world(): { world: World; clock: VirtualClock } {
  const clock = new VirtualClock(START);
  // Faithful mode: the PIN result is the terminal's word; hardened proofs are tested in backend-platform.test.ts.
  const w = new World({ dataDir: ':memory:', clock, rng: new SeededRng(7), mode: 'faithful' });
  w.open('bank', 'bank1');
  w.open('credit', 'credit1');
  w.open('emoney', 'emoney1');
  return { world: w, clock };
}

async function inProcess(): Promise<Harness> {
  const { world: w, clock } = world();
  return {
    bank: w.peer('bank', 'bank1'),
    credit: w.peer('credit', 'credit1'),
    emoney: w.peer('emoney', 'emoney1'),
    advanceBy: (ms) => clock.advanceBy(ms),
    audit: (cards) => w.audit(cards),
    close: () => Promise.resolve(w.close()),
  };
}

async function overHttp(): Promise<Harness> {
  const { world: w, clock } = world();
  const server = new BackendServer(w, {
    callers: { scenario: { token: TOKEN, allow: ['**'] } },
    virtualClock: clock,
  });
  const { url } = await server.listen(0);
  const link = new HttpBackendLink({ baseUrl: url, token: TOKEN });
  const clockClient = new HttpClockClient(link);
  return {
    bank: new HttpBankClient(link, 'bank1'),
    credit: new HttpCreditClient(link, 'credit1'),
    emoney: new HttpEMoneyClient(link, 'emoney1'),
    advanceBy: async (ms) => {
      await clockClient.advanceBy(ms);
    },
    // The audit reads every ledger through the served auditView methods.
    audit: async (cards) => {
      const { audit } = await import('@mica/host-sdk/backend/audit');
      const { expectOk } = await import('@mica/host-sdk/backend/outcome');
      const views = [];
      for (const c of [
        new HttpBankClient(link, 'bank1'),
        new HttpCreditClient(link, 'credit1'),
        new HttpEMoneyClient(link, 'emoney1'),
      ])
        views.push(expectOk(await c.auditView()));
      return audit(views, cards);
    },
    close: async () => {
      await server.close();
      w.close();
    },
  };
}

for (const [name, make] of [
  ['in-process', inProcess],
  ['HTTP', overHttp],
] as const) {
  bankContract(name, make);
  creditContract(name, make);
  emoneyContract(name, make);
  pkmaContract(name, make);
}
