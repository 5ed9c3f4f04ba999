// Seed 000 end to end on the back-ends and a card (flows.md 2.6): key exchange in the three key
// modes, the Fig. 5 numbers through the bank applet's store (share) and the credit applet's own store
// (transfer), replay, relay through another user's card, pool withdrawal, the refusals before money
// moves, and the re-sealed envelope attack pair. Expected figures are Fig. 5's, worked by hand.
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import {
  BANK_AREA,
  BC_KEYS,
  CREDIT_AREA,
  BANK_AID,
  CREDIT_AID,
  bankCreditCard,
  bankCreditImage,
} from '../../../card-os/test/bank-credit-fixtures';
import { ApduClient } from '../../src/apdu/apdu-client';
import { LocalAppletKeys } from '../../src/applets/applet-keys';
import { BankClient } from '../../src/applets/bank-client';
import { CreditClient } from '../../src/applets/credit-client';
import { audit } from '../../src/backend/audit';
import type { Mode } from '../../src/backend/backend';
import { expectOk } from '../../src/backend/outcome';
import { World } from '../../src/backend/world';
import { resealEnvelope } from '../../src/bank-credit/token';
import { exchangeContractKeys } from '../../src/bank-credit/parties';
import { AtmTerminal, type Placement } from '../../src/terminals/atm-terminal';
import { CreditTerminal } from '../../src/terminals/credit-terminal';
import { ed25519 } from '@noble/curves/ed25519.js';
import { jstInstant } from '../../src/platform/clock';
import { SeededRng } from '../../src/platform/rng';
import { VirtualClock } from '../../src/platform/clock';
import { InProcessTransport } from '../../src/transport/in-process';

const BANK = 'MICABANK';
const BANK2 = 'BANK2';
const CREDIT = 'CREDITCO';
const KEY_ID = '0102030405060708';
const CARD_NO = '987654321';
const ACCT = '0012345678';
const USER = 'U0001';
const CARD_ID = 'card-1';

function counter(): (n: number) => Uint8Array {
  let k = 0;
  return (n) => Uint8Array.from({ length: n }, () => (k++ * 37 + 11) & 0xff);
}

let txn = 0;
const tx = (): string => (++txn).toString(16).padStart(32, '0');

async function setUp(keyMode: 'ca' | 'contract' | 'common', mode: Mode = 'hardened') {
  // 2004-06-15 00:00 JST is closing; start just before the cycle's purchases
  const clock = new VirtualClock(jstInstant(2004, 6, 7, 10));
  const world = new World({ dataDir: ':memory:', clock, rng: new SeededRng(5), mode });
  const bank = world.open('bank', BANK);
  const bank2 = world.open('bank', BANK2);
  const credit = world.open('credit', CREDIT);
  const bureau = world.open('bureau', 'bureau');
  const s = Math.floor(clock.now() / 1000);
  const root = expectOk(
    await bureau.setUp({ notBefore: s - 10, notAfter: s + 10 * 365 * 86400 }),
  ).certificate;
  for (const [b, id] of [
    [bank, BANK],
    [bank2, BANK2],
  ] as const) {
    expectOk(await b.openAccount({ accountNo: ACCT, userId: USER, name: 'YAMADA TARO', cardId: CARD_ID }));
    const common = bytesToHex(new SeededRng(9).fork(id).bytes(32));
    await exchangeContractKeys(
      { bank: b, bankId: id, credit, creditCoId: CREDIT, bureau, root },
      keyMode,
      KEY_ID,
      keyMode === 'common' ? common : undefined,
    );
  }
  expectOk(await bank.depositCash({ txId: tx(), accountNo: ACCT, amount: 200_000 }));
  expectOk(
    await credit.openCardAccount({
      cardNo: CARD_NO,
      userId: USER,
      name: 'YAMADA TARO',
      billingBankId: BANK,
      billingAccountNo: ACCT,
      cardExpiry: 20000,
      limit: 100_000,
    }),
  );
  const card = bankCreditCard(bankCreditImage({ share: true }));
  const apdu = new ApduClient(new InProcessTransport(card));
  const bankApp = new BankClient(apdu, hexToBytes(BANK_AID));
  const creditApp = new CreditClient(apdu, hexToBytes(CREDIT_AID));
  const audited = async () => {
    const views = [];
    for (const b of [bank, bank2, credit]) views.push(expectOk(await b.auditView({})));
    return audit(views).ok;
  };
  return { clock, world, bank, bank2, credit, bureau, root, apdu, bankApp, creditApp, audited };
}

type W = Awaited<ReturnType<typeof setUp>>;

const BANK_KEY = { suite: '2k3des', code: BANK_AREA, key: BC_KEYS.bankArea };
const CREDIT_KEY = { suite: '2k3des', code: CREDIT_AREA, key: BC_KEYS.creditArea };

