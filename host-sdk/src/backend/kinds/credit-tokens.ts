// The `credit` back-end's seed 000 (flows.md 2): the key exchange with the banks (2.1), token
// verification and reflections (2.3 B2-B8), the closing on the 15th and its statement (C1), the
// bank's batch transfer and 1103's reconciliation of the reflections (C4 → 1102, 1103), and the
// `direct` certificates (2.5, made in ./pkma.ts). Builds on ./credit-core.ts; ./credit.ts completes
// the instance.
import { hexToBytes } from '@mica/apdu-specs/hex';
import { bytesToHex } from '@noble/hashes/utils.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { jstDay } from '../../platform/clock';
import { post } from '../ledger';
import { refuse, type Outcome } from '../outcome';
import { nextDeductionDay } from '../../bank-credit/calendar';
import { decodeToken, openEnvelope, parseEnvelope, TokenError, type OpenKey } from '../../bank-credit/token';
import { CertificateError, verifyCertificate } from '../../bureau/certificate';
import type { DeductionDetail } from './bank';
import { certifyBank, certifyCard, creditAnchor, type PkmaAnchor } from './pkma';
import type {
  CardAccountView,
  CreditRequest,
  ExceptionRow,
  Reconciliation,
  Reflection,
  StatementRow,
  TokenAuthorization,
  TokenStatus,
} from './credit-api';
import { CreditCore } from './credit-core';

/** The credit company's certified X25519 encryption key (key mode ca). */
const CA_DEC = 'ca-dec';

export abstract class CreditTokens extends CreditCore {
  contractKey(request: CreditRequest<'contractKey'>): Promise<Outcome<{ readonly publicKey: string }>> {
    const r = this.checked<CreditRequest<'contractKey'>>('contractKey', request);
    return Promise.resolve(
      this.run('contractKey', r, () => {
        // ca: the one encryption key the credit company's certificate names; contract: one per key set
        const name = r.keyMode === 'ca' ? CA_DEC : `bank-dec:${r.bankId}:${r.keyId}`;
        let secret = this.secrets.get(name);
        if (!secret) {
          secret = this.rng.bytes(32);
          this.secrets.put(name, secret);
        }
        return { publicKey: bytesToHex(x25519.getPublicKey(secret)) };
      }),
    );
  }

  exchangeKeys(request: CreditRequest<'exchangeKeys'>): Promise<Outcome<{ readonly bankId: string }>> {
    const r = this.checked<CreditRequest<'exchangeKeys'>>('exchangeKeys', request);
    return Promise.resolve(
      this.run('exchangeKeys', { ...r, commonKey: r.commonKey && '*' }, () => {
        let bankKey: Uint8Array | null = null;
        if (r.keyMode === 'common') {
          if (!r.commonKey) refuse('E_NO_KEYS', '901', 'keyMode common needs the 32-byte commonKey');
          this.secrets.put(`bank-common:${r.bankId}:${r.keyId}`, hexToBytes(r.commonKey));
        } else {
          if (!this.secrets.get(r.keyMode === 'ca' ? CA_DEC : `bank-dec:${r.bankId}:${r.keyId}`))
            refuse('E_NO_KEYS', '901', `no decryption key for key set ${r.keyId}: call contractKey first`);
          if (r.keyMode === 'contract') {
            if (!r.bankKey) refuse('E_NO_KEYS', '901', 'keyMode contract needs the bank bankKey');
            bankKey = hexToBytes(r.bankKey);
          } else {
            if (!r.certificate || !r.root)
              refuse('E_NO_KEYS', '901', 'keyMode ca needs the bank certificate and the bureau root');
            try {
              bankKey = verifyCertificate({
                chain: [hexToBytes(r.certificate)],
                roots: [hexToBytes(r.root)],
                role: 'bank',
                keyType: 'ed25519',
                subjectId: r.bankId,
                now: this.clock.now(),
              }).publicKey;
            } catch (e) {
              if (!(e instanceof CertificateError)) throw e;
              refuse('E_NO_KEYS', '901', `bank certificate refused: ${e.message}`);
            }
          }
        }
        this.db
          .prepare(
            'INSERT OR REPLACE INTO bank_keys (bankId, keyId, keyMode, bankKey, exchangedAt) VALUES (?, ?, ?, ?, ?)',
          )
          .run(r.bankId, r.keyId, r.keyMode, bankKey, this.clock.now());
        return { bankId: r.bankId };
      }),
    );
  }

