// The seed 000 world of one fixture (flows.md 2.1): the bureau, the bank MICABANK with the user's
// personal account, a second certified bank BANK2 (the attack pair's re-sealer), the credit company
// CREDITCO with the card account, the contracts and key sets of step 0 in the chosen key mode, and the
// multi-application card issued from tools/profiles/bank-credit-token.json (bank and credit applets,
// the bank token store granted to the credit area, credit PIN 9999, the credit trust anchor of
// `direct` set to CREDITCO's certification key at issuance). For `direct` the contracts also carry the
// bank certificate (1501) and the credit applet gets its credit-AP certificate at personalisation.
// The ATM and the credit client are host-sdk's AtmTerminal and CreditTerminal (the code the host-sdk
// tests drive); every card command they send is recorded (and the answer of chosen commands can be
// lost), and each phase is one transcript line with its key card command's status.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BANK_CREDIT } from '@mica/apdu-specs/apdu/bank-credit';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile, type Profile } from '@mica/apdu-specs/profile';
import { ApduClient } from '@mica/host-sdk/apdu/apdu-client';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import { LocalAppletKeys } from '@mica/host-sdk/applets/applet-keys';
import { BankClient } from '@mica/host-sdk/applets/bank-client';
import { CreditClient } from '@mica/host-sdk/applets/credit-client';
import type { Mode } from '@mica/host-sdk/backend/backend';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import {
  certifyCreditApplet,
  exchangeContractKeys,
  exchangeDirectKeys,
} from '@mica/host-sdk/bank-credit/parties';
import type { KeyMode } from '@mica/host-sdk/bank-credit/token';
import { jstDay, jstInstant } from '@mica/host-sdk/platform/clock';
import { newTxId } from '@mica/host-sdk/platform/tx-id';
import {
  AtmTerminal,
  type AtmOutcome,
  type PartyOutcome,
  type Placement,
} from '@mica/host-sdk/terminals/atm-terminal';
import { CreditTerminal, type ClientOutcome } from '@mica/host-sdk/terminals/credit-terminal';
import { TerminalStore } from '@mica/host-sdk/terminals/terminal-store';
import { TransportError, type Transport } from '@mica/host-sdk/transport/transport';
import type { Fixture, FixtureCard } from '../../fixture';
import type { ScenarioContext } from '../../scenario';

export const PROFILE_PATH = new URL('../../../../profiles/bank-credit-token.json', import.meta.url).pathname;

export const IDS = Object.freeze({
  bureau: 'bureau1',
  bank: 'MICABANK',
  bank2: 'BANK2',
  credit: 'CREDITCO',
  atm: 'atm-105',
  client: 'client-125',
});

/** The example of the scenario: the card's account block and card data (profile), Fig. 5's limit. */
export const EXAMPLE = Object.freeze({
  accountNo: '0012345678',
  userId: 'U0001',
  name: 'YAMADA TARO',
  cardNo: '987654321',
  /** The card ID the ATM and the client read (GET DATA [306/307]); a project choice. */
  cardId: 'card-1',
  /** Fig. 5: limit 100,000. */
  limit: 100_000,
  /** What the personal account holds before the cycle; a project choice (it covers the 70,000). */
  personal: 200_000,
  keyId: '0102030405060708',
});

const AREA_KEYS = Object.freeze({
  bank: { suite: '2k3des', code: 0x3000, key: '101112131415161718191a1b1c1d1e1f' },
  credit: { suite: '2k3des', code: 0x4000, key: '404142434445464748494a4b4c4d4e4f' },
});

const CARD_COMMANDS: Readonly<Record<number, string>> = {
  0xa4: 'SELECT',
  0xca: 'GET DATA',
  [BANK_CREDIT.authenticatePk]: 'AUTHENTICATE PK',
  [BANK_CREDIT.generateKeyPair]: 'GENERATE KEY PAIR',
  [BANK_CREDIT.putCertificate]: 'PUT CERTIFICATE',
  [BANK_CREDIT.readBinary]: 'READ BINARY',
  [BANK_CREDIT.putToken]: 'PUT TOKEN',
  [BANK_CREDIT.listTokens]: 'LIST TOKENS',
  [BANK_CREDIT.getToken]: 'GET TOKEN',
  [BANK_CREDIT.transferToken]: 'TRANSFER TOKEN',
  [BANK_CREDIT.markTokenUsed]: 'MARK TOKEN USED',
};

