// Generates test-vectors/apdu-transcript-secure.json ONCE with the independent implementation in
// tools/src/independent (not with the code under test): AUTHENTICATE and ISO 7816-4 secure messaging
// (security.md 6) with every cryptographic command of the e-money, settlement, bank and credit applets
// and of the card manager, their refusals inside SM, a tampered MAC (6988), the PIN commands, the credit
// key pair (Ed25519 / X25519 / ECIES by node:crypto) and the bank-to-credit share and transfer.
// Expected answers follow apdu-specs/REFERENCE.md and flows.md 1.4 (log record), read by hand.
// Run: node --import tsx tools/scripts/gen-secure-apdu-vectors.ts > test-vectors/apdu-transcript-secure.json
// Over 600 lines on purpose: one generator of one data file, each vector a self-contained builder that
// reads top to bottom like the transcript it writes; the crypto it relies on is in tools/src/independent.
import { sign as cryptoSign } from 'node:crypto';
import * as R from '../src/independent/ref-crypto';
import { eciesSeal, edKey, rawPublic, xKey } from '../src/independent/ref-keys';
import { apdu, RefApduSession } from '../src/independent/ref-sm';

const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const x = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const be16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const be32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const SW_OK = 0x9000;

/** A key of the suite's length: bytes b, b+1, ... */
function key(suite: R.RefSuite, b: number): Buffer {
  const n = suite === '3k3des' ? 24 : 16;
  return Buffer.alloc(n).map((_, i) => (b + i) & 0xff) as Buffer;
}

function rnd(suite: R.RefSuite, b: number): Buffer {
  return Buffer.alloc(suite === '2k3des' ? 8 : 16).map((_, i) => (b + i) & 0xff) as Buffer;
}

type Exchange = { c: string; r: string };

class Transcript {
  readonly ex: Exchange[] = [];
  add(c: Buffer, r: Buffer): void {
    this.ex.push({ c: h(c), r: h(r) });
  }
  sw(c: Buffer, sw: number): void {
    this.add(c, be16(sw));
  }
  /** AUTHENTICATE first part and continuation over `nodes` (area first). */
  authenticate(s: RefApduSession, nodes: number[]): void {
    const data = Buffer.concat([Buffer.from([nodes.length]), ...nodes.map(be16)]);
    this.add(apdu([0x80, 0x88, 0x00, 0x00], data, 0), Buffer.concat([s.challenge, be16(SW_OK)]));
    this.add(
      apdu([0x80, 0x88, 0x01, 0x00], s.readerResponse, 0),
      Buffer.concat([s.cardResponse, be16(SW_OK)]),
    );
  }
  /** One SM exchange: the command and the card's protected answer. */
  /** `le` is the inner Le carried in DO 97 (0 = 256; null = no DO 97: no answer data expected). */
  sm(
    s: RefApduSession,
    cmd: [number, number, number, number],
    data: Buffer,
    answer: Buffer,
    sw = SW_OK,
    le: number | null = 0,
  ): void {
    this.add(s.command(cmd[0], cmd[1], cmd[2], cmd[3], data, le ?? undefined), s.response(answer, sw));
  }
  /** An SM command whose last MAC byte is flipped: 6988 in plain, the session is gone. */
  tampered(s: RefApduSession, cmd: [number, number, number, number], data: Buffer): void {
    const c = s.command(cmd[0], cmd[1], cmd[2], cmd[3], data, 0);
    c[c.length - 2]! ^= 0x01;
    this.sw(c, 0x6988);
  }
}

const select = (aid: string): Buffer => apdu([0x00, 0xa4, 0x04, 0x00], x(aid), 0);
const fci = (aid: string): Buffer =>
  Buffer.concat([x(`6f${h([x(aid).length + 2])}84${h([x(aid).length])}${aid}`), be16(SW_OK)]);
const kv = (k: Buffer): { value: string } => ({ value: h(k) });

/** flows.md 1.4: chargeId [8] | amount u32 BE | kind u8 | day u16 BE | origin u8. */
const logRecord = (chargeId: Buffer, amount: number, kind: number, day: number, origin: number): Buffer =>
  Buffer.concat([chargeId, be32(amount), Buffer.from([kind]), be16(day), Buffer.from([origin])]);

/** A one-system profile (system code 12FC) whose root area 0000-FFFE holds `areas` and `applets`. */
function cardProfile(
  chip: Record<string, unknown>,
  capacity: number,
  rootKey: { value: string },
  areas: unknown[],
  applets: unknown[] = [],
): unknown {
  return {
    chip,
    systems: [{ systemCode: '12fc', areas: [{ code: '0000', end: 'fffe', capacity, key: rootKey, areas }] }],
    ...(applets.length > 0 ? { applets } : {}),
  };
}

const DAY = 0x2474;

