// Seed 000's parties on the back-ends and the card (flows.md 2.3), shared by the host-sdk test and the
// `mica run bank-credit-token` scenario: the key exchange of one (bank, credit company) contract in a
// key mode (step 0), the ATM's deposit on the bank applet (A1-A6) and the credit client's purchase on
// the credit applet (B1-B8). Each returns what happened; the caller judges it. Not built: `direct`
// (AUTHENTICATE PK, flows.md 2.5) and the AtmTerminal / CreditTerminal classes these stand in for.
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { LocalAppletKeys, type RandomBytes } from '../applets/applet-keys';
import type { BankClient } from '../applets/bank-client';
import type { CreditClient, TokenStoreName } from '../applets/credit-client';
import type { BankBackend, PoolDeposit } from '../backend/kinds/bank';
import type { BureauBackend } from '../backend/kinds/bureau';
import type { CreditBackend, TokenAuthorization } from '../backend/kinds/credit';
import { expectOk } from '../backend/outcome';
import type { KeyMode } from './token';

export type Placement = 'share' | 'transfer';

export interface ContractParties {
  readonly bank: BankBackend;
  readonly bankId: string;
  readonly credit: CreditBackend;
  readonly creditCoId: string;
  readonly bureau: BureauBackend;
  /** The bureau's root certificate (hex), for `ca`. */
  readonly root: string;
}

/**
 * Step 0 (202, 511, 601, 901): the contract and its key set `keyId` on both sides. `ca` exchanges
 * bureau certificates (bank Ed25519, credit X25519); `contract` exchanges the contract's public keys;
 * `common` stores `commonKey` (32 bytes, hex) on both sides.
 */
export async function exchangeContractKeys(
  p: ContractParties,
  keyMode: KeyMode,
  keyId: string,
  commonKey?: string,
): Promise<void> {
  expectOk(await p.bank.openContract({ creditCoId: p.creditCoId }));
  if (keyMode === 'common') {
    if (commonKey === undefined) throw new Error('key mode common needs the common key');
    expectOk(await p.bank.exchangeKeys({ creditCoId: p.creditCoId, keyMode, keyId, commonKey }));
    expectOk(await p.credit.exchangeKeys({ bankId: p.bankId, keyMode, keyId, commonKey }));
    return;
  }
  const bankPub = expectOk(await p.bank.contractKey({ creditCoId: p.creditCoId, keyId })).publicKey;
  const creditPub = expectOk(await p.credit.contractKey({ bankId: p.bankId, keyId, keyMode })).publicKey;
  if (keyMode === 'contract') {
    expectOk(await p.bank.exchangeKeys({ creditCoId: p.creditCoId, keyMode, keyId, creditKey: creditPub }));
    expectOk(await p.credit.exchangeKeys({ bankId: p.bankId, keyMode, keyId, bankKey: bankPub }));
    return;
  }
  const bc = expectOk(
    await p.bureau.issue({ subjectId: p.bankId, role: 'bank', keyType: 'ed25519', publicKey: bankPub }),
  ).certificate;
  const cc = expectOk(
    await p.bureau.issue({
      subjectId: p.creditCoId,
      role: 'credit',
      keyType: 'x25519',
      publicKey: creditPub,
    }),
  ).certificate;
  expectOk(
    await p.bank.exchangeKeys({ creditCoId: p.creditCoId, keyMode, keyId, certificate: cc, root: p.root }),
  );
  expectOk(await p.credit.exchangeKeys({ bankId: p.bankId, keyMode, keyId, certificate: bc, root: p.root }));
}

export interface AtmDeposit {
  readonly bank: BankBackend;
  readonly bankApp: BankClient;
  /** The bank area's key (the bank's key holder side of AUTHENTICATE). */
  readonly areaKey: { readonly suite: string; readonly code: number; readonly key: string };
  readonly random: RandomBytes;
  readonly txId: string;
  /** The card ID the ATM read (GET DATA [306/307]). */
  readonly cardId: string;
  readonly creditCoId: string;
  readonly creditCardNo: string;
  readonly amount: number;
  readonly placement: Placement;
}

/** What a party's flow ends with: its result, or the refusal (a back-end's code, or the card's). */
export type PartyOutcome<T> =
  | { readonly ok: true; readonly result: T }
  | { readonly ok: false; readonly code: string; readonly step: string };

export type AtmOutcome = PartyOutcome<{ readonly deposit: PoolDeposit; readonly slot: number }>;

