// The `smd` back-end's core (seed 002, flows.md 4.1-4.2): its set-up (the certificate from the
// bureau, the KC master), its cards and users, and the card sessions its security server [31] builds:
// KC diversified per card, AUTHENTICATE 1 and 2, SECURE COMMANDs under the session key whose answers
// it opens, and the log records a READ LOG brings into its information server [32] (a value change it
// never authored is booked to suspense). Settlements (./smd-settlement.ts) and top-ups (./smd.ts)
// build on it.
import { certifyWithBureau } from './bureau';
import { sha256 } from '@noble/hashes/sha2.js';
import { SETTLEMENT } from '@mica/apdu-specs/apdu/emoney-settlement';
import { logRecord } from '@mica/apdu-specs/eeprom-records';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { cardKey } from '@mica/apdu-specs/secure/card-key';
import { suiteByName, type Suite } from '@mica/apdu-specs/secure/suite';
import { canonicalJson } from '../canonical-json';
import { post } from '../ledger';
import { refuse, refused, type Outcome } from '../outcome';
import { SqliteBackend, type BackendContext } from '../backend';
import {
  authSecond,
  openAnswer,
  secureCommand,
  splitResponse,
  zeroSsc,
  type EnvelopeKey,
} from '../../settlement/card-session';
import { SMD_API, type CardLogRow, type CardStep, type SmdRequest } from './smd-api';

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
  // A card session's epoch: counts the AUTHENTICATE 1 the SMD authored under its ref (sessionKey).
  `ALTER TABLE sessions ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0`,
];

export const SIGNING_KEY = 'smd-signing-key';
export const MASTER = 'kc-master';
/** Log record origin of a purchase and of a top-up (flows.md 1.4: the channel). */
export const ORIGIN = Object.freeze({ purchase: 0x01, topUp: 0x02 });

export type SessionRow = {
  ref: string;
  cardId: string;
  purpose: 'settle' | 'recover' | 'topup';
  stage: string;
  ssc: string;
};

export abstract class SmdCore extends SqliteBackend {
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