/**
 * With `relative`, the area declares cashback (10D2) and decrement (1114) overlaps of the purse: add and
 * subtract go through them with chargeId bytes 0-1 as the purse's execution ID bytes 14-15 (a
 * little-endian u16 in the block, so c0 ff reads back as FFC0; +1 when it repeats the stored one).
 * Without them every change is a direct write whose execution ID is the stored one + 1.
 */
function emoneyVector(suite: R.RefSuite, relative: boolean): unknown {
  const AID = 'a0000006ef454d';
  const k = {
    root: key(suite, 0x00),
    area: key(suite, 0x10),
    log: key(suite, 0x20),
    purse: key(suite, 0x30),
    cashback: key(suite, 0x40),
    decrement: key(suite, 0x50),
  };
  const overlaps = relative
    ? [
        { code: '10d2', overlaps: '1050', key: kv(k.cashback) },
        { code: '1114', overlaps: '1050', key: kv(k.decrement) },
      ]
    : [];
  const profile = cardProfile(
    { blocks: 512, suite },
    100,
    kv(k.root),
    [
      {
        code: '1000',
        end: '17ff',
        capacity: 40,
        key: kv(k.area),
        services: [
          { code: '118c', blocks: 4, key: kv(k.log) },
          {
            code: '1050',
            key: kv(k.purse),
            purse: { balance: 1000, maxBalance: 50000, log: '118c' },
          },
          ...overlaps,
        ],
      },
    ],
    [{ kind: 'emoney', aid: AID, area: '1000' }],
  );
  const rndA = rnd(suite, 0xa0);
  const rndB = rnd(suite, 0xb0);
  const s = new RefApduSession(suite, [k.area, k.purse, k.log], rndA, rndB);
  const t = new Transcript();
  t.add(select(AID), fci(AID));
  t.authenticate(s, [0x1000, 0x1050, 0x118c]);
  const cid = (n: number): Buffer => Buffer.concat([x('c0ffee00'), be32(n)]);
  const change = (c: Buffer, amount: number, exec?: number): Buffer =>
    Buffer.concat([
      c,
      be32(amount),
      be16(DAY),
      Buffer.from([5]),
      exec === undefined ? Buffer.alloc(0) : be16(exec),
    ]);
  const balance = (b: number, e: number): Buffer => Buffer.concat([be32(b), be16(e)]);
  const GET_BALANCE: [number, number, number, number] = [0x80, 0x5c, 0, 0];
  // execution IDs after each successful change (see above).
  const e1 = relative ? 0xffc0 : 0x0001;
  const e2 = e1 + 1;
  const e3 = relative ? 0xffc0 : e2 + 1;
  t.sm(s, GET_BALANCE, Buffer.alloc(0), balance(1000, 0));
  t.sm(s, [0x80, 0x30, 1, 0], change(cid(1), 500), balance(1500, e1));
  const rec1 = logRecord(cid(1), 500, 1, DAY, 5);
  t.sm(s, [0x80, 0xb2, 0, 0], Buffer.alloc(0), rec1);
  // the same charge ID again: 69E1 inside SM, nothing written.
  t.sm(s, [0x80, 0x30, 1, 0], change(cid(1), 100), Buffer.alloc(0), 0x69e1);
  // subtract below zero: 6901; add over maxBalance: 6902.
  t.sm(s, [0x80, 0x30, 2, 0], change(cid(2), 2000), Buffer.alloc(0), 0x6901);
  t.sm(s, [0x80, 0x30, 1, 0], change(cid(3), 49000), Buffer.alloc(0), 0x6902);
  // overwrite with a stale execution ID: 69E2; with the stored one: balance 3000, execution ID + 1.
  t.sm(s, [0x80, 0x30, 3, 0], change(cid(4), 3000, 0x0005), Buffer.alloc(0), 0x69e2);
  t.sm(s, [0x80, 0x30, 3, 0], change(cid(4), 3000, e1), balance(3000, e2));
  t.sm(s, GET_BALANCE, Buffer.alloc(0), balance(3000, e2));
  const rec2 = logRecord(cid(4), 3000, 3, DAY, 5);
  t.sm(s, [0x80, 0xb2, 0, 0], Buffer.alloc(0), Buffer.concat([rec2, rec1]));
  t.sm(s, [0x80, 0xb2, 1, 1], Buffer.alloc(0), rec1);
  t.sm(s, [0x80, 0x30, 2, 0], change(cid(5), 1200), balance(1800, e3));
  t.tampered(s, GET_BALANCE, Buffer.alloc(0));
  t.sw(apdu([0x8c, 0x5c, 0, 0], x('970100 8e08 0000000000000000'), 0), 0x6982);
  return {
    id: `emoney-secure-${suite}${relative ? '-cashback' : '-direct'}`,
    note: `AUTHENTICATE over area 1000, purse 1050 and log 118c (RndA = a0.., RndB = b0..); ${
      relative
        ? 'add and subtract through the cashback 10D2 and decrement 1114 overlaps (execution ID = chargeId bytes 0-1 as purse bytes 14-15, c0 ff → FFC0, +1 on a repeat)'
        : 'no cashback or decrement service: add and subtract are direct writes (execution ID + 1)'
    }; GET BALANCE, AMOUNT CHANGE add / subtract / overwrite with their log records, 69E1 / 6901 / 6902 / 69E2 inside SM, READ LOG newest first, a flipped MAC byte → 6988 and no session after it`,
    profile,
    cardRandom: [h(rndB)],
    exchanges: t.ex,
  };
}

