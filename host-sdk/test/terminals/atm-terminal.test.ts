// AtmTerminal and CreditTerminal (flows.md 2.1, 2.3 A1-A6, A6′, B1-B8) on the back-ends and a card
// issued from tools/profiles/bank-credit-token.json (in-process): the three placements, and A6's
// recovery when an answer is lost on the way back (the card ran the command): PUT TOKEN's answer lost
// → LIST TOKENS in a new session finds the token → committed; the check's answer lost too → reversed
// with E_TOKEN_NOT_STORED; a full store → E_TOKEN_SLOTS_FULL, reversed. `direct` authenticates with
// AUTHENTICATE PK and the bank back-end's identity (1501) and puts the token into the credit applet.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BANK_CREDIT } from '@mica/apdu-specs/apdu/bank-credit';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '../../../card-os/src/card';
import { cardImageFromProfile } from '../../../card-os/src/factory';
import { SeededRandom } from '../../../card-os/src/random';
import { ApduClient } from '../../src/apdu/apdu-client';
import { LocalAppletKeys } from '../../src/applets/applet-keys';
import { BankClient } from '../../src/applets/bank-client';
import { CreditClient } from '../../src/applets/credit-client';
import { audit } from '../../src/backend/audit';
import { expectOk } from '../../src/backend/outcome';
import { World } from '../../src/backend/world';
import { certifyCreditApplet, exchangeContractKeys, exchangeDirectKeys } from '../../src/bank-credit/parties';
import { jstInstant, VirtualClock } from '../../src/platform/clock';
import { SeededRng } from '../../src/platform/rng';
import { AtmTerminal, type Placement } from '../../src/terminals/atm-terminal';
import { CreditTerminal } from '../../src/terminals/credit-terminal';
import { TerminalStore } from '../../src/terminals/terminal-store';
import { InProcessTransport } from '../../src/transport/in-process';
import { TransportError, type Transport } from '../../src/transport/transport';

const PROFILE = new URL('../../../tools/profiles/bank-credit-token.json', import.meta.url).pathname;
const BANK_KEY = { suite: '2k3des', code: 0x3000, key: '101112131415161718191a1b1c1d1e1f' };
const CREDIT_KEY = { suite: '2k3des', code: 0x4000, key: '404142434445464748494a4b4c4d4e4f' };
const BANK_AID = hexToBytes('a0000006ef42414e4b');
const CREDIT_AID = hexToBytes('a0000006ef435244');
const IDM = hexToBytes('02fe010203040506');

function counter(): (n: number) => Uint8Array {
  let k = 0;
  return (n) => Uint8Array.from({ length: n }, () => (k++ * 37 + 11) & 0xff);
}

let txn = 0;
const tx = (): string => (++txn).toString(16).padStart(32, '0');

/** A transport that loses the answer of chosen commands (the last of a chain) after the card ran them. */
class LossyTransport implements Transport {
  readonly description = 'sim:lossy';
  readonly sent: { ins: number; sw: string }[] = [];
  private readonly lose = new Map<number, number>();
  constructor(private readonly inner: Transport) {}
  loseNext(ins: number, n = 1): void {
    this.lose.set(ins, (this.lose.get(ins) ?? 0) + n);
  }
  felica(frame: Uint8Array) {
    return this.inner.felica(frame);
  }
  async apdu(command: Uint8Array): Promise<Uint8Array> {
    const answer = await this.inner.apdu(command);
    const ins = command[1]!;
    const n = (command[0]! & 0x10) === 0 ? (this.lose.get(ins) ?? 0) : 0;
    if (n > 0) {
      this.lose.set(ins, n - 1);
      this.sent.push({ ins, sw: 'lost' });
      throw new TransportError('link-lost', 'answer lost');
    }
    this.sent.push({ ins, sw: bytesToHex(answer.subarray(answer.length - 2)) });
    return answer;
  }
  close() {
    return this.inner.close();
  }
}

