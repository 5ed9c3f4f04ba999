// The seed 002 world of one fixture (flows.md 4.1): the bureau, the SMD with its KC master, a store,
// a mall with a member store, the credit company as the credit permission device, the settlement
// card issued from a profile built here (KC diversified from the SMD master for the card's IDm; the
// ID block carries the applet's mode byte), and the client (`SettlementTerminal`) with its own store.
// The runner reads the card through read-only overlaps of the purse and the log (FeliCa Read Without
// Encryption), which leaves the client's APDU session undisturbed.
import { join } from 'node:path';
import { logRecord, purseBlock } from '@mica/apdu-specs/eeprom-records';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile, type Profile } from '@mica/apdu-specs/profile';
import { cardKey } from '@mica/apdu-specs/secure/card-key';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import type { Mode } from '@mica/host-sdk/backend/backend';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import type { SettlementBackend } from '@mica/host-sdk/backend/kinds/smd';
import type { StoreBackend } from '@mica/host-sdk/backend/kinds/store';
import type { CreditBackend } from '@mica/host-sdk/backend/kinds/credit';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import { jstDay, jstInstant } from '@mica/host-sdk/platform/clock';
import type { TerminalEvent } from '@mica/host-sdk/terminals/events';
import {
  SettlementTerminal,
  type ConsentGate,
  type RelayHooks,
} from '@mica/host-sdk/terminals/settlement-terminal';
import { TerminalStore } from '@mica/host-sdk/terminals/terminal-store';
import type { Fixture, FixtureCard } from '../../fixture';
import type { ScenarioContext } from '../../scenario';

export const IDS = Object.freeze({
  bureau: 'bureau1',
  smd: 'smd1',
  store: 'store1',
  mall: 'mall1',
  member: 'shop42',
  credit: 'credit1',
  bank: 'bank1',
  client: 'pc-22',
});

/** flows.md 4.4 figures (balance 5,000, bill 1,200) and the project's example data. */
export const EXAMPLE = Object.freeze({
  opening: 5000,
  bill: 1200,
  maxBalance: 50_000,
  item: { sku: 'EB-1', name: 'e-book', price: 1200, qty: 1 },
  creditNo: '4980123456789012',
  pin: '2468',
  cardExpiry: jstDay(jstInstant(2008, 12, 31)),
  limit: 100_000,
});

export const SETTLEMENT_AID = 'a0000006ef5354';
const SYSTEM = 0x12fc;
const AREA = 0x3000;
const PURSE_READ = 0x3097;
const LOG_READ = 0x304f;
const LOG_BLOCKS = 16;
/** The SMD's KC master (2K3DES) and another system's, for the foreign card. */
const SMD_MASTER = '5c5c5c5c5c5c5c5c6d6d6d6d6d6d6d6d';
const FOREIGN_MASTER = '0123456789abcdeffedcba9876543210';

export interface CardSpec {
  readonly name: string;
  readonly idm: string;
  readonly cardId: string;
  readonly balance: number;
  /** The KC master the card was issued under (default: the SMD's). */
  readonly master?: string;
}

export const MAIN_CARD: CardSpec = {
  name: 'card',
  idm: '02fe000000000201',
  cardId: '5354000000000201',
  balance: EXAMPLE.opening,
};

export const FOREIGN_CARD: CardSpec = {
  name: 'foreign',
  idm: '02fe000000000999',
  cardId: '5354000000000999',
  balance: EXAMPLE.opening,
  master: FOREIGN_MASTER,
};

