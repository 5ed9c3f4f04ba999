// The seed 000 world of one fixture (flows.md 2.1): the bureau, the bank MICABANK with the user's
// personal account, a second certified bank BANK2 (the attack pair's re-sealer), the credit company
// CREDITCO with the card account, the contracts and key sets of step 0 in the chosen key mode, and the
// multi-application card issued from tools/profiles/bank-credit-token.json (bank and credit applets,
// the bank token store granted to the credit area, credit PIN 9999). The ATM and the credit client
// are host-sdk/src/bank-credit/parties.ts (the same code the host-sdk test drives); every card command
// they send is recorded, and each phase is one transcript line with its key card command's status.
import { readFileSync } from 'node:fs';
import { BANK_CREDIT } from '@mica/apdu-specs/apdu/bank-credit';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile, type Profile } from '@mica/apdu-specs/profile';
import { ApduClient } from '@mica/host-sdk/apdu/apdu-client';
import { BankClient } from '@mica/host-sdk/applets/bank-client';
import { CreditClient } from '@mica/host-sdk/applets/credit-client';
import type { Mode } from '@mica/host-sdk/backend/backend';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import {
  depositAtAtm,
  exchangeContractKeys,
  purchaseAtClient,
  type AtmOutcome,
  type ClientOutcome,
  type PartyOutcome,
  type Placement,
} from '@mica/host-sdk/bank-credit/parties';
import type { KeyMode } from '@mica/host-sdk/bank-credit/token';
import { jstDay, jstInstant } from '@mica/host-sdk/platform/clock';
import { newTxId } from '@mica/host-sdk/platform/tx-id';
import type { Transport } from '@mica/host-sdk/transport/transport';
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
  [BANK_CREDIT.readBinary]: 'READ BINARY',
  [BANK_CREDIT.putToken]: 'PUT TOKEN',
  [BANK_CREDIT.listTokens]: 'LIST TOKENS',
  [BANK_CREDIT.getToken]: 'GET TOKEN',
  [BANK_CREDIT.transferToken]: 'TRANSFER TOKEN',
  [BANK_CREDIT.markTokenUsed]: 'MARK TOKEN USED',
};

export function seedProfile(): Profile {
  return parseProfile(JSON.parse(readFileSync(PROFILE_PATH, 'utf8')) as unknown);
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

export class Seed000World {
  readonly keyMode: KeyMode;
  readonly placement: Placement;
  /** Every card command since the world was made: its name and status word. */
  readonly exchanges: { readonly command: string; readonly sw: string }[] = [];
  private readonly bankApp: BankClient;
  private readonly creditApp: CreditClient;

  private constructor(
    readonly f: Fixture,
    readonly card: FixtureCard,
    readonly root: string,
    o: Seed000Options,
  ) {
    this.keyMode = o.keyMode ?? 'ca';
    this.placement = o.placement ?? 'share';
    const recorded: Transport = {
      description: card.transport.description,
      felica: (frame) => card.transport.felica(frame),
      apdu: async (command) => {
        const answer = await card.transport.apdu(command);
        const ins = command[1] ?? 0;
        this.exchanges.push({
          command: CARD_COMMANDS[ins] ?? `INS ${ins.toString(16).padStart(2, '0').toUpperCase()}`,
          sw: bytesToHex(answer.subarray(answer.length - 2)).toUpperCase(),
        });
        return answer;
      },
      close: () => card.transport.close(),
    };
    const apdu = new ApduClient(recorded);
    const profile = seedProfile();
    this.bankApp = new BankClient(apdu, profile.applets.find((a) => a.kind === 'bank')!.aid);
    this.creditApp = new CreditClient(apdu, profile.applets.find((a) => a.kind === 'credit')!.aid);
  }

  static async create(ctx: ScenarioContext, label: string, o: Seed000Options = {}): Promise<Seed000World> {
    const f = ctx.fixture(label, o.mode ? { mode: o.mode } : {});
    const keyMode = o.keyMode ?? 'ca';
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
      await exchangeContractKeys(
        { bank: b, bankId: id, credit, creditCoId: IDS.credit, bureau, root },
        keyMode,
        EXAMPLE.keyId,
        common,
      );
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
    const card = await f.card('card', seedProfile());
    const w = new Seed000World(f, card, root, o);
    await f.step({
      step: '0',
      from: IDS.bank,
      to: IDS.credit,
      summary: `contracts and key set ${EXAMPLE.keyId} exchanged (key mode ${keyMode}) for ${IDS.bank} and ${IDS.bank2}`,
    });
    return w;
  }

  private since(from: number, command: string): string {
    const hit = this.exchanges.slice(from).filter((e) => e.command === command);
    return hit.length === 0 ? 'not sent' : hit.map((e) => e.sw).join(' ');
  }

  /** A1-A6: a cash deposit of `amount` at the ATM for CREDITCO. */
  async deposit(amount: number, o: { creditCoId?: string; placement?: Placement } = {}): Promise<AtmOutcome> {
    const from = this.exchanges.length;
    const placement = o.placement ?? this.placement;
    const atm = this.f.random(`atm/${from}`);
    const r = await depositAtAtm({
      bank: this.f.backend('bank', IDS.bank),
      bankApp: this.bankApp,
      areaKey: AREA_KEYS.bank,
      random: (n) => atm.bytes(n),
      txId: newTxId(this.f.random(`atm-tx/${from}`)),
      cardId: EXAMPLE.cardId,
      creditCoId: o.creditCoId ?? IDS.credit,
      creditCardNo: EXAMPLE.cardNo,
      amount,
      placement,
    });
    await this.f.step({
      step: r.ok ? 'A4-A6' : r.step,
      from: IDS.atm,
      to: IDS.bank,
      summary: r.ok
        ? `cash ${money(amount)} for ${o.creditCoId ?? IDS.credit} → token ${r.result.deposit.row.tokenId.slice(0, 8)}… committed (${placement})`
        : `cash ${money(amount)} for ${o.creditCoId ?? IDS.credit} → ${r.code}`,
      card: { command: 'PUT TOKEN', status: this.since(from, 'PUT TOKEN') },
    });
    return r;
  }

  /** B1-B8: a purchase of `amount` at the credit client with the card's unused tokens. */
  async purchase(amount: number, o: { mark?: boolean } = {}): Promise<PartyOutcome<ClientOutcome>> {
    const from = this.exchanges.length;
    const client = this.f.random(`client/${from}`);
    const r = await purchaseAtClient({
      credit: this.f.backend('credit', IDS.credit),
      creditApp: this.creditApp,
      areaKey: AREA_KEYS.credit,
      random: (n) => client.bytes(n),
      txId: newTxId(this.f.random(`client-tx/${from}`)),
      cardId: EXAMPLE.cardId,
      cardNo: EXAMPLE.cardNo,
      amount,
      store: this.placement === 'share' ? 'shared' : 'own',
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
    const l = await this.bankApp.listTokens();
    return l.ok ? l.tokens.length : -1;
  }

  /** The ledger balances of one back-end (account → Σ legs), read as the runner. */
  async ledger(id: string): Promise<Record<string, number>> {
    const v = (await this.f.views()).find((x) => x.id === id);
    const out: Record<string, number> = {};
    for (const e of v?.entries ?? []) out[e.account] = (out[e.account] ?? 0) + e.amount;
    return Object.fromEntries(Object.entries(out).filter(([, n]) => n !== 0));
  }
}
