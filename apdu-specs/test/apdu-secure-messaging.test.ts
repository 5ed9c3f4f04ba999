// ISO 7816-4 secure messaging: host and card sides against each other and against node:crypto.
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createSmKeys,
  incrementSsc,
  initialSsc,
  unwrapCommand,
  unwrapResponse,
  wrapCommand,
  wrapResponse,
  type SmKeys,
} from '../src/apdu/secure-messaging';
import { bytesToHex, hexToBytes } from '../src/hex';
import { suiteByName, type Suite } from '../src/secure/suite';

const h = hexToBytes;

// --- an independent implementation: one fresh node:crypto context per step ---------------------

function cat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

function pad2(b: Uint8Array, bs: number): Uint8Array {
  const n = Math.floor(b.length / bs) * bs + bs;
  const out = new Uint8Array(n);
  out.set(b);
  out[b.length] = 0x80;
  return out;
}

function ecb(alg: string, key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv(alg, key, null);
  c.setAutoPadding(false);
  return Uint8Array.from([...c.update(block), ...c.final()]);
}

function cbc(alg: string, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(alg, key, iv);
  c.setAutoPadding(false);
  return Uint8Array.from([...c.update(data), ...c.final()]);
}

interface Ref {
  bs: number;
  enc(iv: Uint8Array, data: Uint8Array): Uint8Array;
  ecb(block: Uint8Array): Uint8Array;
  mac(msg: Uint8Array): Uint8Array;
}

function refFor(suite: Suite, ksEnc: Uint8Array, ksMac: Uint8Array): Ref {
  if (suite.name === 'aes128') {
    const dbl = (b: Uint8Array): Uint8Array => {
      const out = new Uint8Array(16);
      for (let i = 0; i < 16; i++) out[i] = ((b[i]! << 1) | ((b[i + 1] ?? 0) >> 7)) & 0xff;
      if (b[0]! & 0x80) out[15]! ^= 0x87;
      return out;
    };
    return {
      bs: 16,
      enc: (iv, d) => cbc('aes-128-cbc', ksEnc, iv, d),
      ecb: (b) => ecb('aes-128-ecb', ksEnc, b),
      mac: (msg) => {
        // CMAC (SP 800-38B): the message here is always whole blocks, so K1.
        const k1 = dbl(ecb('aes-128-ecb', ksMac, new Uint8Array(16)));
        const m = msg.slice();
        for (let i = 0; i < 16; i++) m[m.length - 16 + i]! ^= k1[i]!;
        return cbc('aes-128-cbc', ksMac, new Uint8Array(16), m).slice(-16);
      },
    };
  }
  const ede = ksEnc.length === 24 ? 'des-ede3-cbc' : 'des-ede-cbc';
  // Algorithm 3 uses K = KSmac[0..7] and K' = KSmac[8..15] for 2K3DES and 3K3DES alike.
  const k = ksMac.subarray(0, 8);
  const k2 = ksMac.subarray(8, 16);
  return {
    bs: 8,
    enc: (iv, d) => cbc(ede, ksEnc, iv, d),
    ecb: (b) => ecb(ede.replace('-cbc', '-ecb'), ksEnc, b),
    mac: (msg) => {
      // ISO 9797-1 algorithm 3 over the explicitly padded input (already whole blocks, so no further
      // padding): single-DES CBC (as EDE with K ‖ K), then D_K' and E_K.
      if (msg.length % 8 !== 0) throw new Error('the SM MAC input is always whole blocks');
      const p = msg;
      const head = p.subarray(0, p.length - 8);
      const chain =
        head.length > 0
          ? cbc('des-ede-cbc', cat(k, k), new Uint8Array(8), head).slice(-8)
          : new Uint8Array(8);
      return cbc('des-ede-cbc', cat(k, k2), chain, p.subarray(p.length - 8));
    },
  };
}