/** A1-A6 at the ATM (AtmTerminal): the deposit must succeed. */
async function deposit(w: W, amount: number, placement: Placement = 'share') {
  const atm = new AtmTerminal({
    id: 'atm',
    bank: { id: BANK, api: w.bank },
    card: w.apdu,
    bankAid: hexToBytes(BANK_AID),
    creditAid: hexToBytes(CREDIT_AID),
    areaKey: BANK_KEY,
    random: counter(),
    clock: w.clock,
  });
  const r = await atm.deposit({
    txId: tx(),
    cardId: CARD_ID,
    creditCoId: CREDIT,
    creditCardNo: CARD_NO,
    amount,
    placement,
  });
  if (!r.ok) throw new Error(`deposit: ${r.code} at ${r.step}`);
  return r.result.deposit;
}

/** B1-B8 at the credit client (CreditTerminal): the authorization must be answered. */
async function purchase(w: W, amount: number, store: 'own' | 'shared', mark = true) {
  const client = new CreditTerminal({
    id: 'client',
    credit: { id: CREDIT, api: w.credit },
    card: w.apdu,
    creditAid: hexToBytes(CREDIT_AID),
    areaKey: CREDIT_KEY,
    random: counter(),
    placement: store === 'shared' ? 'share' : 'transfer',
  });
  const r = await client.purchase({ txId: tx(), cardId: CARD_ID, cardNo: CARD_NO, amount, mark });
  if (!r.ok) throw new Error(`purchase: ${r.code} at ${r.step}`);
  for (const sw of r.result.markSws) expect(sw).toBe(0x9000);
  return r.result;
}

async function fig5(placement: 'share' | 'transfer', keyMode: 'ca' | 'contract' | 'common') {
  const w = await setUp(keyMode);
  const store = placement === 'share' ? 'shared' : 'own';
  expect((await purchase(w, 100_000, store)).result).toBe('OK_AVAILABLE');
  await w.clock.advanceTo(jstInstant(2004, 6, 15));
  expectOk(await w.credit.closeCycle({ bankId: BANK, cycleId: '2004-06' }));
  // (1) just after closing: limit 100,000, billed 100,000
  const a1 = expectOk(await w.credit.account({ cardNo: CARD_NO }));
  expect([a1.limit, a1.liabilityBilled, a1.available]).toEqual([100_000, 100_000, 0]);
  // (2) 20,000 refused at 1010
  const p2 = await purchase(w, 20_000, store);
  expect([p2.result, p2.step, p2.tokens[0]!.status]).toEqual(['E_OVER_LIMIT', '1010', 'ABSENT']);
  // (3) 30,000 in cash: a token
  await w.clock.advanceBy(3600_000);
  const d = await deposit(w, 30_000, placement);
  expect(d.effectiveUntil).toBe(Math.floor((jstInstant(2004, 7, 10) - jstInstant(2000, 1, 1)) / 86_400_000));
  if (placement === 'transfer') {
    await w.bankApp.select();
    const keys = new LocalAppletKeys(
      '2k3des',
      [{ code: BANK_AREA, key: hexToBytes(BC_KEYS.bankArea) }],
      counter(),
    );
    expect((await w.bankApp.authenticate(keys)).ok).toBe(true);
    const shared = await w.bankApp.listTokens();
    expect(shared.ok && shared.tokens.length).toBe(0);
  }
  // (4) the same purchase approved at once (1008)
  const p4 = await purchase(w, 20_000, store);
  expect([p4.result, p4.step, p4.tokens.map((t) => t.status)]).toEqual([
    'OK_AVAILABLE',
    '1008',
    ['REFLECTED'],
  ]);
  expect(p4.available).toBe(10_000);
  expect(await w.audited()).toBe(true);
  // (5) deduction: 30,000 from the pool, 70,000 from the personal account
  await w.clock.advanceTo(jstInstant(2004, 7, 10, 9));
  const batch = expectOk(await w.bank.runDeduction({ creditCoId: CREDIT, cycleId: '2004-06' }));
  expect(batch.rows).toEqual([
    {
      userId: USER,
      fromPool: 30_000,
      fromPersonal: 70_000,
      tokens: [{ tokenId: d.row.tokenId, deposit: 30_000, drawn: 30_000, carried: 0 }],
    },
  ]);
  expect([batch.total, batch.delivered]).toEqual([100_000, true]);
  expect(expectOk(await w.bank.account({ accountNo: ACCT })).balance).toBe(130_000);
  // (6) 1103 confirms the token; available 80,000
  const refl = expectOk(await w.credit.reflections({ cardNo: CARD_NO }));
  expect(refl.map((r) => [r.tokenId, r.status])).toEqual([[d.row.tokenId, 'confirmed']]);
  expect(expectOk(await w.credit.account({ cardNo: CARD_NO })).available).toBe(80_000);
  expect(await w.audited()).toBe(true);
  return { w, d, p4 };
}

