// The `smd` back-end of seed 002 (flows.md 4.1-4.2): the settlement management device [3]. Its
// application server [30] runs settlements and top-ups; its security server [31] is the key holder
// (the KC master, the session keys, wrapped at rest) and authors every card command as a whole APDU
// that the untrusted client relays; its information server [32] keeps the cards, users, extracted
// card logs and the store certificates it verified. One Ed25519 identity (role smd) signs SIG2, SIG3
// and SIG5. Money: the card value is liab:float:<smdId>; a completed purchase books float →
// clearing:<merchant> (the ACN is the in-flight item until the store books it), a top-up books
// clearing:<credit> → float (the capture is in flight until the credit back-end books it).
import { certifyWithBureau } from './bureau';
import { sha256 } from '@noble/hashes/sha2.js';
import { SETTLEMENT } from '@mica/apdu-specs/apdu/emoney-settlement';
import { logRecord } from '@mica/apdu-specs/eeprom-records';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { cardKey } from '@mica/apdu-specs/secure/card-key';
import { suiteByName, type Suite } from '@mica/apdu-specs/secure/suite';
import { canonicalJson } from '../canonical-json';
import { post } from '../ledger';
import { accepted, refuse, refused, type Outcome } from '../outcome';
import { hex, int, object, oneOf, optional, str, txId, amount, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext } from '../backend';
import { BillError, decodeBill, billHash, orderNoBytes, type Bill } from '../../settlement/bill';
import { sign, verifySignature } from '../../settlement/signatures';
import {
  authFirstApdu,
  authSecond,
  authVerify,
  openAnswer,
  secureCommand,
  splitResponse,
  zeroSsc,
  type EnvelopeKey,
} from '../../settlement/card-session';

const peerId = str({ max: 24, pattern: /^[\w.-]+$/, describe: 'a back-end id of 1-24 characters' });
const cardIdField = hex(8);
const orderNo = str({
  min: 8,
  max: 8,
  pattern: /^[\x21-\x7e]{8}$/,
  describe: '8 printable ASCII characters',
});
const answer = hex();

const receiptSchema = object({ orderNo, acnHash: hex(32), storeId: peerId, issuedAt: int() });

export const SMD_API = {
  auditView: object({}),
  /** The SMD's identity (certificate from the bureau) and its card system (the KC master). */
  setUp: object({
    bureauId: peerId,
    suite: oneOf(['2k3des', 'aes128'] as const),
    master: hex(),
    systemCode: int(0, 0xffff),
    areaCode: int(0, 0xffff),
    maxBalance: amount,
  }),
  identity: object({}),
  /** Issuance (dedicated channel): a card, its user and its opening value. */
  registerCard: object({
    cardId: cardIdField,
    idm: hex(8),
    userId: str({ max: 64 }),
    name: str({ max: 128 }),
    opening: int(0, 0xffffffff),
  }),
  /** ST8 / ST106: the BILL with SIG1 and the card ID (second embodiment: and the balance it read). */
  beginSettlement: object({
    txId,
    embodiment: oneOf(['first', 'second'] as const),
    bill: hex(),
    encoding: oneOf(['json', 'binary'] as const),
    sig1: hex(64),
    certificate: hex(),
    cardId: cardIdField,
    balance: optional(int(0, 0xffffffff)),
  }),
  /** ST10: the card challenge (the answer to AUTHENTICATE 1) → AUTHENTICATE 2. */
  authChallenge: object({ ref: txId, response: answer }),
  /** ST11: the card's answer to AUTHENTICATE 2 → the next card command of the flow. */
  authConfirm: object({ ref: txId, response: answer }),
  /** ST13-ST14: the BI → {header, balance, SPC} with SIG2, or E_INSUFFICIENT. */
  balanceInfo: object({ settlementId: txId, response: answer }),
  /** ST19: the PCN → the ACN with SIG3 (or, after a duplicate charge ID, a log read). */
  completeSettlement: object({ settlementId: txId, response: answer }),
  /** A lost PCN: re-authenticate, then read the log (flows.md 4.2 errors). */
  recoverSettlement: object({ settlementId: txId }),
  /** The log read of a recovery: completes the settlement, or re-sends the same SPC. */
  reconcileSettlement: object({ settlementId: txId, response: answer }),
  /** ST16 / ST109: the user declined. */
  abandon: object({ orderNo }),
  /** (9)-(11): the store's receipt with SIG4. */
  acceptReceipt: object({ receipt: receiptSchema, sig4: hex(64), certificate: hex() }),
  receipt: object({ orderNo }),
  settlement: object({ settlementId: txId }),
  /** Top-up (1)-(4): the card ID and balance → AUTHENTICATE, then READ LOG into [32]. */
  beginTopUp: object({ txId, cardId: cardIdField, balance: int(0, 0xffffffff) }),
  topUpHistory: object({ topUpId: txId, response: answer }),
  /** (5)-(7): {sum, credit no., expiry, PIN} → VALUE UPDATE with SIG5. */
  requestTopUp: object({
    topUpId: txId,
    amount,
    creditId: peerId,
    creditNo: str({ max: 19, pattern: /^\d+$/, describe: 'a credit card number (digits)' }),
    expiry: int(0, 0xffff),
    pin: str({ min: 4, max: 12, pattern: /^\d+$/, describe: '4-12 PIN digits' }),
  }),
  /** (7): the card's answer to VALUE UPDATE → books the top-up, then READ LOG. */
  completeTopUp: object({ topUpId: txId, response: answer }),
  /** (8)-(9): the card log into [32]; an update the log does not show is reversed at the credit company. */
  topUpLog: object({ topUpId: txId, response: answer }),
  /** (7) answer lost: re-authenticate, then READ LOG settles it (booked if applied, else reversed). */
  recoverTopUp: object({ topUpId: txId }),
  topUp: object({ topUpId: txId }),
  cardLog: object({ cardId: cardIdField }),
} as const;

export type SmdRequest<M extends keyof typeof SMD_API> = Infer<(typeof SMD_API)[M]>;

export interface SettlementHeader {
  readonly orderNo: string;
  readonly amount: number;
  readonly billHash: string;
  readonly smdId: string;
}

/** A card command for the client to relay, with what the client must check first. */
export interface CardStep {
  readonly command: string;
  readonly step: string;
  /** SIG2 (first embodiment ST12 / ST14) over {settlementId, step, command, header?, balance?}. */
  readonly sig2?: string;
  readonly header?: SettlementHeader;
  readonly balance?: number;
  readonly certificate?: string;
}

export interface Acn {
  readonly settlementId: string;
  readonly orderNo: string;
  readonly amount: number;
  readonly billHash: string;
  readonly newBalance: number;
  readonly completedAt: number;
}

export interface AcnResult {
  readonly acn: Acn;
  readonly sig3: string;
  readonly certificate: string;
  /** Whether the merchant store accepted (and booked) the ACN. */
  readonly storeAccepted: boolean;
}

export type SettlementNext = { readonly kind: 'acn' } & AcnResult;

