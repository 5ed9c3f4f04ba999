// The seed 003 world of `mica run brand-emoney` (flows.md 5.3, worked example): the brand holder, four
// issuers (2-1 without internet service {E by proxy}, 2-2 {D}, 2-3 {A, B}, 2-4 {A, C}), the bank
// center {A, B}, the MMK center {A, C}, the POS center {F, H}, stand-alone terminals 18-1-1 {F, J},
// 18-1-2 {G}, 18-1-n {G, H, J}, terminal 18-2-1 under the POS center, a cybershop, and the financial
// institute. Set-up runs on the dedicated channel (key packages sealed to each recipient); the cards
// are manufactured blank and issued through their commands (F0.3).
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { logRecord } from '@mica/apdu-specs/eeprom-records';
import { parseProfile } from '@mica/apdu-specs/profile';
import type { Mode } from '@mica/host-sdk/backend/backend';
import { expectOk, type Outcome } from '@mica/host-sdk/backend/outcome';
import type { SqliteBrand } from '@mica/host-sdk/backend/kinds/brand';
import type { SqliteIssuer } from '@mica/host-sdk/backend/kinds/issuer';
import type { SqliteServiceCenter } from '@mica/host-sdk/backend/kinds/service-center';
import type { SealedKeyPackage } from '@mica/host-sdk/brand/key-package';
import { boxKeyPair, openKeyPackage } from '@mica/host-sdk/brand/key-package';
import { BRAND_SYSTEM_CODE, LOG_BLOCKS, type ServiceKeyName } from '@mica/host-sdk/brand/card-layout';
import { ValueSession, detect } from '@mica/host-sdk/brand/card-ops';
import { ChannelHook } from '@mica/host-sdk/brand/channels';
import { issueBrandCard } from '@mica/host-sdk/brand/issuance';
import { LoadingTerminal } from '@mica/host-sdk/brand/terminals/loading-terminal';
import { MerchantTerminal } from '@mica/host-sdk/brand/terminals/merchant-terminal';
import { ShopperPc } from '@mica/host-sdk/brand/terminals/shopper-pc';
import type { TerminalStep } from '@mica/host-sdk/brand/terminals/brand-terminal';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import { LocalKeyHolder } from '@mica/host-sdk/keys/local-key-holder';
import type { Fixture, FixtureCard } from '../../fixture';

export const IDS = {
  bank: 'bank5',
  brand: 'brand',
  bankCenter: 'bankcenter',
  mmkCenter: 'mmkcenter',
  posCenter: 'poscenter',
  shop: 'cybershop',
} as const;

/** Issuer id, area, keys put on its cards (loading channels, then F-J), and its card. */
export const ISSUERS = [
  { id: 'issuer21', area: 0x1000, loading: ['E'], card: 'card21', cardId: '0201000000000001' },
  { id: 'issuer22', area: 0x2000, loading: ['D'], card: 'card22', cardId: '0202000000000001' },
  { id: 'issuer23', area: 0x3000, loading: ['A', 'B'], card: 'card23', cardId: '0203000000000001' },
  { id: 'issuer24', area: 0x4000, loading: ['A', 'C'], card: 'card24', cardId: '0204000000000001' },
] as const;

export const STAND_ALONE = [
  { id: 't18_1_1', keys: ['F', 'J'] },
  { id: 't18_1_2', keys: ['G'] },
  { id: 't18_1_n', keys: ['G', 'H', 'J'] },
] as const;

const TRANSPORT_KEY = '000102030405060708090a0b0c0d0e0f';
const MERCHANT_KEYS: ServiceKeyName[] = ['F', 'G', 'H', 'I', 'J'];