/** The profile's JSON; `userId` replaces the account block's user (another user's card). */
function profileJson(o: { anchor?: { issuerId: string; publicKey: string }; userId?: string } = {}) {
  const json = JSON.parse(readFileSync(PROFILE_PATH, 'utf8')) as {
    systems: { areas: { areas: { code: string; services: { code: string; data?: string[] }[] }[] }[] }[];
    applets: { kind: string; config: Record<string, unknown> }[];
  };
  if (o.anchor) json.applets.find((a) => a.kind === 'credit')!.config['trustAnchor'] = o.anchor;
  if (o.userId) {
    const block = bytesToHex(new TextEncoder().encode(o.userId.padEnd(8, '\0')));
    const acct = json.systems[0]!.areas[0]!.areas[0]!.services[0]!;
    acct.data = [acct.data![0]!, `${acct.data![1]!.slice(0, 16)}${block}`];
  }
  return json;
}

export function seedProfile(o: Parameters<typeof profileJson>[0] = {}): Profile {
  return parseProfile(profileJson(o) as unknown);
}

export interface Seed000Options {
  readonly mode?: Mode;
  readonly keyMode?: KeyMode;
  readonly placement?: Placement;
  /** Opens the deposit account with this card ID instead of the card's (a relay, E_WRONG_CARD). */
  readonly accountCardId?: string;
  /** What the personal account holds before the cycle (default EXAMPLE.personal). */
  readonly personal?: number;
}

const money = (n: number): string => `¥${n.toLocaleString('en-US')}`;

/** A transport that records every exchange and can lose the answer of chosen commands. */
function recording(
  t: Transport,
  exchanges: { command: string; sw: string }[],
  losses: Map<number, number>,
): Transport {
  return {
    description: t.description,
    felica: (frame) => t.felica(frame),
    apdu: async (command) => {
      const answer = await t.apdu(command);
      const ins = command[1] ?? 0;
      const name = CARD_COMMANDS[ins] ?? `INS ${ins.toString(16).padStart(2, '0').toUpperCase()}`;
      // Only the last command of a chain (CLA b5 clear) carries the answer that can be lost.
      const lose = ((command[0] ?? 0) & 0x10) === 0 ? (losses.get(ins) ?? 0) : 0;
      if (lose > 0) {
        // The card ran the command; its answer is lost on the way back (flows.md 2.3 A6).
        losses.set(ins, lose - 1);
        exchanges.push({ command: name, sw: 'lost' });
        throw new TransportError('link-lost', `the answer to ${name} was lost`);
      }
      exchanges.push({ command: name, sw: bytesToHex(answer.subarray(answer.length - 2)).toUpperCase() });
      return answer;
    },
    close: () => t.close(),
  };
}

export class Seed000World {
  readonly keyMode: KeyMode;
  readonly placement: Placement;
  /** Every card command since the world was made: its name and status word ('lost': no answer). */
  readonly exchanges: { readonly command: string; readonly sw: string }[] = [];
  /** Answers to lose: INS → how many of the next such commands lose their answer. */
  private readonly losses = new Map<number, number>();
  readonly apdu: ApduClient;
  private readonly bankApp: BankClient;
  private readonly creditApp: CreditClient;
  /** The terminals' own stores (flows.md 1.1: terminal ID, operation log, outbox). */
  readonly terminalStores: { readonly atm: TerminalStore; readonly client: TerminalStore };

  private constructor(
    readonly f: Fixture,
    readonly card: FixtureCard,
    readonly root: string,
    o: Seed000Options,
  ) {
    this.keyMode = o.keyMode ?? 'ca';
    this.placement = o.placement ?? 'share';
    this.apdu = new ApduClient(recording(card.transport, this.exchanges, this.losses));
    const profile = seedProfile();
    this.bankApp = new BankClient(this.apdu, profile.applets.find((a) => a.kind === 'bank')!.aid);
    this.creditApp = new CreditClient(this.apdu, profile.applets.find((a) => a.kind === 'credit')!.aid);
    const store = (id: string, role: string): TerminalStore => {
      const path = f.dir === ':memory:' ? ':memory:' : join(f.dir, `terminal-${id}.sqlite`);
      const s = new TerminalStore(path, id, role, f.clock);
      f.addAuditView(() => s.auditView());
      return s;
    };
    this.terminalStores = { atm: store(IDS.atm, 'atm'), client: store(IDS.client, 'credit-client') };
  }

