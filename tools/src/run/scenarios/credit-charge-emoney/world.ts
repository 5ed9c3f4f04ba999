// The seed 001 world of one fixture (flows.md 3.1, example data of 3.3): the billing and refund bank,
// the credit company server, the e-money server with its key holder, the combined card [9a] issued
// from tools/profiles/credit-charge-emoney.json (credit applet + FeliCa e-money services), and the
// terminals of Fig. 7/8 and [80], each with its own store. Setup is the issuer's side (the dedicated
// channel); everything a terminal sends passes the fixture's network monitor.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { pinBlock } from '@mica/apdu-specs/apdu/applet-commands';
import { parseProfile, type Profile, type ProfileArea } from '@mica/apdu-specs/profile';
import { cardKey } from '@mica/apdu-specs/secure/card-key';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import type { Mode } from '@mica/host-sdk/backend/backend';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import { LocalKeyHolder } from '@mica/host-sdk/keys/local-key-holder';
import { jstDay, jstInstant } from '@mica/host-sdk/platform/clock';
import { newTxId } from '@mica/host-sdk/platform/tx-id';
import { ChargeTerminal } from '@mica/host-sdk/terminals/charge-terminal';
import { readOpen, type EmoneyCardLayout, type LogEntry } from '@mica/host-sdk/terminals/emoney-card';
import type { TerminalEvent } from '@mica/host-sdk/terminals/events';
import { MerchantTerminal } from '@mica/host-sdk/terminals/merchant-terminal';
import { TerminalStore } from '@mica/host-sdk/terminals/terminal-store';
import type { Transport } from '@mica/host-sdk/transport/transport';
import type { Fixture, FixtureCard } from '../../fixture';
import type { ScenarioContext } from '../../scenario';

export const PROFILE_PATH = new URL('../../../../profiles/credit-charge-emoney.json', import.meta.url)
  .pathname;

/** flows.md 3.3 example data. */
export const EXAMPLE = Object.freeze({
  creditNo: '987654321',
  pin: '9999',
  name: 'YAMADA TARO',
  emoneyNo: '12345678',
  password: 'abcdefg',
  opening: 1000,
  purchase: 2000,
  /** The credit quota (available credit) of the example card; project choice. */
  limit: 50_000,
  /** What the billing account holds before the cutoff; project choice. */
  billingDeposit: 100_000,
});

export const IDS = Object.freeze({
  bank: 'bank1',
  credit: 'credit1',
  emoney: 'emoney1',
  billingAccount: 'bill-987654321',
  refundAccount: 'refund-12345678',
  /** Card terminal [3], home PC [10], store e-money terminal [80]. */
  terminal: 'term-3',
  homePc: 'homepc-10',
  merchant: 'pos-80',
  merchantName: 'shop80',
});

export const CREDIT_AID = hexToBytes('a0000006ef435244');

export const LAYOUT: EmoneyCardLayout = Object.freeze({
  systemCode: 0x12fc,
  suite: '2k3des',
  number: 0x204b,
  purse: 0x20d0,
  purseAdd: 0x20d2,
  purseSubtract: 0x20d4,
  purseRead: 0x20d7,
  log: 0x208c,
  logRead: 0x208f,
  logBlocks: 8,
});

const CREDIT_AREA = 0x4000;

export function seedProfile(): Profile {
  return parseProfile(JSON.parse(readFileSync(PROFILE_PATH, 'utf8')) as unknown);
}

/** Every node key of the profile (as given), by node code. */
function nodeKeys(
  profile: Profile,
): Map<number, { version: number; master: Uint8Array } | { version: number; value: Uint8Array }> {
  const out = new Map<
    number,
    { version: number; master: Uint8Array } | { version: number; value: Uint8Array }
  >();
  const walk = (a: ProfileArea): void => {
    if (a.key)
      out.set(a.code, {
        version: a.key.version,
        ...('master' in a.key ? { master: a.key.master } : { value: a.key.value }),
      });
    for (const s of a.services)
      if (s.key)
        out.set(s.code, {
          version: s.key.version,
          ...('master' in s.key ? { master: s.key.master } : { value: s.key.value }),
        });
    a.areas.forEach(walk);
  };
  for (const s of profile.systems) s.areas.forEach(walk);
  return out;
}

export interface Seed001Options {
  readonly mode?: Mode;
  readonly amountChange?: 'add' | 'overwrite';
  /** flows.md 3.3 identification variant. */
  readonly identification?: 'emoney-no' | 'credit-no@emoney' | 'credit-no@credit';
  /** Wraps the card link of the terminals (a lost answer). */
  readonly wrapCard?: (t: Transport) => Transport;
}

