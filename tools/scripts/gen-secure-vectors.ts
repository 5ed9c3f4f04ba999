// Generates test-vectors/felica-transcript-secure.json ONCE with the independent implementation in
// tools/src/independent (not with the code under test): mutual authentication, secure Read/Write with
// purse and log, refusals with and without MAC, and issuance packages, for three crypto suites.
// Run: node --import tsx tools/scripts/gen-secure-vectors.ts > test-vectors/felica-transcript-secure.json
import * as R from '../src/independent/ref-crypto';

const IDM = Buffer.from('02fe010203040506', 'hex');
const PMM = Buffer.from('0120220427674eff', 'hex');
const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const x = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** LEN ‖ parts. */
function fr(...parts: (Buffer | number[])[]): Buffer {
  const body = Buffer.concat(parts.map((p) => Buffer.from(p)));
  return Buffer.concat([Buffer.from([body.length + 1]), body]);
}

function keysFor(suite: R.RefSuite): Record<string, Buffer> {
  const n = suite === '3k3des' ? 24 : 16;
  const k = (b: number): Buffer => Buffer.alloc(n, b).map((v, i) => (v + i) & 0xff) as Buffer;
  return {
    transport: k(0x01),
    system: k(0x10),
    root: k(0x20),
    purse: k(0x30),
    log: k(0x40),
    data: k(0x50),
    area2000: k(0x60),
    newData: k(0x70),
  };
}

function profile(suite: R.RefSuite, keys: Record<string, Buffer>): unknown {
  const kv = (v: number, k: Buffer) => ({ version: v, value: h(k) });
  return {
    chip: { blocks: 512, suite, transportKey: h(keys.transport!) },
    systems: [
      {
        systemCode: '12fc',
        key: kv(1, keys.system!),
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 64,
            key: kv(1, keys.root!),
            services: [
              {
                code: '1010',
                key: kv(1, keys.purse!),
                purse: { balance: 5000, maxBalance: 50000, log: '104c', requireLog: true },
              },
              { code: '104c', blocks: 4, key: kv(2, keys.log!) },
              { code: '1088', blocks: 2, key: kv(3, keys.data!), data: ['d0d1d2d3d4d5d6d7d8d9dadbdcdddedf'] },
            ],
          },
        ],
      },
    ],
  };
}

/** The reader and card sides of one authentication, computed independently. */
class Session {
  ks: { enc: Buffer; mac: Buffer } = { enc: Buffer.alloc(0), mac: Buffer.alloc(0) };
  ctr = 0;
  readonly challenge: Buffer;
  readonly readerResponse: Buffer;
  readonly cardResponse: Buffer;
  constructor(
    readonly suite: R.RefSuite,
    nodeKeys: Buffer[],
    rndA: Buffer,
    rndB: Buffer,
  ) {
    const t = R.threePass(suite, nodeKeys, rndA, rndB);
    this.challenge = t.challenge;
    this.readerResponse = t.readerResponse;
    this.cardResponse = t.cardResponse;
    this.ks = t.ks;
  }
  /** A command: clear part ‖ E(secret) ‖ MAC under the current CTR. */
  command(clear: Buffer, secret: Buffer = Buffer.alloc(0)): Buffer {
    const enc = secret.length
      ? R.cbcEnc(this.suite, this.ks.enc, R.iv(this.suite, this.ks.enc, this.ctr), secret)
      : Buffer.alloc(0);
    const body = Buffer.concat([clear.subarray(1), enc]);
    const mac = R.mac8(this.suite, this.ks.mac, this.ctr, body);
    return fr(body, mac);
  }
  /** The card's MAC'd answer to the command just sent; CTR moves on. */
  answer(clear: Buffer, secret: Buffer = Buffer.alloc(0)): Buffer {
    const enc = secret.length
      ? R.cbcEnc(this.suite, this.ks.enc, R.iv(this.suite, this.ks.enc, this.ctr), secret)
      : Buffer.alloc(0);
    const body = Buffer.concat([clear.subarray(1), enc]);
    const out = fr(body, R.mac8(this.suite, this.ks.mac, this.ctr, body));
    this.ctr += 1;
    return out;
  }
}

const le = (code: number): number[] => [code & 0xff, code >> 8];
const purse = (balance: number, exec: number): Buffer => {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(balance, 0);
  b.writeUInt16LE(exec, 14);
  return b;
};