  static async create(ctx: ScenarioContext, label: string, o: Seed000Options = {}): Promise<Seed000World> {
    const f = ctx.fixture(label, o.mode ? { mode: o.mode } : {});
    const keyMode = o.keyMode ?? 'ca';
    const direct = o.placement === 'direct';
    // Neither applet key nor the common key may cross the network.
    f.network.forbid('the bank area key', hexToBytes(AREA_KEYS.bank.key));
    f.network.forbid('the credit area key', hexToBytes(AREA_KEYS.credit.key));
    const setup = f.random('setup');
    const bureau = f.open('bureau', IDS.bureau);
    const bank = f.open('bank', IDS.bank);
    const bank2 = f.open('bank', IDS.bank2);
    const credit = f.open('credit', IDS.credit);
    const s = Math.floor(f.clock.now() / 1000);
    const root = expectOk(
      await bureau.setUp({ notBefore: s - 10, notAfter: s + 10 * 365 * 86400 }),
    ).certificate;
    for (const [b, id] of [
      [bank, IDS.bank],
      [bank2, IDS.bank2],
    ] as const) {
      expectOk(
        await b.openAccount({
          accountNo: EXAMPLE.accountNo,
          userId: EXAMPLE.userId,
          name: EXAMPLE.name,
          cardId: o.accountCardId ?? EXAMPLE.cardId,
        }),
      );
      // `common`: the 32-byte common key agreed over the dedicated channel (step 0).
      const common = keyMode === 'common' ? bytesToHex(f.random(`common-key/${id}`).bytes(32)) : undefined;
      if (common) f.network.forbid(`the common key of ${id}`, common);
      const parties = { bank: b, bankId: id, credit, creditCoId: IDS.credit, bureau, root };
      await exchangeContractKeys(parties, keyMode, EXAMPLE.keyId, common);
      if (direct) await exchangeDirectKeys(parties);
    }
    expectOk(
      await bank.depositCash({
        txId: newTxId(setup),
        accountNo: EXAMPLE.accountNo,
        amount: o.personal ?? EXAMPLE.personal,
      }),
    );
    expectOk(
      await credit.openCardAccount({
        cardNo: EXAMPLE.cardNo,
        userId: EXAMPLE.userId,
        name: EXAMPLE.name,
        billingBankId: IDS.bank,
        billingAccountNo: EXAMPLE.accountNo,
        cardExpiry: jstDay(jstInstant(2027, 12, 31)),
        limit: EXAMPLE.limit,
      }),
    );
    await f.start();
    const anchor = direct ? expectOk(await credit.pkmaAnchor({})) : undefined;
    const card = await f.card('card', seedProfile(anchor ? { anchor } : {}));
    const w = new Seed000World(f, card, root, o);
    await f.step({
      step: '0',
      from: IDS.bank,
      to: IDS.credit,
      summary: `contracts and key set ${EXAMPLE.keyId} exchanged (key mode ${keyMode}${direct ? ', bank certificates issued by CREDITCO [1501]' : ''}) for ${IDS.bank} and ${IDS.bank2}`,
    });
    if (direct) {
      const idm = await w.idm();
      const personalise = f.random('personalise');
      await certifyCreditApplet({
        credit: f.backend('credit', IDS.credit),
        creditApp: w.creditApp,
        areaKey: AREA_KEYS.credit,
        random: (n) => personalise.bytes(n),
        idm,
      });
      await f.step({
        step: '—',
        from: IDS.credit,
        to: 'card',
        summary: `credit-AP certificate of card ${bytesToHex(idm).toUpperCase()} issued and stored (personalisation)`,
        card: { command: 'PUT CERTIFICATE', status: w.since(0, 'PUT CERTIFICATE') },
      });
    }
    return w;
  }

  since(from: number, command: string): string {
    const hit = this.exchanges.slice(from).filter((e) => e.command === command);
    return hit.length === 0 ? 'not sent' : hit.map((e) => e.sw).join(' ');
  }

  /**
   * The card's IDm as the reader learns it at activation (FeliCa Polling of system 12FCh): GET DATA
   * FF CA answers the ISO 14443 UID of this card (7 bytes), not the IDm.
   */
  async idm(card: ApduClient = this.apdu): Promise<Uint8Array> {
    const polled = await new FelicaClient(card.transport).polling(0x12fc);
    return polled.idm;
  }