function settlementVector(): unknown {
  const suite: R.RefSuite = '2k3des';
  const AID = 'a0000006ef5354';
  const common = x('0f0e0d0c0b0a09080706050403020100');
  const profile = cardProfile(
    { blocks: 512, suite },
    100,
    kv(x('00112233445566778899aabbccddeeff')),
    [
      {
        code: '3000',
        end: '37ff',
        capacity: 40,
        key: kv(common),
        services: [
          { code: '300b', blocks: 1, data: ['01020304050607080000000000000000'] },
          { code: '304c', blocks: 16, key: kv(common) },
          {
            code: '3090',
            key: kv(common),
            purse: { balance: 5000, maxBalance: 100000, log: '304c' },
          },
        ],
      },
    ],
    [{ kind: 'settlement', aid: AID, area: '3000' }],
  );
  const rndA = rnd(suite, 0x61);
  const rndB = rnd(suite, 0x71);
  const s = new RefApduSession(suite, [common], rndA, rndB);
  const t = new Transcript();
  t.add(select(AID), fci(AID));
  t.authenticate(s, [0x3000]);
  const SC = (p1: number, p2 = 0): [number, number, number, number] => [0x80, 0xc2, p1, p2];
  t.sm(s, SC(1), Buffer.alloc(0), be32(5000));
  const charge = x('5e771e0000000001');
  const orderNo = Buffer.from('ORD00042', 'ascii');
  const billHash = Buffer.alloc(32).map((_, i) => (0x90 + i) & 0xff) as Buffer;
  const spc = (c: Buffer, amount: number): Buffer =>
    Buffer.concat([c, orderNo, be32(amount), be16(DAY), Buffer.from([3, 0]), billHash]);
  t.sm(s, SC(2), spc(charge, 1200), Buffer.concat([orderNo, be32(1200), be32(3800)]));
  t.sm(s, SC(2), spc(charge, 1200), Buffer.alloc(0), 0x69e1);
  t.sm(s, SC(2), spc(x('5e771e0000000002'), 3801), Buffer.alloc(0), 0x6901);
  const topUp = x('7070707070707070');
  const vu = (c: Buffer, op: number, amount: number): Buffer =>
    Buffer.concat([c, topUp, Buffer.from([op]), be32(amount), be16(DAY), Buffer.from([9])]);
  t.sm(s, SC(3), vu(x('5e771e0000000003'), 1, 700), Buffer.from([1, ...be32(4500)]));
  t.sm(s, SC(3), vu(x('5e771e0000000004'), 4, 700), Buffer.alloc(0), 0x6a80);
  t.sm(
    s,
    SC(4),
    Buffer.alloc(0),
    Buffer.concat([logRecord(x('5e771e0000000003'), 700, 1, DAY, 9), logRecord(charge, 1200, 2, DAY, 3)]),
  );
  t.sm(s, SC(1), Buffer.alloc(0), be32(4500));
  t.tampered(s, SC(2), spc(x('5e771e0000000005'), 1));
  t.add(
    apdu([0x80, 0xca, 0, 0], Buffer.alloc(0), 0),
    Buffer.concat([x('0102030405060708'), be32(4500), be16(SW_OK)]),
  );
  return {
    id: 'settlement-secure-2k3des',
    note: 'AUTHENTICATE with the common key only (area 3000); BRC, SPC (debit 1200 echoing orderNo), a replayed SPC charge ID → 69E1, SPC over the balance → 6901, VALUE UPDATE add 700, op 04 → 6A80, READ LOG, a flipped MAC on an SPC → 6988 with the balance unchanged (GET DATA)',
    profile,
    cardRandom: [h(rndB)],
    exchanges: t.ex,
  };
}

const TOKEN_A = Buffer.alloc(16, 0x01);
const TOKEN_B = Buffer.alloc(16, 0x02);
const CREDITCO = Buffer.from('CREDITCO', 'ascii');
const envelope = (b: number, n: number): Buffer => Buffer.alloc(n).map((_, i) => (b + i) & 0xff) as Buffer;
const putToken = (today: number, id: Buffer, until: number, env: Buffer): Buffer =>
  Buffer.concat([be32(today), id, CREDITCO, be32(until), env]);
