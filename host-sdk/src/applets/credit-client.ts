// The credit applet's client (seeds 000, 001): card data, VERIFY and its MAC'd proof, tokens, the on-card key pair,
// PUT CERTIFICATE and AUTHENTICATE PK (pk-auth.ts).
import { PIN_COMMANDS, pinBlock } from '@mica/apdu-specs/apdu/applet-commands';
import { concatBytes } from '@mica/apdu-specs/hex';
import { BANK_CREDIT, cardDataRecord } from '@mica/apdu-specs/apdu/bank-credit';
import type { ApduClient } from '../apdu/apdu-client';
import type { ApduResponse } from '../apdu/apdu-response';
import type { AppletAuthResult, LocalAppletKeys, RandomBytes } from './applet-keys';
import { authenticatePk, type PkAuthResult, type PkBankIdentity, type PkTrust } from './pk-auth';
import { TokenCommands, refused, type TokenEntry, type TokenResult, type TokenToPut } from './bank-client';

export interface CardData {
  /** The digits of the card number (F fill removed). */
  readonly cardNo: string;
  /** YYMM. */
  readonly expiry: string;
  readonly holder: string;
}

export type TokenStoreName = 'own' | 'shared';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function storeP2(store: TokenStoreName): number {
  return store === 'own' ? BANK_CREDIT.storeOwn : BANK_CREDIT.storeShared;
}

export function parseCardData(data: Uint8Array): CardData {
  const d = cardDataRecord.decode(data);
  const end = d.holder.indexOf(0);
  return {
    cardNo: hex(d.cardNo).replace(/f+$/, ''),
    expiry: hex(d.expiry),
    holder: new TextDecoder().decode(end < 0 ? d.holder : d.holder.subarray(0, end)),
  };
}

export class CreditClient {
  private sm: ApduClient | undefined;
  private readonly tokens = new TokenCommands(() => this.secure());

  constructor(
    private readonly client: ApduClient,
    readonly aid: Uint8Array,
  ) {}

  select(): Promise<ApduResponse> {
    this.sm = undefined;
    return this.client.select(this.aid);
  }

  async authenticate(keys: LocalAppletKeys): Promise<AppletAuthResult> {
    this.sm = undefined;
    const r = await keys.authenticate(this.client);
    if (r.ok) this.sm = r.client;
    return r;
  }

  /**
   * AUTHENTICATE PK (flows.md 2.5, seed 000 `direct`): checks the card's credit-AP certificate and
   * signature, signs step 2 with the bank key; on success putToken and listTokens('own') run under the
   * PK session (the only commands it allows).
   */
  async authenticatePk(
    bank: PkBankIdentity,
    trust: PkTrust,
    cardId: Uint8Array,
    random: RandomBytes,
  ): Promise<PkAuthResult> {
    this.sm = undefined;
    const r = await authenticatePk(this.client, bank, trust, cardId, random);
    if (r.result.ok && r.client) this.sm = r.client;
    return r.result;
  }

  /** PUT CERTIFICATE (under AUTHENTICATE): the card's 155-byte credit-AP certificate, checked by the card. */
  async putCertificate(certificate: Uint8Array): Promise<{ readonly ok: boolean; readonly sw: number }> {
    if (!(certificate instanceof Uint8Array) || certificate.length !== 155)
      throw new RangeError('certificate must be 155 bytes');
    const r = await this.secure().send({
      cla: BANK_CREDIT.cla,
      ins: BANK_CREDIT.putCertificate,
      p1: 0,
      p2: 0,
      data: certificate,
      name: 'PUT CERTIFICATE',
    });
    return { ok: r.sw === 0x9000, sw: r.sw };
  }

  private secure(): ApduClient {
    if (!this.sm?.secureMessagingActive) throw new Error('no secure messaging session: AUTHENTICATE first');
    return this.sm;
  }

  /** READ BINARY: card number, expiry and holder (plain after SELECT; under SM when a session is open). */
  async readCardData(): Promise<TokenResult<{ readonly card: CardData }>> {
    const c = this.sm?.secureMessagingActive ? this.sm : this.client;
    const r = await c.send({ cla: 0x00, ins: BANK_CREDIT.readBinary, p1: 0, p2: 0, ne: 256 });
    return r.ok && r.data.length === cardDataRecord.span
      ? { ok: true, card: parseCardData(r.data) }
      : refused(r);
  }

  /** VERIFY with a format-2 block of `digits` (in clear on the card link only): 9000, 63Cx or 6983. */
  verify(digits: string): Promise<ApduResponse> {
    return this.pinCommand(PIN_COMMANDS.verify, 0, pinBlock(digits), 'VERIFY');
  }

  /** CHANGE REFERENCE DATA: the current PIN, then the new one; the PIN then counts as verified. */
  changePin(current: string, next: string): Promise<ApduResponse> {
    return this.pinCommand(
      PIN_COMMANDS.changeReferenceData,
      0,
      concatBytes(pinBlock(current), pinBlock(next)),
      'CHANGE REFERENCE DATA',
    );
  }

