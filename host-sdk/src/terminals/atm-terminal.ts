// AtmTerminal (flows.md 2.1: ATM [105]; seed 000 steps A1-A6 and A6′): the user pays credit company C
// into the bank's pool; the bank authenticates the bank applet and reads the account reference (A2,
// before any money moves), books the held row and seals the token (A4-A5), and the token goes onto the
// card by the profile's placement (Fig. 14/15): `share` PUT TOKEN into the bank applet's store,
// `transfer` PUT TOKEN then TRANSFER TOKEN into the credit applet's store, `direct` SELECT credit,
// AUTHENTICATE PK (flows.md 2.5) and PUT TOKEN straight into the credit applet. The ATM relays card
// frames; the bank's key holder side is the area key (3-pass) or the bank back-end's PK-MA identity
// (its certificate and its narrow step-3 signature: the private key never leaves the bank).
//
// A6 recovery: when PUT TOKEN (or TRANSFER TOKEN) fails or gets no answer, the bank runs LIST TOKENS
// in a new session (the transport never re-sends a secure command): the token there → the row is
// committed; otherwise, or when that check gets no answer either, the deposit is reversed with
// E_TOKEN_NOT_STORED (E_TOKEN_SLOTS_FULL when the card answered 6A84).
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import type { ApduClient } from '../apdu/apdu-client';
import { LocalAppletKeys, type RandomBytes } from '../applets/applet-keys';
import { BankClient, type TokenEntry, type TokenResult, type TokenToPut } from '../applets/bank-client';
import { CreditClient } from '../applets/credit-client';
import type { PkBankIdentity, PkTrust } from '../applets/pk-auth';
import type { BankBackend, PkmaIdentity, PoolDeposit } from '../backend/kinds/bank';
import { expectOk } from '../backend/outcome';
import type { Clock } from '../platform/clock';
import { TransportError } from '../transport/transport';
import { swText, type TerminalReporter } from './events';
import type { TerminalStore } from './terminal-store';

/** Where the token goes on the card (flows.md 2.2, Fig. 14 and 15), chosen by the profile. */
export type Placement = 'share' | 'transfer' | 'direct';
export const PLACEMENTS: readonly Placement[] = ['share', 'transfer', 'direct'];

/** An applet area's key as the key holder holds it (3-pass AUTHENTICATE, security.md 6). */
export interface AreaKey {
  readonly suite: string;
  readonly code: number;
  /** hex */
  readonly key: string;
}

/** What a party's flow ends with: its result, or the refusal (a back-end's code, or the card's). */
export type PartyOutcome<T> =
  | { readonly ok: true; readonly result: T }
  | { readonly ok: false; readonly code: string; readonly step: string };

export interface AtmDeposit {
  readonly txId: string;
  /** The card ID the ATM read (GET DATA [306/307]) as the bank's account names it. */
  readonly cardId: string;
  readonly creditCoId: string;
  readonly creditCardNo: string;
  readonly amount: number;
  readonly placement: Placement;
  readonly source?: 'cash' | 'personal';
}

export type AtmOutcome = PartyOutcome<{
  readonly deposit: PoolDeposit;
  /** The slot PUT TOKEN answered, or -1 when the row was committed from LIST TOKENS (A6). */
  readonly slot: number;
  /** True when PUT TOKEN failed or got no answer and LIST TOKENS found the token (A6). */
  readonly recovered: boolean;
}>;

export interface AtmTerminalOptions {
  readonly id: string;
  readonly bank: { readonly id: string; readonly api: BankBackend };
  /** The card, as the ATM's reader reaches it. */
  readonly card: ApduClient;
  readonly bankAid: Uint8Array;
  readonly creditAid: Uint8Array;
  /** The bank area's key (the bank's key holder side of AUTHENTICATE, A2). */
  readonly areaKey: AreaKey;
  readonly random: RandomBytes;
  /** For the credit-AP certificate's validity (the card has no clock; the back-ends check it). */
  readonly clock: Clock;
  /**
   * How the reader learns the card's IDm (AUTHENTICATE PK's cardId, 8 bytes), e.g. FeliCa Polling at
   * activation. Default: PC/SC GET DATA FF CA 00 00 when it answers 8 bytes (a card with an ISO 14443
   * identity answers its UID there instead, so give this).
   */
  readonly idm?: () => Promise<Uint8Array>;
  readonly store?: TerminalStore;
  readonly report?: TerminalReporter;
}