const listEntry = (slot: number, state: number, id: Buffer, until: number): Buffer =>
  Buffer.concat([Buffer.from([slot, state]), id, CREDITCO, be32(until)]);

function bankVector(): unknown {
  const suite: R.RefSuite = '2k3des';
  const AID = 'a0000006ef42414e4b';
  const k = {
    area: x('101112131415161718191a1b1c1d1e1f'),
    account: x('202122232425262728292a2b2c2d2e2f'),
    store: x('303132333435363738393a3b3c3d3e3f'),
  };
  const account = x('4d49434142414e4b3030313233343536 37380000000000005530303031000000');
  const profile = cardProfile(
    { blocks: 512 },
    120,
    kv(x('00112233445566778899aabbccddeeff')),
    [
      {
        code: '3000',
        end: '37ff',
        capacity: 60,
        key: kv(k.area),
        services: [
          {
            code: '3008',
            blocks: 2,
            key: kv(k.account),
            data: [h(account.subarray(0, 16)), h(account.subarray(16))],
          },
          { code: '3048', blocks: 19, key: kv(k.store) },
        ],
      },
    ],
    [{ kind: 'bank', aid: AID, area: '3000' }],
  );
  const rndA = rnd(suite, 0x11);
  const rndB = rnd(suite, 0x21);
  const s = new RefApduSession(suite, [k.area, k.account, k.store], rndA, rndB);
  const t = new Transcript();
  t.add(select(AID), fci(AID));
  t.authenticate(s, [0x3000, 0x3008, 0x3048]);
  t.sm(s, [0x00, 0xb0, 0, 0], Buffer.alloc(0), account);
  const envA = envelope(0xe0, 40);
  t.sm(s, [0x80, 0xe2, 0, 0], putToken(8000, TOKEN_A, 9000, envA), Buffer.from([0]));
  t.sm(s, [0x80, 0xe8, 0, 0], Buffer.alloc(0), listEntry(0, 1, TOKEN_A, 9000));
  t.sm(s, [0x80, 0xea, 0, 0], Buffer.alloc(0), envA);
  // an identical re-put is a no-op; another token while the only slot holds an unexpired one: 6A84.
  t.sm(s, [0x80, 0xe2, 0, 0], putToken(8000, TOKEN_A, 9000, envA), Buffer.from([0]));
  t.sm(s, [0x80, 0xe2, 0, 0], putToken(8000, TOKEN_B, 9500, envelope(0x40, 17)), Buffer.alloc(0), 0x6a84);
  // the same token with other content: 6985.
  t.sm(s, [0x80, 0xe2, 0, 0], putToken(8000, TOKEN_A, 9000, envelope(0xe1, 40)), Buffer.alloc(0), 0x6985);
  // on day 9000 the first token has expired and is evicted.
  const envB = envelope(0x40, 17);
  t.sm(s, [0x80, 0xe2, 0, 0], putToken(9000, TOKEN_B, 9500, envB), Buffer.from([0]));
  t.sm(s, [0x80, 0xe8, 0, 0], Buffer.alloc(0), listEntry(0, 1, TOKEN_B, 9500));
  t.sm(s, [0x80, 0xea, 0, 0], Buffer.alloc(0), envB);
  t.sm(s, [0x80, 0xea, 1, 0], Buffer.alloc(0), Buffer.alloc(0), 0x6a86);
  t.tampered(s, [0x80, 0xe8, 0, 0], Buffer.alloc(0));
  t.sw(apdu([0x8c, 0xe8, 0, 0], x('970100 8e08 0000000000000000'), 0), 0x6982);
  return {
    id: 'bank-secure-2k3des',
    note: 'AUTHENTICATE over area 3000, account 3008 and token store 3048 (one slot of 19 blocks); READ BINARY account under SM (CLA 0C), PUT / LIST / GET TOKEN, an identical re-put, 6A84 when the slot holds an unexpired token, 6985 for other content under the same token ID, eviction once today reaches effectiveUntil, a flipped MAC → 6988',
    profile,
    cardRandom: [h(rndB)],
    exchanges: t.ex,
  };
}

