// `mica run bank-credit-token` (flows.md 2, seed 000): key exchange, pool deposit and token, credit
// authorization with tokens, closing, deduction batch and 1103 reconciliation, with the acceptance
// checks of flows.md 2.6. Fig. 5 runs in the fixture "main" with the chosen placement (`share`,
// `transfer`, or `direct`: AUTHENTICATE PK, flows.md 2.5) and key mode, and F2 runs it in the other
// two placements; every other check runs in a fresh fixture of its own. Expected figures are Fig. 5's
// (flows.md 2.6), worked by hand. Over 600 lines because it is one scenario's 18 checks, each a
// self-contained story over the world in ./bank-credit-token/world.ts.
import { BANK_CREDIT } from '@mica/apdu-specs/apdu/bank-credit';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { ed25519 } from '@noble/curves/ed25519.js';
import { putTokenData } from '@mica/host-sdk/applets/bank-client';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { issueCertificate } from '@mica/host-sdk/bureau/certificate';
import { PLACEMENTS, type Placement } from '@mica/host-sdk/terminals/atm-terminal';
import { resealEnvelope, type KeyMode } from '@mica/host-sdk/bank-credit/token';
import { jstDay, jstInstant } from '@mica/host-sdk/platform/clock';
import { newTxId } from '@mica/host-sdk/platform/tx-id';
import type { CheckRun, Scenario, ScenarioContext } from '../scenario';
import { EXAMPLE, IDS, Seed000World, type Seed000Options } from './bank-credit-token/world';

const CHECKS = [
  {
    id: 'K1',
    text: 'key exchange works in all three key modes; in `common` mode the header carries the derivation data, and a token sealed under another derivation gives INVALID_SEAL',
  },
  {
    id: 'F1',
    text: 'Fig. 5 end to end: (1) just after closing: limit 100,000, billed 100,000; (2) a purchase of 20,000 is refused (1010); (3) a 30,000 cash deposit produces a token; (4) the same purchase is approved at once (1008); (5) the deduction takes 30,000 from the pool and 70,000 from the personal account; (6) 1103 confirms the token, and available credit is 80,000',
  },
  {
    id: 'F2',
    text: 'the Fig. 5 flow passes with `share`, with `transfer` (the token then exists only in the credit applet) and with `direct`',
  },
  {
    id: 'N1',
    text: 'a deposit refused with 706 (no contract) or with E_WRONG_CARD leaves no pool row and no token',
  },
  { id: 'N2', text: 'a pool withdrawal gives E_POOL_NOT_WITHDRAWABLE' },
  { id: 'N3', text: 'a lost card gives 1009, and no token is processed' },
  { id: 'N4', text: 'a missing token, or one with a bad seal, still leads to an assessment' },
  { id: 'N5', text: 'an expired token is not reflected' },
  { id: 'N6', text: 'a token replayed after MARK TOKEN USED was lost gives ALREADY_USED' },
  { id: 'N7', text: 'an envelope relayed through another user’s card gives USER_MISMATCH' },
  { id: 'N8', text: 'PUT TOKEN to another user’s card fails without the bank’s authentication' },
  {
    id: 'N9',
    text: 'a reflection whose deposit the bank never reports becomes `invalid` at 1103; it is reversed, and an exception row is written',
  },
  {
    id: 'PK1',
    text: 'attack (direct): a bank certificate not issued by this credit company’s trust anchor is refused by the card at AUTHENTICATE PK, and nothing is stored',
  },
  {
    id: 'P1',
    text: 'partial pre-payment: the rest comes from the personal account; if that account is short, 805 is sent and the row becomes overdue',
  },
  {
    id: 'P2',
    text: 'over-payment is carried forward, and a carry reflection raises the next cycle’s available credit',
  },
  {
    id: 'AP-F',
    text: 'attack: an envelope re-sealed by a second contracted bank under its own bankId; faithful: it is reflected',
  },
  {
    id: 'AP-H',
    text: 'attack: an envelope re-sealed by a second contracted bank under its own bankId; hardened: it is refused with BINDING_MISMATCH',
  },
  {
    id: 'R1',
    text: 'a retry with the same txId moves money only once, and the audit passes after every step',
  },
] as const;

const CYCLE = '2004-06';
/** JST day number of 2004-07-10, the deduction day after a deposit of 2004-06-15 (days since 2000-01-01). */
const JULY_10_DAY = Math.floor((jstInstant(2004, 7, 10) - jstInstant(2000, 1, 1)) / 86_400_000);

