// The `bank` back-end (flows.md 1.1): personal accounts with balances derived from the ledger, cash
// in and out, and transfers with a peer back-end through clearing:<peer>. Seed 001 uses it for the
// billing account debited at the credit cutoff and the refund account credited by the e-money
// server; seed 004 adds holds, and seed 000 the pool rows, contracts, statements and the deduction
// batch (with the PK-MA parts in ./pkma.ts). Over 600 lines: the seed 000 pool and deduction are the
// seam for a layer of their own (as credit-*.ts and smd-*.ts are layered), not split yet.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { nextDeductionDay } from '../../bank-credit/calendar';
import { encodeToken, sealEnvelope, type KeyMode, type SealKey } from '../../bank-credit/token';
import { CertificateError, verifyCertificate } from '../../bureau/certificate';
import { jstDay } from '../../platform/clock';
import { newTxId } from '../../platform/tx-id';
import { balanceOf, post } from '../ledger';
import { deliverToPeer } from '../link-retry';
import { accepted, refuse, type Outcome } from '../outcome';
import { amount, hex, int, list, object, oneOf, optional, str, txId, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';
import { bankPkmaKey, checkBankCertificate, pkmaSign } from './pkma';

const accountNo = str({
  max: 32,
  pattern: /^[\w-]+$/,
  describe: 'an account number (letters, digits, _ or -)',
});
const peerId = str({ max: 64, pattern: /^[\w.-]+$/, describe: 'a back-end id' });
/** Seed 000: ids that travel in the token as ascii[8] (bank and credit company). */
const shortId = str({ max: 8, pattern: /^[\w.-]+$/, describe: 'an id of 1-8 characters' });
const userId = str({
  max: 16,
  pattern: /^[\w.-]+$/,
  describe: 'a user id of 1-16 letters, digits, _ . or -',
});
const keyMode = oneOf(['ca', 'contract', 'common'] as const);
const cycleId = str({ min: 7, max: 7, pattern: /^\d{4}-\d{2}$/, describe: 'a cycle YYYY-MM' });

export const BANK_API = {
  auditView: object({}),
  openAccount: object({
    accountNo,
    userId: str({ max: 64 }),
    name: str({ max: 128 }),
    cardId: optional(str({ max: 64 })),
  }),
  account: object({ accountNo }),
  depositCash: object({ txId, accountNo, amount }),
  withdrawCash: object({ txId, accountNo, amount }),
  /** Pays `amount` from the account to the peer (the peer books clearing:<bank> on its side). */
  payToPeer: object({ txId, accountNo, amount, peer: peerId, step: optional(str({ max: 32 })) }),
  /** Receives `amount` from the peer into the account (the peer has booked clearing:<bank>). */
  receiveFromPeer: object({ txId, accountNo, amount, peer: peerId, step: optional(str({ max: 32 })) }),
  /** Seed 004 T2: holds `amount` on the account for the peer (E_FUNDS when it is not covered). */
  holdFunds: object({ txId, accountNo, amount, peer: peerId, step: optional(str({ max: 32 })) }),
  /** Pays a held amount to its peer (clearing:<peer>); a second commit answers the same. */
  commitHold: object({ txId }),
  /** Releases a hold: nothing is booked; a second release answers the same. */
  releaseHold: object({ txId }),
  // ---- seed 000 (flows.md 2): contracts, key exchange, the pool, statements and the deduction batch
  openContract: object({ creditCoId: shortId }),
  /** The bank's Ed25519 signing key of the contract key set (created once); answers its public key. */
  contractKey: object({ creditCoId: shortId, keyId: hex(8) }),
  /** 601/901: stores the credit side of the key set (ca: certificate + root; contract: key; common: key). */
  exchangeKeys: object({
    creditCoId: shortId,
    keyMode,
    keyId: hex(8),
    creditKey: optional(hex(32)),
    certificate: optional(hex(155)),
    root: optional(hex(155)),
    commonKey: optional(hex(32)),
  }),
  /** A2-A5: checks the card, books the pool row `held`, builds and seals the token. */
  depositToPool: object({
    txId,
    userId,
    /** What the bank applet answered (A2): the account reference and the card ID (GET DATA). */
    card: object({ accountNo, cardId: str({ max: 64 }) }),
    creditCoId: shortId,
    creditCardNo: str({ max: 16, pattern: /^\d+$/, describe: 'a credit card number (digits)' }),
    amount,
    source: oneOf(['cash', 'personal'] as const),
  }),
  /** A6: PUT TOKEN answered 9000, or LIST TOKENS showed the token: the row is committed. */
  commitDeposit: object({ txId }),
  /** A6: the token is not on the card: the deposit is reversed (cash returned or account re-credited). */
  reverseDeposit: object({ txId, code: oneOf(['E_TOKEN_NOT_STORED', 'E_TOKEN_SLOTS_FULL'] as const) }),
  /** Any user withdrawal, refund or transfer out of the pool: always E_POOL_NOT_WITHDRAWABLE. */
  withdrawPool: object({ txId, userId, creditCoId: shortId, amount }),
  poolRows: object({ userId: optional(userId) }),
  /** 801: the credit company's statement of a cycle. */
  receiveStatement: object({
    creditCoId: shortId,
    cycleId,
    rows: list(object({ userId, bankAccountNo: accountNo, billed: int(0, 0xffffffff) })),
  }),
  /** 802-805, 212: the deduction-day batch of one credit company and cycle. */
  runDeduction: object({ creditCoId: shortId, cycleId }),
  // ---- `direct` (flows.md 2.2, 2.5 AUTHENTICATE PK; backend/kinds/pkma.ts)
  /** The bank's PK-MA Ed25519 key of a contract (created once); answers its public key. */
  pkmaKey: object({ creditCoId: shortId }),
  /** 1501: stores credit's certification key and the bank certificate it issued (checked first). */
  exchangePkma: object({
    creditCoId: shortId,
    issuerId: str({ max: 24 }),
    certificationKey: hex(32),
    certificate: hex(155),
  }),
  /** What the ATM needs for AUTHENTICATE PK: the bank certificate and the trust anchor. */
  pkmaIdentity: object({ creditCoId: shortId }),
  /** AUTHENTICATE PK step 3: signs a "mica-pkma-bank" message only (the key never leaves). */
  pkmaSign: object({ creditCoId: shortId, message: hex() }),
} as const;

export type BankRequest<M extends keyof typeof BANK_API> = Infer<(typeof BANK_API)[M]>;

export interface BankAccountView {
  readonly accountNo: string;
  readonly userId: string;
  readonly name: string;
  readonly cardId: string | null;
  /** What the holder can use: the ledger balance less open holds (seed 004). */
  readonly balance: number;
}

export interface BankBackend extends Backend {
  openAccount(r: BankRequest<'openAccount'>): Promise<Outcome<BankAccountView>>;
  account(r: BankRequest<'account'>): Promise<Outcome<BankAccountView>>;
  depositCash(r: BankRequest<'depositCash'>): Promise<Outcome<BankAccountView>>;
  withdrawCash(r: BankRequest<'withdrawCash'>): Promise<Outcome<BankAccountView>>;
  payToPeer(r: BankRequest<'payToPeer'>): Promise<Outcome<BankAccountView>>;
  receiveFromPeer(r: BankRequest<'receiveFromPeer'>): Promise<Outcome<BankAccountView>>;
  holdFunds(r: BankRequest<'holdFunds'>): Promise<Outcome<BankHold>>;
  commitHold(r: BankRequest<'commitHold'>): Promise<Outcome<BankHold>>;
  releaseHold(r: BankRequest<'releaseHold'>): Promise<Outcome<BankHold>>;
  openContract(r: BankRequest<'openContract'>): Promise<Outcome<{ readonly creditCoId: string }>>;
  contractKey(r: BankRequest<'contractKey'>): Promise<Outcome<{ readonly publicKey: string }>>;
  exchangeKeys(r: BankRequest<'exchangeKeys'>): Promise<Outcome<ContractView>>;
  depositToPool(r: BankRequest<'depositToPool'>): Promise<Outcome<PoolDeposit>>;
  commitDeposit(r: BankRequest<'commitDeposit'>): Promise<Outcome<PoolRow>>;
  reverseDeposit(r: BankRequest<'reverseDeposit'>): Promise<Outcome<PoolRow>>;
  withdrawPool(r: BankRequest<'withdrawPool'>): Promise<Outcome<never>>;
  poolRows(r: BankRequest<'poolRows'>): Promise<Outcome<readonly PoolRow[]>>;
  receiveStatement(r: BankRequest<'receiveStatement'>): Promise<Outcome<{ readonly rows: number }>>;
  runDeduction(r: BankRequest<'runDeduction'>): Promise<Outcome<DeductionBatch>>;
  pkmaKey(r: BankRequest<'pkmaKey'>): Promise<Outcome<{ readonly publicKey: string }>>;
  exchangePkma(r: BankRequest<'exchangePkma'>): Promise<Outcome<PkmaIdentity>>;
  pkmaIdentity(r: BankRequest<'pkmaIdentity'>): Promise<Outcome<PkmaIdentity>>;
  pkmaSign(r: BankRequest<'pkmaSign'>): Promise<Outcome<{ readonly signature: string }>>;
}

/** The contract's `direct` data (flows.md 2.1 contracts): credit's anchor and the bank certificate. */
export interface PkmaIdentity {
  readonly creditCoId: string;
  /** The bank certificate credit issued (hex, 155 bytes). */
  readonly certificate: string;
  /** The credit-AP certification key: the anchor's issuerId and Ed25519 public key (hex). */
  readonly issuerId: string;
  readonly certificationKey: string;
}

export interface ContractView {
  readonly creditCoId: string;
  readonly keyMode: KeyMode | null;
  readonly keyId: string | null;
}

/** One deposit of the pool sub-ledger (flows.md 2.1 pool_rows). */
export interface PoolRow {
  readonly tokenId: string;
  readonly txId: string;
  readonly userId: string;
  readonly accountNo: string;
  readonly creditCoId: string;
  readonly source: 'cash' | 'personal';
  readonly amount: number;
  readonly depositDay: number;
  readonly deductionDay: number;
  readonly status: 'held' | 'committed' | 'carried' | 'drawn' | 'reversed';
  readonly drawn: number;
  readonly carried: number;
}

/** A4/A5's answer: the held row and what PUT TOKEN carries. */
export interface PoolDeposit {
  readonly row: PoolRow;
  readonly envelope: string;
  readonly effectiveUntil: number;
  readonly today: number;
}

export interface DeductionDetail {
  readonly userId: string;
  readonly fromPool: number;
  readonly fromPersonal: number;
  readonly tokens: readonly { tokenId: string; deposit: number; drawn: number; carried: number }[];
}

/** C4: one transfer per credit company and cycle, its detail rows and the 805 notices. */
export interface DeductionBatch {
  readonly txId: string;
  readonly bankId: string;
  readonly creditCoId: string;
  readonly cycleId: string;
  readonly total: number;
  readonly rows: readonly DeductionDetail[];
  readonly notices: readonly { userId: string; shortfall: number }[];
  readonly delivered: boolean;
}

/** A hold (seed 004 T2): money reserved on an account, not booked until committed. */
export interface BankHold {
  readonly txId: string;
  readonly accountNo: string;
  readonly amount: number;
  readonly peer: string;
  readonly status: 'held' | 'committed' | 'released';
}

declare module '../backend' {
  interface KindInterfaces {
    bank: BankBackend;
  }
}

const MIGRATIONS = [
  `CREATE TABLE accounts (accountNo TEXT PRIMARY KEY, userId TEXT NOT NULL, name TEXT NOT NULL, cardId TEXT);`,
  // seed 004 (flows.md 6.2 T2): holds reduce what an account covers; only a commit books
  `CREATE TABLE holds (txId TEXT PRIMARY KEY, accountNo TEXT NOT NULL, amount INTEGER NOT NULL, peer TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('held', 'committed', 'released')), at INTEGER NOT NULL);`,
  // seed 000 (flows.md 2.1): contracts, the pool sub-ledger, statements in, transfers and notices out
  `CREATE TABLE contracts (creditCoId TEXT PRIMARY KEY, keyMode TEXT, keyId TEXT, creditKey BLOB,
     certificate BLOB, exchangedAt INTEGER);
   CREATE TABLE pool_rows (tokenId TEXT PRIMARY KEY, txId TEXT NOT NULL UNIQUE, userId TEXT NOT NULL,
     accountNo TEXT NOT NULL, creditCoId TEXT NOT NULL, source TEXT NOT NULL, amount INTEGER NOT NULL,
     depositDay INTEGER NOT NULL, deductionDay INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN
     ('held', 'committed', 'carried', 'drawn', 'reversed')), drawn INTEGER NOT NULL DEFAULT 0,
     carried INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL);
   CREATE TABLE statements_in (creditCoId TEXT NOT NULL, cycleId TEXT NOT NULL, rows TEXT NOT NULL,
     receivedAt INTEGER NOT NULL, PRIMARY KEY (creditCoId, cycleId));
   CREATE TABLE transfers_out (txId TEXT PRIMARY KEY, creditCoId TEXT NOT NULL, cycleId TEXT NOT NULL,
     total INTEGER NOT NULL, batch TEXT NOT NULL, delivered INTEGER NOT NULL DEFAULT 0,
     UNIQUE (creditCoId, cycleId));
   CREATE TABLE notices_out (creditCoId TEXT NOT NULL, cycleId TEXT NOT NULL, userId TEXT NOT NULL,
     shortfall INTEGER NOT NULL, PRIMARY KEY (creditCoId, cycleId, userId));`,
  // seed 000 `direct` (flows.md 2.1 contracts: credit-AP certification key and bank certificate, Fig. 15)
  `ALTER TABLE contracts ADD COLUMN pkmaIssuerId TEXT;
   ALTER TABLE contracts ADD COLUMN pkmaCertificationKey BLOB;
   ALTER TABLE contracts ADD COLUMN pkmaCertificate BLOB;`,
];

const POOL_SELECT =
  'SELECT tokenId, txId, userId, accountNo, creditCoId, source, amount, depositDay, deductionDay, status, drawn, carried FROM pool_rows';
const pool = (creditCoId: string, userId: string): string => `liab:pool:${creditCoId}:${userId}`;

const personal = (accountNo: string): string => `liab:personal:${accountNo}`;

export class SqliteBank extends SqliteBackend implements BankBackend {
  readonly kind = 'bank';

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, BANK_API);
  }

  openAccount(request: BankRequest<'openAccount'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'openAccount'>>('openAccount', request);
    return Promise.resolve(
      this.run('openAccount', r, () => {
        if (this.row(r.accountNo)) refuse('E_DUPLICATE', '—', `account ${r.accountNo} exists`);
        this.db
          .prepare('INSERT INTO accounts (accountNo, userId, name, cardId) VALUES (?, ?, ?, ?)')
          .run(r.accountNo, r.userId, r.name, r.cardId ?? null);
        return this.view(r.accountNo);
      }),
    );
  }

  account(request: BankRequest<'account'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'account'>>('account', request);
    return Promise.resolve(this.run('account', r, () => this.view(r.accountNo)));
  }

  depositCash(request: BankRequest<'depositCash'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'depositCash'>>('depositCash', request);
    return Promise.resolve(
      this.run(
        'depositCash',
        r,
        () => {
          this.view(r.accountNo);
          post(
            this.db,
            r.txId,
            [
              ['ext:cash', r.amount],
              [personal(r.accountNo), -r.amount],
            ],
            this.clock.now(),
          );
          return this.view(r.accountNo);
        },
        r.txId,
      ),
    );
  }

  withdrawCash(request: BankRequest<'withdrawCash'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'withdrawCash'>>('withdrawCash', request);
    return Promise.resolve(
      this.run(
        'withdrawCash',
        r,
        () => {
          this.cover(r.accountNo, r.amount, '—');
          post(
            this.db,
            r.txId,
            [
              [personal(r.accountNo), r.amount],
              ['ext:cash', -r.amount],
            ],
            this.clock.now(),
          );
          return this.view(r.accountNo);
        },
        r.txId,
      ),
    );
  }

  payToPeer(request: BankRequest<'payToPeer'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'payToPeer'>>('payToPeer', request);
    return Promise.resolve(
      this.run(
        'payToPeer',
        r,
        () => {
          this.cover(r.accountNo, r.amount, r.step ?? '—');
          post(
            this.db,
            r.txId,
            [
              [personal(r.accountNo), r.amount],
              [`clearing:${r.peer}`, -r.amount],
            ],
            this.clock.now(),
          );
          return this.view(r.accountNo);
        },
        r.txId,
      ),
    );
  }

  receiveFromPeer(request: BankRequest<'receiveFromPeer'>): Promise<Outcome<BankAccountView>> {
    const r = this.checked<BankRequest<'receiveFromPeer'>>('receiveFromPeer', request);
    return Promise.resolve(
      this.run(
        'receiveFromPeer',
        r,
        () => {
          this.view(r.accountNo);
          post(
            this.db,
            r.txId,
            [
              [`clearing:${r.peer}`, r.amount],
              [personal(r.accountNo), -r.amount],
            ],
            this.clock.now(),
          );
          return this.view(r.accountNo);
        },
        r.txId,
      ),
    );
  }

  holdFunds(request: BankRequest<'holdFunds'>): Promise<Outcome<BankHold>> {
    const r = this.checked<BankRequest<'holdFunds'>>('holdFunds', request);
    return Promise.resolve(
      this.run('holdFunds', r, () => {
        const have = this.hold(r.txId);
        if (have) {
          if (have.accountNo !== r.accountNo || have.amount !== r.amount || have.peer !== r.peer)
            refuse('E_TXID_CONFLICT', r.step ?? '—', `hold ${r.txId} exists for another request`);
          return have;
        }
        const { balance } = this.view(r.accountNo);
        if (balance < r.amount)
          refuse(
            'E_FUNDS',
            r.step ?? '—',
            `account ${r.accountNo} covers ${balance}, cannot hold ${r.amount}`,
          );
        this.db
          .prepare('INSERT INTO holds (txId, accountNo, amount, peer, status, at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(r.txId, r.accountNo, r.amount, r.peer, 'held', this.clock.now());
        return this.hold(r.txId)!;
      }),
    );
  }

  commitHold(request: BankRequest<'commitHold'>): Promise<Outcome<BankHold>> {
    const r = this.checked<BankRequest<'commitHold'>>('commitHold', request);
    return Promise.resolve(
      this.run('commitHold', r, () => {
        const h = this.hold(r.txId);
        if (!h) refuse('E_NOT_FOUND', '—', `no hold ${r.txId} at bank ${this.id}`);
        if (h.status === 'committed') return h;
        if (h.status !== 'held') refuse('E_BAD_STATE', '—', `hold ${r.txId} is ${h.status}, not held`);
        post(
          this.db,
          r.txId,
          [
            [personal(h.accountNo), h.amount],
            [`clearing:${h.peer}`, -h.amount],
          ],
          this.clock.now(),
        );
        this.db.prepare("UPDATE holds SET status = 'committed' WHERE txId = ?").run(r.txId);
        return this.hold(r.txId)!;
      }),
    );
  }

  releaseHold(request: BankRequest<'releaseHold'>): Promise<Outcome<BankHold>> {
    const r = this.checked<BankRequest<'releaseHold'>>('releaseHold', request);
    return Promise.resolve(
      this.run('releaseHold', r, () => {
        const h = this.hold(r.txId);
        if (!h) refuse('E_NOT_FOUND', '—', `no hold ${r.txId} at bank ${this.id}`);
        if (h.status === 'released') return h;
        if (h.status !== 'held') refuse('E_BAD_STATE', '—', `hold ${r.txId} is ${h.status}, not held`);
        this.db.prepare("UPDATE holds SET status = 'released' WHERE txId = ?").run(r.txId);
        return this.hold(r.txId)!;
      }),
    );
  }

  // ---- seed 000 (flows.md 2) ----

  openContract(request: BankRequest<'openContract'>): Promise<Outcome<{ readonly creditCoId: string }>> {
    const r = this.checked<BankRequest<'openContract'>>('openContract', request);
    return Promise.resolve(
      this.run('openContract', r, () => {
        this.db.prepare('INSERT OR IGNORE INTO contracts (creditCoId) VALUES (?)').run(r.creditCoId);
        return { creditCoId: r.creditCoId };
      }),
    );
  }

  contractKey(request: BankRequest<'contractKey'>): Promise<Outcome<{ readonly publicKey: string }>> {
    const r = this.checked<BankRequest<'contractKey'>>('contractKey', request);
    return Promise.resolve(
      this.run('contractKey', r, () => {
        this.contract(r.creditCoId, '202');
        const name = `contract-sign:${r.creditCoId}:${r.keyId}`;
        let secret = this.secrets.get(name);
        if (!secret) {
          secret = this.rng.bytes(32);
          this.secrets.put(name, secret);
        }
        return { publicKey: bytesToHex(ed25519.getPublicKey(secret)) };
      }),
    );
  }

  exchangeKeys(request: BankRequest<'exchangeKeys'>): Promise<Outcome<ContractView>> {
    const r = this.checked<BankRequest<'exchangeKeys'>>('exchangeKeys', request);
    return Promise.resolve(
      this.run('exchangeKeys', { ...r, commonKey: r.commonKey && '*' }, () => {
        this.contract(r.creditCoId, '601');
        let creditKey: Uint8Array | null = null;
        let certificate: Uint8Array | null = null;
        if (r.keyMode === 'common') {
          if (!r.commonKey) refuse('E_NO_KEYS', '601', 'keyMode common needs the 32-byte commonKey');
          this.secrets.put(`contract-common:${r.creditCoId}:${r.keyId}`, hexToBytes(r.commonKey));
        } else {
          if (!this.secrets.get(`contract-sign:${r.creditCoId}:${r.keyId}`))
            refuse('E_NO_KEYS', '601', `no signing key for key set ${r.keyId}: call contractKey first`);
          if (r.keyMode === 'contract') {
            if (!r.creditKey) refuse('E_NO_KEYS', '601', 'keyMode contract needs the credit creditKey');
            creditKey = hexToBytes(r.creditKey);
          } else {
            if (!r.certificate || !r.root)
              refuse('E_NO_KEYS', '601', 'keyMode ca needs the credit certificate and the bureau root');
            try {
              const leaf = verifyCertificate({
                chain: [hexToBytes(r.certificate)],
                roots: [hexToBytes(r.root)],
                role: 'credit',
                keyType: 'x25519',
                subjectId: r.creditCoId,
                now: this.clock.now(),
              });
              creditKey = leaf.publicKey;
              certificate = hexToBytes(r.certificate);
            } catch (e) {
              if (!(e instanceof CertificateError)) throw e;
              refuse('E_NO_KEYS', '601', `credit certificate refused: ${e.message}`);
            }
          }
        }
        this.db
          .prepare(
            'UPDATE contracts SET keyMode = ?, keyId = ?, creditKey = ?, certificate = ?, exchangedAt = ? WHERE creditCoId = ?',
          )
          .run(r.keyMode, r.keyId, creditKey, certificate, this.clock.now(), r.creditCoId);
        return { creditCoId: r.creditCoId, keyMode: r.keyMode, keyId: r.keyId };
      }),
    );
  }

  depositToPool(request: BankRequest<'depositToPool'>): Promise<Outcome<PoolDeposit>> {
    const r = this.checked<BankRequest<'depositToPool'>>('depositToPool', request);
    return Promise.resolve(
      this.run(
        'depositToPool',
        r,
        () => {
          // A2 first: the card must be this user's (before anything else, before any money moves)
          const acct = this.row(r.card.accountNo);
          if (!acct || acct.userId !== r.userId || (acct.cardId !== null && acct.cardId !== r.card.cardId))
            refuse('E_WRONG_CARD', '705', `card ${r.card.cardId} is not a card of user ${r.userId}`);
          // A3: 702 / 706
          const c = this.db
            .prepare('SELECT creditCoId, keyMode, keyId, creditKey FROM contracts WHERE creditCoId = ?')
            .get(r.creditCoId) as
            | {
                creditCoId: string;
                keyMode: KeyMode | null;
                keyId: string | null;
                creditKey: Uint8Array | null;
              }
            | undefined;
          if (!c) refuse('E_NO_CONTRACT', '702', `bank ${this.id} has no contract with ${r.creditCoId}`);
          if (!c.keyMode || !c.keyId) refuse('E_NO_KEYS', '706', `no key set exchanged with ${r.creditCoId}`);
          const key: SealKey =
            c.keyMode === 'common'
              ? {
                  keyMode: 'common',
                  commonKey: this.secrets.get(`contract-common:${r.creditCoId}:${c.keyId}`)!,
                }
              : {
                  keyMode: c.keyMode,
                  creditPublic: new Uint8Array(c.creditKey!),
                  bankSecret: this.secrets.get(`contract-sign:${r.creditCoId}:${c.keyId}`)!,
                };
          // A4: 204 / 212
          if (r.source === 'personal') this.cover(acct.accountNo, r.amount, '212');
          const today = jstDay(this.clock.now());
          const effectiveUntil = nextDeductionDay(today);
          const tokenId = this.rng.bytes(16);
          post(
            this.db,
            r.txId,
            [
              [r.source === 'cash' ? 'ext:cash' : personal(acct.accountNo), r.amount],
              [pool(r.creditCoId, r.userId), -r.amount],
            ],
            this.clock.now(),
          );
          const seq = (this.db.prepare('SELECT COUNT(*) AS n FROM pool_rows').get() as { n: number }).n;
          this.db
            .prepare(
              `INSERT INTO pool_rows (tokenId, txId, userId, accountNo, creditCoId, source, amount, depositDay,
                 deductionDay, status, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'held', ?)`,
            )
            .run(
              bytesToHex(tokenId),
              r.txId,
              r.userId,
              acct.accountNo,
              r.creditCoId,
              r.source,
              r.amount,
              today,
              effectiveUntil,
              seq,
            );
          // A4-A5: the token, encrypted for C and sealed
          const token = encodeToken({
            userName: acct.name,
            userId: r.userId,
            amount: r.amount,
            depositDay: today,
            tokenId,
            effectiveUntil,
            bankId: this.id,
            bankAccountNo: acct.accountNo,
            creditCompanyId: r.creditCoId,
            creditCardNo: r.creditCardNo,
          });
          const envelope = sealEnvelope(token, this.id, hexToBytes(c.keyId), key, this.mode, (n) =>
            this.rng.bytes(n),
          );
          return {
            row: this.poolRow(bytesToHex(tokenId))!,
            envelope: bytesToHex(envelope),
            effectiveUntil,
            today,
          };
        },
        r.txId,
      ),
    );
  }

  commitDeposit(request: BankRequest<'commitDeposit'>): Promise<Outcome<PoolRow>> {
    const r = this.checked<BankRequest<'commitDeposit'>>('commitDeposit', request);
    return Promise.resolve(
      this.run('commitDeposit', r, () => {
        const row = this.rowByTx(r.txId, '705');
        if (row.status === 'committed') return row;
        if (row.status !== 'held')
          refuse('E_BAD_STATE', '705', `pool row ${row.tokenId} is ${row.status}, not held`);
        this.db.prepare("UPDATE pool_rows SET status = 'committed' WHERE txId = ?").run(r.txId);
        return this.rowByTx(r.txId, '705');
      }),
    );
  }

  reverseDeposit(request: BankRequest<'reverseDeposit'>): Promise<Outcome<PoolRow>> {
    const r = this.checked<BankRequest<'reverseDeposit'>>('reverseDeposit', request);
    return Promise.resolve(
      this.run('reverseDeposit', r, () => {
        const row = this.rowByTx(r.txId, '705');
        if (row.status === 'reversed') return row;
        if (row.status !== 'held')
          refuse('E_BAD_STATE', '705', `pool row ${row.tokenId} is ${row.status}, not held`);
        post(
          this.db,
          `${r.txId}`,
          [
            [pool(row.creditCoId, row.userId), row.amount],
            [row.source === 'cash' ? 'ext:cash' : personal(row.accountNo), -row.amount],
          ],
          this.clock.now(),
        );
        this.db.prepare("UPDATE pool_rows SET status = 'reversed' WHERE txId = ?").run(r.txId);
        return this.rowByTx(r.txId, '705');
      }),
    );
  }

  withdrawPool(request: BankRequest<'withdrawPool'>): Promise<Outcome<never>> {
    const r = this.checked<BankRequest<'withdrawPool'>>('withdrawPool', request);
    return Promise.resolve(
      this.run(
        'withdrawPool',
        r,
        () =>
          refuse(
            'E_POOL_NOT_WITHDRAWABLE',
            '—',
            `the pool of ${r.userId} for ${r.creditCoId} pays the credit company only (flows.md 2.5)`,
          ),
        r.txId,
      ),
    );
  }

  poolRows(request: BankRequest<'poolRows'>): Promise<Outcome<readonly PoolRow[]>> {
    const r = this.checked<BankRequest<'poolRows'>>('poolRows', request);
    return Promise.resolve(
      this.run('poolRows', r, () =>
        r.userId === undefined
          ? (this.db.prepare(`${POOL_SELECT} ORDER BY seq`).all() as PoolRow[])
          : (this.db.prepare(`${POOL_SELECT} WHERE userId = ? ORDER BY seq`).all(r.userId) as PoolRow[]),
      ),
    );
  }

  receiveStatement(request: BankRequest<'receiveStatement'>): Promise<Outcome<{ readonly rows: number }>> {
    const r = this.checked<BankRequest<'receiveStatement'>>('receiveStatement', request);
    return Promise.resolve(
      this.run('receiveStatement', r, () => {
        this.contract(r.creditCoId, '801');
        this.db
          .prepare(
            'INSERT OR REPLACE INTO statements_in (creditCoId, cycleId, rows, receivedAt) VALUES (?, ?, ?, ?)',
          )
          .run(r.creditCoId, r.cycleId, JSON.stringify(r.rows), this.clock.now());
        return { rows: r.rows.length };
      }),
    );
  }

  /**
   * C2-C4: pays every statement row from the user's due pool rows (oldest first), the rest from the
   * personal account (not at all when it cannot cover it: an 805 notice), in one transfer booked here
   * as in flight, then delivered to the credit company, which books it and reconciles (1103).
   */
  async runDeduction(request: BankRequest<'runDeduction'>): Promise<Outcome<DeductionBatch>> {
    const r = this.checked<BankRequest<'runDeduction'>>('runDeduction', request);
    const built = this.run('runDeduction', r, () => {
      const prior = this.db
        .prepare('SELECT batch FROM transfers_out WHERE creditCoId = ? AND cycleId = ?')
        .get(r.creditCoId, r.cycleId) as { batch: string } | undefined;
      if (prior) return JSON.parse(prior.batch) as DeductionBatch;
      const st = this.db
        .prepare('SELECT rows FROM statements_in WHERE creditCoId = ? AND cycleId = ?')
        .get(r.creditCoId, r.cycleId) as { rows: string } | undefined;
      if (!st) refuse('E_NOT_FOUND', '802', `no statement ${r.cycleId} from ${r.creditCoId}`);
      const today = jstDay(this.clock.now());
      const statement = JSON.parse(st.rows) as { userId: string; bankAccountNo: string; billed: number }[];
      const due = this.db
        .prepare(
          `${POOL_SELECT} WHERE creditCoId = ? AND status IN ('committed', 'carried') AND deductionDay <= ? ORDER BY seq`,
        )
        .all(r.creditCoId, today) as PoolRow[];
      const users = [...new Set([...statement.map((s) => s.userId), ...due.map((d) => d.userId)])];
      const txId = newTxId(this.rng);
      const legs: [string, number][] = [];
      const rows: DeductionDetail[] = [];
      const notices: { userId: string; shortfall: number }[] = [];
      const next = nextDeductionDay(today);
      for (const u of users) {
        const billed = statement.find((s) => s.userId === u)?.billed ?? 0;
        let need = billed;
        let fromPool = 0;
        const tokens: DeductionDetail['tokens'][number][] = [];
        for (const d of due.filter((x) => x.userId === u)) {
          const remaining = d.amount - d.drawn;
          const take = Math.min(remaining, need);
          need -= take;
          fromPool += take;
          const carried = remaining - take;
          tokens.push({ tokenId: d.tokenId, deposit: d.amount, drawn: take, carried });
          this.db
            .prepare(
              'UPDATE pool_rows SET drawn = drawn + ?, carried = ?, status = ?, deductionDay = ? WHERE tokenId = ?',
            )
            .run(
              take,
              carried,
              carried > 0 ? 'carried' : 'drawn',
              carried > 0 ? next : d.deductionDay,
              d.tokenId,
            );
          if (take > 0) legs.push([pool(r.creditCoId, u), take]);
        }
        let fromPersonal = 0;
        if (need > 0) {
          const acctNo = statement.find((s) => s.userId === u)!.bankAccountNo;
          const have = this.row(acctNo) ? this.view(acctNo).balance : 0;
          if (have >= need) {
            fromPersonal = need;
            legs.push([personal(acctNo), need]);
          } else {
            notices.push({ userId: u, shortfall: need });
            this.db
              .prepare('INSERT INTO notices_out (creditCoId, cycleId, userId, shortfall) VALUES (?, ?, ?, ?)')
              .run(r.creditCoId, r.cycleId, u, need);
          }
        }
        rows.push({ userId: u, fromPool, fromPersonal, tokens });
      }
      const total = rows.reduce((s, x) => s + x.fromPool + x.fromPersonal, 0);
      if (total > 0) {
        legs.push([`clearing:${r.creditCoId}`, -total]);
        post(this.db, txId, legs, this.clock.now());
        this.enqueue({ txId, peer: r.creditCoId, topic: 'deduction', clearingAmount: total }, {});
      }
      const batch: DeductionBatch = {
        txId,
        bankId: this.id,
        creditCoId: r.creditCoId,
        cycleId: r.cycleId,
        total,
        rows,
        notices,
        delivered: false,
      };
      this.db
        .prepare('INSERT INTO transfers_out (txId, creditCoId, cycleId, total, batch) VALUES (?, ?, ?, ?, ?)')
        .run(txId, r.creditCoId, r.cycleId, total, JSON.stringify(batch));
      return batch;
    });
    if (!built.ok) return built;
    const batch = built.result;
    const sent = this.db.prepare('SELECT delivered FROM transfers_out WHERE txId = ?').get(batch.txId) as {
      delivered: number;
    };
    if (sent.delivered) return accepted({ ...batch, delivered: true });
    let answer: Outcome<unknown>;
    try {
      // Sent again with the same txId while the link is lost: a lost answer is answered from credit's
      // idempotency table (faults campaign lost-response@6 left C2 failing).
      answer = await deliverToPeer(() =>
        this.peers.peer('credit', r.creditCoId).receiveDeduction({
          txId: batch.txId,
          bankId: this.id,
          cycleId: batch.cycleId,
          total: batch.total,
          rows: batch.rows.map((x) => ({ ...x, tokens: [...x.tokens] })),
          notices: [...batch.notices],
        }),
      );
    } catch {
      return accepted(batch); // link lost: the transfer stays in flight (C4); a rerun delivers it
    }
    if (!answer.ok) return answer;
    this.db.transaction(() => {
      const seq = this.db
        .prepare('SELECT seq FROM outbox WHERE txId = ? AND deliveredAt IS NULL')
        .get(batch.txId) as { seq: number } | undefined;
      if (seq) this.delivered(seq.seq);
      this.db.prepare('UPDATE transfers_out SET delivered = 1 WHERE txId = ?').run(batch.txId);
    })();
    return accepted({ ...batch, delivered: true });
  }

  // ---- `direct` (flows.md 2.5; the checks are in pkma.ts) ----

  pkmaKey(request: BankRequest<'pkmaKey'>): Promise<Outcome<{ readonly publicKey: string }>> {
    const r = this.checked<BankRequest<'pkmaKey'>>('pkmaKey', request);
    return Promise.resolve(
      this.run('pkmaKey', r, () => {
        this.contract(r.creditCoId, '1501');
        return { publicKey: bankPkmaKey(this.pkmaKeys, r.creditCoId) };
      }),
    );
  }

  exchangePkma(request: BankRequest<'exchangePkma'>): Promise<Outcome<PkmaIdentity>> {
    const r = this.checked<BankRequest<'exchangePkma'>>('exchangePkma', request);
    return Promise.resolve(
      this.run('exchangePkma', r, () => {
        this.contract(r.creditCoId, '1501');
        const cert = checkBankCertificate(this.pkmaKeys, this.clock, this.id, r);
        this.db
          .prepare(
            'UPDATE contracts SET pkmaIssuerId = ?, pkmaCertificationKey = ?, pkmaCertificate = ? WHERE creditCoId = ?',
          )
          .run(r.issuerId, hexToBytes(r.certificationKey), cert, r.creditCoId);
        return this.pkma(r.creditCoId);
      }),
    );
  }

  pkmaIdentity(request: BankRequest<'pkmaIdentity'>): Promise<Outcome<PkmaIdentity>> {
    const r = this.checked<BankRequest<'pkmaIdentity'>>('pkmaIdentity', request);
    return Promise.resolve(this.run('pkmaIdentity', r, () => this.pkma(r.creditCoId)));
  }

  pkmaSign(request: BankRequest<'pkmaSign'>): Promise<Outcome<{ readonly signature: string }>> {
    const r = this.checked<BankRequest<'pkmaSign'>>('pkmaSign', request);
    return Promise.resolve(
      this.run('pkmaSign', r, () => {
        this.pkma(r.creditCoId);
        return { signature: pkmaSign(this.pkmaKeys, r.creditCoId, r.message) };
      }),
    );
  }

  private get pkmaKeys() {
    return { secrets: this.secrets, rng: this.rng };
  }

  private pkma(creditCoId: string): PkmaIdentity {
    this.contract(creditCoId, '1501');
    const c = this.db
      .prepare(
        'SELECT pkmaIssuerId, pkmaCertificationKey, pkmaCertificate FROM contracts WHERE creditCoId = ?',
      )
      .get(creditCoId) as {
      pkmaIssuerId: string | null;
      pkmaCertificationKey: Uint8Array | null;
      pkmaCertificate: Uint8Array | null;
    };
    if (c.pkmaIssuerId === null || !c.pkmaCertificationKey || !c.pkmaCertificate)
      refuse('E_NO_KEYS', '1501', `no bank certificate from ${creditCoId} (direct): call exchangePkma first`);
    return {
      creditCoId,
      certificate: bytesToHex(c.pkmaCertificate),
      issuerId: c.pkmaIssuerId,
      certificationKey: bytesToHex(c.pkmaCertificationKey),
    };
  }

  private contract(creditCoId: string, step: string): void {
    if (!this.db.prepare('SELECT 1 FROM contracts WHERE creditCoId = ?').get(creditCoId))
      refuse('E_NO_CONTRACT', step, `bank ${this.id} has no contract with ${creditCoId}`);
  }

  private poolRow(tokenId: string): PoolRow | undefined {
    return this.db.prepare(`${POOL_SELECT} WHERE tokenId = ?`).get(tokenId) as PoolRow | undefined;
  }

  private rowByTx(txId: string, step: string): PoolRow {
    const row = this.db.prepare(`${POOL_SELECT} WHERE txId = ?`).get(txId) as PoolRow | undefined;
    if (!row) refuse('E_NOT_FOUND', step, `no pool row for deposit ${txId}`);
    return row;
  }

  private hold(txId: string): BankHold | undefined {
    return this.db
      .prepare('SELECT txId, accountNo, amount, peer, status FROM holds WHERE txId = ?')
      .get(txId) as BankHold | undefined;
  }

  private row(
    accountNo: string,
  ): { accountNo: string; userId: string; name: string; cardId: string | null } | undefined {
    return this.db
      .prepare('SELECT accountNo, userId, name, cardId FROM accounts WHERE accountNo = ?')
      .get(accountNo) as
      { accountNo: string; userId: string; name: string; cardId: string | null } | undefined;
  }

  /** The account with its balance (what the bank owes the holder); E_NOT_FOUND when absent. */
  private view(accountNo: string): BankAccountView {
    const row = this.row(accountNo);
    if (!row) refuse('E_NOT_FOUND', '—', `no account ${accountNo} at bank ${this.id}`);
    const held = (
      this.db
        .prepare("SELECT COALESCE(SUM(amount), 0) AS n FROM holds WHERE accountNo = ? AND status = 'held'")
        .get(accountNo) as { n: number }
    ).n;
    return { ...row, balance: 0 - balanceOf(this.db, personal(accountNo)) - held };
  }

  private cover(accountNo: string, amount: number, step: string): void {
    const { balance } = this.view(accountNo);
    if (balance < amount)
      refuse('E_INSUFFICIENT_FUNDS', step, `account ${accountNo} holds ${balance}, cannot cover ${amount}`);
  }
}
