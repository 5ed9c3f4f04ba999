// `mica run brand-emoney` (flows.md 5.5): seed 003's brand holder, issuers and merchants. The main
// fixture builds the worked example (F0) and runs F1-F7 with the negative branches; the tearing pair
// runs in both modes on fixtures of its own, and the batched notification on one with `batch`.
import { readFileSync } from 'node:fs';
import { loadImageFile } from '@mica/card-os/hal/image-file';
import type { SealedKeyPackage } from '@mica/host-sdk/brand/key-package';
import { BRAND_SYSTEM_CODE, keyNodes } from '@mica/host-sdk/brand/card-layout';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import type { SqliteCybershop } from '@mica/host-sdk/backend/kinds/cybershop';
import { LocalKeyHolder } from '@mica/host-sdk/keys/local-key-holder';
import { dumpModel } from '../../dump/dump-model';
import type { CheckRun, Scenario, ScenarioContext } from '../scenario';
import { IDS, buildBrandWorld, type BrandWorld } from './brand-emoney/world';

const DAY = 86_400_000;

const CHECKS = [
  {
    id: 'F0',
    text: 'F0 builds the worked example; the EEPROM map shows FFFF, FFFE, FFFD, the system record at FFFC and the area and service records below it in creation order',
  },
  {
    id: 'A23',
    text: 'a 2-3 card {A, B} loads through A and B at the bank center and through A at the MMK center; B with a forged key package gives E_AUTH_FAILED; C gives E_NODE_ABSENT',
  },
  { id: 'A24', text: 'the mirror case holds for a 2-4 card {A, C} at the bank center' },
  {
    id: 'PERM',
    text: 'distributing A to the bank center without issuer permission gives E_NO_ISSUER_PERMISSION; with permission it succeeds',
  },
  {
    id: 'FLOWS',
    text: 'F1-F6 all succeed, leaving the expected rows in [168], [148], [192] and the brand holder’s payments',
  },
  {
    id: 'NEG',
    text: 'refused funding, a cash mismatch, insufficient value and a missing sales approval leave the card image and the ledgers unchanged',
  },
  { id: 'NOKEYS', text: 'center terminals and the cybershop hold no keys (their stores are scanned)' },
  { id: 'NET', text: 'a key package forced onto the internet gives E_KEY_ON_INTERNET' },
  {
    id: 'TEAR-F',
    text: '(F) power cut between the value write and the log write: the value changed with no log, and the audit reports it',
  },
  { id: 'TEAR-H', text: '(H) the card holds both the value and its log record, or neither' },
  {
    id: 'BATCH',
    text: 'batched notifications are C4 in-flight items until the batch runs; the audit passes throughout',
  },
  { id: 'F7', text: 'accounting gives the charge per issuer and net positions that sum to 0' },
] as const;

/** Balance vs the log: every value change has its record (cards start empty, the log is long enough). */
async function logAudit(w: BrandWorld, card: string): Promise<string | null> {
  const { balance, log } = await w.readCard(card);
  const sum = log.reduce((s, r) => s + (r.kind === 1 ? r.amount : -r.amount), 0);
  return sum === balance ? null : `${card}: balance ${balance} but its log accounts for ${sum}`;
}

async function snapshot(w: BrandWorld, card: string): Promise<string> {
  const c = w.cards[card]!;
  await c.powerCycle();
  const image = c.image === null ? '' : readFileSync(c.image).toString('hex');
  const views = await w.f.views();
  return JSON.stringify([image.length, image, views.map((v) => [v.id, v.entries, v.inFlight])]);
}

async function mainFlow(ctx: ScenarioContext): Promise<BrandWorld> {
  return buildBrandWorld(ctx.fixture('main'), {
    notification: ctx.options.variants['notification'] === 'batch' ? 'batch' : 'per-tx',
    fullCard: 'card23',
  });
}