async function setUp(placement: Placement) {
  const clock = new VirtualClock(jstInstant(2004, 6, 7, 10));
  const world = new World({ dataDir: ':memory:', clock, rng: new SeededRng(21), mode: 'hardened' });
  const bank = world.open('bank', 'MICABANK');
  const credit = world.open('credit', 'CREDITCO');
  const bureau = world.open('bureau', 'bureau');
  const s = Math.floor(clock.now() / 1000);
  const root = expectOk(await bureau.setUp({ notBefore: s - 10, notAfter: s + 86400 * 3650 })).certificate;
  expectOk(
    await bank.openAccount({
      accountNo: '0012345678',
      userId: 'U0001',
      name: 'YAMADA TARO',
      cardId: 'card-1',
    }),
  );
  const parties = { bank, bankId: 'MICABANK', credit, creditCoId: 'CREDITCO', bureau, root };
  await exchangeContractKeys(parties, 'contract', '0102030405060708');
  if (placement === 'direct') await exchangeDirectKeys(parties);
  expectOk(
    await credit.openCardAccount({
      cardNo: '987654321',
      userId: 'U0001',
      name: 'YAMADA TARO',
      billingBankId: 'MICABANK',
      billingAccountNo: '0012345678',
      cardExpiry: 20000,
      limit: 100_000,
    }),
  );
  // The card: the seed 000 profile with CREDITCO's trust anchor filled in at issuance.
  const json = JSON.parse(readFileSync(PROFILE, 'utf8')) as {
    applets: { kind: string; config: Record<string, unknown> }[];
  };
  json.applets[1]!.config['trustAnchor'] = expectOk(await credit.pkmaAnchor({}));
  const card = new Card(cardImageFromProfile(parseProfile(json)), { random: new SeededRandom(3) });
  card.powerOn();
  const lossy = new LossyTransport(new InProcessTransport(card));
  const apdu = new ApduClient(lossy);
  if (placement === 'direct')
    await certifyCreditApplet({
      credit,
      creditApp: new CreditClient(apdu, CREDIT_AID),
      areaKey: CREDIT_KEY,
      random: counter(),
      idm: IDM,
    });
  const atmStore = new TerminalStore(':memory:', 'atm-105', 'atm', clock);
  const atm = new AtmTerminal({
    id: 'atm-105',
    store: atmStore,
    bank: { id: 'MICABANK', api: bank },
    card: apdu,
    bankAid: BANK_AID,
    creditAid: CREDIT_AID,
    areaKey: BANK_KEY,
    random: counter(),
    clock,
    idm: () => Promise.resolve(IDM),
  });
  const client = new CreditTerminal({
    id: 'client-125',
    credit: { id: 'CREDITCO', api: credit },
    card: apdu,
    creditAid: CREDIT_AID,
    areaKey: CREDIT_KEY,
    random: counter(),
    placement,
  });
  const deposit = (amount = 30_000, at: Placement = placement) =>
    atm.deposit({
      txId: tx(),
      cardId: 'card-1',
      creditCoId: 'CREDITCO',
      creditCardNo: '987654321',
      amount,
      placement: at,
    });
  const audited = async () =>
    audit([expectOk(await bank.auditView({})), expectOk(await credit.auditView({}))]).ok;
  /** The runner's look: tokens in the bank store and in the credit applet's own store. */
  const stores = async (): Promise<[number, number]> => {
    const b = new BankClient(apdu, BANK_AID);
    await b.select();
    expect(
      (
        await b.authenticate(
          new LocalAppletKeys('2k3des', [{ code: 0x3000, key: hexToBytes(BANK_KEY.key) }], counter()),
        )
      ).ok,
    ).toBe(true);
    const bl = await b.listTokens();
    const c = new CreditClient(apdu, CREDIT_AID);
    await c.select();
    expect(
      (
        await c.authenticate(
          new LocalAppletKeys('2k3des', [{ code: 0x4000, key: hexToBytes(CREDIT_KEY.key) }], counter()),
        )
      ).ok,
    ).toBe(true);
    const cl = await c.listTokens('own');
    return [bl.ok ? bl.tokens.length : -1, cl.ok ? cl.tokens.length : -1];
  };
  return { bank, credit, lossy, deposit, client, audited, stores, atmStore };
}

const purchase = (w: Awaited<ReturnType<typeof setUp>>, amount: number) =>
  w.client.purchase({ txId: tx(), cardId: 'card-1', cardNo: '987654321', amount });