/** A settlement card: the area key (KC) and the purse/log keys as masters, diversified at issuance. */
export function settlementProfile(spec: CardSpec, mode: Mode): Profile {
  const key = (master: string) => ({ version: 1, master });
  return parseProfile({
    chip: { idm: spec.idm, blocks: 512, suite: '2k3des' },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 100,
            key: key('a1a1a1a1a1a1a1a1b2b2b2b2b2b2b2b2'),
            areas: [
              {
                code: '3000',
                end: '37ff',
                capacity: 40,
                key: key(spec.master ?? SMD_MASTER),
                services: [
                  {
                    code: '300b',
                    blocks: 1,
                    data: [spec.cardId.padEnd(32, '0')],
                  },
                  { code: '304c', blocks: LOG_BLOCKS, key: key('0718293a4b5c6d7e8f90a1b2c3d4e5f6') },
                  { code: '304f', overlaps: '304c' },
                  {
                    code: '3090',
                    key: key('1122334455667788990011223344aabb'),
                    purse: { balance: spec.balance, maxBalance: EXAMPLE.maxBalance, log: '304c' },
                  },
                  { code: '3097', overlaps: '3090' },
                ],
              },
            ],
          },
        ],
      },
    ],
    // The applet's mode goes to byte 8 of the ID block (profile config.mode).
    applets: [{ kind: 'settlement', aid: SETTLEMENT_AID, area: '3000', config: { mode } }],
  });
}

export interface CardView {
  readonly balance: number;
  readonly log: readonly { chargeId: string; amount: number; kind: number; day: number; origin: number }[];
}

export interface Seed002Options {
  readonly mode?: Mode;
  /** Cards to issue (default: the main card). */
  readonly cards?: readonly CardSpec[];
}

export class Seed002World {
  readonly events: TerminalEvent[] = [];
  /** Decides the audit outcome expected after a step (default: pass). */
  auditOf: (e: TerminalEvent) => 'pass' | 'fail' = () => 'pass';
  private readonly stores: TerminalStore[] = [];

  private constructor(
    readonly f: Fixture,
    readonly cards: ReadonlyMap<string, { spec: CardSpec; card: FixtureCard }>,
  ) {}

  get smd(): SettlementBackend {
    return this.f.backend('smd', IDS.smd);
  }

  shop(id: string = IDS.store): StoreBackend {
    return this.f.backend('store', id);
  }

  get credit(): CreditBackend {
    return this.f.backend('credit', IDS.credit);
  }

  static async create(ctx: ScenarioContext, label: string, o: Seed002Options = {}): Promise<Seed002World> {
    const f = ctx.fixture(label, o.mode ? { mode: o.mode } : {});
    const specs = o.cards ?? [MAIN_CARD];
    const suite = suiteByName('2k3des');
    f.network.forbid('the KC master', hexToBytes(SMD_MASTER));
    for (const s of specs)
      f.network.forbid(
        `KC of ${s.name}`,
        cardKey(
          suite,
          { version: 1, master: hexToBytes(s.master ?? SMD_MASTER) },
          hexToBytes(s.idm),
          AREA,
          SYSTEM,
        ),
      );
    const start = Math.floor(f.clock.now() / 1000);
    const bureau = f.open('bureau', IDS.bureau);
    expectOk(await bureau.setUp({ notBefore: start - 86_400, notAfter: start + 5 * 365 * 86_400 }));
    const smd = f.open('smd', IDS.smd);
    const store = f.open('store', IDS.store);
    const mall = f.open('store', IDS.mall);
    const credit = f.open('credit', IDS.credit);
    // Served before the set-up calls: the SMD and the stores fetch their certificates from the bureau.
    await f.start();
    expectOk(
      await smd.setUp({
        bureauId: IDS.bureau,
        suite: '2k3des',
        master: SMD_MASTER,
        systemCode: SYSTEM,
        areaCode: AREA,
        maxBalance: EXAMPLE.maxBalance,
      }),
    );
    expectOk(await store.setUp({ bureauId: IDS.bureau, orderPrefix: 'S1' }));
    expectOk(await mall.setUp({ bureauId: IDS.bureau, orderPrefix: 'M1', mall: 'yes' }));
    expectOk(await mall.addMember({ storeId: IDS.member }));
    expectOk(
      await credit.openCardAccount({
        cardNo: EXAMPLE.creditNo,
        userId: 'suzuki',
        name: 'SUZUKI HANAKO',
        billingBankId: IDS.bank,
        billingAccountNo: 'bill-4980',
        cardExpiry: EXAMPLE.cardExpiry,
        limit: EXAMPLE.limit,
        pin: EXAMPLE.pin,
      }),
    );
    for (const s of specs)
      expectOk(
        await smd.registerCard({
          cardId: s.cardId,
          idm: s.idm,
          userId: 'suzuki',
          name: 'SUZUKI HANAKO',
          opening: s.balance,
        }),
      );
    const cards = new Map<string, { spec: CardSpec; card: FixtureCard }>();
    for (const s of specs)
      cards.set(s.name, { spec: s, card: await f.card(s.name, settlementProfile(s, f.mode)) });
    const w = new Seed002World(f, cards);
    w.root = hexToBytes(expectOk(await bureau.root({})).certificate);
    f.cards = async () => {
      const out = [];
      for (const [name, c] of cards)
        out.push({ cardId: c.spec.cardId, issuer: IDS.smd, balance: (await w.cardView(name)).balance });
      return out;
    };
    f.cardState = async () => {
      const out: Record<string, unknown> = {};
      for (const [name, c] of cards) {
        const v = await w.cardView(name);
        out[c.spec.cardId] = { balances: { [PURSE_READ.toString(16)]: v.balance }, log: v.log };
      }
      return out;
    };
    return w;
  }