function refCommand(ref: Ref, ssc: Uint8Array, hdr: Uint8Array, data: Uint8Array, le: number | undefined) {
  const dos: number[] = [];
  if (data.length > 0) {
    const ct = ref.enc(ref.ecb(ssc), pad2(data, ref.bs));
    dos.push(0x87, ct.length + 1, 0x01, ...ct);
  }
  if (le !== undefined) dos.push(0x97, 0x01, le);
  const dob = Uint8Array.from(dos);
  const macIn = dob.length > 0 ? cat(ssc, pad2(hdr, ref.bs), pad2(dob, ref.bs)) : cat(ssc, pad2(hdr, ref.bs));
  const mac = ref.mac(macIn).slice(0, 8);
  return cat(dob, Uint8Array.of(0x8e, 8), mac);
}

function refResponse(ref: Ref, ssc: Uint8Array, data: Uint8Array, sw: number): Uint8Array {
  const dos: number[] = [];
  if (data.length > 0) {
    const ct = ref.enc(ref.ecb(ssc), pad2(data, ref.bs));
    dos.push(0x87, ct.length + 1, 0x01, ...ct);
  }
  dos.push(0x99, 0x02, sw >> 8, sw & 0xff);
  const dob = Uint8Array.from(dos);
  return cat(dob, Uint8Array.of(0x8e, 8), ref.mac(cat(ssc, pad2(dob, ref.bs))).slice(0, 8));
}

// --- the cases -------------------------------------------------------------------------------

const CASES = [
  {
    suite: suiteByName('2k3des'),
    enc: h('0123456789abcdeffedcba98765432100011223344556677'),
    mac: h('89abcdef0123456776543210fedcba98'),
  },
  {
    suite: suiteByName('3k3des'),
    enc: h('0123456789abcdeffedcba98765432100011223344556677'),
    mac: h('89abcdef0123456776543210fedcba980011223344556677'),
  },
  {
    suite: suiteByName('aes128'),
    enc: h('2b7e151628aed2a6abf7158809cf4f3c'),
    mac: h('000102030405060708090a0b0c0d0e0f'),
  },
];

function sscOf(keys: SmKeys, n: number): Uint8Array {
  let s = initialSsc(keys);
  for (let i = 0; i < n; i++) s = incrementSsc(s);
  return s;
}