  authorizeWithTokens(request: CreditRequest<'authorizeWithTokens'>): Promise<Outcome<TokenAuthorization>> {
    const r = this.checked<CreditRequest<'authorizeWithTokens'>>('authorizeWithTokens', request);
    return Promise.resolve(
      this.run(
        'authorizeWithTokens',
        r,
        () => {
          const a = this.view(r.cardNo);
          const today = jstDay(this.clock.now());
          // B3 (1002 → 1009): only loss/theft and card expiry; the tokens are not processed
          if (a.lost) refuse('E_CARD_LOST', '1009', `card ${r.cardNo} is reported lost or stolen`);
          if (a.cardExpiry < today)
            refuse('E_CARD_EXPIRED', '1009', `card ${r.cardNo} expired on day ${a.cardExpiry}`);
          const tokens: { tokenId: string | null; status: TokenStatus }[] = [];
          const marks: string[] = [];
          if (r.envelopes.length === 0) tokens.push({ tokenId: null, status: 'ABSENT' });
          for (const e of r.envelopes) {
            const { tokenId, status } = this.assess(hexToBytes(e), a, today, r);
            tokens.push({ tokenId, status });
            if (status === 'REFLECTED') marks.push(tokenId!);
          }
          // B7 (1006-1008 / 1010)
          const available = this.view(r.cardNo).available;
          const ok = r.amount <= available;
          if (ok) {
            this.db
              .prepare('UPDATE card_accounts SET liabilityUnbilled = liabilityUnbilled + ? WHERE cardNo = ?')
              .run(r.amount, r.cardNo);
            post(
              this.db,
              r.txId,
              [
                [`asset:receivable:${a.userId}`, r.amount],
                ['ext:merchant', -r.amount],
              ],
              this.clock.now(),
            );
          }
          this.db
            .prepare(
              'INSERT INTO authorizations (txId, cardNo, expiry, amount, result, reason, tokenStatuses) VALUES (?, ?, ?, ?, ?, ?, ?)',
            )
            .run(
              r.txId,
              r.cardNo,
              a.cardExpiry,
              r.amount,
              ok ? 'OK_AVAILABLE' : 'E_OVER_LIMIT',
              ok ? null : `amount ${r.amount} exceeds the available ${available}`,
              JSON.stringify(tokens),
            );
          return {
            txId: r.txId,
            result: ok ? 'OK_AVAILABLE' : 'E_OVER_LIMIT',
            step: ok ? '1008' : '1010',
            available: ok ? available - r.amount : available,
            tokens,
            marks,
          } as TokenAuthorization;
        },
        r.txId,
      ),
    );
  }

  /** B4-B6 for one envelope (1003-1005): its status, and the reflection when it passes. */
  protected assess(
    env: Uint8Array,
    a: CardAccountView,
    today: number,
    r: CreditRequest<'authorizeWithTokens'>,
  ): { tokenId: string | null; status: TokenStatus } {
    let plain: Uint8Array | null = null;
    let headerBank = '';
    try {
      const p = parseEnvelope(env);
      headerBank = p.header.bankId;
      const k = this.db
        .prepare('SELECT keyMode, bankKey FROM bank_keys WHERE bankId = ? AND keyId = ?')
        .get(p.header.bankId, bytesToHex(p.header.keyId)) as
        { keyMode: 'ca' | 'contract' | 'common'; bankKey: Uint8Array | null } | undefined;
      if (k && k.keyMode === p.header.keyMode) {
        const name = (pre: string) => `${pre}:${p.header.bankId}:${bytesToHex(p.header.keyId)}`;
        const key: OpenKey =
          k.keyMode === 'common'
            ? { keyMode: 'common', commonKey: this.secrets.get(name('bank-common'))! }
            : {
                keyMode: k.keyMode,
                bankPublic: new Uint8Array(k.bankKey!),
                creditSecret: this.secrets.get(k.keyMode === 'ca' ? CA_DEC : name('bank-dec'))!,
              };
        plain = openEnvelope(p, key, this.mode);
      }
    } catch (e) {
      if (!(e instanceof TokenError)) throw e;
    }
    if (!plain) return { tokenId: null, status: 'INVALID_SEAL' };
    let t;
    try {
      t = decodeToken(plain);
    } catch (e) {
      if (!(e instanceof TokenError)) throw e;
      return { tokenId: null, status: 'INVALID_SEAL' };
    }
    const tokenId = bytesToHex(t.tokenId);
    if (this.db.prepare('SELECT 1 FROM used_tokens WHERE tokenId = ?').get(tokenId))
      return { tokenId, status: 'ALREADY_USED' };
    if (!(today < t.effectiveUntil)) return { tokenId, status: 'EXPIRED' };
    if (t.userId !== a.userId || t.creditCardNo !== a.cardNo) return { tokenId, status: 'USER_MISMATCH' };
    if (t.creditCompanyId !== this.id) return { tokenId, status: 'WRONG_COMPANY' };
    if (this.mode === 'hardened' && t.bankId !== headerBank) return { tokenId, status: 'BINDING_MISMATCH' };
    const seq = (this.db.prepare('SELECT COUNT(*) AS n FROM reflections').get() as { n: number }).n;
    this.db
      .prepare(
        "INSERT INTO reflections (reflectionId, tokenId, cardNo, userId, bankId, amount, validUntil, status, seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?)",
      )
      .run(tokenId, tokenId, a.cardNo, a.userId, headerBank, t.amount, t.effectiveUntil, seq);
    this.db
      .prepare('INSERT INTO used_tokens (tokenId, usedAt, cardId, txId) VALUES (?, ?, ?, ?)')
      .run(tokenId, this.clock.now(), r.cardId, r.txId);
    return { tokenId, status: 'REFLECTED' };
  }

