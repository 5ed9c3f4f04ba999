// The `credit` back-end's API (flows.md 1.2 one schema for all seeds): the request schemas, the
// answers and the CreditBackend interface peers and clients see. The instance is SqliteCredit
// (./credit.ts), built in layers: ./credit-core.ts (seed 001: card accounts, VALUE purchases, the
// cutoff), ./credit-tokens.ts (seed 000: key exchange, tokens, reflections, closing, 1103) and
// ./credit.ts (seed 002: the card-not-present permission device).
import type { Outcome } from '../outcome';
import { bool, hex, int, list, object, oneOf, optional, str, txId, amount, type Infer } from '../schema';
import type { Backend } from '../backend';
import type { PkmaAnchor } from './pkma';
import type { CardNotPresentResult } from './credit-permission';

const cardNo = str({ max: 19, pattern: /^\d+$/, describe: 'a credit card number (digits)' });
const peerId = str({ max: 64, pattern: /^[\w.-]+$/, describe: 'a back-end id' });
const terminalId = str({ max: 64 });

export const CREDIT_API = {
  auditView: object({}),
  openCardAccount: object({
    cardNo,
    userId: str({ max: 64 }),
    name: str({ max: 128 }),
    billingBankId: peerId,
    billingAccountNo: str({ max: 32 }),
    /** Last valid day, days since 2000-01-01 JST. */
    cardExpiry: int(0, 0xffff),
    limit: int(0, 0xffffffff),
    /** Written at issuance as a salted PBKDF2 hash (Fig. 4A) and never read online. */
    pin: optional(str({ min: 4, max: 12, pattern: /^\d+$/, describe: '4-12 PIN digits' })),
  }),
  setLost: object({ cardNo, lost: bool }),
  linkEmoney: object({ cardNo, emoneyNo: str({ max: 32, pattern: /^\d+$/ }) }),
  /** The credit applet's per-card key (the area key the card MACs the PIN proof with), wrapped at rest. */
  registerCardKey: object({
    cardNo,
    suite: oneOf(['des', '2k3des', '3k3des', 'aes128'] as const),
    key: hex(),
  }),
  account: object({ cardNo }),
  beginPurchase: object({ terminalId }),
  purchaseValue: object({
    txId,
    terminalId,
    creditCardNo: cardNo,
    emoneyNo: optional(str({ max: 32, pattern: /^\d+$/ })),
    amount,
    /** The e-money back-end that prepares the charge. */
    emoneyId: peerId,
    auth: object({
      result: optional(oneOf(['verified', 'failed'] as const)),
      nonce: optional(hex(8)),
      mac: optional(hex(8)),
    }),
  }),
  billing: object({ cardNo }),
  runCutoff: object({
    cycle: str({ min: 7, max: 7, pattern: /^\d{4}-\d{2}$/, describe: 'a cycle YYYY-MM' }),
  }),
  /** Seed 002 credit permission device [35] (./credit-permission.ts). */
  authorizeCardNotPresent: object({
    txId,
    cardNo,
    expiry: int(0, 0xffff),
    pin: str({ min: 4, max: 12, pattern: /^\d+$/, describe: '4-12 PIN digits' }),
    amount,
    merchantId: peerId,
  }),
  captureCardNotPresent: object({ txId, merchantId: peerId }),
  reverseCardNotPresent: object({ txId }),
  // ---- seed 000 (flows.md 2): key exchange, token verification, reflections, statements, 1103
  /** The credit X25519 decryption key of a bank's key set (created once); answers its public key. */
  contractKey: object({
    bankId: peerId,
    keyId: hex(8),
    keyMode: optional(oneOf(['ca', 'contract'] as const)),
  }),
  exchangeKeys: object({
    bankId: peerId,
    keyMode: oneOf(['ca', 'contract', 'common'] as const),
    keyId: hex(8),
    bankKey: optional(hex(32)),
    certificate: optional(hex(155)),
    root: optional(hex(155)),
    commonKey: optional(hex(32)),
  }),
  /** B2-B7: one request with the card's tokens. */
  authorizeWithTokens: object({
    txId,
    cardId: str({ max: 64 }),
    cardNo,
    amount,
    envelopes: list(hex(), 8),
  }),
  reflections: object({ cardNo }),
  /** C1: closing (the 15th): unbilled becomes billed; the statement goes to the bank. */
  closeCycle: object({ bankId: peerId, cycleId: str({ min: 7, max: 7, pattern: /^\d{4}-\d{2}$/ }) }),
  /** C4 → 1102, 1103: the bank's batch transfer and its detail rows. */
  receiveDeduction: object({
    txId,
    bankId: peerId,
    cycleId: str({ min: 7, max: 7, pattern: /^\d{4}-\d{2}$/ }),
    total: int(0, 0xffffffff),
    rows: list(
      object({
        userId: str({ max: 16 }),
        fromPool: int(0, 0xffffffff),
        fromPersonal: int(0, 0xffffffff),
        tokens: list(
          object({
            tokenId: hex(16),
            deposit: int(0, 0xffffffff),
            drawn: int(0, 0xffffffff),
            carried: int(0, 0xffffffff),
          }),
        ),
      }),
    ),
    notices: list(object({ userId: str({ max: 16 }), shortfall: int(0, 0xffffffff) })),
  }),
  /** 1103's exception rows (reflections made invalid), oldest first. */
  exceptions: object({ cycleId: optional(str({ min: 7, max: 7, pattern: /^\d{4}-\d{2}$/ })) }),
  // ---- `direct` (flows.md 2.2, 2.5 AUTHENTICATE PK; backend/kinds/pkma.ts)
  /** The card trust anchor: issuerId and the PK-MA certification key (created once). */
  pkmaAnchor: object({}),
  /** Personalisation: the credit-AP certificate of a card's Ed25519 key (subject = IDm, 16 hex). */
  certifyCard: object({ cardId: hex(8), publicKey: hex(32) }),
  /** 1501: the bank certificate (role bank) for a contracted bank's PK-MA key, with the anchor. */
  certifyBank: object({ bankId: str({ max: 24, pattern: /^[\w.-]+$/ }), publicKey: hex(32) }),
} as const;

