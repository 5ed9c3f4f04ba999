// The credit permission device [35] of seed 002 (flows.md 4.1, 4.2 row 20) on the `credit` back-end:
// a card-not-present authorization of {card no., expiry, PIN, amount} for a merchant (the SMD). The
// PIN is checked against the account's PBKDF2 hash and never stored; the authorization is recorded
// in `authorizations` with the card number masked, approved or declined with its reason. Approval
// moves no money: the merchant captures once the card applied the top-up (receivable:<card> →
// clearing:<merchant>, unbilled liability +amount), or reverses it when the card log shows it never
// was applied.
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { constantTimeEqual } from '@mica/apdu-specs/crypto/compare';
import { jstDay } from '../../platform/clock';
import { post } from '../ledger';
import { refuse } from '../outcome';
import type { Db } from '../store';

export interface CardNotPresentRequest {
  readonly txId: string;
  readonly cardNo: string;
  /** Last valid day as the user entered it (days since 2000-01-01 JST). */
  readonly expiry: number;
  readonly pin: string;
  readonly amount: number;
  readonly merchantId: string;
}

export interface CardNotPresentResult {
  readonly txId: string;
  readonly maskedCardNo: string;
  readonly amount: number;
  readonly approved: boolean;
  readonly reason: string | null;
}

const PBKDF2_ROUNDS = 1000;

export function maskCardNo(no: string): string {
  return `${'*'.repeat(Math.max(0, no.length - 4))}${no.slice(-4)}`;
}

interface Account {
  account: number;
  cardExpiry: number;
  lost: number;
  limit: number;
  liabilityBilled: number;
  liabilityUnbilled: number;
  pinSalt: Uint8Array | null;
  pinHash: Uint8Array | null;
}

/** Decides and records one authorization (inside the caller's transaction). */
export function authorizeCardNotPresent(db: Db, r: CardNotPresentRequest, now: number): CardNotPresentResult {
  const a = db
    .prepare(
      'SELECT rowid AS account, cardExpiry, lost, "limit" AS "limit", liabilityBilled, liabilityUnbilled, pinSalt, pinHash FROM card_accounts WHERE cardNo = ?',
    )
    .get(r.cardNo) as Account | undefined;
  const pending = (
    db
      .prepare(
        "SELECT COALESCE(SUM(amount), 0) AS s FROM authorizations WHERE cardNo = ? AND result = 'approved'",
      )
      .get(maskCardNo(r.cardNo)) as { s: number }
  ).s;
  let reason: string | null = null;
  if (!a) reason = 'unknown card';
  else if (a.lost) reason = 'card reported lost';
  else if (r.expiry !== a.cardExpiry || a.cardExpiry < jstDay(now)) reason = 'expired or wrong expiry';
  else if (!a.pinSalt || !a.pinHash) reason = 'no PIN on file';
  else if (
    !constantTimeEqual(
      pbkdf2(sha256, utf8ToBytes(r.pin), new Uint8Array(a.pinSalt), { c: PBKDF2_ROUNDS, dkLen: 32 }),
      new Uint8Array(a.pinHash),
    )
  )
    reason = 'bad PIN';
  else if (r.amount > a.limit - a.liabilityBilled - a.liabilityUnbilled - pending) reason = 'over limit';
  db.prepare(
    'INSERT INTO authorizations (txId, cardNo, expiry, amount, result, reason, tokenStatuses) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ).run(
    r.txId,
    maskCardNo(r.cardNo),
    r.expiry,
    r.amount,
    reason ? 'declined' : 'approved',
    reason,
    // The card number is stored masked; the account is linked by its row, never by the clear number.
    JSON.stringify({ merchantId: r.merchantId, account: a?.account ?? null }),
  );
  return {
    txId: r.txId,
    maskedCardNo: maskCardNo(r.cardNo),
    amount: r.amount,
    approved: reason === null,
    reason,
  };
}

interface AuthorizationRow {
  txId: string;
  amount: number;
  result: string;
  tokenStatuses: string;
}

function row(db: Db, txId: string, step: string): AuthorizationRow & { merchantId: string; cardNo: string } {
  const r = db
    .prepare('SELECT txId, amount, result, tokenStatuses FROM authorizations WHERE txId = ?')
    .get(txId) as AuthorizationRow | undefined;
  if (!r) refuse('E_NOT_FOUND', step, `no authorization ${txId}`);
  const extra = JSON.parse(r.tokenStatuses) as { merchantId: string; account: number | null };
  const card = db.prepare('SELECT cardNo FROM card_accounts WHERE rowid = ?').get(extra.account) as
    { cardNo: string } | undefined;
  return { ...r, merchantId: extra.merchantId, cardNo: card?.cardNo ?? '' };
}

/** The merchant reports the card applied the top-up: the card is charged. */
export function captureCardNotPresent(
  db: Db,
  txId: string,
  merchantId: string,
  now: number,
): CardNotPresentResult {
  const a = row(db, txId, '(7)');
  if (a.merchantId !== merchantId)
    refuse('E_BAD_STATE', '(7)', `authorization ${txId} is for ${a.merchantId}`);
  // A retried capture answers the same and books nothing again (the authorization's txId is taken).
  if (a.result === 'captured')
    return { txId, maskedCardNo: maskCardNo(a.cardNo), amount: a.amount, approved: true, reason: null };
  if (a.result !== 'approved') refuse('E_BAD_STATE', '(7)', `authorization ${txId} is ${a.result}`);
  post(
    db,
    txId,
    [
      [`asset:receivable:${a.cardNo}`, a.amount],
      [`clearing:${merchantId}`, -a.amount],
    ],
    now,
  );
  db.prepare('UPDATE card_accounts SET liabilityUnbilled = liabilityUnbilled + ? WHERE cardNo = ?').run(
    a.amount,
    a.cardNo,
  );
  db.prepare("UPDATE authorizations SET result = 'captured' WHERE txId = ?").run(txId);
  return { txId, maskedCardNo: maskCardNo(a.cardNo), amount: a.amount, approved: true, reason: null };
}

/** The top-up never reached the card: the approval lapses (nothing was charged). */
export function reverseCardNotPresent(db: Db, txId: string): CardNotPresentResult {
  const a = row(db, txId, '(9)');
  if (a.result === 'captured') refuse('E_BAD_STATE', '(9)', `authorization ${txId} is captured already`);
  if (a.result === 'approved')
    db.prepare("UPDATE authorizations SET result = 'reversed' WHERE txId = ?").run(txId);
  return { txId, maskedCardNo: maskCardNo(a.cardNo), amount: a.amount, approved: false, reason: 'reversed' };
}