export type Receipt = Infer<typeof receiptSchema>;

export interface SettlementView {
  readonly settlementId: string;
  readonly orderNo: string;
  readonly storeId: string;
  readonly merchantId: string;
  readonly cardId: string;
  readonly amount: number;
  readonly billHash: string;
  readonly embodiment: string;
  readonly status: 'verified' | 'authenticated' | 'debit-sent' | 'completed' | 'abandoned' | 'failed';
  readonly acn: Acn | null;
  readonly receipt: Receipt | null;
  readonly sig4: string | null;
}

export interface TopUpView {
  readonly topUpId: string;
  readonly cardId: string;
  readonly amount: number | null;
  readonly creditId: string | null;
  readonly status: 'started' | 'authorized' | 'declined' | 'applied' | 'refused' | 'reversed';
  readonly newBalance: number | null;
}

export interface CardLogRow {
  readonly chargeId: string;
  readonly amount: number;
  readonly kind: number;
  readonly day: number;
  readonly origin: number;
}

export interface SettlementBackend extends Backend {
  setUp(r: SmdRequest<'setUp'>): Promise<Outcome<{ readonly certificate: string }>>;
  identity(
    r: SmdRequest<'identity'>,
  ): Promise<Outcome<{ readonly certificate: string; readonly root: string }>>;
  registerCard(r: SmdRequest<'registerCard'>): Promise<Outcome<{ readonly cardId: string }>>;
  beginSettlement(
    r: SmdRequest<'beginSettlement'>,
  ): Promise<Outcome<CardStep & { readonly settlementId: string }>>;
  authChallenge(r: SmdRequest<'authChallenge'>): Promise<Outcome<CardStep>>;
  authConfirm(r: SmdRequest<'authConfirm'>): Promise<Outcome<CardStep>>;
  balanceInfo(r: SmdRequest<'balanceInfo'>): Promise<Outcome<CardStep>>;
  completeSettlement(
    r: SmdRequest<'completeSettlement'>,
  ): Promise<Outcome<SettlementNext | ({ readonly kind: 'card' } & CardStep)>>;
  recoverSettlement(r: SmdRequest<'recoverSettlement'>): Promise<Outcome<CardStep>>;
  reconcileSettlement(
    r: SmdRequest<'reconcileSettlement'>,
  ): Promise<Outcome<SettlementNext | ({ readonly kind: 'card' } & CardStep)>>;
  abandon(r: SmdRequest<'abandon'>): Promise<Outcome<SettlementView>>;
  acceptReceipt(r: SmdRequest<'acceptReceipt'>): Promise<Outcome<{ readonly orderNo: string }>>;
  receipt(
    r: SmdRequest<'receipt'>,
  ): Promise<Outcome<{ readonly receipt: Receipt; readonly sig4: string; readonly certificate: string }>>;
  settlement(r: SmdRequest<'settlement'>): Promise<Outcome<SettlementView>>;
  beginTopUp(r: SmdRequest<'beginTopUp'>): Promise<Outcome<CardStep & { readonly topUpId: string }>>;
  topUpHistory(r: SmdRequest<'topUpHistory'>): Promise<Outcome<{ readonly records: number }>>;
  requestTopUp(
    r: SmdRequest<'requestTopUp'>,
  ): Promise<Outcome<CardStep & { readonly sig5: string; readonly blobHash: string }>>;
  completeTopUp(r: SmdRequest<'completeTopUp'>): Promise<Outcome<CardStep & { readonly newBalance: number }>>;
  topUpLog(
    r: SmdRequest<'topUpLog'>,
  ): Promise<Outcome<{ readonly applied: boolean; readonly records: number }>>;
  recoverTopUp(r: SmdRequest<'recoverTopUp'>): Promise<Outcome<CardStep>>;
  topUp(r: SmdRequest<'topUp'>): Promise<Outcome<TopUpView>>;
  cardLog(r: SmdRequest<'cardLog'>): Promise<Outcome<readonly CardLogRow[]>>;
}

declare module '../backend' {
  interface KindInterfaces {
    smd: SettlementBackend;
  }
}

const MIGRATIONS = [
  `CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE users (userId TEXT PRIMARY KEY, name TEXT NOT NULL);
   CREATE TABLE cards (cardId TEXT PRIMARY KEY, idm TEXT NOT NULL, userId TEXT NOT NULL REFERENCES users);
   CREATE TABLE card_logs (cardId TEXT NOT NULL, chargeId TEXT NOT NULL, amount INTEGER NOT NULL, kind INTEGER NOT NULL,
     day INTEGER NOT NULL, origin INTEGER NOT NULL, readAt INTEGER NOT NULL, PRIMARY KEY (cardId, chargeId));
   CREATE TABLE store_certs (subjectId TEXT PRIMARY KEY, certificate TEXT NOT NULL, cachedAt INTEGER NOT NULL);
   CREATE TABLE settlements (settlementId TEXT PRIMARY KEY, orderNo TEXT NOT NULL UNIQUE, storeId TEXT NOT NULL,
     merchantId TEXT NOT NULL, cardId TEXT NOT NULL, amount INTEGER NOT NULL, billHash TEXT NOT NULL,
     embodiment TEXT NOT NULL, status TEXT NOT NULL, balance INTEGER, spc TEXT, acn TEXT, sig3 TEXT,
     receipt TEXT, sig4 TEXT, receiptCert TEXT, createdAt INTEGER NOT NULL);
   CREATE TABLE topups (topUpId TEXT PRIMARY KEY, cardId TEXT NOT NULL, balance INTEGER NOT NULL, amount INTEGER,
     creditId TEXT, creditRef TEXT, status TEXT NOT NULL, envelope TEXT, newBalance INTEGER, createdAt INTEGER NOT NULL);
   CREATE TABLE sessions (ref TEXT PRIMARY KEY, cardId TEXT NOT NULL, purpose TEXT NOT NULL, stage TEXT NOT NULL,
     ssc TEXT NOT NULL);`,
];

const SIGNING_KEY = 'smd-signing-key';
const MASTER = 'kc-master';
/** Log record origin of a purchase and of a top-up (flows.md 1.4: the channel). */
const ORIGIN = Object.freeze({ purchase: 0x01, topUp: 0x02 });

type SettlementRow = Omit<SettlementView, 'acn' | 'receipt'> & {
  balance: number | null;
  spc: string | null;
  acn: string | null;
  sig3: string | null;
  receipt: string | null;
};

type SessionRow = {
  ref: string;
  cardId: string;
  purpose: 'settle' | 'recover' | 'topup';
  stage: string;
  ssc: string;
};