function creditVector(): unknown {
  const suite: R.RefSuite = '2k3des';
  const AID = 'a0000006ef435244';
  const k = {
    area: x('404142434445464748494a4b4c4d4e4f'),
    pin: x('505152535455565758595a5b5c5d5e5f'),
    data: x('606162636465666768696a6b6c6d6e6f'),
    store: x('707172737475767778797a7b7c7d7e7f'),
    marks: x('808182838485868788898a8b8c8d8e8f'),
  };
  const cardNo = x('987654321fffffffffff');
  const profile = cardProfile(
    { blocks: 512 },
    140,
    kv(x('00112233445566778899aabbccddeeff')),
    [
      {
        code: '4000',
        end: '47ff',
        capacity: 80,
        key: kv(k.area),
        services: [
          {
            code: '4008',
            blocks: 2,
            key: kv(k.pin),
            data: ['03030a0a000000000000000000000000', '249999ffffffffff2812345678ffffff'],
          },
          {
            code: '4048',
            blocks: 3,
            key: kv(k.data),
            data: [
              `${h(cardNo)}271200000000`,
              '59414d414441205441524f0000000000',
              '00000000000000000000000000000000',
            ],
          },
          { code: '4088', blocks: 19, key: kv(k.store) },
          { code: '40c8', blocks: 1, key: kv(k.marks) },
        ],
      },
    ],
    [{ kind: 'credit', aid: AID, area: '4000' }],
  );
  const rndA = rnd(suite, 0x31);
  const rndB = rnd(suite, 0x41);
  const s = new RefApduSession(suite, [k.area, k.store, k.marks], rndA, rndB);
  const t = new Transcript();
  const pinBlock = (digits: string): Buffer => x(`2${digits.length}${digits}`.padEnd(16, 'f'));
  t.add(select(AID), fci(AID));
  const verify = (digits: string): Buffer => apdu([0x00, 0x20, 0x00, 0x80], pinBlock(digits), undefined);
  const nonce = x('00112233aabbccdd');
  const ia = apdu([0x00, 0x88, 0, 0], Buffer.concat([nonce, be32(12000)]), 0);
  // the proof needs a verified PIN; one wrong try leaves 2; the right one (9999) allows one proof.
  t.sw(ia, 0x6982);
  t.sw(verify('1234'), 0x63c2);
  t.sw(verify('9999'), SW_OK);
  const proof = R.retailMac(k.area, Buffer.concat([nonce, be32(12000), cardNo, Buffer.from([1])])).subarray(
    0,
    8,
  );
  t.add(ia, Buffer.concat([proof, be16(SW_OK)]));
  t.sw(ia, 0x6982);
  // tokens stored directly in the credit applet (seed 000 Fig. 15), marked used once.
  t.authenticate(s, [0x4000, 0x4088, 0x40c8]);
  const env = envelope(0x10, 33);
  t.sm(s, [0x80, 0xe2, 0, 0], putToken(8000, TOKEN_A, 9000, env), Buffer.from([0]));
  // MARK TOKEN USED answers no data: no DO 97.
  t.sm(s, [0x80, 0xee, 0, 0], TOKEN_A, Buffer.alloc(0), SW_OK, null);
  t.sm(s, [0x80, 0xee, 0, 0], TOKEN_A, Buffer.alloc(0), 0x6985, null);
  t.sm(s, [0x80, 0xee, 0, 0], TOKEN_B, Buffer.alloc(0), 0x6a88, null);
  t.sm(s, [0x80, 0xe8, 0, 0], Buffer.alloc(0), listEntry(0, 2, TOKEN_A, 9000));
  t.sm(s, [0x80, 0xea, 0, 0], Buffer.alloc(0), env);
  t.sm(s, [0x80, 0xee, 0, 0], TOKEN_A.subarray(0, 15), Buffer.alloc(0), 0x6700, null);
  return {
    id: 'credit-secure-2k3des',
    note: 'INTERNAL AUTHENTICATE (PIN proof) refused before VERIFY, a wrong PIN 63C2, the right PIN 9999, the proof = retail MAC (pad 2) under the credit area key over nonce ‖ amount ‖ cardNo ‖ 01, used up after one; then AUTHENTICATE over area 4000, token store 4088 and used marks 40C8, PUT TOKEN (direct method), MARK TOKEN USED, again → 6985, unknown → 6A88, LIST shows state 02, a 15-byte token ID → 6700',
    profile,
    cardRandom: [h(rndB)],
    exchanges: t.ex,
  };
}