  /** Loses the answer of the next `count` commands with this INS (the card runs them). */
  loseAnswers(ins: number, count = 1): void {
    this.losses.set(ins, (this.losses.get(ins) ?? 0) + count);
  }

  /** A credit applet client on this card (the runner's, or an attacker's). */
  creditClient(): CreditClient {
    return new CreditClient(this.apdu, this.creditApp.aid);
  }

  /** AUTHENTICATE of an applet with `key` (16 bytes) in place of its area key; true when accepted. */
  async authenticateWith(
    app: BankClient | CreditClient,
    area: 'bank' | 'credit',
    key: Uint8Array,
  ): Promise<boolean> {
    const k = AREA_KEYS[area];
    const r = this.f.random(`auth-with/${this.exchanges.length}`);
    return (await app.authenticate(new LocalAppletKeys(k.suite, [{ code: k.code, key }], (n) => r.bytes(n))))
      .ok;
  }

  /** The ATM [105] on this card (or on `card`). */
  atm(card: ApduClient = this.apdu): AtmTerminal {
    const random = this.f.random(`atm/${this.exchanges.length}`);
    const profile = seedProfile();
    return new AtmTerminal({
      id: IDS.atm,
      bank: { id: IDS.bank, api: this.f.backend('bank', IDS.bank) },
      card,
      bankAid: profile.applets.find((a) => a.kind === 'bank')!.aid,
      creditAid: profile.applets.find((a) => a.kind === 'credit')!.aid,
      areaKey: AREA_KEYS.bank,
      random: (n) => random.bytes(n),
      clock: this.f.clock,
      store: this.terminalStores.atm,
      idm: () => this.idm(card),
    });
  }

  /** A1-A6 (A6′ for direct): a cash deposit of `amount` at the ATM for CREDITCO. */
  async deposit(amount: number, o: { creditCoId?: string; placement?: Placement } = {}): Promise<AtmOutcome> {
    const from = this.exchanges.length;
    const placement = o.placement ?? this.placement;
    const r = await this.atm().deposit({
      txId: newTxId(this.f.random(`atm-tx/${from}`)),
      cardId: EXAMPLE.cardId,
      creditCoId: o.creditCoId ?? IDS.credit,
      creditCardNo: EXAMPLE.cardNo,
      amount,
      placement,
    });
    const checked = this.since(from, 'LIST TOKENS');
    await this.f.step({
      step: r.ok ? 'A4-A6' : r.step,
      from: IDS.atm,
      to: IDS.bank,
      summary: r.ok
        ? `cash ${money(amount)} for ${o.creditCoId ?? IDS.credit} → token ${r.result.deposit.row.tokenId.slice(0, 8)}… committed (${placement}${r.result.recovered ? ', found by LIST TOKENS' : ''})`
        : `cash ${money(amount)} for ${o.creditCoId ?? IDS.credit} → ${r.code}${checked === 'not sent' ? '' : ` (LIST TOKENS ${checked})`}`,
      card: { command: 'PUT TOKEN', status: this.since(from, 'PUT TOKEN') },
    });
    return r;
  }

  /** B1-B8: a purchase of `amount` at the credit client with the card's unused tokens. */
  async purchase(amount: number, o: { mark?: boolean } = {}): Promise<PartyOutcome<ClientOutcome>> {
    const from = this.exchanges.length;
    const client = this.f.random(`client/${from}`);
    const terminal = new CreditTerminal({
      id: IDS.client,
      credit: { id: IDS.credit, api: this.f.backend('credit', IDS.credit) },
      card: this.apdu,
      creditAid: this.creditApp.aid,
      areaKey: AREA_KEYS.credit,
      random: (n) => client.bytes(n),
      placement: this.placement,
      store: this.terminalStores.client,
    });
    const r = await terminal.purchase({
      txId: newTxId(this.f.random(`client-tx/${from}`)),
      cardId: EXAMPLE.cardId,
      cardNo: EXAMPLE.cardNo,
      amount,
      ...(o.mark !== undefined ? { mark: o.mark } : {}),
    });
    const marks = this.since(from, 'MARK TOKEN USED');
    await this.f.step({
      step: r.ok ? r.result.step : r.step,
      from: IDS.client,
      to: IDS.credit,
      summary: r.ok
        ? `purchase ${money(amount)}: ${r.result.result}, tokens [${r.result.tokens.map((t) => t.status).join(', ') || 'none'}], available ${money(r.result.available)}`
        : `purchase ${money(amount)} → ${r.code}`,
      card: { command: 'MARK TOKEN USED', status: marks },
    });
    return r;
  }

