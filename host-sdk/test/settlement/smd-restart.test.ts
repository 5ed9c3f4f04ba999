// Persistence parity (flows.md 7.9) for the SMD: a settlement whose card session is open survives a
// restart of every back-end from their SQLite files (session key wrapped in `secrets`, SSC in
// `sessions`), and the purchase completes with 5,000 - 1,200 = 3,800 on the card and in the float.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';
import { World } from '@mica/host-sdk/backend/world';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { VirtualClock, jstInstant } from '@mica/host-sdk/platform/clock';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';

const MASTER = '5c'.repeat(8) + '6d'.repeat(8);
const START = jstInstant(2004, 6, 7, 10, 0);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function card(): Card {
  const profile = parseProfile({
    chip: { idm: '02fe000000000201', blocks: 512, suite: '2k3des' },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 100,
            key: { version: 1, master: 'a1'.repeat(16) },
            areas: [
              {
                code: '3000',
                end: '37ff',
                capacity: 40,
                key: { version: 1, master: MASTER },
                services: [
                  { code: '300b', blocks: 1, data: ['5354000000000201'.padEnd(32, '0')] },
                  { code: '304c', blocks: 16, key: { version: 1, master: '07'.repeat(16) } },
                  {
                    code: '3090',
                    key: { version: 1, master: '11'.repeat(16) },
                    purse: { balance: 5000, maxBalance: 50_000, log: '304c' },
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
    applets: [{ kind: 'settlement', aid: 'a0000006ef5354', area: '3000' }],
  });
  const c = new Card(cardImageFromProfile(profile), { random: new SeededRandom(9n) });
  c.powerOn();
  return c;
}

it('an open card session survives a restart of the SMD from its SQLite file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mica-smd-restart-'));
  dirs.push(dir);
  const clock = new VirtualClock(START);
  let world = new World({ dataDir: dir, clock, rng: new SeededRng(4) });
  const open = (w: World) => ({
    smd: w.open('smd', 'smd1'),
    store: w.open('store', 'store1'),
    bureau: w.open('bureau', 'bureau1'),
  });
  let b = open(world);
  const s = Math.floor(START / 1000);
  expectOk(await b.bureau.setUp({ notBefore: s - 10, notAfter: s + 86_400 }));
  expectOk(
    await b.smd.setUp({
      bureauId: 'bureau1',
      suite: '2k3des',
      master: MASTER,
      systemCode: 0x12fc,
      areaCode: 0x3000,
      maxBalance: 50_000,
    }),
  );
  expectOk(await b.store.setUp({ bureauId: 'bureau1', orderPrefix: 'S1' }));
  expectOk(
    await b.smd.registerCard({
      cardId: '5354000000000201',
      idm: '02fe000000000201',
      userId: 'u',
      name: 'U',
      opening: 5000,
    }),
  );
  const bill = expectOk(
    await b.store.bill({
      items: [{ sku: 'EB-1', name: 'e-book', price: 1200, qty: 1 }],
      smdId: 'smd1',
      encoding: 'json',
    }),
  );
  const t = new InProcessTransport(card());
  const send = async (hex: string) => bytesToHex(await t.apdu(hexToBytes(hex)));
  expect(await send('00a4040007a0000006ef535400')).toMatch(/9000$/);
  const settlementId = `${Buffer.from(bill.orderNo, 'latin1').toString('hex')}${'ab'.repeat(8)}`;
  const a1 = expectOk(
    await b.smd.beginSettlement({
      txId: settlementId,
      embodiment: 'first',
      bill: bill.bill,
      encoding: 'json',
      sig1: bill.sig1,
      certificate: bill.certificate,
      cardId: '5354000000000201',
    }),
  );
  const a2 = expectOk(await b.smd.authChallenge({ ref: settlementId, response: await send(a1.command) }));
  const brc = expectOk(await b.smd.authConfirm({ ref: settlementId, response: await send(a2.command) }));
  const bi = await send(brc.command);

  world.close();
  world = World.openDirectory({ dataDir: dir, clock, rng: new SeededRng(5) });
  b = open(world);

  expect(expectOk(await b.smd.settlement({ settlementId })).status).toBe('authenticated');
  const spc = expectOk(await b.smd.balanceInfo({ settlementId, response: bi }));
  expect([spc.header, spc.balance]).toEqual([
    { orderNo: 'S1000001', amount: 1200, billHash: bill.billHash, smdId: 'smd1' },
    5000,
  ]);
  const done = expectOk(await b.smd.completeSettlement({ settlementId, response: await send(spc.command) }));
  expect(done.kind === 'acn' && [done.acn.amount, done.acn.newBalance, done.storeAccepted]).toEqual([
    1200,
    3800,
    true,
  ]);
  const getData = await send('80ca000000');
  expect(getData).toBe('5354000000000201' + '00000ed8' + '9000');
  const report = await world.audit([{ cardId: '5354000000000201', issuer: 'smd1', balance: 3800 }]);
  expect(report.ok).toBe(true);
  world.close();
});
