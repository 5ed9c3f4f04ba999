// Runs the seed 003 contract suites in-process and against a served world (node:http, port 0).
import { VirtualClock } from '@mica/host-sdk/platform/clock';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import { World } from '@mica/host-sdk/backend/world';
import { audit } from '@mica/host-sdk/backend/audit';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { BackendServer } from '@mica/host-sdk/backend/http/server';
import {
  HttpBackendLink,
  HttpBankClient,
  HttpBrandClient,
  HttpClockClient,
  HttpCybershopClient,
  HttpIssuerClient,
  HttpServiceCenterClient,
} from '@mica/host-sdk/backend/http/client';
import { START } from './contract';
import {
  IDS,
  brandContract,
  cybershopContract,
  issuerContract,
  serviceCenterContract,
  type BrandHarness,
} from './contract-brand';

const TOKEN = 'b3'.repeat(32);

function world(): { world: World; clock: VirtualClock } {
  const clock = new VirtualClock(START);
  const w = new World({ dataDir: ':memory:', clock, rng: new SeededRng(3) });
  w.open('bank', IDS.bank);
  w.open('brand', IDS.brand);
  w.open('issuer', IDS.issuer);
  w.open('issuer', IDS.issuer2);
  w.open('service-center', IDS.center);
  w.open('service-center', IDS.pos);
  w.open('cybershop', IDS.shop);
  return { world: w, clock };
}

async function inProcess(): Promise<BrandHarness> {
  const { world: w, clock } = world();
  return {
    bank: w.peer('bank', IDS.bank),
    brand: w.peer('brand', IDS.brand),
    issuer: w.peer('issuer', IDS.issuer),
    issuer2: w.peer('issuer', IDS.issuer2),
    center: w.peer('service-center', IDS.center),
    pos: w.peer('service-center', IDS.pos),
    shop: w.peer('cybershop', IDS.shop),
    advanceBy: (ms) => clock.advanceBy(ms),
    audit: (cards) => w.audit(cards),
    close: () => Promise.resolve(w.close()),
  };
}

async function overHttp(): Promise<BrandHarness> {
  const { world: w, clock } = world();
  const server = new BackendServer(w, {
    callers: { scenario: { token: TOKEN, allow: ['**'] } },
    virtualClock: clock,
  });
  const { url } = await server.listen(0);
  const link = new HttpBackendLink({ baseUrl: url, token: TOKEN });
  const clients = {
    bank: new HttpBankClient(link, IDS.bank),
    brand: new HttpBrandClient(link, IDS.brand),
    issuer: new HttpIssuerClient(link, IDS.issuer),
    issuer2: new HttpIssuerClient(link, IDS.issuer2),
    center: new HttpServiceCenterClient(link, IDS.center),
    pos: new HttpServiceCenterClient(link, IDS.pos),
    shop: new HttpCybershopClient(link, IDS.shop),
  };
  return {
    ...clients,
    advanceBy: async (ms) => {
      await new HttpClockClient(link).advanceBy(ms);
    },
    audit: async (cards) => {
      const views = [];
      for (const c of Object.values(clients)) views.push(expectOk(await c.auditView()));
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
  brandContract(name, make);
  issuerContract(name, make);
  serviceCenterContract(name, make);
  cybershopContract(name, make);
}