export const brandEmoney: Scenario = {
  name: 'brand-emoney',
  title: 'Seed 003: brand holder, issuers, merchants (e-money)',
  variants: { notification: ['per-tx', 'batch'] },
  checks: CHECKS,
  async run(ctx) {
    let w!: BrandWorld;
    // A check on the worked example after F0 failed to build it (e.g. the card left the field during
    // set-up) is refused, not a TypeError.
    const built = (c: CheckRun): boolean => {
      c.expect(w !== undefined, 'the worked example (F0) was not built');
      return w !== undefined;
    };
    await ctx.check('F0', async (c) => {
      w = await mainFlow(ctx);
      const card = w.cards['card23']!;
      await card.powerCycle();
      const model = dumpModel(loadImageFile(card.image!), { showKeys: false });
      c.equal(model.fixedBlocks.map((b) => b.address).slice(0, 3), ['ffff', 'fffe', 'fffd'], 'fixed blocks');
      const recs = model.records.map((r) => [r.address, r.typeName]);
      c.equal(recs[0], ['fffc', recs[0]?.[1]], 'the system record at FFFC');
      const addrs = model.records.map((r) => parseInt(r.address, 16));
      c.expect(
        addrs.every((a, i) => i === 0 || a < addrs[i - 1]!),
        'records grow down in creation order',
      );
      // system, root area, issuer area, ID, log, purse (+ policy), A, A log, B, B log, F-J, K-M (2 each).
      c.equal(model.records.length, 1 + 2 + 3 + 1 + 2 * (2 + 5 + 3), 'definition records of a 2-3 card');
    });

    await ctx.check('PERM', async (c) => {
      if (!built(c)) return;
      c.equal(
        w.setupResults['A-without-permission']?.ok === false &&
          (w.setupResults['A-without-permission'] as { code: string }).code,
        'E_NO_ISSUER_PERMISSION',
        'A without permission',
      );
      c.expect(w.setupResults['A-with-permission']?.ok === true, 'A with permission is distributed');
    });

    const loadIn = async (
      world: BrandWorld,
      term: typeof w.bankTerminal,
      card: string,
      q: Parameters<typeof w.bankTerminal.load>[0],
    ) => {
      term.insert(world.client(card));
      const r = await term.load(q);
      await world.flush(term);
      return r;
    };
    const load = (term: typeof w.bankTerminal, card: string, q: Parameters<typeof w.bankTerminal.load>[0]) =>
      loadIn(w, term, card, q);

    await ctx.check('A23', async (c) => {
      if (!built(c)) return;
      c.expect(
        (await load(w.bankTerminal, 'card23', { keyName: 'A', amount: 5000, funding: 'cash', cashIn: 5000 }))
          .ok,
        'A at the bank center',
      );
      c.expect(
        (await load(w.bankTerminal, 'card23', { keyName: 'B', amount: 3000, funding: 'cash', cashIn: 3000 }))
          .ok,
        'B at the bank center',
      );
      c.expect(
        (await load(w.kiosk, 'card23', { keyName: 'A', amount: 1000, funding: 'cash', cashIn: 1000 })).ok,
        'A at the MMK center',
      );
      const forged = forgedHolder(w, 0x3000, 'B');
      const b = await load(w.kiosk, 'card23', {
        keyName: 'B',
        amount: 1000,
        funding: 'cash',
        cashIn: 1000,
        keyHolder: forged,
      });
      c.equal(b.ok ? 'OK' : b.code, 'E_AUTH_FAILED', 'B with a forged key package at the MMK center');
      const cc = await load(w.kiosk, 'card23', { keyName: 'C', amount: 1000, funding: 'cash', cashIn: 1000 });
      c.equal(cc.ok ? 'OK' : cc.code, 'E_NODE_ABSENT', 'C on a 2-3 card');
      c.equal((await w.readCard('card23')).balance, 9000, 'card23 balance');
    });

    await ctx.check('A24', async (c) => {
      if (!built(c)) return;
      c.expect(
        (await load(w.bankTerminal, 'card24', { keyName: 'A', amount: 4000, funding: 'cash', cashIn: 4000 }))
          .ok,
        'A at the bank center',
      );
      const cc = await load(w.bankTerminal, 'card24', {
        keyName: 'C',
        amount: 1000,
        funding: 'cash',
        cashIn: 1000,
        keyHolder: forgedHolder(w, 0x4000, 'C'),
      });
      c.equal(cc.ok ? 'OK' : cc.code, 'E_AUTH_FAILED', 'C with a forged key package at the bank center');
      const b = await load(w.bankTerminal, 'card24', {
        keyName: 'B',
        amount: 1000,
        funding: 'cash',
        cashIn: 1000,
      });
      c.equal(b.ok ? 'OK' : b.code, 'E_NODE_ABSENT', 'B on a 2-4 card');
      c.equal((await w.readCard('card24')).balance, 4000, 'card24 balance');
    });

    await ctx.check('FLOWS', async (c) => {
      if (!built(c)) return;
      const brand = w.f.backend('brand', IDS.brand);
      // F1 at the MMK kiosk, funded by the bank account (center → issuer → institute).
      c.expect(
        (await load(w.kiosk, 'card24', { keyName: 'C', amount: 2000, funding: 'bank' })).ok,
        'F1 bank-funded at the MMK kiosk',
      );
      // F2: internet loading through issuer 2-2 (key D).
      w.pc.insert(w.client('card22'));
      const f2 = await w.pc.internetLoad({
        issuerId: 'issuer22',
        issuer: w.f.backend('issuer', 'issuer22'),
        keyHolder: w.f.keyHolder('issuer', 'issuer22'),
        amount: 2500,
      });
      await w.flush(w.pc);
      c.expect(f2.ok, `F2 internet loading: ${f2.ok ? '' : f2.message}`);
      // F3: proxy loading for 2-1 by the brand holder (key E).
      w.pc.insert(w.client('card21'));
      const f3 = await w.pc.proxyLoad({
        brandId: IDS.brand,
        brand,
        keyHolder: w.f.keyHolder('brand', IDS.brand),
        amount: 3000,
        bankId: IDS.bank,
        accountNo: 'u21',
      });
      await w.flush(w.pc);
      c.expect(f3.ok, `F3 proxy loading: ${f3.ok ? '' : f3.message}`);
      // F4 at stand-alone 18-1-1 (F), F5 under the POS center (F).
      const t = w.standAlone['t18_1_1']!.insert(w.client('card23'));
      const f4 = await t.pay(1200);
      await w.flush(t);
      c.expect(f4.ok, `F4 stand-alone payment: ${f4.ok ? '' : f4.message}`);
      const p = w.posTerminal.insert(w.client('card24'));
      const f5 = await p.pay(500);
      await w.flush(p);
      c.expect(f5.ok, `F5 payment under the POS center: ${f5.ok ? '' : f5.message}`);
      // F6 at the cybershop (K, by the brand holder).
      w.pc.insert(w.client('card23'));
      const f6 = await w.pc.cybershopPurchase({
        shopId: IDS.shop,
        shop: w.f.backend('cybershop', IDS.shop),
        brandId: IDS.brand,
        brand,
        keyHolder: w.f.keyHolder('brand', IDS.brand),
        orderId: 'order-1',
        items: [{ sku: 'book-1', qty: 1 }],
      });
      await w.flush(w.pc);
      c.expect(f6.ok, `F6 cybershop: ${f6.ok ? '' : f6.message}`);
      if (ctx.options.variants['notification'] === 'batch') {
        await w.f.advanceBy(7 * DAY);
        for (const t2 of Object.values(w.standAlone)) await t2.flush();
        await w.f.step({
          step: 'S91',
          from: 'terminals',
          to: IDS.brand,
          summary: 'the weekly batch of notices runs',
        });
      }
      const loads22 = expectOk(await w.f.backend('issuer', 'issuer22').loads({}));
      c.equal(
        loads22.map((l) => [l.channel, l.amount, l.via]),
        [['D', 2500, 'issuer22']],
        'issuer 2-2 [168]',
      );
      const loads24 = expectOk(await w.f.backend('issuer', 'issuer24').loads({}));
      c.equal(
        loads24.map((l) => [l.channel, l.amount, l.via, l.funding]),
        [
          ['A', 4000, IDS.bankCenter, 'cash'],
          ['C', 2000, IDS.mmkCenter, 'bank'],
        ],
        'issuer 2-4 [168]',
      );
      const loads21 = expectOk(await w.f.backend('issuer', 'issuer21').loads({}));
      c.equal(
        loads21.map((l) => [l.channel, l.amount, l.via]),
        [['E', 3000, IDS.brand]],
        'issuer 2-1 [168] (notice of the proxy load)',
      );
      const proxies = expectOk(await brand.proxyLoads({}));
      c.equal(
        proxies.map((x) => [x.issuerId, x.amount, x.status]),
        [['issuer21', 3000, 'loaded']],
        'brand [148]',
      );
      const orders = expectOk(await w.f.backend('cybershop', IDS.shop).orders({}));
      c.equal(
        orders.map((o) => [o.orderId, o.amount, o.status]),
        [['order-1', 1500, 'paid']],
        'cybershop [192]',
      );
      const pays = expectOk(await brand.payments({}));
      c.equal(
        pays.map((x) => [x.merchantId, x.issuerId, x.amount]).sort(),
        [
          [IDS.shop, 'issuer23', 1500],
          ['m18_2_1', 'issuer24', 500],
          ['t18_1_1', 'issuer23', 1200],
        ],
        'brand payments (sorted)',
      );
      c.equal((await w.readCard('card23')).balance, 9000 - 1200 - 1500, 'card23 after F4 and F6');
      c.equal(
        expectOk(await w.f.world.peer('bank', IDS.bank).account({ accountNo: 'u24' })).balance,
        8000,
        'user 2-4 paid the F1 load',
      );
      for (const card of ['card21', 'card22', 'card23', 'card24']) {
        const p2 = await logAudit(w, card);
        c.expect(p2 === null, p2 ?? '');
      }
    });

    await ctx.check('NEG', async (c) => {
      if (!built(c)) return;
      const brand = w.f.backend('brand', IDS.brand);
      const same = async (
        card: string,
        what: string,
        run: () => Promise<{ ok: boolean; code?: string }>,
        code: string,
      ) => {
        const before = await snapshot(w, card);
        const r = await run();
        c.equal(r.ok ? 'OK' : r.code, code, what);
        c.expect((await snapshot(w, card)) === before, `${what}: the card image or a ledger changed`);
      };
      await same(
        'card24',
        'refused funding',
        () => load(w.bankTerminal, 'card24', { keyName: 'A', amount: 50_000, funding: 'bank' }),
        'E_FUNDING_REFUSED',
      );
      await same(
        'card23',
        'cash mismatch',
        () => load(w.bankTerminal, 'card23', { keyName: 'A', amount: 2000, funding: 'cash', cashIn: 1000 }),
        'E_CASH_MISMATCH',
      );
      await same(
        'card23',
        'insufficient value',
        async () => {
          const t = w.standAlone['t18_1_2']!.insert(w.client('card23'));
          const r = await t.pay(99_999);
          await w.flush(t);
          return r;
        },
        'E_INSUFFICIENT_VALUE',
      );
      await same(
        'card23',
        'sales not approved',
        async () => {
          w.pc.insert(w.client('card23'));
          const r = await w.pc.cybershopPurchase({
            shopId: IDS.shop,
            shop: w.f.backend('cybershop', IDS.shop),
            brandId: IDS.brand,
            brand,
            keyHolder: w.f.keyHolder('brand', IDS.brand),
            orderId: 'order-2',
            items: [{ sku: 'cd-1', qty: 1 }],
            amount: 1000,
          });
          await w.flush(w.pc);
          return r;
        },
        'E_SALES_NOT_APPROVED',
      );
    });

    await ctx.check('NOKEYS', async (c) => {
      if (!built(c)) return;
      const scan = (what: string, text: string): void => {
        const found = w.hook.findKeyMaterial(text);
        c.expect(found === undefined, `${what} holds ${found ?? ''}`);
      };
      scan('bank-center terminal t13_1', w.bankTerminal.storeContents());
      scan('MMK kiosk t20_1', w.kiosk.storeContents());
      scan('POS-center terminal t18_2_1', w.posTerminal.storeContents());
      const shop = (w.f.world.peer('cybershop', IDS.shop) as SqliteCybershop).storeContents();
      c.expect(!shop.tables.includes('keys'), 'the cybershop has a keys table');
      c.expect(shop.rows.split('\n')[shop.tables.indexOf('secrets')] === '[]', 'the cybershop holds secrets');
      scan('the cybershop store', shop.rows);
      c.expect(w.hook.registeredKeys > 0, 'no key registered with the hook');
    });

    await ctx.check('NET', async (c) => {
      if (!built(c)) return;
      const pkg = expectOk(
        await w.f.world
          .peer('brand', IDS.brand)
          .distributeKey({ recipientId: IDS.posCenter, keyName: 'G', channel: 'dedicated' }),
      );
      const r = w.pc.sendOverInternet(IDS.shop, pkg satisfies SealedKeyPackage);
      await w.flush(w.pc);
      c.equal(r.ok ? 'OK' : r.code, 'E_KEY_ON_INTERNET', 'a key package over the internet');
      c.expect(
        w.pc.sendOverInternet(IDS.shop, { orderId: 'order-9', items: [] }).ok,
        'a clean message passes',
      );
      c.equal(w.f.network.violations, [], 'nothing forbidden crossed the monitored channels');
    });

    await ctx.check('TEAR-F', async (c) => {
      const t = await tearWorld(ctx, 'tear-faithful', 'faithful');
      await loadIn(t, t.bankTerminal, 'card23', {
        keyName: 'A',
        amount: 1000,
        funding: 'cash',
        cashIn: 1000,
        betweenWrites: () => t.cards['card23']!.powerCycle(),
      });
      const problem = await logAudit(t, 'card23');
      c.expect(
        problem !== null,
        'the torn faithful write left a value without a log and nothing reported it',
      );
      c.equal((await t.readCard('card23')).balance, 1000, 'the value changed');
      c.equal((await t.readCard('card23')).log, [], 'no log record');
      await t.f.step({
        step: 'S14-S15',
        from: 'audit',
        to: 'card23',
        summary: `card log audit: ${problem ?? 'consistent'}`,
      });
    });

    await ctx.check('TEAR-H', async (c) => {
      const t = await tearWorld(ctx, 'tear-hardened', 'hardened');
      const r = await loadIn(t, t.bankTerminal, 'card23', {
        keyName: 'A',
        amount: 1000,
        funding: 'cash',
        cashIn: 1000,
        betweenWrites: () => t.cards['card23']!.powerCycle(),
      });
      c.expect(r.ok, 'the hardened load');
      const card = await t.readCard('card23');
      c.equal([card.balance, card.log.map((l) => l.amount)], [1000, [1000]], 'value and log record together');
      c.equal(await logAudit(t, 'card23'), null, 'card log audit');
    });

    await ctx.check('BATCH', async (c) => {
      const b = ctx.fixture('batch');
      const bw = await buildBrandWorld(b, { notification: 'batch', issuers: ['issuer23'] });
      await loadIn(bw, bw.bankTerminal, 'card23', {
        keyName: 'A',
        amount: 3000,
        funding: 'cash',
        cashIn: 3000,
      });
      const t = bw.standAlone['t18_1_1']!.insert(bw.client('card23'));
      c.expect((await t.pay(700)).ok, 'payment at 18-1-1');
      await bw.flush(t);
      const p = bw.posTerminal.insert(bw.client('card23'));
      c.expect((await p.pay(300)).ok, 'payment under the POS center');
      await bw.flush(p);
      const mid = await b.audit();
      c.equal(
        mid.inFlight.filter((i) => i.topic === 'brand.recordPayment').map((i) => [i.holder, i.floatAmount]),
        [
          [IDS.posCenter, -300],
          ['t18_1_1', -700],
        ],
        'in-flight payments',
      );
      c.expect(mid.ok, 'the audit passes with the batch pending');
      await b.advanceBy(7 * DAY);
      await t.flush();
      await b.step({
        step: 'S91/S114',
        from: 'terminals, POS center',
        to: IDS.brand,
        summary: 'the weekly batch runs',
      });
      const after = await b.audit();
      c.equal(
        after.inFlight.filter((i) => i.topic === 'brand.recordPayment'),
        [],
        'nothing in flight after the batch',
      );
      c.expect(after.ok, 'the audit passes after the batch');
      c.equal(
        expectOk(await b.backend('brand', IDS.brand).payments({})).length,
        2,
        'payments booked by the brand holder',
      );
    });

    await ctx.check('F7', async (c) => {
      if (!built(c)) return;
      const brand = w.f.backend('brand', IDS.brand);
      const r = expectOk(await brand.runAccounting({ periodId: 'week-1' }));
      await w.f.step({
        step: 'F7',
        from: IDS.brand,
        to: 'participants',
        summary: `period week-1 settled: ${r.positions.map((p) => `${p.participantId} ${p.net}`).join(', ')}`,
      });
      const byId = Object.fromEntries(r.positions.map((p) => [p.participantId, p]));
      // charge = payments with the issuer's cards − proxy loads: 2-3 paid 1200 + 1500, 2-4 500, 2-1 −3000.
      c.equal(byId['issuer23']?.charge, 2700, 'charge of issuer 2-3');
      c.equal(byId['issuer24']?.charge, 500, 'charge of issuer 2-4');
      c.equal(byId['issuer21']?.charge, -3000, 'charge of issuer 2-1');
      c.equal(r.sum, 0, 'net positions sum');
      // fees: 2% of 1200 at 18-1-1 = 24, 1% of 500 under the POS center = 5.
      c.equal(byId[IDS.brand]?.fees, 29, 'the brand holder’s fees');
      c.equal(byId[IDS.brand]?.net, 29 - 3000, 'the brand holder’s net: fees − the proxy loads it collected');
    });
  },
};

/** A LocalKeyHolder with random masters for `key`'s nodes: a forged key package. */
function forgedHolder(w: BrandWorld, area: number, key: 'B' | 'C'): LocalKeyHolder {
  const r = w.f.random(`forged/${area}/${key}`);
  const h = new LocalKeyHolder((n) => r.bytes(n));
  for (const n of keyNodes(area, key)) h.set(BRAND_SYSTEM_CODE, n, { version: 1, master: r.bytes(16) });
  return h;
}

async function tearWorld(
  ctx: ScenarioContext,
  label: string,
  mode: 'faithful' | 'hardened',
): Promise<BrandWorld> {
  return buildBrandWorld(ctx.fixture(label, { mode }), { notification: 'per-tx', issuers: ['issuer23'] });
}

export type { CheckRun };