export type CreditRequest<M extends keyof typeof CREDIT_API> = Infer<(typeof CREDIT_API)[M]>;

export interface CardAccountView {
  readonly cardNo: string;
  readonly userId: string;
  readonly name: string;
  readonly billingBankId: string;
  readonly billingAccountNo: string;
  readonly cardExpiry: number;
  readonly lost: boolean;
  readonly limit: number;
  readonly liabilityBilled: number;
  readonly liabilityUnbilled: number;
  readonly overdue: number;
  readonly emoneyNo: string | null;
  readonly available: number;
}

export interface BillingRow {
  readonly txId: string;
  readonly cardNo: string;
  readonly amount: number;
  readonly terminalId: string;
  readonly at: number;
  readonly cycle: string;
  readonly reversedBy: string | null;
}

export interface CutoffRow {
  readonly cycle: string;
  readonly cardNo: string;
  readonly total: number;
  readonly bankTxId: string;
  readonly result: string;
}

export interface CreditBackend extends Backend {
  openCardAccount(r: CreditRequest<'openCardAccount'>): Promise<Outcome<CardAccountView>>;
  setLost(r: CreditRequest<'setLost'>): Promise<Outcome<CardAccountView>>;
  linkEmoney(r: CreditRequest<'linkEmoney'>): Promise<Outcome<CardAccountView>>;
  registerCardKey(r: CreditRequest<'registerCardKey'>): Promise<Outcome<{ readonly cardNo: string }>>;
  account(r: CreditRequest<'account'>): Promise<Outcome<CardAccountView>>;
  beginPurchase(
    r: CreditRequest<'beginPurchase'>,
  ): Promise<Outcome<{ readonly nonce: string; readonly expiresAt: number }>>;
  purchaseValue(r: CreditRequest<'purchaseValue'>): Promise<Outcome<BillingRow>>;
  billing(r: CreditRequest<'billing'>): Promise<Outcome<readonly BillingRow[]>>;
  runCutoff(r: CreditRequest<'runCutoff'>): Promise<Outcome<readonly CutoffRow[]>>;
  authorizeCardNotPresent(
    r: CreditRequest<'authorizeCardNotPresent'>,
  ): Promise<Outcome<CardNotPresentResult>>;
  captureCardNotPresent(r: CreditRequest<'captureCardNotPresent'>): Promise<Outcome<CardNotPresentResult>>;
  reverseCardNotPresent(r: CreditRequest<'reverseCardNotPresent'>): Promise<Outcome<CardNotPresentResult>>;
  contractKey(r: CreditRequest<'contractKey'>): Promise<Outcome<{ readonly publicKey: string }>>;
  exchangeKeys(r: CreditRequest<'exchangeKeys'>): Promise<Outcome<{ readonly bankId: string }>>;
  authorizeWithTokens(r: CreditRequest<'authorizeWithTokens'>): Promise<Outcome<TokenAuthorization>>;
  reflections(r: CreditRequest<'reflections'>): Promise<Outcome<readonly Reflection[]>>;
  closeCycle(r: CreditRequest<'closeCycle'>): Promise<Outcome<readonly StatementRow[]>>;
  receiveDeduction(r: CreditRequest<'receiveDeduction'>): Promise<Outcome<Reconciliation>>;
  exceptions(r: CreditRequest<'exceptions'>): Promise<Outcome<readonly ExceptionRow[]>>;
  pkmaAnchor(r: CreditRequest<'pkmaAnchor'>): Promise<Outcome<PkmaAnchor>>;
  certifyCard(r: CreditRequest<'certifyCard'>): Promise<Outcome<{ readonly certificate: string }>>;
  certifyBank(
    r: CreditRequest<'certifyBank'>,
  ): Promise<Outcome<PkmaAnchor & { readonly certificate: string }>>;
}

