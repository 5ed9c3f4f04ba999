// Back-end result codes (flows.md 1.6 and the per-seed error tables), declared once. An E_* result
// guarantees that no money moved and no card value was written; every result names its patent step.

export const RESULT_CODES = [
  // platform (flows.md 1.2, 1.4)
  'E_TXID_CONFLICT',
  'E_UNAUTHORIZED',
  'E_NOT_READY',
  'E_KEY_ON_INTERNET',
  // seed 000 (flows.md 2.4)
  'E_NO_CONTRACT',
  'E_NO_KEYS',
  'E_BANK_AP_ABSENT',
  'E_WRONG_CARD',
  'E_CARD_AUTH_FAILED',
  'E_INSUFFICIENT_FUNDS',
  'E_TOKEN_SLOTS_FULL',
  'E_TOKEN_NOT_STORED',
  'E_POOL_NOT_WITHDRAWABLE',
  'E_CARD_LOST',
  'E_CARD_EXPIRED',
  'E_OVER_LIMIT',
  'E_CANNOT_DEDUCT',
  // seed 001 (flows.md 3.2)
  'E_PIN_NOT_VERIFIED',
  'E_UNKNOWN_CARD',
  'E_CARD_INVALID',
  'E_OVER_QUOTA',
  'E_EMONEY_UNKNOWN',
  'E_BAD_PASSWORD',
  'E_NOTHING_PENDING',
  'E_CARD_REFUSED',
  'E_INSUFFICIENT_VALUE',
  // seed 002 (flows.md 4.2)
  'E_SIG1_INVALID',
  'E_SIG2_INVALID',
  'E_SIG5_INVALID',
  // project-defined for seed 002: the ACN's SIG3 or the receipt's SIG4 does not verify at the client
  'E_SIG3_INVALID',
  'E_SIG4_INVALID',
  'E_BILL_EXPIRED',
  'E_ORDER_DUPLICATE',
  'E_INSUFFICIENT',
  'E_AMOUNT_MISMATCH',
  'E_PCN_MISMATCH',
  'E_OVER_MAX_BALANCE',
  'E_CREDIT_DECLINED',
  // seed 003 (flows.md 5.3)
  'E_AUTH_FAILED',
  'E_NODE_ABSENT',
  'E_NO_KEY',
  'E_FUNDING_REFUSED',
  'E_CASH_MISMATCH',
  'E_SALES_NOT_APPROVED',
  'E_OVER_MAX',
  'E_NO_ISSUER_PERMISSION',
  'E_NO_AGREEMENT',
  'E_KEYS_NEVER_TO_CYBERSHOP',
  // seed 004 (flows.md 6.2)
  'E_FUNDS',
  // project-defined (decisions in host-sdk/README.md): a request naming a record that does not exist,
  // or a state transition the record is not in a state for
  'E_NOT_FOUND',
  'E_BAD_STATE',
  'E_DUPLICATE',
] as const;

export type ResultCode = (typeof RESULT_CODES)[number];

const KNOWN: ReadonlySet<string> = new Set(RESULT_CODES);

export function isResultCode(value: unknown): value is ResultCode {
  return typeof value === 'string' && KNOWN.has(value);
}