/**
 * A1-A6 at the ATM: authenticate the bank applet, read the account reference, deposit to the pool,
 * PUT TOKEN (and, for `transfer`, pass it to the credit applet), then commit the held row. A refusal
 * of the back-end is returned as it is; a card that refuses PUT TOKEN reverses the deposit.
 */
export async function depositAtAtm(d: AtmDeposit): Promise<AtmOutcome> {
  await d.bankApp.select();
  const keys = new LocalAppletKeys(
    d.areaKey.suite,
    [{ code: d.areaKey.code, key: hexToBytes(d.areaKey.key) }],
    d.random,
  );
  if (!(await d.bankApp.authenticate(keys)).ok) return { ok: false, code: 'E_CARD_AUTH_FAILED', step: '705' };
  const acct = await d.bankApp.readAccount();
  if (!acct.ok) return { ok: false, code: 'E_CARD_AUTH_FAILED', step: '705' };
  const r = await d.bank.depositToPool({
    txId: d.txId,
    userId: acct.account.userId,
    card: { accountNo: acct.account.accountNo, cardId: d.cardId },
    creditCoId: d.creditCoId,
    creditCardNo: d.creditCardNo,
    amount: d.amount,
    source: 'cash',
  });
  if (!r.ok) return { ok: false, code: r.code, step: r.step };
  const dep = r.result;
  const put = await d.bankApp.putToken({
    today: dep.today,
    tokenId: hexToBytes(dep.row.tokenId),
    creditCompanyId: new TextEncoder().encode(d.creditCoId),
    effectiveUntil: dep.effectiveUntil,
    envelope: hexToBytes(dep.envelope),
  });
  const moved = put.ok && d.placement === 'transfer' ? (await d.bankApp.transferToken(put.slot)).ok : put.ok;
  if (!put.ok || !moved) {
    expectOk(await d.bank.reverseDeposit({ txId: d.txId, code: 'E_TOKEN_NOT_STORED' }));
    return { ok: false, code: 'E_TOKEN_NOT_STORED', step: '705' };
  }
  expectOk(await d.bank.commitDeposit({ txId: d.txId }));
  return { ok: true, result: { deposit: dep, slot: put.slot } };
}

export interface ClientPurchase {
  readonly credit: CreditBackend;
  readonly creditApp: CreditClient;
  readonly areaKey: { readonly suite: string; readonly code: number; readonly key: string };
  readonly random: RandomBytes;
  readonly txId: string;
  readonly cardId: string;
  readonly cardNo: string;
  readonly amount: number;
  /** Where the credit applet finds the tokens: the bank's store (`share`) or its own (`transfer`). */
  readonly store: TokenStoreName;
  /** Whether the client sends MARK TOKEN USED (false: the marks are lost). */
  readonly mark?: boolean;
}

export type ClientOutcome = TokenAuthorization & {
  readonly envelopes: readonly string[];
  /** The status words of the MARK TOKEN USED commands sent. */
  readonly markSws: readonly number[];
};

/**
 * B1-B8 at the credit client: authenticate the credit applet, read the stored unused tokens, one
 * `authorizeWithTokens`, then MARK TOKEN USED for each reflected token (unless the marks are lost).
 * A refusal (1009) is returned as it is.
 */
export async function purchaseAtClient(p: ClientPurchase): Promise<PartyOutcome<ClientOutcome>> {
  await p.creditApp.select();
  const keys = new LocalAppletKeys(
    p.areaKey.suite,
    [{ code: p.areaKey.code, key: hexToBytes(p.areaKey.key) }],
    p.random,
  );
  if (!(await p.creditApp.authenticate(keys)).ok)
    return { ok: false, code: 'E_CARD_AUTH_FAILED', step: '1001' };
  const l = await p.creditApp.listTokens(p.store);
  if (!l.ok) return { ok: false, code: `SW ${l.sw.toString(16)}`, step: '1001' };
  const envelopes: string[] = [];
  for (const t of l.tokens.filter((x) => x.state === 1)) {
    const g = await p.creditApp.getToken(t.slot, p.store);
    if (g.ok) envelopes.push(bytesToHex(g.envelope));
  }
  const a = await p.credit.authorizeWithTokens({
    txId: p.txId,
    cardId: p.cardId,
    cardNo: p.cardNo,
    amount: p.amount,
    envelopes,
  });
  if (!a.ok) return { ok: false, code: a.code, step: a.step };
  const markSws: number[] = [];
  if (p.mark ?? true)
    for (const m of a.result.marks) markSws.push((await p.creditApp.markTokenUsed(hexToBytes(m))).sw);
  return { ok: true, result: { ...a.result, envelopes, markSws } };
}