describe('AtmTerminal and CreditTerminal (seed 000)', () => {
  it('puts the token where each placement says, and the credit terminal reflects it', async () => {
    for (const [placement, where] of [
      ['share', [1, 0]],
      ['transfer', [0, 1]],
      ['direct', [0, 1]],
    ] as const) {
      const w = await setUp(placement);
      const r = await w.deposit();
      expect(r.ok && [r.result.recovered, r.result.deposit.row.status], placement).toEqual([false, 'held']);
      expect(
        expectOk(await w.bank.poolRows({})).map((x) => x.status),
        placement,
      ).toEqual(['committed']);
      expect(await w.stores(), placement).toEqual(where);
      const p = await purchase(w, 1_000);
      expect(
        p.ok && [p.result.tokens.map((t) => t.status), p.result.available, p.result.markSws],
        placement,
      ).toEqual([['REFLECTED'], 129_000, [0x9000]]);
      expect(await w.audited(), placement).toBe(true);
    }
  });

  it('direct: AUTHENTICATE PK precedes PUT TOKEN, and no 3-pass AUTHENTICATE of the credit applet is needed', async () => {
    const w = await setUp('direct');
    const from = w.lossy.sent.length;
    expect((await w.deposit()).ok).toBe(true);
    const ins = w.lossy.sent.slice(from).map((x) => x.ins);
    const pk = ins.indexOf(BANK_CREDIT.authenticatePk);
    expect(pk).toBeGreaterThan(0);
    expect(ins.indexOf(BANK_CREDIT.putToken)).toBeGreaterThan(pk);
  });

  it('A6: PUT TOKEN answer lost → LIST TOKENS in a new session finds the token → committed', async () => {
    for (const placement of ['share', 'transfer', 'direct'] as const) {
      const w = await setUp(placement);
      w.lossy.loseNext(placement === 'transfer' ? BANK_CREDIT.transferToken : BANK_CREDIT.putToken);
      const r = await w.deposit();
      expect(r.ok && [r.result.recovered, r.result.slot], placement).toEqual([true, -1]);
      expect(
        expectOk(await w.bank.poolRows({})).map((x) => x.status),
        placement,
      ).toEqual(['committed']);
      expect(
        w.lossy.sent.some((x) => x.ins === BANK_CREDIT.listTokens && x.sw === '9000'),
        placement,
      ).toBe(true);
      // The ATM's operation log keeps both steps of A6.
      expect(
        w.atmStore.entries().map((e) => [e.step, e.card]),
        placement,
      ).toEqual([
        ['A6', 'PUT TOKEN → no answer'],
        ['A6', 'LIST TOKENS → the token is there'],
      ]);
      expect(await w.audited(), placement).toBe(true);
    }
  });

  it('A6: PUT TOKEN and LIST TOKENS answers both lost → reversed with E_TOKEN_NOT_STORED (the cash returned)', async () => {
    for (const placement of ['share', 'direct'] as const) {
      const w = await setUp(placement);
      w.lossy.loseNext(BANK_CREDIT.putToken);
      w.lossy.loseNext(BANK_CREDIT.listTokens);
      const r = await w.deposit();
      expect(r.ok || [r.code, r.step], placement).toEqual(['E_TOKEN_NOT_STORED', '705']);
      expect(
        expectOk(await w.bank.poolRows({})).map((x) => [x.status, x.amount]),
        placement,
      ).toEqual([['reversed', 30_000]]);
      // The token is on the card nonetheless (what 1103's `invalid` catches, flows.md 2.3 D1).
      expect(await w.stores(), placement).toEqual(placement === 'share' ? [1, 0] : [0, 1]);
      const ledger = expectOk(await w.bank.auditView({})).entries;
      const sum = (acct: string) =>
        ledger.filter((e) => e.account === acct).reduce((a, e) => a + e.amount, 0);
      expect([sum('ext:cash'), sum('liab:pool:CREDITCO:U0001')], placement).toEqual([0, 0]);
      expect(await w.audited(), placement).toBe(true);
    }
  });

  it('A6: a full token store (6A84) → reversed with E_TOKEN_SLOTS_FULL; the held rows before stay committed', async () => {
    const w = await setUp('share');
    for (let i = 0; i < 4; i++) expect((await w.deposit(1_000)).ok).toBe(true);
    const r = await w.deposit(1_000);
    expect(r.ok || [r.code, r.step]).toEqual(['E_TOKEN_SLOTS_FULL', '705']);
    expect(expectOk(await w.bank.poolRows({})).map((x) => x.status)).toEqual([
      'committed',
      'committed',
      'committed',
      'committed',
      'reversed',
    ]);
    expect(await w.audited()).toBe(true);
  });

  it('direct without the 1501 hand-over: E_NO_KEYS before any money moves, no PUT TOKEN sent', async () => {
    const w = await setUp('share');
    const from = w.lossy.sent.length;
    const r = await w.deposit(30_000, 'direct');
    expect(r.ok || [r.code, r.step]).toEqual(['E_NO_KEYS', '1501']);
    expect(expectOk(await w.bank.poolRows({}))).toEqual([]);
    expect(w.lossy.sent.slice(from).filter((x) => x.ins === BANK_CREDIT.putToken)).toEqual([]);
    expect(await w.audited()).toBe(true);
  });
});