describe.each(CASES)('secure messaging, $suite.name', ({ suite, enc, mac }) => {
  const ksEnc = enc.subarray(0, suite.keyLength);
  const keys = createSmKeys(suite, ksEnc, mac);
  const ref = refFor(suite, ksEnc, mac);
  const payloads = [
    new Uint8Array(0),
    h('01'),
    h('0102030405060708'),
    Uint8Array.from({ length: 40 }, (_, i) => i),
  ];

  it.each(payloads.map((p) => [p.length, p] as const))(
    'command with %i data bytes matches node:crypto',
    (_n, data) => {
      const ssc = sscOf(keys, 5);
      const w = wrapCommand(keys, ssc, { cla: 0x00, ins: 0xb0, p1: 0x01, p2: 0x02, data, ne: 256 });
      expect(w.cla).toBe(0x0c);
      expect(bytesToHex(w.ssc)).toBe(bytesToHex(sscOf(keys, 6)));
      const expected = refCommand(ref, sscOf(keys, 6), h('0cb00102'), data, 0);
      expect(bytesToHex(w.data)).toBe(bytesToHex(expected));
      const u = unwrapCommand(keys, ssc, w);
      expect(u.ok).toBe(true);
      if (!u.ok) return;
      expect(u.command).toEqual({ cla: 0x00, ins: 0xb0, p1: 0x01, p2: 0x02, data, ne: 256 });
      expect(bytesToHex(u.ssc)).toBe(bytesToHex(w.ssc));
    },
  );

  it('a header-only command MACs SSC ‖ pad2(header)', () => {
    const ssc = initialSsc(keys);
    const w = wrapCommand(keys, ssc, { cla: 0x01, ins: 0x44, p1: 0, p2: 0, data: new Uint8Array(0), ne: 0 });
    expect(w.cla).toBe(0x0d);
    expect(bytesToHex(w.data)).toBe(
      bytesToHex(refCommand(ref, sscOf(keys, 1), h('0d440000'), new Uint8Array(0), undefined)),
    );
  });

  it.each(payloads.map((p) => [p.length, p] as const))(
    'response with %i data bytes matches node:crypto',
    (_n, data) => {
      const cmdSsc = sscOf(keys, 1);
      const r = wrapResponse(keys, cmdSsc, data, 0x9000);
      expect(bytesToHex(r.data)).toBe(bytesToHex(refResponse(ref, sscOf(keys, 2), data, 0x9000)));
      const u = unwrapResponse(keys, cmdSsc, r.data);
      expect(u).toEqual({ ok: true, data, sw: 0x9000, ssc: sscOf(keys, 2) });
    },
  );

  it('refuses every tamper with a typed failure', () => {
    const ssc = initialSsc(keys);
    const w = wrapCommand(keys, ssc, { cla: 0, ins: 0xd6, p1: 0, p2: 0, data: h('a1a2a3'), ne: 0 });
    const flip = (i: number) => {
      const d = w.data.slice();
      d[i]! ^= 0x01;
      return { ...w, data: d };
    };
    expect(unwrapCommand(keys, ssc, { ...w, data: w.data.subarray(0, w.data.length - 10) })).toEqual({
      ok: false,
      reason: 'missing-mac',
    });
    expect(unwrapCommand(keys, ssc, flip(w.data.length - 1))).toEqual({ ok: false, reason: 'bad-mac' });
    expect(unwrapCommand(keys, ssc, flip(4))).toEqual({ ok: false, reason: 'bad-mac' });
    expect(unwrapCommand(keys, ssc, { ...w, p1: 1 })).toEqual({ ok: false, reason: 'bad-mac' });
    expect(unwrapCommand(keys, sscOf(keys, 1), w)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(unwrapCommand(keys, ssc, { ...w, cla: 0x00 })).toEqual({ ok: false, reason: 'not-sm' });
    expect(unwrapCommand(keys, ssc, { ...w, data: w.data.subarray(0, 3) })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    const r = wrapResponse(keys, w.ssc, h('c0ffee'), 0x9000);
    const rf = r.data.slice();
    rf[5]! ^= 0x80;
    expect(unwrapResponse(keys, w.ssc, rf)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(unwrapResponse(keys, ssc, r.data)).toEqual({ ok: false, reason: 'bad-mac' });
    expect(unwrapResponse(keys, w.ssc, r.data.subarray(0, r.data.length - 10))).toEqual({
      ok: false,
      reason: 'missing-mac',
    });
  });

  it('a full exchange moves the SSC by two', () => {
    let hostSsc = initialSsc(keys);
    let cardSsc = initialSsc(keys);
    for (let i = 0; i < 3; i++) {
      const w = wrapCommand(keys, hostSsc, {
        cla: 0,
        ins: 0xca,
        p1: 0,
        p2: i,
        data: Uint8Array.of(i),
        ne: 16,
      });
      const u = unwrapCommand(keys, cardSsc, w);
      if (!u.ok) throw new Error(u.reason);
      const r = wrapResponse(keys, u.ssc, u.command.data, 0x6282);
      cardSsc = r.ssc;
      const o = unwrapResponse(keys, w.ssc, r.data);
      if (!o.ok) throw new Error(o.reason);
      hostSsc = o.ssc;
      expect(o.sw).toBe(0x6282);
      expect(bytesToHex(o.data)).toBe(bytesToHex(Uint8Array.of(i)));
    }
    expect(bytesToHex(hostSsc)).toBe(bytesToHex(sscOf(keys, 6)));
    expect(bytesToHex(cardSsc)).toBe(bytesToHex(hostSsc));
  });
});
