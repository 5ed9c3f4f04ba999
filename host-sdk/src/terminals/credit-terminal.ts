// CreditTerminal (flows.md 2.1: credit client [125]; seed 000 steps B1-B8). flows.md calls this role
// `CreditClient`; that name is the credit applet's APDU client (applets/credit-client.ts), so the
// terminal is CreditTerminal. The credit key holder authenticates the credit applet through the
// terminal (proving the card carries this user's credit AP), the terminal reads the card's unused
// tokens over that channel (the bank applet's store for `share`, the credit applet's own for
// `transfer` and `direct`), sends one authorization with every envelope, then relays MARK TOKEN USED
// for each reflected token. A refusal at 1009 is returned as it is, and no token is processed.
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import type { ApduClient } from '../apdu/apdu-client';
import { LocalAppletKeys, type RandomBytes } from '../applets/applet-keys';
import { CreditClient, type TokenStoreName } from '../applets/credit-client';
import type { CreditBackend, TokenAuthorization } from '../backend/kinds/credit';
import type { AreaKey, PartyOutcome, Placement } from './atm-terminal';
import { swText } from './events';
import type { TerminalStore } from './terminal-store';

export interface CreditPurchase {
  readonly txId: string;
  /** The card ID the terminal read (GET DATA [306/307]). */
  readonly cardId: string;
  readonly cardNo: string;
  readonly amount: number;
  /** Whether MARK TOKEN USED is sent (false: the marks are lost, flows.md 2.3 B8). */
  readonly mark?: boolean;
}

export type ClientOutcome = TokenAuthorization & {
  readonly envelopes: readonly string[];
  /** The status words of the MARK TOKEN USED commands sent. */
  readonly markSws: readonly number[];
};

export interface CreditTerminalOptions {
  readonly id: string;
  readonly credit: { readonly id: string; readonly api: CreditBackend };
  readonly card: ApduClient;
  readonly creditAid: Uint8Array;
  /** The credit area's key (the credit key holder's side of AUTHENTICATE). */
  readonly areaKey: AreaKey;
  readonly random: RandomBytes;
  /** Where the tokens are: the bank applet's store (`share`) or the credit applet's own. */
  readonly placement: Placement;
  readonly store?: TerminalStore;
}

/** The token store the credit applet reads for a placement (flows.md 2.2). */
export function storeOf(placement: Placement): TokenStoreName {
  return placement === 'share' ? 'shared' : 'own';
}

export class CreditTerminal {
  private readonly app: CreditClient;

  constructor(private readonly o: CreditTerminalOptions) {
    this.app = new CreditClient(o.card, o.creditAid);
  }

  /** B1-B8: one purchase or cash advance with the card's unused tokens. */
  async purchase(p: CreditPurchase): Promise<PartyOutcome<ClientOutcome>> {
    await this.app.select();
    const k = this.o.areaKey;
    const keys = new LocalAppletKeys(k.suite, [{ code: k.code, key: hexToBytes(k.key) }], this.o.random);
    if (!(await this.app.authenticate(keys)).ok)
      return { ok: false, code: 'E_CARD_AUTH_FAILED', step: '1001' };
    const store = storeOf(this.o.placement);
    const l = await this.app.listTokens(store);
    if (!l.ok) return { ok: false, code: `SW ${swText(l.sw)}`, step: '1001' };
    const envelopes: string[] = [];
    for (const t of l.tokens.filter((x) => x.state === 1)) {
      const g = await this.app.getToken(t.slot, store);
      if (g.ok) envelopes.push(bytesToHex(g.envelope));
    }
    const a = await this.o.credit.api.authorizeWithTokens({
      txId: p.txId,
      cardId: p.cardId,
      cardNo: p.cardNo,
      amount: p.amount,
      envelopes,
    });
    this.o.store?.log('B2', this.o.credit.id, `purchase ${p.amount}: ${a.ok ? a.result.result : a.code}`);
    if (!a.ok) return { ok: false, code: a.code, step: a.step };
    const markSws: number[] = [];
    if (p.mark ?? true)
      for (const m of a.result.marks) markSws.push((await this.app.markTokenUsed(hexToBytes(m))).sw);
    return { ok: true, result: { ...a.result, envelopes, markSws } };
  }
}