export interface BrandWorld {
  readonly f: Fixture;
  readonly mode: Mode;
  readonly hook: ChannelHook;
  readonly cards: Record<string, FixtureCard>;
  readonly client: (card: string) => FelicaClient;
  readonly bankTerminal: LoadingTerminal;
  readonly kiosk: LoadingTerminal;
  readonly standAlone: Record<string, MerchantTerminal>;
  readonly posTerminal: MerchantTerminal;
  readonly pc: ShopperPc;
  /** Outcomes of set-up steps the checks look at. */
  readonly setupResults: Record<string, Outcome<unknown>>;
  /** The brand holder's key holder, in-process (issuance, auditing the cards). */
  readonly brandHolder: LocalKeyHolder;
  readonly eepromRecords: Record<string, string[]>;
  /** Prints the terminal's lines as transcript steps (each audited). */
  flush(from: { takeSteps(): TerminalStep[] }, audit?: 'pass' | 'fail'): Promise<void>;
  readCard(
    card: string,
  ): Promise<{ balance: number; log: { chargeId: string; amount: number; kind: number }[] }>;
}

export interface BuildOptions {
  readonly notification: 'per-tx' | 'batch';
  /** Which issuers get a card (default all). */
  readonly issuers?: readonly string[];
  /** The card manufactured with the full 65,536 blocks (F0's map from FFFF down); others get 2,048. */
  readonly fullCard?: string;
}