type Put = TokenResult<{ readonly slot: number }> | { readonly ok: false; readonly sw: 'no answer' };

export class AtmTerminal {
  private readonly bankApp: BankClient;
  private readonly creditApp: CreditClient;

  constructor(private readonly o: AtmTerminalOptions) {
    this.bankApp = new BankClient(o.card, o.bankAid);
    this.creditApp = new CreditClient(o.card, o.creditAid);
  }

  /** A1-A6 (A6′ for `direct`): one deposit, ending committed, refused, or reversed. */
  async deposit(d: AtmDeposit): Promise<AtmOutcome> {
    const bank = this.o.bank.api;
    if (!(await this.openBankApplet())) return this.refuse('E_CARD_AUTH_FAILED', '705');
    const acct = await this.bankApp.readAccount();
    if (!acct.ok) return this.refuse('E_CARD_AUTH_FAILED', '705');
    // `direct` needs what credit handed over at 1501; missing, nothing moves (no contract at all is
    // depositToPool's 702, below).
    let pk: PkmaIdentity | undefined;
    if (d.placement === 'direct') {
      const id = await bank.pkmaIdentity({ creditCoId: d.creditCoId });
      if (id.ok) pk = id.result;
      else if (id.code !== 'E_NO_CONTRACT') return this.refuse(id.code, id.step);
    }
    const r = await bank.depositToPool({
      txId: d.txId,
      userId: acct.account.userId,
      card: { accountNo: acct.account.accountNo, cardId: d.cardId },
      creditCoId: d.creditCoId,
      creditCardNo: d.creditCardNo,
      amount: d.amount,
      source: d.source ?? 'cash',
    });
    if (!r.ok) return this.refuse(r.code, r.step);
    const dep = r.result;
    const token: TokenToPut = {
      today: dep.today,
      tokenId: hexToBytes(dep.row.tokenId),
      creditCompanyId: new TextEncoder().encode(d.creditCoId),
      effectiveUntil: dep.effectiveUntil,
      envelope: hexToBytes(dep.envelope),
    };
    const stored = { inBank: false };
    const put = await this.put(d, token, stored, pk);
    await this.note('A6', `${d.placement}: the token`, 'PUT TOKEN', put.ok ? '9000' : sw(put.sw));
    if (put.ok) {
      expectOk(await bank.commitDeposit({ txId: d.txId }));
      return { ok: true, result: { deposit: dep, slot: put.slot, recovered: false } };
    }
    // A6: failure or no answer → LIST TOKENS in a new session.
    const found = await this.listed(d, dep.row.tokenId, stored.inBank, pk);
    const seen = found === undefined ? 'no answer' : found ? 'the token is there' : 'the token is not there';
    await this.note('A6', `check after PUT TOKEN: ${seen}`, 'LIST TOKENS', seen);
    if (found) {
      expectOk(await bank.commitDeposit({ txId: d.txId }));
      return { ok: true, result: { deposit: dep, slot: -1, recovered: true } };
    }
    const code = put.sw === 0x6a84 ? 'E_TOKEN_SLOTS_FULL' : 'E_TOKEN_NOT_STORED';
    expectOk(await bank.reverseDeposit({ txId: d.txId, code }));
    return this.refuse(code, '705');
  }

  private async openBankApplet(): Promise<boolean> {
    await this.bankApp.select();
    const k = this.o.areaKey;
    const keys = new LocalAppletKeys(k.suite, [{ code: k.code, key: hexToBytes(k.key) }], this.o.random);
    return (await this.bankApp.authenticate(keys)).ok;
  }