  /** The runner's view through the read-only overlaps (no key; no Polling, no SELECT). */
  async cardView(name = MAIN_CARD.name): Promise<CardView> {
    const c = this.cards.get(name);
    if (!c) throw new Error(`no card ${name} in this world`);
    const felica = new FelicaClient(c.card.transport);
    const idm = hexToBytes(c.spec.idm);
    const [purse] = (
      await felica.readWithoutEncryption(idm, [PURSE_READ], [{ serviceIndex: 0, block: 0 }])
    ).expectOk();
    const blocks: Uint8Array[] = [];
    for (let first = 0; first < LOG_BLOCKS; first += 8)
      blocks.push(
        ...(
          await felica.readWithoutEncryption(
            idm,
            [LOG_READ],
            Array.from({ length: 8 }, (_, i) => ({ serviceIndex: 0, block: first + i })),
          )
        ).expectOk(),
      );
    return {
      balance: purseBlock.decode(purse!).balance,
      log: blocks
        .filter((b) => b.some((x) => x !== 0))
        .map((b) => {
          const r = logRecord.decode(b);
          return {
            chargeId: bytesToHex(r.chargeId),
            amount: r.amount,
            kind: r.kind,
            day: r.day,
            origin: r.origin,
          };
        }),
    };
  }

  private report = async (e: TerminalEvent): Promise<void> => {
    this.events.push(e);
    await this.f.step({ ...e, audit: this.auditOf(e) });
  };

  /** The client [22 + 24] on one card, with its own store, consent gate and relay hooks. */
  client(o: { card?: string; consent?: ConsentGate; relay?: RelayHooks } = {}): SettlementTerminal {
    const name = o.card ?? MAIN_CARD.name;
    const c = this.cards.get(name);
    if (!c) throw new Error(`no card ${name} in this world`);
    const id = `${IDS.client}-${this.stores.length + 1}`;
    const path = this.f.dir === ':memory:' ? ':memory:' : join(this.f.dir, `terminal-${id}.sqlite`);
    const store = new TerminalStore(path, id, 'settlement-client', this.f.clock);
    this.stores.push(store);
    this.f.addAuditView(() => store.auditView());
    return new SettlementTerminal({
      store,
      card: c.card.transport,
      aid: hexToBytes(SETTLEMENT_AID),
      smd: { id: IDS.smd, api: this.smd },
      root: this.root,
      clock: this.f.clock,
      consent: o.consent ?? (() => true),
      ...(o.relay ? { relay: o.relay } : {}),
      report: this.report,
    });
  }

  /** The bureau's root certificate (the client trusts it; installed with the browser). */
  root: Uint8Array = new Uint8Array(0);

  close(): void {
    for (const s of this.stores) s.close();
  }
}

/** The txId nonce of a purchase (its last 8 bytes) for a fixture: deterministic per call. */
export function nonceFrom(f: Fixture, label: string): string {
  return bytesToHex(f.random(`nonce/${label}`).bytes(8));
}