/** One row of 1103's exceptions [1103]: a reflection the bank's batch did not confirm. */
export interface ExceptionRow {
  readonly cycleId: string;
  readonly reflectionId: string;
  readonly reason: string;
}

export type TokenStatus =
  | 'ABSENT'
  | 'INVALID_SEAL'
  | 'EXPIRED'
  | 'ALREADY_USED'
  | 'USER_MISMATCH'
  | 'WRONG_COMPANY'
  | 'BINDING_MISMATCH'
  | 'REFLECTED';

/** B7/B8's answer: approved at 1008 or refused at 1010 (reflections stay either way). */
export interface TokenAuthorization {
  readonly txId: string;
  readonly result: 'OK_AVAILABLE' | 'E_OVER_LIMIT';
  readonly step: '1008' | '1010';
  readonly available: number;
  readonly tokens: readonly { readonly tokenId: string | null; readonly status: TokenStatus }[];
  /** Token IDs to mark used on the card (MARK TOKEN USED). */
  readonly marks: readonly string[];
}

export interface Reflection {
  readonly reflectionId: string;
  readonly tokenId: string;
  readonly bankId: string;
  readonly amount: number;
  readonly validUntil: number;
  readonly status: 'active' | 'confirmed' | 'invalid';
}

export interface StatementRow {
  readonly userId: string;
  readonly bankAccountNo: string;
  readonly billed: number;
}

export interface Reconciliation {
  readonly txId: string;
  readonly confirmed: readonly string[];
  readonly invalid: readonly string[];
  readonly carried: readonly string[];
  readonly overdue: readonly string[];
}

declare module '../backend' {
  interface KindInterfaces {
    credit: CreditBackend;
  }
}