  /** A6′: SELECT credit, AUTHENTICATE PK with the bank's identity for C. */
  private async openCreditApplet(id: PkmaIdentity | undefined): Promise<boolean> {
    if (!id) return false;
    const bank = this.o.bank.api;
    const creditCoId = id.creditCoId;
    const identity: PkBankIdentity = {
      certificate: hexToBytes(id.certificate),
      sign: async (message) =>
        hexToBytes(expectOk(await bank.pkmaSign({ creditCoId, message: bytesToHex(message) })).signature),
    };
    const trust: PkTrust = {
      issuerId: id.issuerId,
      publicKey: hexToBytes(id.certificationKey),
      now: Math.floor(this.o.clock.now() / 1000),
    };
    const idm = await this.idm();
    if (idm === undefined) return false;
    await this.creditApp.select();
    const r = await this.creditApp.authenticatePk(identity, trust, idm, this.o.random);
    if (!r.ok)
      await this.note(
        'A6′',
        `refused: ${r.reason}`,
        'AUTHENTICATE PK',
        r.sw === undefined ? '—' : swText(r.sw),
      );
    return r.ok;
  }

  /** PUT TOKEN by placement; a lost answer (TransportError) is 'no answer'. */
  private async put(
    d: AtmDeposit,
    token: TokenToPut,
    stored: { inBank: boolean },
    pk: PkmaIdentity | undefined,
  ): Promise<Put> {
    try {
      if (d.placement === 'direct') {
        if (!(await this.openCreditApplet(pk))) return { ok: false, sw: 0x6982 };
        return await this.creditApp.putToken(token);
      }
      const put = await this.bankApp.putToken(token);
      stored.inBank = put.ok;
      if (!put.ok || d.placement === 'share') return put;
      const moved = await this.bankApp.transferToken(put.slot);
      return moved.ok ? { ok: true, slot: moved.creditSlot } : moved;
    } catch (e) {
      if (e instanceof TransportError) return { ok: false, sw: 'no answer' };
      throw e;
    }
  }

  /**
   * A6's check: whether the token is where the placement puts it, read with LIST TOKENS in a new
   * session; undefined when the check itself gets no answer or no session. For `transfer` a token
   * still in the bank applet's store is passed on once more (the pass is journaled: never in two places).
   */
  private async listed(
    d: AtmDeposit,
    tokenId: string,
    putInBank: boolean,
    pk: PkmaIdentity | undefined,
  ): Promise<boolean | undefined> {
    const has = (l: TokenResult<{ readonly tokens: TokenEntry[] }>): boolean | undefined =>
      l.ok ? l.tokens.some((t) => bytesToHex(t.tokenId) === tokenId) : undefined;
    try {
      if (d.placement === 'direct') {
        if (!(await this.openCreditApplet(pk))) return undefined;
        return has(await this.creditApp.listTokens('own'));
      }
      if (!(await this.openBankApplet())) return undefined;
      const l = await this.bankApp.listTokens();
      const inBank = has(l);
      if (d.placement === 'share' || inBank === undefined) return inBank;
      // PUT TOKEN answered 9000 and the token left the bank store: the journaled pass took it on
      if (!inBank) return putInBank;
      const slot = l.ok ? l.tokens.find((t) => bytesToHex(t.tokenId) === tokenId)!.slot : -1;
      return (await this.bankApp.transferToken(slot)).ok;
    } catch (e) {
      if (e instanceof TransportError) return undefined;
      throw e;
    }
  }

  private async idm(): Promise<Uint8Array | undefined> {
    if (this.o.idm) return this.o.idm();
    const uid = await this.o.card.getUid();
    return uid.ok && uid.data.length === 8 ? uid.data : undefined;
  }

  private refuse(code: string, step: string): AtmOutcome {
    return { ok: false, code, step };
  }

  private async note(step: string, summary: string, command: string, status: string): Promise<void> {
    this.o.store?.log(step, this.o.bank.id, summary, `${command} → ${status}`);
    await this.o.report?.({ step, from: this.o.id, to: this.o.bank.id, summary, card: { command, status } });
  }
}

const sw = (s: number | 'no answer'): string => (s === 'no answer' ? s : swText(s));