export class SqliteSmd extends SqliteBackend implements SettlementBackend {
  readonly kind = 'smd';

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, SMD_API);
  }

  async setUp(request: SmdRequest<'setUp'>): Promise<Outcome<{ readonly certificate: string }>> {
    const r = this.checked<SmdRequest<'setUp'>>('setUp', request);
    if (this.setting('certificate')) return refused('E_BAD_STATE', '—', `smd ${this.id} is already set up`);
    const suite = suiteByName(r.suite);
    if (hexToBytes(r.master).length !== suite.keyLength)
      return refused('E_BAD_STATE', '—', `master must be ${suite.keyLength} bytes for ${suite.name}`);
    const key = this.rng.bytes(32);
    const cert = await certifyWithBureau(this.peers, r.bureauId, this.id, 'smd', key);
    if (!cert.ok) return cert;
    return this.run('setUp', { ...r, master: '*' }, () => {
      this.secrets.put(SIGNING_KEY, key);
      this.secrets.put(MASTER, hexToBytes(r.master));
      key.fill(0);
      for (const [k, v] of Object.entries({
        suite: r.suite,
        systemCode: String(r.systemCode),
        areaCode: String(r.areaCode),
        maxBalance: String(r.maxBalance),
        root: cert.result.root,
        certificate: cert.result.certificate,
      }))
        this.db.prepare('INSERT INTO settings (name, value) VALUES (?, ?)').run(k, v);
      return { certificate: cert.result.certificate };
    });
  }

  identity(
    request: SmdRequest<'identity'>,
  ): Promise<Outcome<{ readonly certificate: string; readonly root: string }>> {
    const r = this.checked<SmdRequest<'identity'>>('identity', request);
    return Promise.resolve(
      this.run('identity', r, () => ({ certificate: this.must('certificate'), root: this.must('root') })),
    );
  }

  registerCard(request: SmdRequest<'registerCard'>): Promise<Outcome<{ readonly cardId: string }>> {
    const r = this.checked<SmdRequest<'registerCard'>>('registerCard', request);
    return Promise.resolve(
      this.run('registerCard', r, () => {
        if (this.card(r.cardId)) refuse('E_DUPLICATE', '—', `card ${r.cardId} is registered`);
        this.db
          .prepare('INSERT INTO users (userId, name) VALUES (?, ?) ON CONFLICT DO NOTHING')
          .run(r.userId, r.name);
        this.db
          .prepare('INSERT INTO cards (cardId, idm, userId) VALUES (?, ?, ?)')
          .run(r.cardId, r.idm, r.userId);
        if (r.opening > 0)
          post(
            this.db,
            bytesToHex(sha256(new TextEncoder().encode(`opening:${this.id}:${r.cardId}`)).subarray(0, 16)),
            [
              [`ext:opening:${r.cardId}`, r.opening],
              [this.float, -r.opening],
            ],
            this.clock.now(),
          );
        return { cardId: r.cardId };
      }),
    );
  }

  beginSettlement(
    request: SmdRequest<'beginSettlement'>,
  ): Promise<Outcome<CardStep & { readonly settlementId: string }>> {
    const r = this.checked<SmdRequest<'beginSettlement'>>('beginSettlement', request);
    const step = r.embodiment === 'first' ? 'ST9' : 'ST107';
    return Promise.resolve(
      this.run(
        'beginSettlement',
        r,
        () => {
          let bill: Bill;
          const bytes = hexToBytes(r.bill);
          try {
            bill = decodeBill(bytes, r.encoding);
          } catch (e) {
            if (e instanceof BillError)
              refuse('E_SIG1_INVALID', step, `the BILL does not parse: ${e.message}`);
            throw e;
          }
          const hash = bytesToHex(billHash(bytes));
          const signer = bill.mallId ?? bill.storeId;
          const bad = verifySignature('SIG1', { billHash: hash, encoding: r.encoding }, r.sig1, {
            certificate: r.certificate,
            roots: [hexToBytes(this.must('root'))],
            role: 'store',
            subjectId: signer,
            now: this.clock.now(),
          });
          if (bad) refuse('E_SIG1_INVALID', step, bad);
          if (bill.smdId !== this.id)
            refuse('E_SIG1_INVALID', step, `the BILL names smd ${bill.smdId}, not ${this.id}`);
          if (Math.floor(this.clock.now() / 1000) > bill.expiresAt)
            refuse('E_BILL_EXPIRED', step, `the BILL of order ${bill.orderNo} expired at ${bill.expiresAt}`);
          if (this.db.prepare('SELECT 1 FROM settlements WHERE orderNo = ?').get(bill.orderNo))
            refuse('E_ORDER_DUPLICATE', step, `order ${bill.orderNo} has a settlement already`);
          if (r.txId.slice(0, 16) !== bytesToHex(orderNoBytes(bill.orderNo)))
            refuse(
              'E_BAD_STATE',
              step,
              `the settlement txId must start with the orderNo's 8 bytes (the card log's charge ID)`,
            );
          if (!this.card(r.cardId))
            refuse('E_UNKNOWN_CARD', step, `card ${r.cardId} is not registered at ${this.id}`);
          if (r.embodiment === 'second') {
            if (r.balance === undefined)
              refuse('E_BAD_STATE', 'ST106', 'the second embodiment sends the balance read at ST104');
            if (r.balance < bill.amount)
              refuse('E_INSUFFICIENT', 'ST106', `balance ${r.balance} is below the bill's ${bill.amount}`);
          }
          this.db
            .prepare(
              'INSERT INTO store_certs (subjectId, certificate, cachedAt) VALUES (?, ?, ?) ON CONFLICT (subjectId) DO UPDATE SET certificate = excluded.certificate, cachedAt = excluded.cachedAt',
            )
            .run(signer, r.certificate, this.clock.now());
          this.db
            .prepare(
              "INSERT INTO settlements (settlementId, orderNo, storeId, merchantId, cardId, amount, billHash, embodiment, status, balance, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'verified', ?, ?)",
            )
            .run(
              r.txId,
              bill.orderNo,
              bill.storeId,
              signer,
              r.cardId,
              bill.amount,
              hash,
              r.embodiment,
              r.balance ?? null,
              this.clock.now(),
            );
          this.openSession(r.txId, r.cardId, 'settle');
          return { settlementId: r.txId, command: bytesToHex(authFirstApdu(this.areaCode)), step: 'ST10' };
        },
        r.txId,
      ),
    );
  }

  authChallenge(request: SmdRequest<'authChallenge'>): Promise<Outcome<CardStep>> {
    const r = this.checked<SmdRequest<'authChallenge'>>('authChallenge', request);
    return Promise.resolve(
      this.run('authChallenge', r, () => {
        const s = this.session(r.ref, 'auth1');
        const { data, sw } = splitResponse(hexToBytes(r.response));
        if (sw !== 0x9000 || data.length !== this.suite.blockSize)
          refuse('E_CARD_AUTH_FAILED', 'ST10', `the card refused AUTHENTICATE 1 (${sw.toString(16)})`);
        const kc = this.kc(s.cardId);
        const a = authSecond(this.suite, kc, data, this.rng.bytes(this.suite.randomLength));
        kc.fill(0);
        this.secrets.put(`session/${r.ref}/pending`, a.pending);
        this.db.prepare("UPDATE sessions SET stage = 'auth2' WHERE ref = ?").run(r.ref);
        return { command: bytesToHex(a.apdu), step: 'ST11' };
      }),
    );
  }

  authConfirm(request: SmdRequest<'authConfirm'>): Promise<Outcome<CardStep>> {
    const r = this.checked<SmdRequest<'authConfirm'>>('authConfirm', request);
    return Promise.resolve(
      this.run('authConfirm', r, () => {
        const s = this.session(r.ref, 'auth2');
        const { data, sw } = splitResponse(hexToBytes(r.response));
        const pending = this.secrets.get(`session/${r.ref}/pending`);
        const kc = this.kc(s.cardId);
        const ks = sw === 0x9000 && pending ? authVerify(this.suite, kc, pending, data) : undefined;
        kc.fill(0);
        if (!ks)
          refuse('E_CARD_AUTH_FAILED', 'ST11', `the card did not prove KC (answer ${sw.toString(16)})`);
        this.secrets.put(`session/${r.ref}/ks`, ks);
        ks.fill(0);
        this.db
          .prepare("UPDATE sessions SET stage = 'open', ssc = ? WHERE ref = ?")
          .run(bytesToHex(zeroSsc(this.suite)), r.ref);
        if (s.purpose === 'topup' || s.purpose === 'recover')
          return this.command(
            r.ref,
            SETTLEMENT.inner.readLog,
            0,
            new Uint8Array(0),
            s.purpose === 'topup' ? '(4)' : 'ST19',
          );
        const row = this.settlementRow(r.ref);
        if (row.embodiment === 'first') {
          this.setStatus(r.ref, 'authenticated');
          const c = this.command(r.ref, SETTLEMENT.inner.brc, 0, new Uint8Array(0), 'ST12');
          return this.signed2(r.ref, c, {});
        }
        this.setStatus(r.ref, 'debit-sent');
        return { ...this.spc(row, 'ST109'), header: this.header(row), balance: row.balance ?? 0 };
      }),
    );
  }

  balanceInfo(request: SmdRequest<'balanceInfo'>): Promise<Outcome<CardStep>> {
    const r = this.checked<SmdRequest<'balanceInfo'>>('balanceInfo', request);
    return Promise.resolve(
      this.run('balanceInfo', r, () => {
        const row = this.settlementRow(r.settlementId);
        if (row.status !== 'authenticated') refuse('E_BAD_STATE', 'ST13', `settlement is ${row.status}`);
        const a = this.answer(r.settlementId, r.response, 'ST13');
        if (a.sw !== 0x9000 || a.data.length !== 4)
          refuse('E_CARD_REFUSED', 'ST13', `BRC answered ${a.sw.toString(16)}`);
        const balance = new DataView(a.data.buffer, a.data.byteOffset).getUint32(0);
        if (balance < row.amount)
          refuse('E_INSUFFICIENT', 'ST14', `balance ${balance} is below the bill's ${row.amount}; no SPC`);
        this.db
          .prepare('UPDATE settlements SET balance = ? WHERE settlementId = ?')
          .run(balance, r.settlementId);
        this.setStatus(r.settlementId, 'debit-sent');
        const header = this.header(row);
        return this.signed2(r.settlementId, this.spc({ ...row, balance }, 'ST14'), { header, balance });
      }),
    );
  }

  async completeSettlement(
    request: SmdRequest<'completeSettlement'>,
  ): Promise<Outcome<SettlementNext | ({ readonly kind: 'card' } & CardStep)>> {
    const r = this.checked<SmdRequest<'completeSettlement'>>('completeSettlement', request);
    const first = this.run(
      'completeSettlement',
      r,
      (): { kind: 'mismatch'; message: string } | { kind: 'acn' } | ({ kind: 'card' } & CardStep) => {
        const row = this.settlementRow(r.settlementId);
        if (row.status !== 'debit-sent') refuse('E_BAD_STATE', 'ST19', `settlement is ${row.status}`);
        const a = this.answer(r.settlementId, r.response, 'ST19');
        if (a.sw === 0x69e1) {
          this.db.prepare("UPDATE sessions SET purpose = 'recover' WHERE ref = ?").run(r.settlementId);
          return {
            kind: 'card',
            ...this.command(r.settlementId, SETTLEMENT.inner.readLog, 0, new Uint8Array(0), 'ST19'),
          };
        }
        if (a.sw === 0x6901) refuse('E_INSUFFICIENT', 'ST17', 'the card refused the debit: INSUFFICIENT');
        if (a.sw !== 0x9000 || a.data.length !== SETTLEMENT.pcnLength)
          refuse('E_CARD_REFUSED', 'ST18', `the SPC answered ${a.sw.toString(16)}`);
        const dv = new DataView(a.data.buffer, a.data.byteOffset);
        const echoed = new TextDecoder('latin1').decode(a.data.subarray(0, 8));
        const debited = dv.getUint32(8);
        const newBalance = dv.getUint32(12);
        const want = (row.balance ?? 0) - row.amount;
        if (echoed !== row.orderNo || debited !== row.amount || newBalance !== want) {
          // (F) the card's word without a MAC: what it says it debited is booked to suspense, and the
          // settlement is flagged for correction; no ACN.
          post(
            this.db,
            r.settlementId,
            [
              [this.float, debited],
              [`liab:suspense:${row.orderNo}`, -debited],
            ],
            this.clock.now(),
          );
          this.setStatus(r.settlementId, 'failed');
          return {
            kind: 'mismatch',
            message: `PCN {orderNo ${JSON.stringify(echoed)}, debited ${debited}, newBalance ${newBalance}} differs from the SPC {${row.orderNo}, ${row.amount}, ${want}}`,
          };
        }
        this.complete(row, newBalance);
        return { kind: 'acn' };
      },
    );
    if (!first.ok) return first;
    if (first.result.kind === 'mismatch') return refused('E_PCN_MISMATCH', 'ST19', first.result.message);
    if (first.result.kind === 'card') return accepted(first.result);
    return this.deliverAcn(r.settlementId);
  }

  recoverSettlement(request: SmdRequest<'recoverSettlement'>): Promise<Outcome<CardStep>> {
    const r = this.checked<SmdRequest<'recoverSettlement'>>('recoverSettlement', request);
    return Promise.resolve(
      this.run('recoverSettlement', r, () => {
        const row = this.settlementRow(r.settlementId);
        if (row.status !== 'debit-sent')
          refuse('E_BAD_STATE', 'ST19', `settlement is ${row.status}, nothing to recover`);
        this.openSession(r.settlementId, row.cardId, 'recover');
        return { command: bytesToHex(authFirstApdu(this.areaCode)), step: 'ST10' };
      }),
    );
  }

  async reconcileSettlement(
    request: SmdRequest<'reconcileSettlement'>,
  ): Promise<Outcome<SettlementNext | ({ readonly kind: 'card' } & CardStep)>> {
    const r = this.checked<SmdRequest<'reconcileSettlement'>>('reconcileSettlement', request);
    const first = this.run('reconcileSettlement', r, (): { kind: 'acn' } | ({ kind: 'card' } & CardStep) => {
      const row = this.settlementRow(r.settlementId);
      if (row.status !== 'debit-sent') refuse('E_BAD_STATE', 'ST19', `settlement is ${row.status}`);
      const a = this.answer(r.settlementId, r.response, 'ST19');
      if (a.sw !== 0x9000) refuse('E_CARD_REFUSED', 'ST19', `READ LOG answered ${a.sw.toString(16)}`);
      const records = this.storeLog(row.cardId, a.data);
      const chargeId = bytesToHex(orderNoBytes(row.orderNo));
      const hit = records.find((x) => x.chargeId === chargeId && x.kind === 2 && x.amount === row.amount);
      if (hit) {
        this.complete(row, (row.balance ?? 0) - row.amount);
        return { kind: 'acn' };
      }
      this.db.prepare("UPDATE sessions SET purpose = 'settle' WHERE ref = ?").run(r.settlementId);
      return { kind: 'card', ...this.spc(row, 'ST16') };
    });
    if (!first.ok) return first;
    if (first.result.kind === 'card') return accepted(first.result);
    return this.deliverAcn(r.settlementId);
  }

  abandon(request: SmdRequest<'abandon'>): Promise<Outcome<SettlementView>> {
    const r = this.checked<SmdRequest<'abandon'>>('abandon', request);
    return Promise.resolve(
      this.run('abandon', r, () => {
        const row = this.db
          .prepare('SELECT settlementId FROM settlements WHERE orderNo = ?')
          .get(r.orderNo) as { settlementId: string } | undefined;
        if (!row) refuse('E_NOT_FOUND', 'ST16', `no settlement for order ${r.orderNo}`);
        const s = this.settlementRow(row.settlementId);
        if (s.status === 'completed') refuse('E_BAD_STATE', 'ST16', `order ${r.orderNo} is completed`);
        this.setStatus(row.settlementId, 'abandoned');
        this.db.prepare('DELETE FROM sessions WHERE ref = ?').run(row.settlementId);
        return this.view(row.settlementId);
      }),
    );
  }

  acceptReceipt(request: SmdRequest<'acceptReceipt'>): Promise<Outcome<{ readonly orderNo: string }>> {
    const r = this.checked<SmdRequest<'acceptReceipt'>>('acceptReceipt', request);
    return Promise.resolve(
      this.run('acceptReceipt', r, () => {
        const row = this.db
          .prepare('SELECT settlementId FROM settlements WHERE orderNo = ?')
          .get(r.receipt.orderNo) as { settlementId: string } | undefined;
        if (!row) refuse('E_NOT_FOUND', '(10)', `no settlement for order ${r.receipt.orderNo}`);
        const s = this.settlementRow(row.settlementId);
        if (s.status !== 'completed' || !s.acn) refuse('E_BAD_STATE', '(10)', `settlement is ${s.status}`);
        const bad = verifySignature('SIG4', r.receipt, r.sig4, {
          certificate: r.certificate,
          roots: [hexToBytes(this.must('root'))],
          role: 'store',
          subjectId: s.merchantId,
          now: this.clock.now(),
        });
        if (bad) refuse('E_BAD_STATE', '(10)', `SIG4: ${bad}`);
        if (r.receipt.acnHash !== acnHash(JSON.parse(s.acn) as Acn))
          refuse('E_BAD_STATE', '(10)', 'the receipt names another ACN');
        this.db
          .prepare('UPDATE settlements SET receipt = ?, sig4 = ?, receiptCert = ? WHERE settlementId = ?')
          .run(canonicalJson(r.receipt), r.sig4, r.certificate, row.settlementId);
        return { orderNo: r.receipt.orderNo };
      }),
    );
  }

  receipt(
    request: SmdRequest<'receipt'>,
  ): Promise<Outcome<{ readonly receipt: Receipt; readonly sig4: string; readonly certificate: string }>> {
    const r = this.checked<SmdRequest<'receipt'>>('receipt', request);
    return Promise.resolve(
      this.run('receipt', r, () => {
        const row = this.db
          .prepare('SELECT receipt, sig4, receiptCert FROM settlements WHERE orderNo = ?')
          .get(r.orderNo) as
          { receipt: string | null; sig4: string | null; receiptCert: string | null } | undefined;
        if (!row?.receipt || !row.sig4 || !row.receiptCert)
          refuse('E_NOT_FOUND', '(11)', `no receipt for order ${r.orderNo}`);
        return { receipt: JSON.parse(row.receipt) as Receipt, sig4: row.sig4, certificate: row.receiptCert };
      }),
    );
  }

  settlement(request: SmdRequest<'settlement'>): Promise<Outcome<SettlementView>> {
    const r = this.checked<SmdRequest<'settlement'>>('settlement', request);
    return Promise.resolve(this.run('settlement', r, () => this.view(r.settlementId)));
  }

  beginTopUp(request: SmdRequest<'beginTopUp'>): Promise<Outcome<CardStep & { readonly topUpId: string }>> {
    const r = this.checked<SmdRequest<'beginTopUp'>>('beginTopUp', request);
    return Promise.resolve(
      this.run(
        'beginTopUp',
        r,
        () => {
          if (!this.card(r.cardId))
            refuse('E_UNKNOWN_CARD', '(2)', `card ${r.cardId} is not registered at ${this.id}`);
          this.db
            .prepare(
              "INSERT INTO topups (topUpId, cardId, balance, status, createdAt) VALUES (?, ?, ?, 'started', ?)",
            )
            .run(r.txId, r.cardId, r.balance, this.clock.now());
          this.openSession(r.txId, r.cardId, 'topup');
          return { topUpId: r.txId, command: bytesToHex(authFirstApdu(this.areaCode)), step: '(3)' };
        },
        r.txId,
      ),
    );
  }

  topUpHistory(request: SmdRequest<'topUpHistory'>): Promise<Outcome<{ readonly records: number }>> {
    const r = this.checked<SmdRequest<'topUpHistory'>>('topUpHistory', request);
    return Promise.resolve(
      this.run('topUpHistory', r, () => {
        const t = this.topUpRow(r.topUpId);
        const a = this.answer(r.topUpId, r.response, '(4)');
        if (a.sw !== 0x9000) refuse('E_CARD_REFUSED', '(4)', `READ LOG answered ${a.sw.toString(16)}`);
        return { records: this.storeLog(t.cardId, a.data).length };
      }),
    );
  }

  async requestTopUp(
    request: SmdRequest<'requestTopUp'>,
  ): Promise<Outcome<CardStep & { readonly sig5: string; readonly blobHash: string }>> {
    const r = this.checked<SmdRequest<'requestTopUp'>>('requestTopUp', request);
    const pre = this.run('requestTopUp/check', { topUpId: r.topUpId, amount: r.amount }, () => {
      const t = this.topUpRow(r.topUpId);
      if (t.status !== 'started') refuse('E_BAD_STATE', '(6)', `top-up is ${t.status}`);
      if (t.balance + r.amount > this.maxBalance)
        refuse(
          'E_OVER_MAX_BALANCE',
          '(6)',
          `balance ${t.balance} + ${r.amount} is above the maximum ${this.maxBalance}`,
        );
      return t;
    });
    if (!pre.ok) return pre;
    const auth = await this.peers.peer('credit', r.creditId).authorizeCardNotPresent({
      txId: r.topUpId,
      cardNo: r.creditNo,
      expiry: r.expiry,
      pin: r.pin,
      amount: r.amount,
      merchantId: this.id,
    });
    if (!auth.ok) {
      this.run('requestTopUp/declined', { topUpId: r.topUpId }, () =>
        this.db
          .prepare("UPDATE topups SET status = 'declined', creditId = ? WHERE topUpId = ?")
          .run(r.creditId, r.topUpId),
      );
      return refused('E_CREDIT_DECLINED', '(6)', auth.message);
    }
    return this.run('requestTopUp', { topUpId: r.topUpId, amount: r.amount }, () => {
      const t = this.topUpRow(r.topUpId);
      const data = Uint8Array.of(
        ...hexToBytes(r.topUpId).subarray(0, 8),
        ...hexToBytes(r.topUpId).subarray(8, 16),
        1,
        ...be32(r.amount),
        ...be16(this.clock.today()),
        ORIGIN.topUp,
      );
      const envelope = this.mode === 'faithful' ? 'kc' : 'session';
      const c =
        envelope === 'kc'
          ? this.kcDirect(t.cardId, data)
          : this.command(r.topUpId, SETTLEMENT.inner.valueUpdate, 0, data, '(7)');
      const blobHash = bytesToHex(sha256(hexToBytes(c.command)));
      const payload = { topUpId: r.topUpId, cardId: t.cardId, amount: r.amount, blobHash };
      this.db
        .prepare(
          "UPDATE topups SET status = 'authorized', amount = ?, creditId = ?, creditRef = ?, envelope = ? WHERE topUpId = ?",
        )
        .run(r.amount, r.creditId, auth.result.txId, envelope, r.topUpId);
      return {
        ...c,
        sig5: sign('SIG5', payload, this.signingKey()),
        blobHash,
        certificate: this.must('certificate'),
      };
    });
  }

  async completeTopUp(
    request: SmdRequest<'completeTopUp'>,
  ): Promise<Outcome<CardStep & { readonly newBalance: number }>> {
    const r = this.checked<SmdRequest<'completeTopUp'>>('completeTopUp', request);
    const first = this.run(
      'completeTopUp',
      r,
      (): { applied: true; step: CardStep; newBalance: number } | { applied: false; sw: number } => {
        const t = this.topUpRow(r.topUpId);
        if (t.status !== 'authorized') refuse('E_BAD_STATE', '(7)', `top-up is ${t.status}`);
        const a =
          t.envelope === 'kc'
            ? this.kcAnswer(t.cardId, r.response)
            : this.answer(r.topUpId, r.response, '(7)');
        if (a.sw !== 0x9000 || a.data.length !== 5 || a.data[0] !== 1) {
          this.db.prepare("UPDATE topups SET status = 'refused' WHERE topUpId = ?").run(r.topUpId);
          return { applied: false, sw: a.sw };
        }
        const newBalance = new DataView(a.data.buffer, a.data.byteOffset).getUint32(1);
        const amountOf = t.amount!;
        post(
          this.db,
          r.topUpId,
          [
            [`clearing:${t.creditId!}`, amountOf],
            [this.float, -amountOf],
          ],
          this.clock.now(),
        );
        this.enqueue(
          { txId: r.topUpId, peer: t.creditId!, topic: 'capture', clearingAmount: -amountOf },
          { txId: r.topUpId },
        );
        this.db
          .prepare("UPDATE topups SET status = 'applied', newBalance = ? WHERE topUpId = ?")
          .run(newBalance, r.topUpId);
        return {
          applied: true,
          newBalance,
          step: this.command(r.topUpId, SETTLEMENT.inner.readLog, 0, new Uint8Array(0), '(9)'),
        };
      },
    );
    if (!first.ok) return first;
    const t = this.topUpRow(r.topUpId);
    const credit = this.peers.peer('credit', t.creditId!);
    if (!first.result.applied) {
      await credit.reverseCardNotPresent({ txId: r.topUpId });
      return refused(
        'E_CARD_REFUSED',
        '(7)',
        `the card refused VALUE UPDATE (${first.result.sw.toString(16)}); the authorization is reversed`,
      );
    }
    const captured = await credit.captureCardNotPresent({ txId: r.topUpId, merchantId: this.id });
    if (captured.ok)
      this.run('completeTopUp/delivered', { txId: r.topUpId }, () =>
        this.db
          .prepare("UPDATE outbox SET deliveredAt = ? WHERE txId = ? AND topic = 'capture'")
          .run(this.clock.now(), r.topUpId),
      );
    return accepted({ ...first.result.step, newBalance: first.result.newBalance });
  }

  async topUpLog(
    request: SmdRequest<'topUpLog'>,
  ): Promise<Outcome<{ readonly applied: boolean; readonly records: number }>> {
    const r = this.checked<SmdRequest<'topUpLog'>>('topUpLog', request);
    const first = this.run('topUpLog', r, () => {
      const t = this.topUpRow(r.topUpId);
      const a = this.answer(r.topUpId, r.response, '(9)');
      if (a.sw !== 0x9000) refuse('E_CARD_REFUSED', '(9)', `READ LOG answered ${a.sw.toString(16)}`);
      const records = this.storeLog(t.cardId, a.data);
      const applied = records.some((x) => x.chargeId === r.topUpId.slice(0, 16));
      const reverse = !applied && t.status === 'authorized';
      // The answer to VALUE UPDATE was lost but the log shows it: booked now, captured below.
      const book = applied && t.status === 'authorized';
      if (reverse) this.db.prepare("UPDATE topups SET status = 'reversed' WHERE topUpId = ?").run(r.topUpId);
      if (book) {
        post(
          this.db,
          r.topUpId,
          [
            [`clearing:${t.creditId!}`, t.amount!],
            [this.float, -t.amount!],
          ],
          this.clock.now(),
        );
        this.enqueue(
          { txId: r.topUpId, peer: t.creditId!, topic: 'capture', clearingAmount: -t.amount! },
          { txId: r.topUpId },
        );
        this.db.prepare("UPDATE topups SET status = 'applied' WHERE topUpId = ?").run(r.topUpId);
      }
      return { applied, records: records.length, reverse, book, creditId: t.creditId };
    });
    if (!first.ok) return first;
    const credit = first.result.creditId ? this.peers.peer('credit', first.result.creditId) : undefined;
    if (first.result.reverse && credit) await credit.reverseCardNotPresent({ txId: r.topUpId });
    if (first.result.book && credit) {
      const captured = await credit.captureCardNotPresent({ txId: r.topUpId, merchantId: this.id });
      if (captured.ok)
        this.run('topUpLog/delivered', { txId: r.topUpId }, () =>
          this.db
            .prepare("UPDATE outbox SET deliveredAt = ? WHERE txId = ? AND topic = 'capture'")
            .run(this.clock.now(), r.topUpId),
        );
    }
    return accepted({ applied: first.result.applied, records: first.result.records });
  }

  recoverTopUp(request: SmdRequest<'recoverTopUp'>): Promise<Outcome<CardStep>> {
    const r = this.checked<SmdRequest<'recoverTopUp'>>('recoverTopUp', request);
    return Promise.resolve(
      this.run('recoverTopUp', r, () => {
        const t = this.topUpRow(r.topUpId);
        if (t.status !== 'authorized')
          refuse('E_BAD_STATE', '(9)', `top-up is ${t.status}, nothing to recover`);
        this.openSession(r.topUpId, t.cardId, 'topup');
        return { command: bytesToHex(authFirstApdu(this.areaCode)), step: '(9)' };
      }),
    );
  }

  topUp(request: SmdRequest<'topUp'>): Promise<Outcome<TopUpView>> {
    const r = this.checked<SmdRequest<'topUp'>>('topUp', request);
    return Promise.resolve(
      this.run('topUp', r, () => {
        const t = this.topUpRow(r.topUpId);
        return {
          topUpId: t.topUpId,
          cardId: t.cardId,
          amount: t.amount,
          creditId: t.creditId,
          status: t.status,
          newBalance: t.newBalance,
        };
      }),
    );
  }

  cardLog(request: SmdRequest<'cardLog'>): Promise<Outcome<readonly CardLogRow[]>> {
    const r = this.checked<SmdRequest<'cardLog'>>('cardLog', request);
    return Promise.resolve(
      this.run(
        'cardLog',
        r,
        () =>
          this.db
            .prepare(
              'SELECT chargeId, amount, kind, day, origin FROM card_logs WHERE cardId = ? ORDER BY readAt, chargeId',
            )
            .all(r.cardId) as CardLogRow[],
      ),
    );
  }

  // ---- internals ----

  private get float(): string {
    return `liab:float:${this.id}`;
  }

  private setting(name: string): string | undefined {
    return (
      this.db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined
    )?.value;
  }

  private must(name: string): string {
    const v = this.setting(name);
    if (v === undefined) refuse('E_NOT_READY', '—', `smd ${this.id} is not set up (no ${name})`);
    return v;
  }

  private get suite(): Suite {
    return suiteByName(this.must('suite'));
  }

  private get areaCode(): number {
    return Number(this.must('areaCode'));
  }

  private get maxBalance(): number {
    return Number(this.must('maxBalance'));
  }

  private signingKey(): Uint8Array {
    const k = this.secrets.get(SIGNING_KEY);
    if (!k) refuse('E_NOT_READY', '—', `smd ${this.id} has no signing key`);
    return k;
  }

  private card(cardId: string): { cardId: string; idm: string } | undefined {
    return this.db.prepare('SELECT cardId, idm FROM cards WHERE cardId = ?').get(cardId) as
      { cardId: string; idm: string } | undefined;
  }

  /** KC of a card: the area key diversified from the master for its IDm (security.md 2). */
  private kc(cardId: string): Uint8Array {
    const c = this.card(cardId);
    if (!c) refuse('E_UNKNOWN_CARD', '—', `card ${cardId} is not registered`);
    const master = this.secrets.get(MASTER);
    if (!master) refuse('E_NOT_READY', '—', `smd ${this.id} has no KC master`);
    try {
      return cardKey(
        this.suite,
        { version: 1, master },
        hexToBytes(c.idm),
        this.areaCode,
        Number(this.must('systemCode')),
      );
    } finally {
      master.fill(0);
    }
  }

  private openSession(ref: string, cardId: string, purpose: SessionRow['purpose']): void {
    this.db
      .prepare(
        "INSERT INTO sessions (ref, cardId, purpose, stage, ssc) VALUES (?, ?, ?, 'auth1', '') ON CONFLICT (ref) DO UPDATE SET purpose = excluded.purpose, stage = 'auth1', ssc = ''",
      )
      .run(ref, cardId, purpose);
  }

  private session(ref: string, stage: string): SessionRow {
    const s = this.db.prepare('SELECT * FROM sessions WHERE ref = ?').get(ref) as SessionRow | undefined;
    if (!s) refuse('E_NOT_FOUND', '—', `no card session ${ref}`);
    if (s.stage !== stage) refuse('E_BAD_STATE', '—', `card session ${ref} is at ${s.stage}, not ${stage}`);
    return s;
  }

  private envelopeKey(ref: string): EnvelopeKey {
    const ks = this.secrets.get(`session/${ref}/ks`);
    if (!ks) refuse('E_BAD_STATE', '—', `card session ${ref} has no session key`);
    return { session: ks };
  }

  /** A SECURE COMMAND under the open session; the SSC moves. */
  private command(ref: string, p1: number, p2: number, data: Uint8Array, step: string): CardStep {
    const s = this.session(ref, 'open');
    const key = this.envelopeKey(ref);
    const c = secureCommand(this.mode, this.suite, key, hexToBytes(s.ssc), p1, p2, data);
    this.db.prepare('UPDATE sessions SET ssc = ? WHERE ref = ?').run(bytesToHex(c.ssc), ref);
    return { command: bytesToHex(c.apdu), step };
  }

  /** Opens the answer to the last SECURE COMMAND of the session. */
  private answer(ref: string, response: string, step: string): { data: Uint8Array; sw: number } {
    const s = this.session(ref, 'open');
    const a = openAnswer(
      this.mode,
      this.suite,
      this.envelopeKey(ref),
      hexToBytes(s.ssc),
      hexToBytes(response),
    );
    if (!a.ok) refuse('E_CARD_REFUSED', step, a.reason);
    this.db.prepare('UPDATE sessions SET ssc = ? WHERE ref = ?').run(bytesToHex(a.ssc), ref);
    return a;
  }

  /** (F) VALUE UPDATE directly under KC (no session). */
  private kcDirect(cardId: string, data: Uint8Array): CardStep {
    const kc = this.kc(cardId);
    try {
      const c = secureCommand(
        'faithful',
        this.suite,
        { kc },
        zeroSsc(this.suite),
        SETTLEMENT.inner.valueUpdate,
        0,
        data,
      );
      return { command: bytesToHex(c.apdu), step: '(7)' };
    } finally {
      kc.fill(0);
    }
  }

  private kcAnswer(cardId: string, response: string): { data: Uint8Array; sw: number } {
    const kc = this.kc(cardId);
    try {
      const a = openAnswer('faithful', this.suite, { kc }, zeroSsc(this.suite), hexToBytes(response));
      if (!a.ok) return { data: new Uint8Array(0), sw: a.sw };
      return a;
    } finally {
      kc.fill(0);
    }
  }

  private settlementRow(id: string): SettlementRow {
    const row = this.db.prepare('SELECT * FROM settlements WHERE settlementId = ?').get(id) as
      SettlementRow | undefined;
    if (!row) refuse('E_NOT_FOUND', '—', `no settlement ${id}`);
    return row;
  }

  private topUpRow(id: string): TopUpView & { balance: number; envelope: string | null } {
    const row = this.db.prepare('SELECT * FROM topups WHERE topUpId = ?').get(id) as
      (TopUpView & { balance: number; envelope: string | null }) | undefined;
    if (!row) refuse('E_NOT_FOUND', '—', `no top-up ${id}`);
    return row;
  }

  private setStatus(id: string, status: SettlementView['status']): void {
    this.db.prepare('UPDATE settlements SET status = ? WHERE settlementId = ?').run(status, id);
  }

  private view(id: string): SettlementView {
    const row = this.settlementRow(id);
    return {
      settlementId: row.settlementId,
      orderNo: row.orderNo,
      storeId: row.storeId,
      merchantId: row.merchantId,
      cardId: row.cardId,
      amount: row.amount,
      billHash: row.billHash,
      embodiment: row.embodiment,
      status: row.status,
      acn: row.acn ? (JSON.parse(row.acn) as Acn) : null,
      receipt: row.receipt ? (JSON.parse(row.receipt) as Receipt) : null,
      sig4: row.sig4,
    };
  }

  private header(row: SettlementRow): SettlementHeader {
    return { orderNo: row.orderNo, amount: row.amount, billHash: row.billHash, smdId: this.id };
  }

  /** The SPC under the open session: chargeId = orderNo bytes (= the txId's first 8 bytes). */
  private spc(row: SettlementRow, step: string): CardStep {
    const no = orderNoBytes(row.orderNo);
    const data = Uint8Array.of(
      ...no,
      ...no,
      ...be32(row.amount),
      ...be16(this.clock.today()),
      ORIGIN.purchase,
      0,
      ...hexToBytes(row.billHash),
    );
    this.db
      .prepare('UPDATE settlements SET spc = ? WHERE settlementId = ?')
      .run(bytesToHex(data), row.settlementId);
    return this.command(row.settlementId, SETTLEMENT.inner.spc, 0, data, step);
  }

  /** SIG2 (first embodiment only) over {settlementId, step, command, header?, balance?}. */
  private signed2(
    settlementId: string,
    c: CardStep,
    extra: { header?: SettlementHeader; balance?: number },
  ): CardStep {
    const payload = { settlementId, step: c.step, command: c.command, ...extra };
    return {
      ...c,
      ...extra,
      sig2: sign('SIG2', payload, this.signingKey()),
      certificate: this.must('certificate'),
    };
  }

  /** Books float → clearing:<merchant>, queues the ACN for the store and signs it (SIG3). */
  private complete(row: SettlementRow, newBalance: number): void {
    const acn: Acn = {
      settlementId: row.settlementId,
      orderNo: row.orderNo,
      amount: row.amount,
      billHash: row.billHash,
      newBalance,
      completedAt: this.clock.now(),
    };
    const sig3 = sign('SIG3', acn, this.signingKey());
    post(
      this.db,
      row.settlementId,
      [
        [this.float, row.amount],
        [`clearing:${row.merchantId}`, -row.amount],
      ],
      this.clock.now(),
    );
    this.enqueue(
      { txId: row.settlementId, peer: row.merchantId, topic: 'acn', clearingAmount: row.amount },
      { acn, sig3 },
    );
    this.db
      .prepare("UPDATE settlements SET status = 'completed', acn = ?, sig3 = ? WHERE settlementId = ?")
      .run(canonicalJson(acn), sig3, row.settlementId);
    this.db.prepare('DELETE FROM sessions WHERE ref = ?').run(row.settlementId);
  }

  /** (6)-(8): the ACN to the store, which verifies SIG3 and books its side; then it is delivered. */
  private async deliverAcn(settlementId: string): Promise<Outcome<SettlementNext>> {
    const v = this.settlementRow(settlementId);
    const acn = JSON.parse(v.acn!) as Acn;
    const certificate = this.must('certificate');
    const store = await this.peers.peer('store', v.merchantId).acceptAcn({ acn, sig3: v.sig3!, certificate });
    if (store.ok)
      this.run('deliverAcn', { settlementId }, () =>
        this.db
          .prepare("UPDATE outbox SET deliveredAt = ? WHERE txId = ? AND topic = 'acn'")
          .run(this.clock.now(), settlementId),
      );
    return accepted({ kind: 'acn', acn, sig3: v.sig3!, certificate, storeAccepted: store.ok });
  }

  /**
   * Log records of a READ LOG answer into [32] (card_logs). A value change the SMD never authored (no
   * settlement's orderNo, no top-up's charge ID) is booked against the float the first time it is
   * seen: a credit nobody paid for to asset:suspense:unexplained, a debit nobody was paid for to
   * liab:suspense:unexplained (the faithful-mode replay is noticed only here, afterwards).
   */
  private storeLog(cardId: string, data: Uint8Array): CardLogRow[] {
    const out: CardLogRow[] = [];
    for (let i = 0; i + 16 <= data.length; i += 16) {
      const rec = logRecord.decode(data.subarray(i, i + 16));
      const row = {
        chargeId: bytesToHex(rec.chargeId),
        amount: rec.amount,
        kind: rec.kind,
        day: rec.day,
        origin: rec.origin,
      };
      const added = this.db
        .prepare(
          'INSERT INTO card_logs (cardId, chargeId, amount, kind, day, origin, readAt) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        )
        .run(cardId, row.chargeId, row.amount, row.kind, row.day, row.origin, this.clock.now()).changes;
      if (added === 1 && (row.kind === 1 || row.kind === 2) && !this.authored(row.chargeId)) {
        const txId = bytesToHex(
          sha256(new TextEncoder().encode(`unexplained:${cardId}:${row.chargeId}`)).subarray(0, 16),
        );
        const legs: [string, number][] =
          row.kind === 1
            ? [
                ['asset:suspense:unexplained', row.amount],
                [this.float, -row.amount],
              ]
            : [
                [this.float, row.amount],
                ['liab:suspense:unexplained', -row.amount],
              ];
        post(this.db, txId, legs, this.clock.now());
      }
      out.push(row);
    }
    return out;
  }

  /** Whether a log record's charge ID is one the SMD authored (a settlement's orderNo, a top-up). */
  private authored(chargeId: string): boolean {
    const orderNo = new TextDecoder('latin1').decode(hexToBytes(chargeId));
    return (
      this.db.prepare('SELECT 1 FROM settlements WHERE orderNo = ?').get(orderNo) !== undefined ||
      this.db.prepare('SELECT 1 FROM topups WHERE substr(topUpId, 1, 16) = ?').get(chargeId) !== undefined
    );
  }
}

/** SHA-256 of an ACN's canonical JSON (the receipt names it). */
export function acnHash(acn: Acn): string {
  return bytesToHex(sha256(new TextEncoder().encode(canonicalJson(acn))));
}

function be32(n: number): number[] {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function be16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}