describe('seed 000 bank-credit token (flows.md 2.6)', () => {
  it('Fig. 5 with share in the three key modes', async () => {
    for (const m of ['ca', 'contract', 'common'] as const) await fig5('share', m);
  });

  it('Fig. 5 with transfer: the token exists only in the credit applet', async () => {
    await fig5('transfer', 'ca');
  });

  it('a replayed token (mark lost) gives ALREADY_USED; a retry moves money once', async () => {
    const w = await setUp('ca');
    await deposit(w, 30_000);
    const first = await purchase(w, 1_000, 'shared', false);
    expect(first.tokens[0]!.status).toBe('REFLECTED');
    const again = await purchase(w, 1_000, 'shared', false);
    expect(again.tokens[0]!.status).toBe('ALREADY_USED');
    const txId = tx();
    const req = { txId, cardId: CARD_ID, cardNo: CARD_NO, amount: 500, envelopes: [] };
    expectOk(await w.credit.authorizeWithTokens(req));
    expectOk(await w.credit.authorizeWithTokens(req));
    expect(expectOk(await w.credit.account({ cardNo: CARD_NO })).liabilityUnbilled).toBe(2_500);
    expect(await w.audited()).toBe(true);
  });

  it('no contract, a wrong card and a pool withdrawal are refused; nothing moves', async () => {
    const w = await setUp('contract');
    const base = { userId: USER, creditCardNo: CARD_NO, amount: 1000, source: 'cash' as const };
    const nc = await w.bank.depositToPool({
      ...base,
      txId: tx(),
      card: { accountNo: ACCT, cardId: CARD_ID },
      creditCoId: 'OTHERCO',
    });
    expect(nc.ok || [nc.code, nc.step]).toEqual(['E_NO_CONTRACT', '702']);
    const wc = await w.bank.depositToPool({
      ...base,
      txId: tx(),
      card: { accountNo: ACCT, cardId: 'card-2' },
      creditCoId: CREDIT,
    });
    expect(wc.ok || wc.code).toBe('E_WRONG_CARD');
    expect(expectOk(await w.bank.poolRows({}))).toEqual([]);
    await deposit(w, 5_000);
    const wd = await w.bank.withdrawPool({ txId: tx(), userId: USER, creditCoId: CREDIT, amount: 1000 });
    expect(wd.ok || wd.code).toBe('E_POOL_NOT_WITHDRAWABLE');
    expect(await w.audited()).toBe(true);
  });

  it('a lost card ends at 1009 with no token processed', async () => {
    const w = await setUp('ca');
    await deposit(w, 30_000);
    expectOk(await w.credit.setLost({ cardNo: CARD_NO, lost: true }));
    await w.creditApp.select();
    const r = await w.credit.authorizeWithTokens({
      txId: tx(),
      cardId: CARD_ID,
      cardNo: CARD_NO,
      amount: 1,
      envelopes: [],
    });
    expect(r.ok || [r.code, r.step]).toEqual(['E_CARD_LOST', '1009']);
    expect(expectOk(await w.credit.reflections({ cardNo: CARD_NO }))).toEqual([]);
  });

  it('a bad seal or another derivation gives INVALID_SEAL and still an assessment; an expired token is not reflected', async () => {
    const w = await setUp('common');
    const d = await deposit(w, 30_000);
    const env = hexToBytes(d.envelope);
    env[21] = env[21]! ^ 1; // the derivation data (header byte 21)
    const r = expectOk(
      await w.credit.authorizeWithTokens({
        txId: tx(),
        cardId: CARD_ID,
        cardNo: CARD_NO,
        amount: 100,
        envelopes: [bytesToHex(env)],
      }),
    );
    expect([r.tokens[0]!.status, r.result]).toEqual(['INVALID_SEAL', 'OK_AVAILABLE']);
    await w.clock.advanceTo(jstInstant(2004, 7, 10));
    const e = expectOk(
      await w.credit.authorizeWithTokens({
        txId: tx(),
        cardId: CARD_ID,
        cardNo: CARD_NO,
        amount: 100,
        envelopes: [d.envelope],
      }),
    );
    expect(e.tokens[0]!.status).toBe('EXPIRED');
  });

  it('attack pair: an envelope re-sealed by a second contracted bank: (F) reflected, (H) BINDING_MISMATCH', async () => {
    for (const [mode, want] of [
      ['faithful', 'REFLECTED'],
      ['hardened', 'BINDING_MISMATCH'],
    ] as const) {
      const w = await setUp('ca', mode);
      const d = await deposit(w, 30_000);
      // BANK2, a second contracted bank, certified by the bureau for a key set of its own
      const secret = new SeededRng(1).bytes(32);
      const keyId = 'ffffffffffffffff';
      const cert = expectOk(
        await w.bureau.issue({
          subjectId: BANK2,
          role: 'bank',
          keyType: 'ed25519',
          publicKey: bytesToHex(ed25519.getPublicKey(secret)),
        }),
      ).certificate;
      expectOk(
        await w.credit.exchangeKeys({ bankId: BANK2, keyMode: 'ca', keyId, certificate: cert, root: w.root }),
      );
      const forged = resealEnvelope(hexToBytes(d.envelope), BANK2, hexToBytes('ffffffffffffffff'), secret);
      const r = expectOk(
        await w.credit.authorizeWithTokens({
          txId: tx(),
          cardId: CARD_ID,
          cardNo: CARD_NO,
          amount: 100,
          envelopes: [bytesToHex(forged)],
        }),
      );
      expect(r.tokens[0]!.status).toBe(want);
    }
  });
});