async function deposited(c: CheckRun, w: Seed000World, amount: number, placement?: Placement) {
  const r = await w.deposit(amount, placement ? { placement } : {});
  c.expect(r.ok, `deposit of ${amount}: ${r.ok ? '' : `${r.code} at ${r.step}`}`);
  return r.ok ? r.result.deposit : undefined;
}

async function assessed(c: CheckRun, w: Seed000World, amount: number, o: { mark?: boolean } = {}) {
  const r = await w.purchase(amount, o);
  c.expect(r.ok, `purchase of ${amount}: ${r.ok ? '' : `${r.code} at ${r.step}`}`);
  return r.ok ? r.result : undefined;
}

/** The card account as credit sees it. */
async function account(w: Seed000World) {
  return expectOk(await w.credit.account({ cardNo: EXAMPLE.cardNo }));
}

/** Fig. 5, steps (1) to (6), on `w` (also the seed 000 part of `mica demo`). */
export async function fig5(c: CheckRun, w: Seed000World): Promise<void> {
  const first = await assessed(c, w, 100_000);
  c.equal(first?.result, 'OK_AVAILABLE', 'the cycle purchase of 100,000');
  await w.f.advanceTo(jstInstant(2004, 6, 15));
  await w.close(CYCLE);
  const a1 = await account(w);
  c.equal(
    [a1.limit, a1.liabilityBilled, a1.available],
    [100_000, 100_000, 0],
    '(1) limit, billed, available',
  );
  const p2 = await assessed(c, w, 20_000);
  c.equal([p2?.result, p2?.step], ['E_OVER_LIMIT', '1010'], '(2) the purchase of 20,000');
  await w.f.advanceBy(3_600_000);
  const d = await deposited(c, w, 30_000);
  c.equal(d?.effectiveUntil, JULY_10_DAY, '(3) the token is effective until the deduction day 2004-07-10');
  if (w.placement !== 'share')
    c.equal(await w.stores(), [0, 1], `tokens in the bank applet and the credit applet (${w.placement})`);
  const p4 = await assessed(c, w, 20_000);
  c.equal(
    [p4?.result, p4?.step, p4?.tokens.map((t) => t.status), p4?.available],
    ['OK_AVAILABLE', '1008', ['REFLECTED'], 10_000],
    '(4) the same purchase, with the token',
  );
  await w.f.advanceTo(jstInstant(2004, 7, 10, 9));
  const batch = await w.deduct(CYCLE);
  c.equal(
    batch.rows.map((r) => [r.userId, r.fromPool, r.fromPersonal, r.tokens.map((t) => [t.deposit, t.drawn])]),
    [[EXAMPLE.userId, 30_000, 70_000, [[30_000, 30_000]]]],
    '(5) the deduction row',
  );
  c.equal(batch.total, 100_000, '(5) the batch total');
  c.equal(
    expectOk(await w.bank.account({ accountNo: EXAMPLE.accountNo })).balance,
    EXAMPLE.personal - 70_000,
    '(5) the personal account',
  );
  const refl = expectOk(await w.credit.reflections({ cardNo: EXAMPLE.cardNo }));
  c.equal(
    refl.map((r) => [r.tokenId, r.status]),
    [[d?.row.tokenId, 'confirmed']],
    '(6) the reflection',
  );
  c.equal((await account(w)).available, 80_000, '(6) available credit');
}