  authChallenge(request: SmdRequest<'authChallenge'>): Promise<Outcome<CardStep>> {
    const r = this.checked<SmdRequest<'authChallenge'>>('authChallenge', request);
    return Promise.resolve(
      this.run(
        'authChallenge',
        r,
        () => {
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
        },
        this.sessionKey('authChallenge', r),
      ),
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

  protected get float(): string {
    return `liab:float:${this.id}`;
  }

  protected setting(name: string): string | undefined {
    return (
      this.db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined
    )?.value;
  }

  protected must(name: string): string {
    const v = this.setting(name);
    if (v === undefined) refuse('E_NOT_READY', '—', `smd ${this.id} is not set up (no ${name})`);
    return v;
  }

  protected get suite(): Suite {
    return suiteByName(this.must('suite'));
  }

  protected get areaCode(): number {
    return Number(this.must('areaCode'));
  }

  protected get maxBalance(): number {
    return Number(this.must('maxBalance'));
  }

  protected signingKey(): Uint8Array {
    const k = this.secrets.get(SIGNING_KEY);
    if (!k) refuse('E_NOT_READY', '—', `smd ${this.id} has no signing key`);
    return k;
  }

  protected card(cardId: string): { cardId: string; idm: string } | undefined {
    return this.db.prepare('SELECT cardId, idm FROM cards WHERE cardId = ?').get(cardId) as
      { cardId: string; idm: string } | undefined;
  }

  /** KC of a card: the area key diversified from the master for its IDm (security.md 2). */
  protected kc(cardId: string): Uint8Array {
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

  protected openSession(ref: string, cardId: string, purpose: SessionRow['purpose']): void {
    this.db
      .prepare(
        "INSERT INTO sessions (ref, cardId, purpose, stage, ssc, epoch) VALUES (?, ?, ?, 'auth1', '', 1) ON CONFLICT (ref) DO UPDATE SET purpose = excluded.purpose, stage = 'auth1', ssc = '', epoch = sessions.epoch + 1",
      )
      .run(ref, cardId, purpose);
  }

  /**
   * The retryKey of an authentication step: its request within the session's epoch. A card's answer
   * to AUTHENTICATE 1 may repeat in a new session (a card powered on again may draw the same
   * challenge), and must not be answered from the last session's stored outcome.
   */
  protected sessionKey(method: string, request: { readonly ref: string }): string {
    const row = this.db.prepare('SELECT epoch FROM sessions WHERE ref = ?').get(request.ref) as
      { epoch: number } | undefined;
    return retryKey(method, { ...request, epoch: row?.epoch ?? 0 });
  }

  protected session(ref: string, stage: string): SessionRow {
    const s = this.db.prepare('SELECT * FROM sessions WHERE ref = ?').get(ref) as SessionRow | undefined;
    if (!s) refuse('E_NOT_FOUND', '—', `no card session ${ref}`);
    if (s.stage !== stage) refuse('E_BAD_STATE', '—', `card session ${ref} is at ${s.stage}, not ${stage}`);
    return s;
  }

  protected envelopeKey(ref: string): EnvelopeKey {
    const ks = this.secrets.get(`session/${ref}/ks`);
    if (!ks) refuse('E_BAD_STATE', '—', `card session ${ref} has no session key`);
    return { session: ks };
  }

  /** A SECURE COMMAND under the open session; the SSC moves. */
  protected command(ref: string, p1: number, p2: number, data: Uint8Array, step: string): CardStep {
    const s = this.session(ref, 'open');
    const key = this.envelopeKey(ref);
    const c = secureCommand(this.mode, this.suite, key, hexToBytes(s.ssc), p1, p2, data);
    this.db.prepare('UPDATE sessions SET ssc = ? WHERE ref = ?').run(bytesToHex(c.ssc), ref);
    return { command: bytesToHex(c.apdu), step };
  }

  /** Opens the answer to the last SECURE COMMAND of the session. */
  protected answer(ref: string, response: string, step: string): { data: Uint8Array; sw: number } {
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
  protected kcDirect(cardId: string, data: Uint8Array): CardStep {
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

  protected kcAnswer(cardId: string, response: string): { data: Uint8Array; sw: number } {
    const kc = this.kc(cardId);
    try {
      const a = openAnswer('faithful', this.suite, { kc }, zeroSsc(this.suite), hexToBytes(response));
      if (!a.ok) return { data: new Uint8Array(0), sw: a.sw };
      return a;
    } finally {
      kc.fill(0);
    }
  }

  /**
   * Log records of a READ LOG answer into [32] (card_logs). A value change the SMD never authored (no
   * settlement's orderNo, no top-up's charge ID) is booked against the float the first time it is
   * seen: a credit nobody paid for to asset:suspense:unexplained, a debit nobody was paid for to
   * liab:suspense:unexplained (the faithful-mode replay is noticed only here, afterwards).
   */
  protected storeLog(cardId: string, data: Uint8Array): CardLogRow[] {
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
  protected authored(chargeId: string): boolean {
    const orderNo = new TextDecoder('latin1').decode(hexToBytes(chargeId));
    return (
      this.db.prepare('SELECT 1 FROM settlements WHERE orderNo = ?').get(orderNo) !== undefined ||
      this.db.prepare('SELECT 1 FROM topups WHERE substr(topUpId, 1, 16) = ?').get(chargeId) !== undefined
    );
  }
}

/**
 * The idempotency key of a request that carries a card answer (authChallenge, authConfirm,
 * balanceInfo, completeSettlement, reconcileSettlement, topUpHistory, completeTopUp, topUpLog): the
 * same answer sent again after a lost request or response, or duplicated, gets the stored outcome (the
 * same next card command, nothing booked twice); another answer (the next round of the flow) is a new
 * key. A session's SSC moves with each answer, so the stored outcome is the only one a retry can get.
 */
export function retryKey(method: string, request: unknown): string {
  return `${method}:${bytesToHex(sha256(new TextEncoder().encode(canonicalJson(request)))).slice(0, 32)}`;
}

export function be32(n: number): number[] {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

export function be16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}