function creditKeyPairVector(): unknown {
  const suite: R.RefSuite = '2k3des';
  const AID = 'a0000006ef435244';
  const k = { area: x('404142434445464748494a4b4c4d4e4f'), pin: key(suite, 0x50), pair: key(suite, 0x90) };
  const profile = cardProfile(
    { blocks: 512 },
    100,
    kv(x('00112233445566778899aabbccddeeff')),
    [
      {
        code: '4000',
        end: '47ff',
        capacity: 20,
        key: kv(k.area),
        services: [
          { code: '4008', blocks: 2, key: kv(k.pin) },
          { code: '4108', blocks: 4, key: kv(k.pair) },
        ],
      },
    ],
    [{ kind: 'credit', aid: AID, area: '4000', config: { pin: { value: '2468', unblock: '13579135' } } }],
  );
  const rndA = rnd(suite, 0x51);
  const rndB = rnd(suite, 0x61);
  const secret = Buffer.alloc(64).map((_, i) => (0x21 * i + 7) & 0xff) as Buffer;
  const ed = edKey(secret.subarray(0, 32));
  const xk = xKey(secret.subarray(32));
  const s = new RefApduSession(suite, [k.area, k.pair], rndA, rndB);
  const t = new Transcript();
  t.add(select(AID), fci(AID));
  t.authenticate(s, [0x4000, 0x4108]);
  const message = Buffer.from('mica: sign this token request', 'ascii');
  t.sm(s, [0x80, 0x2a, 0x9e, 0x9a], message, Buffer.alloc(0), 0x6985);
  t.sm(s, [0x80, 0x46, 0, 0], Buffer.alloc(0), Buffer.concat([rawPublic(ed), rawPublic(xk)]));
  t.sm(s, [0x80, 0x46, 0, 0], Buffer.alloc(0), Buffer.alloc(0), 0x6985);
  t.sm(s, [0x80, 0x2a, 0x9e, 0x9a], message, cryptoSign(null, message, ed));
  t.sm(s, [0x80, 0x2a, 0x9e, 0x9a], Buffer.alloc(0), Buffer.alloc(0), 0x6700);
  const context = Buffer.from('token', 'ascii');
  const plaintext = Buffer.from('the envelope key, 32 bytes long!', 'ascii');
  const sealed = eciesSeal(rawPublic(xk), Buffer.alloc(32, 0x77), context, plaintext);
  const decryptData = (body: Buffer): Buffer => Buffer.concat([Buffer.from([context.length]), context, body]);
  t.sm(s, [0x80, 0x2a, 0x80, 0x86], decryptData(sealed), plaintext);
  const bad = Buffer.from(sealed);
  bad[bad.length - 1]! ^= 0x80;
  t.sm(s, [0x80, 0x2a, 0x80, 0x86], decryptData(bad), Buffer.alloc(0), 0x6a80);
  // The PIN service of the profile's config.pin (2468, unblocking code 13579135, 3 and 10 tries).
  const pinBlock = (digits: string): Buffer => x(`2${digits.length.toString(16)}${digits}`.padEnd(16, 'f'));
  const plain = (ins: number, p1: number, data: Buffer): Buffer =>
    apdu([0x00, ins, p1, 0x80], data, undefined);
  t.sw(plain(0x24, 0, Buffer.concat([pinBlock('1111'), pinBlock('8642')])), 0x63c2);
  t.sw(plain(0x24, 0, Buffer.concat([pinBlock('2468'), pinBlock('8642')])), SW_OK);
  t.sw(plain(0x20, 0, pinBlock('2468')), 0x63c2);
  t.sw(plain(0x20, 0, pinBlock('2468')), 0x63c1);
  t.sw(plain(0x20, 0, pinBlock('2468')), 0x63c0);
  t.sw(plain(0x20, 0, pinBlock('8642')), 0x6983);
  t.sw(plain(0x2c, 1, pinBlock('99999999')), 0x63c9);
  t.sw(plain(0x2c, 0, Buffer.concat([pinBlock('13579135'), pinBlock('1357')])), SW_OK);
  t.sw(plain(0x20, 0, pinBlock('1357')), SW_OK);
  return {
    id: 'credit-keypair-pin-2k3des',
    note: 'AUTHENTICATE over area 4000 and the key-pair service 4108; SIGN before a key pair → 6985; GENERATE KEY PAIR from 64 card random bytes (Ed25519 seed ‖ X25519 scalar) answers both public keys; again → 6985; SIGN = Ed25519 (RFC 8032); no message → 6700; DECRYPT of a flows.md 1.5 ECIES envelope (context "token"), a flipped tag → 6A80; then the PIN of config.pin: CHANGE REFERENCE DATA (wrong current 63C2, right 9000), three wrong VERIFYs to 6983, RESET RETRY COUNTER with a wrong unblocking code 63C9 and the right one with a new PIN. Expected keys and signature by node:crypto',
    profile,
    cardRandom: [h(rndB), h(secret)],
    exchanges: t.ex,
  };
}