export interface CardView {
  readonly balance: number;
  readonly executionId: number;
  readonly log: readonly LogEntry[];
}

export class Seed001World {
  readonly events: TerminalEvent[] = [];
  /** Decides the audit outcome expected after a terminal event (default: pass). */
  auditOf: (e: TerminalEvent) => 'pass' | 'fail' = () => 'pass';
  readonly amountChange: 'add' | 'overwrite';
  readonly identification: NonNullable<Seed001Options['identification']>;
  private terminals = new Map<string, ChargeTerminal>();
  private stores: TerminalStore[] = [];

  private constructor(
    readonly f: Fixture,
    readonly card: FixtureCard,
    readonly profile: Profile,
    private readonly link: Transport,
    o: Seed001Options,
  ) {
    this.amountChange = o.amountChange ?? 'add';
    this.identification = o.identification ?? 'emoney-no';
  }

  static async create(ctx: ScenarioContext, label: string, o: Seed001Options = {}): Promise<Seed001World> {
    const f = ctx.fixture(label, o.mode ? { mode: o.mode } : {});
    const profile = seedProfile();
    const idm = profile.chip.idm;
    const suite = suiteByName(LAYOUT.suite);
    const keys = nodeKeys(profile);
    const random = f.random('emoney-key-holder');
    const holder = new LocalKeyHolder((n) => random.bytes(n));
    for (const code of [LAYOUT.purse, LAYOUT.purseAdd, LAYOUT.purseSubtract, LAYOUT.log])
      holder.set(LAYOUT.systemCode, code, keys.get(code)!);
    f.serveKeyHolder('emoney', IDS.emoney, holder);
    // Nothing secret may cross the network: the PIN, every master and every per-card key.
    f.network.forbid('the PIN', EXAMPLE.pin);
    f.network.forbid('the PIN block', pinBlock(EXAMPLE.pin));
    for (const [code, k] of keys) {
      const label2 = `the key of node ${code.toString(16).padStart(4, '0')}`;
      f.network.forbid(label2, cardKey(suite, k, idm, code, LAYOUT.systemCode));
      if ('master' in k) f.network.forbid(`${label2} (master)`, k.master);
    }

    // The issuer's side: instances and their records, on the dedicated channel.
    const setupRng = f.random('setup');
    const bank = f.open('bank', IDS.bank);
    const credit = f.open('credit', IDS.credit);
    const emoney = f.open('emoney', IDS.emoney);
    expectOk(await bank.openAccount({ accountNo: IDS.billingAccount, userId: 'yamada', name: EXAMPLE.name }));
    expectOk(await bank.openAccount({ accountNo: IDS.refundAccount, userId: 'yamada', name: EXAMPLE.name }));
    expectOk(
      await bank.depositCash({
        txId: newTxId(setupRng),
        accountNo: IDS.billingAccount,
        amount: EXAMPLE.billingDeposit,
      }),
    );
    expectOk(
      await credit.openCardAccount({
        cardNo: EXAMPLE.creditNo,
        userId: 'yamada',
        name: EXAMPLE.name,
        billingBankId: IDS.bank,
        billingAccountNo: IDS.billingAccount,
        cardExpiry: jstDay(jstInstant(2008, 12, 31)),
        limit: EXAMPLE.limit,
        pin: EXAMPLE.pin,
      }),
    );
    const areaKey = cardKey(suite, keys.get(CREDIT_AREA)!, idm, CREDIT_AREA, LAYOUT.systemCode);
    expectOk(
      await credit.registerCardKey({ cardNo: EXAMPLE.creditNo, suite: '2k3des', key: bytesToHex(areaKey) }),
    );
    if (o.identification === 'credit-no@credit')
      expectOk(await credit.linkEmoney({ cardNo: EXAMPLE.creditNo, emoneyNo: EXAMPLE.emoneyNo }));
    expectOk(
      await emoney.registerUser({
        emoneyNo: EXAMPLE.emoneyNo,
        name: EXAMPLE.name,
        password: EXAMPLE.password,
        refundBankId: IDS.bank,
        refundAccountNo: IDS.refundAccount,
        creditCardNo: EXAMPLE.creditNo,
        idm: bytesToHex(idm),
      }),
    );
    // The card is issued with ¥1,000: the float backs it from the start (C3).
    expectOk(
      await emoney.openingBalance({
        txId: newTxId(setupRng),
        emoneyNo: EXAMPLE.emoneyNo,
        amount: EXAMPLE.opening,
      }),
    );

    await f.start();
    const card = await f.card('card', profile);
    const link = o.wrapCard ? o.wrapCard(card.transport) : card.transport;
    const w = new Seed001World(f, card, profile, link, o);
    f.cards = async () => [
      { cardId: EXAMPLE.emoneyNo, issuer: IDS.emoney, balance: (await w.cardView()).balance },
    ];
    f.cardState = async () => {
      const v = await w.cardView();
      return {
        [EXAMPLE.emoneyNo]: {
          balances: { [LAYOUT.purse.toString(16)]: v.balance },
          executionId: v.executionId,
          log: v.log,
        },
      };
    };
    return w;
  }