  reflections(request: CreditRequest<'reflections'>): Promise<Outcome<readonly Reflection[]>> {
    const r = this.checked<CreditRequest<'reflections'>>('reflections', request);
    return Promise.resolve(
      this.run('reflections', r, () => {
        this.view(r.cardNo);
        return this.db
          .prepare(
            'SELECT reflectionId, tokenId, bankId, amount, validUntil, status FROM reflections WHERE cardNo = ? ORDER BY seq',
          )
          .all(r.cardNo) as Reflection[];
      }),
    );
  }

  async closeCycle(request: CreditRequest<'closeCycle'>): Promise<Outcome<readonly StatementRow[]>> {
    const r = this.checked<CreditRequest<'closeCycle'>>('closeCycle', request);
    const o = this.run('closeCycle', r, () => {
      const prior = this.db
        .prepare('SELECT rows FROM statements_out WHERE bankId = ? AND cycleId = ?')
        .get(r.bankId, r.cycleId) as { rows: string } | undefined;
      if (prior) return JSON.parse(prior.rows) as StatementRow[];
      this.db
        .prepare(
          'UPDATE card_accounts SET liabilityBilled = liabilityBilled + liabilityUnbilled, liabilityUnbilled = 0 WHERE billingBankId = ?',
        )
        .run(r.bankId);
      const rows = this.db
        .prepare(
          'SELECT userId, billingAccountNo AS bankAccountNo, liabilityBilled AS billed FROM card_accounts WHERE billingBankId = ? ORDER BY cardNo',
        )
        .all(r.bankId) as StatementRow[];
      this.db
        .prepare('INSERT INTO statements_out (bankId, cycleId, rows) VALUES (?, ?, ?)')
        .run(r.bankId, r.cycleId, JSON.stringify(rows));
      return rows;
    });
    if (!o.ok) return o;
    const sent = await this.peers
      .peer('bank', r.bankId)
      .receiveStatement({ creditCoId: this.id, cycleId: r.cycleId, rows: [...o.result] });
    return sent.ok ? o : sent;
  }

