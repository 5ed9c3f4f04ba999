// Generates test-vectors/apdu-transcript-secure.json ONCE with the independent implementation in
// tools/src/independent (not with the code under test): AUTHENTICATE and ISO 7816-4 secure messaging
// (security.md 6) with every cryptographic command of the e-money, settlement, bank and credit applets,
// their value-rule refusals inside SM, a tampered MAC (6988) and the PIN proof of the credit applet.
// Expected answers follow apdu-specs/REFERENCE.md and flows.md 1.4 (log record), read by hand.
// Run: node --import tsx tools/scripts/gen-secure-apdu-vectors.ts > test-vectors/apdu-transcript-secure.json
import * as R from '../src/independent/ref-crypto';
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
  const profile = {
    chip: { blocks: 512, suite },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 100,
            key: kv(k.root),
            areas: [
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
          },
        ],
      },
    ],
    applets: [{ kind: 'emoney', aid: AID, area: '1000' }],
  };
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
  const profile = {
    chip: { blocks: 512, suite },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 100,
            key: kv(x('00112233445566778899aabbccddeeff')),
            areas: [
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
          },
        ],
      },
    ],
    applets: [{ kind: 'settlement', aid: AID, area: '3000' }],
  };
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
  const profile = {
    chip: { blocks: 512 },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 120,
            key: kv(x('00112233445566778899aabbccddeeff')),
            areas: [
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
          },
        ],
      },
    ],
    applets: [{ kind: 'bank', aid: AID, area: '3000' }],
  };
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
  const profile = {
    chip: { blocks: 512 },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 140,
            key: kv(x('00112233445566778899aabbccddeeff')),
            areas: [
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
          },
        ],
      },
    ],
    applets: [{ kind: 'credit', aid: AID, area: '4000' }],
  };
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

const file = {
  kind: 'apdu-transcript',
  description:
    'The applets under AUTHENTICATE and ISO 7816-4 secure messaging (security.md 6): e-money (2K3DES, 3K3DES, AES-128), settlement, bank and credit, with value-rule refusals inside SM and tampered MACs',
  source:
    "mica's own scheme; generated once by tools/scripts/gen-secure-apdu-vectors.ts with the independent implementation tools/src/independent (ref-crypto.ts, ref-sm.ts on node:crypto), not by the code under test",
  vectors: [
    emoneyVector('2k3des', true),
    emoneyVector('3k3des', false),
    emoneyVector('aes128', true),
    settlementVector(),
    bankVector(),
    creditVector(),
  ],
};
process.stdout.write(`${JSON.stringify(file, null, 2)}\n`);