function bankTransferVector(): unknown {
  const suite: R.RefSuite = '2k3des';
  const BANK = 'a0000006ef42414e4b';
  const CREDIT = 'a0000006ef435244';
  const k = {
    bank: x('101112131415161718191a1b1c1d1e1f'),
    bankStore: x('303132333435363738393a3b3c3d3e3f'),
    credit: x('404142434445464748494a4b4c4d4e4f'),
    creditStore: x('707172737475767778797a7b7c7d7e7f'),
    marks: x('808182838485868788898a8b8c8d8e8f'),
  };
  const profile = cardProfile(
    { blocks: 1024 },
    200,
    kv(x('00112233445566778899aabbccddeeff')),
    [
      {
        code: '3000',
        end: '37ff',
        capacity: 40,
        key: kv(k.bank),
        services: [{ code: '3048', blocks: 19, key: kv(k.bankStore) }],
      },
      {
        code: '4000',
        end: '47ff',
        capacity: 40,
        key: kv(k.credit),
        services: [
          { code: '4088', blocks: 19, key: kv(k.creditStore) },
          { code: '40c8', blocks: 1, key: kv(k.marks) },
        ],
      },
    ],
    [
      { kind: 'bank', aid: BANK, area: '3000', config: { grants: [{ service: '3048', to: '4000' }] } },
      { kind: 'credit', aid: CREDIT, area: '4000' },
    ],
  );
  const rndA = rnd(suite, 0x13);
  const rndB1 = rnd(suite, 0x23);
  const rndB2 = rnd(suite, 0x33);
  const b = new RefApduSession(suite, [k.bank, k.bankStore], rndA, rndB1);
  const c = new RefApduSession(suite, [k.credit, k.creditStore, k.marks], rndA, rndB2);
  const t = new Transcript();
  const env = envelope(0x60, 48);
  t.add(select(BANK), fci(BANK));
  t.authenticate(b, [0x3000, 0x3048]);
  t.sm(b, [0x80, 0xe2, 0, 0], putToken(8000, TOKEN_A, 9000, env), Buffer.from([0]));
  t.sm(b, [0x80, 0xe2, 0, 0], putToken(8000, TOKEN_A, 9000, env), Buffer.from([0]));
  // Fig. 14 share: the credit applet reads the bank store through the grant (LIST / GET with P2 01).
  t.add(select(CREDIT), fci(CREDIT));
  t.authenticate(c, [0x4000, 0x4088, 0x40c8]);
  t.sm(c, [0x80, 0xe8, 0, 1], Buffer.alloc(0), listEntry(0, 1, TOKEN_A, 9000));
  t.sm(c, [0x80, 0xea, 0, 1], Buffer.alloc(0), env);
  t.sm(c, [0x80, 0xe8, 0, 0], Buffer.alloc(0), Buffer.alloc(0));
  // Fig. 14 transfer, from the bank applet: the token moves to the credit store in one commit.
  const b2 = new RefApduSession(suite, [k.bank, k.bankStore], rndA, rnd(suite, 0x43));
  t.add(select(BANK), fci(BANK));
  t.authenticate(b2, [0x3000, 0x3048]);
  t.sm(b2, [0x80, 0xec, 0, 0], Buffer.alloc(0), Buffer.from([0]));
  t.sm(b2, [0x80, 0xe8, 0, 0], Buffer.alloc(0), Buffer.alloc(0));
  t.sm(b2, [0x80, 0xec, 0, 0], Buffer.alloc(0), Buffer.alloc(0), 0x6a88);
  t.sm(b2, [0x80, 0xec, 1, 0], Buffer.alloc(0), Buffer.alloc(0), 0x6a86);
  const c2 = new RefApduSession(suite, [k.credit, k.creditStore, k.marks], rndA, rnd(suite, 0x53));
  t.add(select(CREDIT), fci(CREDIT));
  t.authenticate(c2, [0x4000, 0x4088, 0x40c8]);
  t.sm(c2, [0x80, 0xe8, 0, 0], Buffer.alloc(0), listEntry(0, 1, TOKEN_A, 9000));
  t.sm(c2, [0x80, 0xee, 0, 0], TOKEN_A, Buffer.alloc(0), SW_OK, null);
  t.sm(c2, [0x80, 0xe8, 0, 0], Buffer.alloc(0), listEntry(0, 2, TOKEN_A, 9000));
  t.sm(c2, [0x80, 0xea, 0, 0], Buffer.alloc(0), env);
  return {
    id: 'bank-credit-transfer-2k3des',
    note: 'The bank applet grants its token store 3048 to the credit area (profile applets[].config.grants): the credit applet LISTs and GETs the bank token with P2 01 (share), its own store is empty; TRANSFER TOKEN moves it (bank store empty, a second TRANSFER 6A88, slot 1 6A86); the credit applet then holds it, MARK TOKEN USED sets state 02',
    profile,
    cardRandom: [h(rndB1), h(rndB2), h(rnd(suite, 0x43)), h(rnd(suite, 0x53))],
    exchanges: t.ex,
  };
}