  receiveDeduction(request: CreditRequest<'receiveDeduction'>): Promise<Outcome<Reconciliation>> {
    const r = this.checked<CreditRequest<'receiveDeduction'>>('receiveDeduction', request);
    return Promise.resolve(
      this.run(
        'receiveDeduction',
        r,
        () => {
          const today = jstDay(this.clock.now());
          const sum = r.rows.reduce((s, x) => s + x.fromPool + x.fromPersonal, 0);
          if (sum !== r.total)
            refuse('E_AMOUNT_MISMATCH', '1102', `detail rows sum to ${sum}, not ${r.total}`);
          const legs: [string, number][] = [];
          const out = {
            confirmed: [] as string[],
            invalid: [] as string[],
            carried: [] as string[],
            overdue: [] as string[],
          };
          const listed = new Map<string, DeductionDetail['tokens'][number]>();
          for (const row of r.rows) {
            const paid = row.fromPool + row.fromPersonal;
            if (paid > 0) {
              legs.push([`asset:receivable:${row.userId}`, -paid]);
              this.db
                .prepare(
                  'UPDATE card_accounts SET liabilityBilled = liabilityBilled - ? WHERE userId = ? AND billingBankId = ?',
                )
                .run(paid, row.userId, r.bankId);
            }
            for (const t of row.tokens) listed.set(t.tokenId, t);
          }
          for (const n of r.notices) {
            this.db
              .prepare('UPDATE card_accounts SET overdue = ? WHERE userId = ? AND billingBankId = ?')
              .run(n.shortfall, n.userId, r.bankId);
            out.overdue.push(n.userId);
          }
          if (r.total > 0) {
            legs.unshift([`clearing:${r.bankId}`, r.total]);
            post(this.db, r.txId, legs, this.clock.now());
          }
          this.db
            .prepare('INSERT INTO transfers_in (txId, bankId, cycleId, total, detail) VALUES (?, ?, ?, ?, ?)')
            .run(r.txId, r.bankId, r.cycleId, r.total, JSON.stringify(r.rows));
          // 1103: every reflection of this bank that came due
          const due = this.db
            .prepare(
              "SELECT reflectionId, tokenId, cardNo, userId, amount, validUntil FROM reflections WHERE bankId = ? AND status = 'active' AND validUntil <= ? ORDER BY seq",
            )
            .all(r.bankId, today) as {
            reflectionId: string;
            tokenId: string;
            cardNo: string;
            userId: string;
            amount: number;
          }[];
          let seq = (this.db.prepare('SELECT COUNT(*) AS n FROM reflections').get() as { n: number }).n;
          for (const f of due) {
            const t = listed.get(f.tokenId);
            const ok = t !== undefined && (f.reflectionId !== f.tokenId || t.deposit === f.amount);
            this.db
              .prepare('UPDATE reflections SET status = ? WHERE reflectionId = ?')
              .run(ok ? 'confirmed' : 'invalid', f.reflectionId);
            if (!ok) {
              out.invalid.push(f.reflectionId);
              this.db
                .prepare('INSERT INTO exceptions (cycleId, reflectionId, reason) VALUES (?, ?, ?)')
                .run(
                  r.cycleId,
                  f.reflectionId,
                  t ? `deposit ${t.deposit} ≠ reflected ${f.amount}` : 'not reported by the bank',
                );
              continue;
            }
            out.confirmed.push(f.reflectionId);
            if (t.carried > 0) {
              const n = (
                this.db.prepare('SELECT COUNT(*) AS n FROM reflections WHERE tokenId = ?').get(f.tokenId) as {
                  n: number;
                }
              ).n;
              const id = `${f.tokenId}#${n}`;
              this.db
                .prepare(
                  "INSERT INTO reflections (reflectionId, tokenId, cardNo, userId, bankId, amount, validUntil, status, seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?)",
                )
                .run(id, f.tokenId, f.cardNo, f.userId, r.bankId, t.carried, nextDeductionDay(today), seq++);
              out.carried.push(id);
            }
          }
          return { txId: r.txId, ...out };
        },
        r.txId,
      ),
    );
  }

  exceptions(request: CreditRequest<'exceptions'>): Promise<Outcome<readonly ExceptionRow[]>> {
    const r = this.checked<CreditRequest<'exceptions'>>('exceptions', request);
    const sql = 'SELECT cycleId, reflectionId, reason FROM exceptions';
    return Promise.resolve(
      this.run('exceptions', r, () =>
        r.cycleId === undefined
          ? (this.db.prepare(`${sql} ORDER BY seq`).all() as ExceptionRow[])
          : (this.db.prepare(`${sql} WHERE cycleId = ? ORDER BY seq`).all(r.cycleId) as ExceptionRow[]),
      ),
    );
  }

  // ---- `direct` (flows.md 2.5; the certificates are made in pkma.ts) ----

  pkmaAnchor(request: CreditRequest<'pkmaAnchor'>): Promise<Outcome<PkmaAnchor>> {
    const r = this.checked<CreditRequest<'pkmaAnchor'>>('pkmaAnchor', request);
    return Promise.resolve(this.run('pkmaAnchor', r, () => creditAnchor(this.pkmaKeys, this.id)));
  }

  certifyCard(request: CreditRequest<'certifyCard'>): Promise<Outcome<{ readonly certificate: string }>> {
    const r = this.checked<CreditRequest<'certifyCard'>>('certifyCard', request);
    return Promise.resolve(
      this.run('certifyCard', r, () => ({
        certificate: certifyCard(this.pkmaKeys, this.clock, this.id, r.cardId, r.publicKey),
      })),
    );
  }

  certifyBank(
    request: CreditRequest<'certifyBank'>,
  ): Promise<Outcome<PkmaAnchor & { readonly certificate: string }>> {
    const r = this.checked<CreditRequest<'certifyBank'>>('certifyBank', request);
    return Promise.resolve(
      this.run('certifyBank', r, () =>
        certifyBank(this.pkmaKeys, this.clock, this.id, r.bankId, r.publicKey),
      ),
    );
  }

  protected get pkmaKeys() {
    return { secrets: this.secrets, rng: this.rng };
  }
}