  /**
   * Another user's card (U0002 in its bank account block), issued from the same profile: what an
   * ATM or anyone else can do to it without the bank's authentication (flows.md 2.6).
   */
  async otherCard(): Promise<{ apdu: ApduClient; bank: BankClient; credit: CreditClient }> {
    const profile = seedProfile({ userId: 'U0002' });
    const card = await this.f.card('card-2', profile);
    const apdu = new ApduClient(recording(card.transport, this.exchanges, new Map()));
    return {
      apdu,
      bank: new BankClient(apdu, profile.applets.find((a) => a.kind === 'bank')!.aid),
      credit: new CreditClient(apdu, profile.applets.find((a) => a.kind === 'credit')!.aid),
    };
  }

  /** The runner's look at a card's stores: tokens in the bank store and the credit applet's own. */
  async storesOf(apps: { bank: BankClient; credit: CreditClient }): Promise<[number, number]> {
    const look = this.f.random(`look/${this.exchanges.length}`);
    const keys = (k: { suite: string; code: number; key: string }) =>
      new LocalAppletKeys(k.suite, [{ code: k.code, key: hexToBytes(k.key) }], (n) => look.bytes(n));
    await apps.bank.select();
    const b = (await apps.bank.authenticate(keys(AREA_KEYS.bank))).ok
      ? await apps.bank.listTokens()
      : undefined;
    await apps.credit.select();
    const c = (await apps.credit.authenticate(keys(AREA_KEYS.credit))).ok
      ? await apps.credit.listTokens('own')
      : undefined;
    return [b?.ok ? b.tokens.length : -1, c?.ok ? c.tokens.length : -1];
  }

  /** C1 (1101 → 801): the closing of the 15th 00:00 JST, run explicitly. */
  async close(cycleId: string): Promise<void> {
    const rows = expectOk(
      await this.f.world.peer('credit', IDS.credit).closeCycle({ bankId: IDS.bank, cycleId }),
    );
    await this.f.step({
      step: 'C1',
      from: IDS.credit,
      to: IDS.bank,
      summary: `closing ${cycleId}: statement of ${rows.length} row(s), billed ${money(rows.reduce((a, r) => a + r.billed, 0))}`,
    });
  }

  /** C2-C4 and D1 (802-805, 1102, 1103): the deduction of the 10th 09:00 JST, run explicitly. */
  async deduct(cycleId: string) {
    const batch = expectOk(
      await this.f.world.peer('bank', IDS.bank).runDeduction({ creditCoId: IDS.credit, cycleId }),
    );
    await this.f.step({
      step: 'C4',
      from: IDS.bank,
      to: IDS.credit,
      summary: `deduction ${cycleId}: ${batch.rows
        .map((r) => `${r.userId} pool ${money(r.fromPool)} + personal ${money(r.fromPersonal)}`)
        .join('; ')}, total ${money(batch.total)}`,
    });
    return batch;
  }

  get bank() {
    return this.f.world.peer('bank', IDS.bank);
  }

  get credit() {
    return this.f.world.peer('credit', IDS.credit);
  }

  get bureau() {
    return this.f.world.peer('bureau', IDS.bureau);
  }

  /** What the bank applet's own store holds (the runner's look: authenticated LIST TOKENS). */
  async bankStore(): Promise<number> {
    return (await this.storesOf({ bank: this.bankApp, credit: this.creditApp }))[0];
  }

  /** Where the card holds its tokens (the runner's look): [bank store, credit applet's own store]. */
  async stores(): Promise<[number, number]> {
    return this.storesOf({ bank: this.bankApp, credit: this.creditApp });
  }

  /** The ledger balances of one back-end (account → Σ legs), read as the runner. */
  async ledger(id: string): Promise<Record<string, number>> {
    const v = (await this.f.views()).find((x) => x.id === id);
    const out: Record<string, number> = {};
    for (const e of v?.entries ?? []) out[e.account] = (out[e.account] ?? 0) + e.amount;
    return Object.fromEntries(Object.entries(out).filter(([, n]) => n !== 0));
  }
}