function secureVector(suite: R.RefSuite): unknown {
  const keys = keysFor(suite);
  const rl = suite === '2k3des' ? 8 : 16;
  const rndB = Buffer.alloc(rl).map((_, i) => 0xb0 + i) as Buffer;
  const rndA = Buffer.alloc(rl).map((_, i) => 0xa0 + i) as Buffer;
  const s = new Session(suite, [keys.purse!, keys.log!], rndA, rndB);
  const ex: { tx: string; rx: string | null }[] = [];
  const add = (tx: Buffer, rx: Buffer | null): void => void ex.push({ tx: h(tx), rx: rx && h(rx) });
  add(fr([0x00, 0x12, 0xfc, 0x00, 0x00]), fr([0x01], IDM, PMM));
  add(fr([0x10], IDM, [0], [2, ...le(0x1010), ...le(0x104c)]), fr([0x11], IDM, [0, 0], s.challenge));
  add(fr([0x04], IDM), fr([0x05], IDM, [1]));
  add(fr([0x12], IDM, s.readerResponse), fr([0x13], IDM, [0, 0], s.cardResponse));
  add(fr([0x04], IDM), fr([0x05], IDM, [2]));
  const read2 = fr([0x14], IDM, [2, ...le(0x1010), ...le(0x104c), 2, 0x80, 0, 0x81, 0]);
  add(
    s.command(read2),
    s.answer(fr([0x15], IDM, [0, 0, 2]), Buffer.concat([purse(5000, 0), Buffer.alloc(16)])),
  );
  const log = x('c0ffee00 00000001 00000320 02 2474 05');
  const write2 = fr([0x16], IDM, [2, ...le(0x1010), ...le(0x104c), 2, 0x80, 0, 0x81, 0]);
  add(s.command(write2, Buffer.concat([purse(4200, 1), log])), s.answer(fr([0x17], IDM, [0, 0])));
  add(s.command(read2), s.answer(fr([0x15], IDM, [0, 0, 2]), Buffer.concat([purse(4200, 1), log])));
  const write1 = fr([0x16], IDM, [1, ...le(0x1010), 1, 0x80, 0]);
  add(s.command(write1, purse(4100, 2)), s.answer(fr([0x17], IDM, [0xff, 0xe3])));
  const outside = fr([0x14], IDM, [1, ...le(0x1088), 1, 0x80, 0]);
  add(s.command(outside), s.answer(fr([0x15], IDM, [0x01, 0xb1])));
  const bad = s.command(write2, Buffer.concat([purse(1, 2), log]));
  bad[bad.length - 1]! ^= 0x01;
  add(bad, fr([0x17], IDM, [0xff, 0xb2]));
  add(fr([0x04], IDM), fr([0x05], IDM, [0]));
  add(fr([0x14], IDM, [1, ...le(0x1010), 1, 0x80, 0], Buffer.alloc(8)), fr([0x15], IDM, [0xff, 0xb1]));
  return {
    id: `secure-session-${suite}`,
    note: 'RndA = a0.., RndB = b0..; expected frames computed by tools/src/independent (node:crypto, fresh contexts)',
    profile: profile(suite, keys),
    cardRandom: [h(rndB)],
    exchanges: ex,
  };
}