  /** RESET RETRY COUNTER with the unblocking code, and a new PIN (P1 00) or none (P1 01). */
  resetRetryCounter(unblock: string, next?: string): Promise<ApduResponse> {
    const data = next === undefined ? pinBlock(unblock) : concatBytes(pinBlock(unblock), pinBlock(next));
    return this.pinCommand(
      PIN_COMMANDS.resetRetryCounter,
      next === undefined ? 1 : 0,
      data,
      'RESET RETRY COUNTER',
    );
  }

  private pinCommand(ins: number, p1: number, data: Uint8Array, name: string): Promise<ApduResponse> {
    return this.client.send({ cla: 0x00, ins, p1, p2: PIN_COMMANDS.localPin, data, name });
  }

  /** INTERNAL AUTHENTICATE: the card's 8-byte MAC over nonce ‖ amount ‖ cardNo ‖ 01 (one per VERIFY). */
  async pinProof(nonce: Uint8Array, amount: number): Promise<TokenResult<{ readonly mac: Uint8Array }>> {
    if (!(nonce instanceof Uint8Array) || nonce.length !== 8) throw new RangeError('nonce must be 8 bytes');
    if (!Number.isInteger(amount) || amount < 0 || amount > 0xffffffff)
      throw new RangeError('amount must be a u32');
    const data = new Uint8Array(12);
    data.set(nonce);
    new DataView(data.buffer).setUint32(8, amount);
    const r = await this.client.send({
      cla: 0x00,
      ins: BANK_CREDIT.internalAuthenticate,
      p1: 0,
      p2: 0,
      data,
      ne: 256,
    });
    return r.ok && r.data.length === 8 ? { ok: true, mac: r.data } : refused(r);
  }

  /** PUT TOKEN into the credit applet's own store (the direct method). */
  putToken(t: TokenToPut): Promise<TokenResult<{ readonly slot: number }>> {
    return this.tokens.put(t);
  }

  listTokens(store: TokenStoreName = 'own'): Promise<TokenResult<{ readonly tokens: TokenEntry[] }>> {
    return this.tokens.list(storeP2(store));
  }

  getToken(
    slot: number,
    store: TokenStoreName = 'own',
  ): Promise<TokenResult<{ readonly envelope: Uint8Array }>> {
    return this.tokens.get(slot, storeP2(store));
  }

  async markTokenUsed(tokenId: Uint8Array): Promise<ApduResponse> {
    if (!(tokenId instanceof Uint8Array) || tokenId.length !== 16)
      throw new RangeError('tokenId must be 16 bytes');
    return this.secure().send({
      cla: BANK_CREDIT.cla,
      ins: BANK_CREDIT.markTokenUsed,
      p1: 0,
      p2: 0,
      data: tokenId,
    });
  }

  /** GENERATE KEY PAIR: the public keys (the private keys stay on the card). */
  async generateKeyPair(): Promise<
    TokenResult<{ readonly ed25519: Uint8Array; readonly x25519: Uint8Array }>
  > {
    const r = await this.secure().send({
      cla: BANK_CREDIT.cla,
      ins: BANK_CREDIT.generateKeyPair,
      p1: 0,
      p2: 0,
      ne: 256,
    });
    return r.ok && r.data.length === 64
      ? { ok: true, ed25519: r.data.slice(0, 32), x25519: r.data.slice(32) }
      : refused(r);
  }

  async sign(message: Uint8Array): Promise<TokenResult<{ readonly signature: Uint8Array }>> {
    const { p1, p2 } = BANK_CREDIT.sign;
    const r = await this.secure().send({
      cla: BANK_CREDIT.cla,
      ins: BANK_CREDIT.pso,
      p1,
      p2,
      data: message,
      ne: 256,
    });
    return r.ok && r.data.length === 64 ? { ok: true, signature: r.data } : refused(r);
  }

  /** DECRYPT: opens ephPub ‖ ciphertext ‖ tag sealed to the card's X25519 key under `context`. */
  async decrypt(
    context: Uint8Array,
    sealed: Uint8Array,
  ): Promise<TokenResult<{ readonly plaintext: Uint8Array }>> {
    if (context.length > 255) throw new RangeError('context must be at most 255 bytes');
    const data = new Uint8Array(1 + context.length + sealed.length);
    data[0] = context.length;
    data.set(context, 1);
    data.set(sealed, 1 + context.length);
    const { p1, p2 } = BANK_CREDIT.decrypt;
    const r = await this.secure().send({ cla: BANK_CREDIT.cla, ins: BANK_CREDIT.pso, p1, p2, data, ne: 256 });
    return r.ok ? { ok: true, plaintext: r.data } : refused(r);
  }
}