export async function buildBrandWorld(f: Fixture, o: BuildOptions): Promise<BrandWorld> {
  const rnd = (label: string): ((n: number) => Uint8Array) => {
    const r = f.random(label);
    return (n) => r.bytes(n);
  };
  const hook = new ChannelHook();
  const setupResults: Record<string, Outcome<unknown>> = {};
  f.open('bank', IDS.bank);
  const brand = f.open('brand', IDS.brand) as SqliteBrand;
  expectOk(await brand.setUp({ notification: o.notification }));
  const issuers: Record<string, SqliteIssuer> = {};
  for (const i of ISSUERS) {
    const b = f.open('issuer', i.id) as SqliteIssuer;
    issuers[i.id] = b;
    const me = expectOk(
      await b.setUp({ brandId: IDS.brand, areaCode: i.area, notification: o.notification }),
    );
    expectOk(
      await brand.registerParticipant({
        id: i.id,
        kind: 'issuer',
        name: `issuer ${i.id.slice(-2, -1)}-${i.id.slice(-1)}`,
        areaCode: i.area,
        signKey: me.signKey,
        boxKey: me.boxKey,
      }),
    );
  }
  const centers: Record<string, SqliteServiceCenter> = {};
  for (const [id, role] of [
    [IDS.bankCenter, 'bank'],
    [IDS.mmkCenter, 'mmk'],
    [IDS.posCenter, 'pos'],
  ] as const) {
    const c = f.open('service-center', id) as SqliteServiceCenter;
    centers[id] = c;
    const me = expectOk(await c.setUp({ role, brandId: IDS.brand, notification: o.notification }));
    expectOk(
      await brand.registerParticipant({
        id,
        kind: 'center',
        name: `${role} center`,
        boxKey: me.boxKey,
        ...(role === 'pos' ? { agreement: 'POS center merchant agreement' } : {}),
      }),
    );
  }
  const flash: Record<string, { priv: Uint8Array; pub: Uint8Array }> = {};
  for (const t of STAND_ALONE) {
    flash[t.id] = boxKeyPair(f.random(`flash/${t.id}`));
    expectOk(
      await brand.registerParticipant({
        id: t.id,
        kind: 'merchant',
        name: `merchant of terminal ${t.id}`,
        agreement: 'merchant agreement',
        feeBps: 200,
        boxKey: bytesToHex(flash[t.id]!.pub),
      }),
    );
  }
  expectOk(
    await brand.registerParticipant({
      id: 'm18_2_1',
      kind: 'merchant',
      name: 'merchant under the POS center',
      agreement: 'via POS center',
      feeBps: 100,
    }),
  );
  const shop = f.open('cybershop', IDS.shop);
  expectOk(await shop.setUp({ brandId: IDS.brand }));
  expectOk(
    await brand.registerParticipant({
      id: IDS.shop,
      kind: 'cybershop',
      name: 'cybershop [16]',
      agreement: 'web sales',
    }),
  );
  expectOk(await shop.addStock({ sku: 'book-1', name: 'A book', price: 1500, stock: 3 }));
  expectOk(await shop.addStock({ sku: 'cd-1', name: 'A CD', price: 2500, stock: 1 }));

  // F0.2: each issuer receives its area key, P, its loading keys and F-J (media).
  for (const i of ISSUERS)
    for (const k of ['area', 'P', ...i.loading, ...MERCHANT_KEYS]) {
      const pkg = expectOk(
        await brand.distributeKey({ recipientId: i.id, keyName: k, issuerIds: [i.id], channel: 'media' }),
      );
      expectOk(await issuers[i.id]!.installKeyPackage({ package: pkg }));
    }
  // F0.4: A to the bank center without the issuer's permission is refused; then permissions.
  setupResults['A-without-permission'] = await brand.distributeKey({
    recipientId: IDS.bankCenter,
    keyName: 'A',
    issuerIds: ['issuer23'],
    channel: 'dedicated',
  });
  const grants: [string, string, string][] = [
    ['issuer23', IDS.bankCenter, 'A'],
    ['issuer24', IDS.bankCenter, 'A'],
    ['issuer23', IDS.bankCenter, 'B'],
    ['issuer23', IDS.mmkCenter, 'A'],
    ['issuer24', IDS.mmkCenter, 'A'],
    ['issuer24', IDS.mmkCenter, 'C'],
  ];
  for (const [issuer, to, key] of grants)
    expectOk(
      await brand.recordPermission(
        expectOk(await issuers[issuer]!.signPermission({ recipientId: to, keyName: key })),
      ),
    );
  const give = async (to: string, key: string, issuerIds: string[]): Promise<SealedKeyPackage> =>
    expectOk(await brand.distributeKey({ recipientId: to, keyName: key, issuerIds, channel: 'dedicated' }));
  setupResults['A-with-permission'] = await brand.distributeKey({
    recipientId: IDS.bankCenter,
    keyName: 'A',
    issuerIds: ['issuer23', 'issuer24'],
    channel: 'dedicated',
  });
  expectOk(
    await centers[IDS.bankCenter]!.installKeyPackage({
      package: expectOk(setupResults['A-with-permission'] as Outcome<SealedKeyPackage>),
    }),
  );
  expectOk(
    await centers[IDS.bankCenter]!.installKeyPackage({
      package: await give(IDS.bankCenter, 'B', ['issuer23']),
    }),
  );
  expectOk(
    await centers[IDS.mmkCenter]!.installKeyPackage({
      package: await give(IDS.mmkCenter, 'A', ['issuer23', 'issuer24']),
    }),
  );
  expectOk(
    await centers[IDS.mmkCenter]!.installKeyPackage({
      package: await give(IDS.mmkCenter, 'C', ['issuer24']),
    }),
  );
  for (const k of ['F', 'H'])
    expectOk(
      await centers[IDS.posCenter]!.installKeyPackage({
        package: await give(
          IDS.posCenter,
          k,
          ISSUERS.map((i) => i.id),
        ),
      }),
    );
  // Stand-alone terminals: packages on media, opened into the terminal's flash.
  const flashHolders: Record<string, LocalKeyHolder> = {};
  for (const t of STAND_ALONE) {
    const h = new LocalKeyHolder(rnd(`flash-holder/${t.id}`));
    for (const k of t.keys) {
      const content = openKeyPackage(
        await give(
          t.id,
          k,
          ISSUERS.map((i) => i.id),
        ),
        t.id,
        flash[t.id]!.priv,
      );
      for (const e of content.entries)
        h.set(BRAND_SYSTEM_CODE, e.node, { version: e.version, master: hexToBytes(e.master) });
    }
    flashHolders[t.id] = h;
  }
  expectOk(await centers[IDS.posCenter]!.registerTerminal({ terminalId: 't18_2_1', merchantId: 'm18_2_1' }));
  expectOk(
    await centers[IDS.bankCenter]!.registerTerminal({ terminalId: 't13_1', merchantId: IDS.bankCenter }),
  );
  expectOk(
    await centers[IDS.mmkCenter]!.registerTerminal({ terminalId: 't20_1', merchantId: IDS.mmkCenter }),
  );

  // Users and their settlement accounts at the institute [5].
  const bank = f.world.peer('bank', IDS.bank);
  for (const [n, i] of ISSUERS.entries()) {
    expectOk(
      await bank.openAccount({
        accountNo: `u${i.id.slice(-2)}`,
        userId: `user${i.id.slice(-2)}`,
        name: `USER ${i.id.slice(-2)}`,
      }),
    );
    expectOk(
      await bank.depositCash({
        txId: (0x100 + n).toString(16).padStart(32, '0'),
        accountNo: `u${i.id.slice(-2)}`,
        amount: 10_000,
      }),
    );
    expectOk(
      await issuers[i.id]!.registerUser({
        cardId: i.cardId,
        name: `USER ${i.id.slice(-2)}`,
        bankId: IDS.bank,
        accountNo: `u${i.id.slice(-2)}`,
      }),
    );
    expectOk(
      await brand.recordCustomer({
        cardId: i.cardId,
        issuerId: i.id,
        name: `USER ${i.id.slice(-2)}`,
        institute: IDS.bank,
      }),
    );
  }

  // Every master registered with the internet hook and the fixture's monitor (flows.md 1.6).
  const masters = [
    ...brand.masters(),
    ...Object.values(issuers).flatMap((i) => i.masters()),
    ...Object.values(centers).flatMap((c) => c.masters()),
  ];
  masters.forEach((m, n) => {
    hook.registerKey(m, `master #${n}`);
    f.network.forbid(`master key #${n}`, m);
  });

  // F0.3: cards manufactured blank, issued through their commands.
  const brandHolder = brand.keyHolder(rnd('brand-holder'));
  const cards: Record<string, FixtureCard> = {};
  const clients: Record<string, FelicaClient> = {};
  const eepromRecords: Record<string, string[]> = {};
  const wanted = o.issuers ?? ISSUERS.map((i) => i.id);
  for (const [n, i] of ISSUERS.entries()) {
    if (!wanted.includes(i.id)) continue;
    const profile = parseProfile({
      chip: {
        idm: `02fe0000000003${(0x21 + n).toString(16)}`,
        blocks: o.fullCard === i.card ? 65536 : 2048,
        suite: '2k3des',
        transportKey: TRANSPORT_KEY,
      },
      systems: [{ systemCode: BRAND_SYSTEM_CODE.toString(16), areas: [] }],
    });
    const card = await f.card(i.card, profile);
    cards[i.card] = card;
    clients[i.card] = new FelicaClient(card.transport);
    const sent = await issueBrandCard(clients[i.card]!, {
      transportKey: hexToBytes(TRANSPORT_KEY),
      brand: brandHolder,
      issuer: issuers[i.id]!.keyHolder(rnd(`issuer-holder/${i.id}`)),
      area: i.area,
      issuerKeys: [...i.loading, ...MERCHANT_KEYS] as ServiceKeyName[],
      cardId: i.cardId,
      issueDate: 0x20040607,
      sequence: n + 1,
      requireLog: f.mode === 'hardened',
      random: rnd(`issuing/${i.id}`),
    });
    eepromRecords[i.card] = sent;
    await f.step({
      step: 'F0.3',
      from: `issuing machine (${i.id})`,
      to: i.card,
      summary: sent.join(', '),
      card: { command: 'Register Issue ID … Register Service', status: '00 00' },
    });
  }
  f.cards = async () =>
    Promise.all(
      ISSUERS.filter((i) => cards[i.card]).map(async (i) => ({
        cardId: i.cardId,
        issuer: i.id,
        balance: await readCard(i.card, false)
          .then((x) => x.balance)
          .catch(() => null),
      })),
    );
  f.cardState = async () => {
    const out: Record<string, unknown> = {};
    for (const i of ISSUERS) if (cards[i.card]) out[i.cardId] = await readCard(i.card).catch(() => null);
    return out;
  };

  // Key holders served to terminals: the brand holder [145], issuer 2-2 [161], the centers.
  f.serveKeyHolder('brand', IDS.brand, brandHolder);
  f.serveKeyHolder('issuer', 'issuer22', issuers['issuer22']!.keyHolder(rnd('issuer22-served')));
  for (const id of [IDS.bankCenter, IDS.mmkCenter, IDS.posCenter])
    f.serveKeyHolder('service-center', id, centers[id]!.keyHolder(rnd(`${id}-served`)));
  await f.start();

  const issuerAreas = ISSUERS.map((i) => ({ issuerId: i.id, area: i.area }));
  const common = { issuers: issuerAreas, mode: f.mode, clock: f.clock };
  const first = clients[Object.keys(clients)[0]!]!;
  const bankTerminal = new LoadingTerminal({
    ...common,
    terminalId: 't13_1',
    centerId: IDS.bankCenter,
    center: f.backend('service-center', IDS.bankCenter),
    keyHolder: f.keyHolder('service-center', IDS.bankCenter),
    client: first,
    rng: f.random('t13_1'),
  });
  const kiosk = new LoadingTerminal({
    ...common,
    terminalId: 't20_1',
    centerId: IDS.mmkCenter,
    center: f.backend('service-center', IDS.mmkCenter),
    keyHolder: f.keyHolder('service-center', IDS.mmkCenter),
    client: first,
    rng: f.random('t20_1'),
  });
  const standAlone: Record<string, MerchantTerminal> = {};
  for (const t of STAND_ALONE) {
    standAlone[t.id] = new MerchantTerminal({
      ...common,
      terminalId: t.id,
      merchantId: t.id,
      keyHolder: flashHolders[t.id]!,
      keys: t.keys,
      link: {
        kind: 'stand-alone',
        brandId: IDS.brand,
        brand: f.backend('brand', IDS.brand),
        notification: o.notification,
      },
      client: first,
      rng: f.random(t.id),
    });
    const term = standAlone[t.id]!;
    f.addAuditView(() => term.auditView());
  }
  const posTerminal = new MerchantTerminal({
    ...common,
    terminalId: 't18_2_1',
    merchantId: 'm18_2_1',
    keyHolder: f.keyHolder('service-center', IDS.posCenter),
    keys: ['F', 'H'],
    link: { kind: 'center', centerId: IDS.posCenter, center: f.backend('service-center', IDS.posCenter) },
    client: first,
    rng: f.random('t18_2_1'),
  });
  const pc = new ShopperPc({ ...common, terminalId: 'pc14', client: first, hook, rng: f.random('pc14') });

  async function readCard(
    name: string,
    withLog = true,
  ): Promise<{ balance: number; log: { chargeId: string; amount: number; kind: number }[] }> {
    const client = clients[name]!;
    const found = await detect(client, issuerAreas, 'audit');
    if (!found.ok) throw new Error(found.message);
    const s = await ValueSession.open(client, brandHolder, found.value, 'K', {
      info: 'audit',
      verdict: 'audit',
    });
    if (!s.ok) throw new Error(s.message);
    try {
      const b = await s.value.balance('audit');
      if (!b.ok) throw new Error(b.message);
      const log = [];
      for (let i = 0; withLog && i < LOG_BLOCKS; i++) {
        const blocks = await s.value.readLogBlock(i);
        if (blocks.every((x) => x === 0)) continue;
        const r = logRecord.decode(blocks);
        log.push({ chargeId: bytesToHex(r.chargeId), amount: r.amount, kind: r.kind });
      }
      return { balance: b.value, log };
    } finally {
      await s.value.close();
    }
  }

  return {
    f,
    mode: f.mode,
    hook,
    cards,
    client: (c) => clients[c]!,
    bankTerminal,
    kiosk,
    standAlone,
    posTerminal,
    pc,
    setupResults,
    brandHolder,
    eepromRecords,
    async flush(from, audit) {
      for (const s of from.takeSteps()) await f.step({ ...s, ...(audit ? { audit } : {}) });
    },
    readCard,
  };
}