function cardManagerVector(): unknown {
  const suite: R.RefSuite = '2k3des';
  const CM = 'a0000006ef434d';
  const EMONEY = 'a0000006ef454d';
  const area = x('0f0e0d0c0b0a09080706050403020100');
  const profile = cardProfile({ blocks: 512 }, 100, kv(x('00112233445566778899aabbccddeeff')), [
    {
      code: '1000',
      end: '17ff',
      capacity: 20,
      key: kv(area),
      services: [
        { code: '118c', blocks: 4, key: kv(area) },
        { code: '1050', key: kv(area), purse: { balance: 700, log: '118c' } },
      ],
    },
    { code: '2000', end: '27ff', capacity: 4, key: kv(key(suite, 0x20)) },
  ]);
  const rndA = rnd(suite, 0x15);
  const rndB1 = rnd(suite, 0x25);
  const rndB2 = rnd(suite, 0x35);
  const rndB3 = rnd(suite, 0x45);
  const m = new RefApduSession(suite, [area], rndA, rndB1);
  const t = new Transcript();
  const install = (kind: number, code: number, aid: string): Buffer =>
    Buffer.concat([Buffer.from([kind]), be16(code), Buffer.from([x(aid).length]), x(aid)]);
  t.add(select(CM), fci(CM));
  t.add(select(EMONEY), be16(0x6a82));
  t.add(select(CM), fci(CM));
  t.authenticate(m, [0x1000]);
  t.sm(m, [0x80, 0xe6, 0, 0], install(0x33, 0x1000, EMONEY), Buffer.alloc(0), SW_OK, null);
  t.sm(m, [0x80, 0xe6, 0, 0], install(0x33, 0x1000, EMONEY), Buffer.alloc(0), 0x6a89, null);
  t.sm(m, [0x80, 0xe6, 0, 0], install(0x01, 0x1000, 'a0000006ef0101'), Buffer.alloc(0), 0x6a80, null);
  t.sm(m, [0x80, 0xe6, 0, 0], install(0x33, 0x2000, 'a0000006ef0202'), Buffer.alloc(0), 0x6982, null);
  t.sm(m, [0x80, 0xe2, 0, 0], Buffer.concat([be16(0x118c), be16(0x1000)]), Buffer.alloc(0), 0x6a80, null);
  t.sm(m, [0x80, 0xe2, 0, 0], Buffer.concat([be16(0x118c), be16(0x2000)]), Buffer.alloc(0), SW_OK, null);
  t.sm(m, [0x80, 0xe2, 0, 0], be16(0x118c), Buffer.alloc(0), 0x6700, null);
  // The installed applet answers; its session needs its own AUTHENTICATE.
  t.add(select(EMONEY), fci(EMONEY));
  const e = new RefApduSession(suite, [area, area, area], rndA, rndB2);
  t.authenticate(e, [0x1000, 0x1050, 0x118c]);
  t.sm(e, [0x80, 0x5c, 0, 0], Buffer.alloc(0), Buffer.concat([be32(700), be16(0)]));
  // DELETE needs a card-manager session to the applet's area.
  t.add(select(CM), fci(CM));
  t.sw(apdu([0x8c, 0xe4, 0, 0], x('970100 8e08 0000000000000000'), 0), 0x6982);
  const m2 = new RefApduSession(suite, [area], rndA, rndB3);
  t.authenticate(m2, [0x1000]);
  t.sm(m2, [0x80, 0xe4, 0, 0], x(EMONEY), Buffer.alloc(0), SW_OK, null);
  t.sm(m2, [0x80, 0xe4, 0, 0], x(EMONEY), Buffer.alloc(0), 0x6a88, null);
  t.add(select(EMONEY), be16(0x6a82));
  return {
    id: 'card-manager-2k3des',
    note: 'The card manager (AUTHENTICATE P2 = system 0 with the key of area 1000): INSTALL an e-money applet (9000), the same AID (6A89), kind 01 (6A80), an area outside the session (6982); GRANT of log 118c to its own area (6A80), to area 2000 (9000), 2 data bytes (6700); the new applet SELECTs and answers GET BALANCE in its own session; DELETE without a session 6982, with one 9000, again 6A88; SELECT then 6A82',
    profile,
    cardRandom: [h(rndB1), h(rndB2), h(rndB3)],
    exchanges: t.ex,
  };
}

const file = {
  kind: 'apdu-transcript',
  description:
    'The applets and the card manager under AUTHENTICATE and ISO 7816-4 secure messaging (security.md 6): e-money (2K3DES, 3K3DES, AES-128), settlement, bank, credit (PIN proof, PIN commands, key pair, SIGN, DECRYPT), the bank-to-credit share and transfer, INSTALL / GRANT / DELETE, with refusals inside SM and tampered MACs',
  source:
    "mica's own scheme; generated once by tools/scripts/gen-secure-apdu-vectors.ts with the independent implementation tools/src/independent (ref-crypto.ts, ref-sm.ts on node:crypto), not by the code under test",
  vectors: [
    emoneyVector('2k3des', true),
    emoneyVector('3k3des', false),
    emoneyVector('aes128', true),
    settlementVector(),
    bankVector(),
    creditVector(),
    creditKeyPairVector(),
    bankTransferVector(),
    cardManagerVector(),
  ],
};
process.stdout.write(`${JSON.stringify(file, null, 2)}\n`);