  /**
   * What anyone reads without a key (the runner's view: not a terminal step). It does not poll, so it
   * leaves a terminal's authenticated session in progress undisturbed.
   */
  async cardView(): Promise<CardView> {
    const o = await readOpen(new FelicaClient(this.card.transport), LAYOUT, this.profile.chip.idm);
    return { balance: o.purse.balance, executionId: o.purse.executionId, log: o.log };
  }

  private store(id: string, role: string): TerminalStore {
    const path = this.f.dir === ':memory:' ? ':memory:' : join(this.f.dir, `terminal-${id}.sqlite`);
    const s = new TerminalStore(path, id, role, this.f.clock);
    this.stores.push(s);
    this.f.addAuditView(() => s.auditView());
    return s;
  }

  private report = async (e: TerminalEvent): Promise<void> => {
    this.events.push(e);
    await this.f.step({ ...e, audit: this.auditOf(e) });
  };

  /** A ChargeTerminal ([3] by default, or the home PC [10]) with its store. */
  terminal(id: string = IDS.terminal, origin = 3): ChargeTerminal {
    const have = this.terminals.get(id);
    if (have) return have;
    const t = new ChargeTerminal({
      store: this.store(id, 'charge'),
      card: this.link,
      creditAid: CREDIT_AID,
      layout: LAYOUT,
      credit: { id: IDS.credit, api: this.f.backend('credit', IDS.credit) },
      emoney: {
        id: IDS.emoney,
        api: this.f.backend('emoney', IDS.emoney),
        keys: this.f.keyHolder('emoney', IDS.emoney),
      },
      mode: this.f.mode,
      amountChange: this.amountChange,
      rng: this.f.random(`terminal/${id}`),
      clock: this.f.clock,
      origin,
      report: this.report,
    });
    this.terminals.set(id, t);
    return t;
  }

  /** The store terminal [80]: its own key holder with the subtract and log keys only. */
  merchant(): MerchantTerminal {
    const keys = nodeKeys(this.profile);
    const random = this.f.random('merchant-key-holder');
    const holder = new LocalKeyHolder((n) => random.bytes(n));
    for (const code of [LAYOUT.purseSubtract, LAYOUT.log])
      holder.set(LAYOUT.systemCode, code, keys.get(code)!);
    return new MerchantTerminal({
      store: this.store(IDS.merchant, 'merchant'),
      card: this.link,
      layout: LAYOUT,
      merchant: IDS.merchantName,
      emoney: { id: IDS.emoney, api: this.f.backend('emoney', IDS.emoney) },
      keys: holder,
      rng: this.f.random(`terminal/${IDS.merchant}`),
      clock: this.f.clock,
      origin: 80,
      report: this.report,
    });
  }

  /** The purchase of the example at [3]: PIN 9999 unless given, the e-money number per variant. */
  purchase(amount: number, o: { pin?: string; emoneyNo?: string; terminal?: ChargeTerminal } = {}) {
    const t = o.terminal ?? this.terminal();
    const identify = this.identification === 'emoney-no';
    return t.purchaseValue({
      pin: o.pin ?? EXAMPLE.pin,
      amount,
      ...(o.emoneyNo !== undefined ? { emoneyNo: o.emoneyNo } : {}),
      identify,
    });
  }

  chargeUp(o: { password?: string; yes?: boolean; terminal?: ChargeTerminal } = {}) {
    return (o.terminal ?? this.terminal()).chargeUp({
      password: o.password ?? EXAMPLE.password,
      confirm: () => o.yes ?? true,
    });
  }

  /** The ledger balances of one back-end (account → Σ legs), read as the runner. */
  async ledger(id: string): Promise<Record<string, number>> {
    const v = (await this.f.views()).find((x) => x.id === id);
    const out: Record<string, number> = {};
    for (const e of v?.entries ?? []) out[e.account] = (out[e.account] ?? 0) + e.amount;
    return Object.fromEntries(Object.entries(out).filter(([, n]) => n !== 0));
  }

  get credit() {
    return this.f.world.peer('credit', IDS.credit);
  }

  get emoney() {
    return this.f.world.peer('emoney', IDS.emoney);
  }

  get bank() {
    return this.f.world.peer('bank', IDS.bank);
  }
}