export const bankCreditToken: Scenario = {
  name: 'bank-credit-token',
  title: 'seed 000: bank pool deposit, credit token, authorization, deduction and reconciliation',
  variants: {
    placement: PLACEMENTS,
    'key-mode': ['ca', 'contract', 'common'],
  },
  checks: CHECKS,
  async run(ctx: ScenarioContext) {
    const v = ctx.options.variants;
    const placement = (v['placement'] as Placement | undefined) ?? 'share';
    const keyMode = (v['key-mode'] as KeyMode | undefined) ?? 'ca';
    const make = (label: string, o: Seed000Options = {}) =>
      Seed000World.create(ctx, label, { placement, keyMode, ...o });

    await ctx.check('F1', async (c) => {
      await fig5(c, await make('main'));
    });

    await ctx.check('F2', async (c) => {
      for (const other of PLACEMENTS.filter((p) => p !== placement))
        await fig5(c, await make(`fig5-${other}`, { placement: other }));
    });

    await ctx.check('K1', async (c) => {
      for (const m of ['ca', 'contract', 'common'] as const) {
        const w = await make(`keys-${m}`, { keyMode: m });
        const d = await deposited(c, w, 30_000);
        const p = await assessed(c, w, 1_000);
        c.equal(
          p?.tokens.map((t) => t.status),
          ['REFLECTED'],
          `key mode ${m}: the token`,
        );
        if (m !== 'common' || !d) continue;
        // A second deposit's envelope with one derivation byte changed (header byte 21).
        const d2 = await deposited(c, w, 5_000);
        const env = hexToBytes(d2?.envelope ?? d.envelope);
        env[21] = env[21]! ^ 1;
        const r = expectOk(
          await w.f.backend('credit', IDS.credit).authorizeWithTokens({
            txId: newTxId(w.f.random('other-derivation')),
            cardId: EXAMPLE.cardId,
            cardNo: EXAMPLE.cardNo,
            amount: 100,
            envelopes: [bytesToHex(env)],
          }),
        );
        c.equal([r.tokens[0]?.status, r.result], ['INVALID_SEAL', 'OK_AVAILABLE'], 'another derivation');
      }
    });

    await ctx.check('N1', async (c) => {
      const w = await make('no-contract');
      const nc = await w.deposit(1_000, { creditCoId: 'OTHERCO' });
      c.equal(
        nc.ok || [nc.code, nc.step],
        ['E_NO_CONTRACT', '702'],
        'deposit for a company without contract',
      );
      const wc = await make('wrong-card', { accountCardId: 'card-2' });
      const r = await wc.deposit(1_000);
      c.equal(r.ok || r.code, 'E_WRONG_CARD', 'deposit with another user’s card');
      for (const x of [w, wc]) {
        c.equal(expectOk(await x.bank.poolRows({})), [], `pool rows (${x.f.label})`);
        c.equal(
          x.exchanges.filter((e) => e.command === 'PUT TOKEN'),
          [],
          `PUT TOKEN sent (${x.f.label})`,
        );
      }
    });

    await ctx.check('N2', async (c) => {
      const w = await make('withdrawal');
      await deposited(c, w, 5_000);
      const r = await w.f.backend('bank', IDS.bank).withdrawPool({
        txId: newTxId(w.f.random('withdraw')),
        userId: EXAMPLE.userId,
        creditCoId: IDS.credit,
        amount: 1_000,
      });
      await w.f.step({
        step: '—',
        from: IDS.atm,
        to: IDS.bank,
        summary: `pool withdrawal ¥1,000 → ${r.ok ? 'paid' : r.code}`,
      });
      c.equal(r.ok || r.code, 'E_POOL_NOT_WITHDRAWABLE', 'withdrawPool');
      c.equal(
        expectOk(await w.bank.poolRows({})).map((x) => [x.amount, x.status]),
        [[5_000, 'committed']],
        'pool rows',
      );
    });

    await ctx.check('N3', async (c) => {
      const w = await make('lost-card');
      await deposited(c, w, 30_000);
      expectOk(await w.credit.setLost({ cardNo: EXAMPLE.cardNo, lost: true }));
      const from = w.exchanges.length;
      const r = await w.purchase(1_000);
      c.equal(r.ok || [r.code, r.step], ['E_CARD_LOST', '1009'], 'purchase with a lost card');
      c.equal(expectOk(await w.credit.reflections({ cardNo: EXAMPLE.cardNo })), [], 'reflections');
      c.equal(
        w.exchanges.slice(from).filter((e) => e.command === 'MARK TOKEN USED'),
        [],
        'MARK TOKEN USED sent',
      );
    });

    await ctx.check('N4', async (c) => {
      const w = await make('absent-bad-seal');
      const p = await assessed(c, w, 1_000);
      c.equal([p?.tokens.map((t) => t.status), p?.result], [['ABSENT'], 'OK_AVAILABLE'], 'no token');
      const d = await deposited(c, w, 30_000);
      const env = hexToBytes(d?.envelope ?? '');
      env[env.length - 1] = env[env.length - 1]! ^ 1; // the seal's last byte
      const r = expectOk(
        await w.f.backend('credit', IDS.credit).authorizeWithTokens({
          txId: newTxId(w.f.random('bad-seal')),
          cardId: EXAMPLE.cardId,
          cardNo: EXAMPLE.cardNo,
          amount: 1_000,
          envelopes: [bytesToHex(env)],
        }),
      );
      c.equal(
        [r.tokens[0]?.status, r.result, r.step],
        ['INVALID_SEAL', 'OK_AVAILABLE', '1008'],
        'a bad seal',
      );
      c.equal(expectOk(await w.credit.reflections({ cardNo: EXAMPLE.cardNo })), [], 'reflections');
    });

    await ctx.check('N5', async (c) => {
      const w = await make('expired');
      await deposited(c, w, 30_000);
      await w.f.advanceTo(jstInstant(2004, 7, 10));
      const p = await assessed(c, w, 1_000);
      c.equal(
        p?.tokens.map((t) => t.status),
        ['EXPIRED'],
        'the token on 2004-07-10',
      );
      c.equal(expectOk(await w.credit.reflections({ cardNo: EXAMPLE.cardNo })), [], 'reflections');
    });

    await ctx.check('N6', async (c) => {
      const w = await make('replay');
      await deposited(c, w, 30_000);
      const first = await assessed(c, w, 1_000, { mark: false });
      c.equal(
        first?.tokens.map((t) => t.status),
        ['REFLECTED'],
        'first presentation (mark lost)',
      );
      const again = await assessed(c, w, 1_000, { mark: false });
      c.equal(
        again?.tokens.map((t) => t.status),
        ['ALREADY_USED'],
        'the replay',
      );
      c.equal(
        expectOk(await w.credit.reflections({ cardNo: EXAMPLE.cardNo })).map((r) => r.amount),
        [30_000],
        'reflections',
      );
    });

    await ctx.check('N7', async (c) => {
      const w = await make('relay');
      const d = await deposited(c, w, 30_000);
      // Another user's card account at the same company; U0001's envelope comes through that card.
      expectOk(
        await w.credit.openCardAccount({
          cardNo: '123456789',
          userId: 'U0002',
          name: 'SUZUKI HANAKO',
          billingBankId: IDS.bank,
          billingAccountNo: '0099999999',
          cardExpiry: jstDay(jstInstant(2027, 12, 31)),
          limit: EXAMPLE.limit,
        }),
      );
      const r = expectOk(
        await w.f.backend('credit', IDS.credit).authorizeWithTokens({
          txId: newTxId(w.f.random('relay')),
          cardId: 'card-2',
          cardNo: '123456789',
          amount: 1_000,
          envelopes: [d?.envelope ?? ''],
        }),
      );
      await w.f.step({
        step: '1005',
        from: IDS.client,
        to: IDS.credit,
        summary: `U0001's envelope through card 123456789 → ${r.tokens[0]?.status ?? 'none'}`,
      });
      c.equal([r.tokens[0]?.status, r.result], ['USER_MISMATCH', 'OK_AVAILABLE'], 'the relayed token');
      c.equal(r.available, EXAMPLE.limit - 1_000, 'available credit of U0002 (nothing reflected)');
      c.equal(expectOk(await w.credit.reflections({ cardNo: EXAMPLE.cardNo })), [], 'reflections of U0001');
    });

    await ctx.check('N8', async (c) => {
      const w = await make('other-card');
      const d = await deposited(c, w, 30_000);
      const other = await w.otherCard();
      // The bank authenticates U0002's card and reads its account: it authors no PUT TOKEN for it.
      const from = w.exchanges.length;
      const r = await w.atm(other.apdu).deposit({
        txId: newTxId(w.f.random('other-card')),
        cardId: EXAMPLE.cardId,
        creditCoId: IDS.credit,
        creditCardNo: EXAMPLE.cardNo,
        amount: 30_000,
        placement,
      });
      c.equal(
        r.ok || [r.code, r.step],
        ['E_WRONG_CARD', '705'],
        'the bank, asked to deposit with U0002’s card',
      );
      c.equal(w.since(from, 'PUT TOKEN'), 'not sent', 'PUT TOKEN sent by the ATM');
      // Without the bank's authentication: U0001's token put to U0002's card in plain, to either applet,
      // and under a session opened with a key that is not the bank's.
      const data = putTokenData({
        today: d?.today ?? 0,
        tokenId: hexToBytes(d?.row.tokenId ?? '00'.repeat(16)),
        creditCompanyId: new TextEncoder().encode(IDS.credit),
        effectiveUntil: d?.effectiveUntil ?? 0,
        envelope: hexToBytes(d?.envelope ?? '00'),
      });
      const sws: string[] = [];
      for (const app of [other.bank, other.credit]) {
        await app.select();
        const put = await other.apdu.send({
          cla: BANK_CREDIT.cla,
          ins: BANK_CREDIT.putToken,
          p1: 0,
          p2: 0,
          data,
          ne: 256,
        });
        sws.push(put.sw.toString(16).toUpperCase());
      }
      c.equal(sws, ['6982', '6982'], 'plain PUT TOKEN to the bank applet and to the credit applet');
      await other.bank.select();
      const forged = await w.authenticateWith(other.bank, 'bank', w.f.random('not-the-bank').bytes(16));
      c.equal(forged, false, 'AUTHENTICATE with a key that is not the bank’s');
      await w.f.step({
        step: '705',
        from: 'someone',
        to: 'card-2',
        summary: `U0001's token put to U0002's card without the bank → PUT TOKEN ${sws.join(', ')}; AUTHENTICATE ${forged ? 'accepted' : 'refused'}`,
      });
      c.equal(await w.storesOf(other), [0, 0], 'tokens on U0002’s card (bank store, credit store)');
      c.equal(await w.stores(), placement === 'share' ? [1, 0] : [0, 1], 'tokens on U0001’s card');
    });

    await ctx.check('N9', async (c) => {
      // PUT TOKEN's answer is lost (for transfer: TRANSFER TOKEN's), and so is the answer of the bank's
      // LIST TOKENS check (A6): the bank reverses the deposit while the token is on the card.
      const w = await make('unreported');
      await assessed(c, w, 100_000);
      await w.f.advanceTo(jstInstant(2004, 6, 15));
      await w.close(CYCLE);
      await w.f.advanceBy(3_600_000);
      w.loseAnswers(placement === 'transfer' ? BANK_CREDIT.transferToken : BANK_CREDIT.putToken);
      w.loseAnswers(BANK_CREDIT.listTokens);
      const r = await w.deposit(30_000);
      c.equal(r.ok || [r.code, r.step], ['E_TOKEN_NOT_STORED', '705'], 'the deposit, both answers lost');
      const rows = expectOk(await w.bank.poolRows({}));
      c.equal(
        rows.map((x) => [x.amount, x.status]),
        [[30_000, 'reversed']],
        'the pool row',
      );
      c.equal(
        await w.stores(),
        placement === 'share' ? [1, 0] : [0, 1],
        'the token is on the card all the same',
      );
      const p = await assessed(c, w, 20_000);
      c.equal(
        [p?.result, p?.tokens.map((t) => t.status), p?.available],
        ['OK_AVAILABLE', ['REFLECTED'], 10_000],
        'the purchase the token enables',
      );
      await w.f.advanceTo(jstInstant(2004, 7, 10, 9));
      const batch = await w.deduct(CYCLE);
      c.equal(
        batch.rows.map((x) => [x.userId, x.fromPool, x.fromPersonal, x.tokens.length]),
        [[EXAMPLE.userId, 0, 100_000, 0]],
        'the deduction row: nothing from the pool, the token not listed',
      );
      const tokenId = rows[0]?.tokenId;
      c.equal(
        expectOk(await w.credit.reflections({ cardNo: EXAMPLE.cardNo })).map((x) => [
          x.reflectionId,
          x.status,
        ]),
        [[tokenId, 'invalid']],
        'the reflection after 1103',
      );
      c.equal(
        expectOk(await w.credit.exceptions({ cycleId: CYCLE })),
        [{ cycleId: CYCLE, reflectionId: tokenId, reason: 'not reported by the bank' }],
        'the exception row [1103]',
      );
      const a = await account(w);
      c.equal(
        [a.liabilityBilled, a.liabilityUnbilled, a.available],
        [0, 20_000, 80_000],
        'the purchase it enabled stays in the liability (available without the reflection)',
      );
    });

    await ctx.check('PK1', async (c) => {
      const w = await make('pk-forged', { placement: 'direct' });
      // A bank certificate naming MICABANK and CREDITCO as its issuer, signed by a key that is not
      // CREDITCO's certification key (the card's trust anchor).
      const rogue = w.f.random('rogue-anchor').bytes(32);
      const bankKey = w.f.random('rogue-bank').bytes(32);
      const s = Math.floor(w.f.clock.now() / 1000);
      const certificate = issueCertificate(
        {
          role: 'bank',
          keyType: 'ed25519',
          subjectId: IDS.bank,
          publicKey: ed25519.getPublicKey(bankKey),
          notBefore: s,
          notAfter: s + 86_400,
        },
        IDS.credit,
        rogue,
      );
      const anchor = expectOk(await w.credit.pkmaAnchor({}));
      const idm = await w.idm();
      const app = w.creditClient();
      await app.select();
      const from = w.exchanges.length;
      const auth = await app.authenticatePk(
        { certificate, sign: (m) => Promise.resolve(ed25519.sign(m, bankKey)) },
        { issuerId: anchor.issuerId, publicKey: hexToBytes(anchor.publicKey), now: s },
        idm,
        (n) => w.f.random('rogue-session').bytes(n),
      );
      c.equal(
        auth.ok || auth.sw?.toString(16).toUpperCase(),
        '6982',
        'AUTHENTICATE PK (1) with the forged bank certificate',
      );
      const put = await w.apdu.send({
        cla: BANK_CREDIT.cla,
        ins: BANK_CREDIT.putToken,
        p1: 0,
        p2: 0,
        data: putTokenData({
          today: 0,
          tokenId: new Uint8Array(16).fill(0xee),
          creditCompanyId: new TextEncoder().encode(IDS.credit),
          effectiveUntil: 0xffff,
          envelope: new Uint8Array(64),
        }),
        ne: 256,
      });
      c.equal(put.sw.toString(16).toUpperCase(), '6982', 'PUT TOKEN after the refused AUTHENTICATE PK');
      await w.f.step({
        step: '1502',
        from: 'rogue',
        to: 'card',
        summary: 'a bank certificate under another anchor → refused; PUT TOKEN refused',
        card: { command: 'AUTHENTICATE PK', status: w.since(from, 'AUTHENTICATE PK') },
      });
      c.equal(await w.stores(), [0, 0], 'tokens on the card');
      c.equal(expectOk(await w.bank.poolRows({})), [], 'pool rows');
    });

    await ctx.check('P1', async (c) => {
      // Billed 100,000; 30,000 in the pool; the personal account holds 50,000 < the rest 70,000.
      const w = await make('short', { personal: 50_000 });
      await assessed(c, w, 100_000);
      await w.f.advanceTo(jstInstant(2004, 6, 15));
      await w.close(CYCLE);
      await w.f.advanceBy(3_600_000);
      await deposited(c, w, 30_000);
      await w.f.advanceTo(jstInstant(2004, 7, 10, 9));
      const batch = await w.deduct(CYCLE);
      c.equal(
        batch.rows.map((r) => [r.userId, r.fromPool, r.fromPersonal]),
        [[EXAMPLE.userId, 30_000, 0]],
        'the deduction row: the pool part only',
      );
      c.equal(batch.notices, [{ userId: EXAMPLE.userId, shortfall: 70_000 }], 'the 805 notice');
      c.equal(
        expectOk(await w.bank.account({ accountNo: EXAMPLE.accountNo })).balance,
        50_000,
        'the personal account is not debited',
      );
      const a = await account(w);
      c.equal(a.liabilityBilled, 70_000, 'billed after 1103 (100,000 − 30,000)');
      c.equal(a.overdue, 70_000, 'the row is overdue by the shortfall');
    });

    await ctx.check('P2', async (c) => {
      // Billed 20,000; a 30,000 token; 20,000 drawn, 10,000 carried to 2004-08-10.
      const w = await make('carry');
      await assessed(c, w, 20_000);
      await w.f.advanceTo(jstInstant(2004, 6, 15));
      await w.close(CYCLE);
      await w.f.advanceBy(3_600_000);
      const d = await deposited(c, w, 30_000);
      const p = await assessed(c, w, 1_000);
      c.equal(
        p?.tokens.map((t) => t.status),
        ['REFLECTED'],
        'the token',
      );
      await w.f.advanceTo(jstInstant(2004, 7, 10, 9));
      const batch = await w.deduct(CYCLE);
      c.equal(
        batch.rows.map((r) => [
          r.fromPool,
          r.fromPersonal,
          r.tokens.map((t) => [t.deposit, t.drawn, t.carried]),
        ]),
        [[20_000, 0, [[30_000, 20_000, 10_000]]]],
        'the deduction row',
      );
      c.equal(
        expectOk(await w.bank.poolRows({})).map((r) => [r.status, r.carried]),
        [['carried', 10_000]],
        'the pool row',
      );
      const refl = expectOk(await w.credit.reflections({ cardNo: EXAMPLE.cardNo }));
      c.equal(
        refl.map((r) => [r.reflectionId, r.status, r.amount]),
        [
          [d?.row.tokenId, 'confirmed', 30_000],
          [`${d?.row.tokenId}#1`, 'active', 10_000],
        ],
        'reflections after 1103',
      );
      // limit 100,000 − unbilled 1,000 + carry 10,000 (without the carry: 99,000).
      c.equal((await account(w)).available, 109_000, 'available credit in the next cycle');
    });

    // Both modes always (flows.md 1.6): BANK2, a second contracted bank certified by the bureau for a
    // key set of its own, re-seals the user's envelope under its own bankId.
    for (const mode of ['faithful', 'hardened'] as const) {
      await ctx.check(mode === 'faithful' ? 'AP-F' : 'AP-H', async (c) => {
        const w = await make(`attack-${mode}`, { mode, keyMode: 'ca' });
        const d = await deposited(c, w, 30_000);
        const secret = w.f.random('bank2-signing-key').bytes(32);
        const keyId = 'ffffffffffffffff';
        const cert = expectOk(
          await w.bureau.issue({
            subjectId: IDS.bank2,
            role: 'bank',
            keyType: 'ed25519',
            publicKey: bytesToHex(ed25519.getPublicKey(secret)),
          }),
        ).certificate;
        expectOk(
          await w.credit.exchangeKeys({
            bankId: IDS.bank2,
            keyMode: 'ca',
            keyId,
            certificate: cert,
            root: w.root,
          }),
        );
        const forged = resealEnvelope(hexToBytes(d?.envelope ?? ''), IDS.bank2, hexToBytes(keyId), secret);
        const r = expectOk(
          await w.f.backend('credit', IDS.credit).authorizeWithTokens({
            txId: newTxId(w.f.random('forged')),
            cardId: EXAMPLE.cardId,
            cardNo: EXAMPLE.cardNo,
            amount: 100,
            envelopes: [bytesToHex(forged)],
          }),
        );
        await w.f.step({
          step: '1005',
          from: IDS.bank2,
          to: IDS.credit,
          summary: `envelope re-sealed by ${IDS.bank2} → ${r.tokens[0]?.status ?? 'none'}`,
        });
        c.equal(
          r.tokens[0]?.status,
          mode === 'faithful' ? 'REFLECTED' : 'BINDING_MISMATCH',
          'the re-sealed token',
        );
      });
    }

    await ctx.check('R1', async (c) => {
      const w = await make('retry');
      const req = {
        txId: newTxId(w.f.random('retry')),
        cardId: EXAMPLE.cardId,
        cardNo: EXAMPLE.cardNo,
        amount: 500,
        envelopes: [],
      };
      const credit = w.f.backend('credit', IDS.credit);
      const a = expectOk(await credit.authorizeWithTokens(req));
      const b = expectOk(await credit.authorizeWithTokens(req));
      await w.f.step({
        step: '209',
        from: IDS.client,
        to: IDS.credit,
        summary: `purchase ¥500 sent twice (txId ${req.txId.slice(0, 8)}…)`,
      });
      c.equal(b, a, 'the retry answers the first authorization');
      c.equal((await account(w)).liabilityUnbilled, 500, 'unbilled liability');
      const d = await deposited(c, w, 30_000);
      if (d) {
        // The same deposit txId again: one pool row, one cash leg.
        const again = await w.f.backend('bank', IDS.bank).depositToPool({
          txId: d.row.txId,
          userId: EXAMPLE.userId,
          card: { accountNo: EXAMPLE.accountNo, cardId: EXAMPLE.cardId },
          creditCoId: IDS.credit,
          creditCardNo: EXAMPLE.cardNo,
          amount: 30_000,
          source: 'cash',
        });
        c.equal(
          again.ok && again.result.row.tokenId,
          d.row.tokenId,
          'the retried deposit answers the same row',
        );
        c.equal(expectOk(await w.bank.poolRows({})).length, 1, 'pool rows');
      }
    });
  },
};