function issuanceVector(suite: R.RefSuite): unknown {
  const keys = keysFor(suite);
  const rl = suite === '2k3des' ? 8 : 16;
  const rndB = Buffer.alloc(rl).map((_, i) => 0x5b ^ i) as Buffer;
  const rndA = Buffer.alloc(rl).map((_, i) => 0x5a ^ (3 * i)) as Buffer;
  const s = new Session(suite, [keys.system!], rndA, rndB);
  const bs = R.blockSize(suite);
  const ex: { tx: string; rx: string | null }[] = [];
  const add = (tx: Buffer, rx: Buffer | null): void => void ex.push({ tx: h(tx), rx: rx && h(rx) });
  const klen = keys.area2000!.length;
  add(fr([0x00, 0x12, 0xfc, 0x00, 0x00]), fr([0x01], IDM, PMM));
  add(fr([0x10], IDM, [1, 0xff, 0xff], [0]), fr([0x11], IDM, [0, 0], s.challenge));
  add(fr([0x12], IDM, s.readerResponse), fr([0x13], IDM, [0, 0], s.cardResponse));
  add(fr([0x04], IDM), fr([0x05], IDM, [3]));
  // Register Area 2000-27FF, capacity 8, key version 5.
  const area = Buffer.concat([Buffer.from([...le(0x2000), ...le(0x27ff), 0, 8, 0, 5, klen]), keys.area2000!]);
  add(s.command(fr([0x82], IDM), R.pad2(area, bs)), s.answer(fr([0x83], IDM, [0, 0])));
  // Register Service 2049 (random, no key), 2 blocks.
  const svc = Buffer.from([...le(0x2049), 0, 2, 0xff, 0xff, 0, 0, 0]);
  add(s.command(fr([0x84], IDM), R.pad2(svc, bs)), s.answer(fr([0x85], IDM, [0, 0])));
  // Change Key of service 1088 to version 7.
  const ck = Buffer.concat([Buffer.from([...le(0x1088), 0, 7, klen]), keys.newData!]);
  add(s.command(fr([0x86], IDM), R.pad2(ck, bs)), s.answer(fr([0x87], IDM, [0, 0])));
  // The same service again: it exists (AD), still MAC'd.
  add(s.command(fr([0x84], IDM), R.pad2(svc, bs)), s.answer(fr([0x85], IDM, [0xff, 0xad])));
  // Register Issue ID.
  const iid = x('1122334455667788 20261121 0000002a');
  add(s.command(fr([0x80], IDM), R.pad2(iid, bs)), s.answer(fr([0x81], IDM, [0, 0])));
  // Separate System FE00 (capacity 16, system key version 2): a second IDm answers for it.
  const sep = Buffer.concat([Buffer.from([0xfe, 0x00, 0, 16, 0, 2, klen]), keys.newData!]);
  add(s.command(fr([0x88], IDM), R.pad2(sep, bs)), s.answer(fr([0x89], IDM, [0, 0])));
  // Plain commands see the result.
  add(fr([0x0c], IDM), fr([0x0d], IDM, [2, 0x12, 0xfc, 0xfe, 0x00]));
  const idm1 = Buffer.from(IDM);
  idm1[0] = (idm1[0]! & 0x0f) | 0x10;
  add(fr([0x00, 0xfe, 0x00, 0x01, 0x00]), fr([0x01], idm1, PMM, [0xfe, 0x00]));
  add(fr([0x02], idm1, [1, 0xff, 0xff]), fr([0x03], idm1, [1, 2, 0]));
  add(fr([0x00, 0x12, 0xfc, 0x00, 0x00]), fr([0x01], IDM, PMM));
  add(
    fr([0x02], IDM, [4, ...le(0x2000), ...le(0x2049), ...le(0x1088), 0xff, 0xff]),
    fr([0x03], IDM, [4, 5, 0, 0, 0, 7, 0, 1, 0]),
  );
  add(fr([0x0e], IDM, [2, ...le(0x2000), ...le(0x2049)]), fr([0x0f], IDM, [2, 6, 0, 2, 0]));
  add(fr([0x0a], IDM, [4, 0]), fr([0x0b], IDM, [...le(0x2000), ...le(0x27ff)]));
  add(fr([0x0a], IDM, [5, 0]), fr([0x0b], IDM, le(0x2049)));
  add(fr([0x08], IDM, [1, ...le(0x2049), 1, 0x80, 1], Buffer.alloc(16, 0x77)), fr([0x09], IDM, [0, 0]));
  add(fr([0x06], IDM, [1, ...le(0x2049), 1, 0x80, 1]), fr([0x07], IDM, [0, 0, 1], Buffer.alloc(16, 0x77)));
  return {
    id: `issuance-${suite}`,
    note: 'issuance packages as apdu-specs ISSUANCE_PACKAGES; expected frames computed by tools/src/independent',
    profile: profile(suite, keys),
    cardRandom: [h(rndB)],
    exchanges: ex,
  };
}

const suites: R.RefSuite[] = ['2k3des', '3k3des', 'aes128'];
const file = {
  kind: 'felica-transcript',
  description:
    'Mutual authentication, secure Read/Write with purse and log, MAC refusals and issuance packages (security.md 3-5), for 2K3DES, 3K3DES and AES-128',
  source:
    "mica's own scheme; generated once by tools/scripts/gen-secure-vectors.ts with the independent implementation tools/src/independent/ref-crypto.ts (node:crypto), not by the code under test",
  vectors: suites.flatMap((s) => [secureVector(s), issuanceVector(s)]),
};
process.stdout.write(`${JSON.stringify(file, null, 2)}\n`);
