// The cipher, mac, mutual-auth and key-diversification vector checkers: every shared vector passes, every mutation fails with a message.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CheckResult, Checker } from '../src/conformance/check-result';
import { checkCipher } from '../src/conformance/kinds/cipher';
import { checkKeyDiversification } from '../src/conformance/kinds/key-diversification';
import { checkMac } from '../src/conformance/kinds/mac';
import { checkMutualAuth } from '../src/conformance/kinds/mutual-auth';

type Vector = Record<string, unknown>;

const dir = new URL('../../test-vectors/', import.meta.url);

function load(file: string): { kind: string; vectors: Vector[] } {
  return JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { kind: string; vectors: Vector[] };
}

/** The hex string with byte `index` (of its bytes, spaces ignored) XORed with `xor`. */
function flipByte(hex: string, index: number, xor = 0x01): string {
  const clean = hex.replace(/\s+/g, '');
  const b = parseInt(clean.slice(2 * index, 2 * index + 2), 16) ^ xor;
  return clean.slice(0, 2 * index) + b.toString(16).padStart(2, '0') + clean.slice(2 * index + 2);
}

function hexLength(hex: unknown): number {
  return typeof hex === 'string' ? hex.replace(/\s+/g, '').length / 2 : 0;
}

function expectFailure(result: CheckResult, pattern?: RegExp): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.message.length).toBeGreaterThan(0);
  if (pattern !== undefined) expect(result.message).toMatch(pattern);
}

const without = (v: Vector, field: string): Vector =>
  Object.fromEntries(Object.entries(v).filter(([k]) => k !== field));

const files: readonly (readonly [string, string, Checker, readonly string[]])[] = [
  ['cipher-des-tdes.json', 'cipher', checkCipher, ['key', 'iv', 'plaintext', 'ciphertext']],
  ['mac-iso9797.json', 'mac', checkMac, ['key', 'message', 'mac']],
  [
    'mutual-auth-desfire.json',
    'mutual-auth',
    checkMutualAuth,
    ['key', 'rndA', 'rndB', 'cardChallenge', 'readerResponse', 'cardResponse', 'sessionKey'],
  ],
  [
    'key-diversification-an10922.json',
    'key-diversification',
    checkKeyDiversification,
    ['masterKey', 'input', 'diversifiedKey'],
  ],
];

/**
 * Mutations that must fail: a flipped byte (first, middle, last) in each checked hex field. A DES
 * key's low bits are parity, ignored by DES, so key bytes get 02 flipped instead of 01.
 */
function mutations(kind: string, v: Vector, fields: readonly string[]): [string, Vector][] {
  const out: [string, Vector][] = [];
  for (const field of fields) {
    const n = hexLength(v[field]);
    const xor = field === 'key' || field === 'masterKey' ? 0x02 : 0x01;
    for (const i of new Set([0, n >> 1, n - 1])) {
      if (i < 0 || i >= n) continue;
      // a message gives the MAC only through its padded blocks: flipping any byte must still change it
      out.push([`${field}[${i}] flipped`, { ...v, [field]: flipByte(v[field] as string, i, xor) }]);
    }
  }
  // (CBC with a zero IV is ECB on one block, so only ECB → CBC with a non-zero IV must change)
  if (kind === 'cipher' && v['mode'] === 'ecb')
    out.push(['mode cbc', { ...v, mode: 'cbc', iv: '0102030405060708' }]);
  if (kind === 'mac' && v['alg'] !== 'aes-cmac')
    out.push(['padding switched', { ...v, padding: v['padding'] === 1 ? 2 : 1 }]);
  if (kind === 'mutual-auth')
    out.push(['clearParity toggled', { ...v, clearParity: v['clearParity'] !== true }]);
  return out;
}

describe.each(files)('%s', (file, kind, check, fields) => {
  const doc = load(file);
  // The registry and the runner pull in every kind (and so the whole card); imported here so that the
  // checker tests above do not depend on the rest of the tree.
  it(`is kind ${kind} and registered under that name`, async () => {
    expect(doc.kind).toBe(kind);
    const { KINDS } = await import('../src/conformance/kinds/index');
    expect(KINDS.get(kind)).toBe(check);
  });

  it.each(doc.vectors.map((v) => [String(v['id']), v] as const))('%s passes', (_id, v) => {
    expect(check(v)).toEqual({ ok: true });
  });

  const mutated = doc.vectors.flatMap((v) =>
    mutations(kind, v, fields).map(([what, m]) => [`${String(v['id'])}: ${what}`, m] as const),
  );
  it.each(mutated)('%s fails', (_name, v) => expectFailure(check(v)));

  it('runs through the conformance runner with 0 failed', async () => {
    const { runFile } = await import('../src/conformance/runner');
    const report = runFile(new URL(file, dir).pathname);
    expect(report.error).toBeUndefined();
    expect(report.failures).toEqual([]);
    expect(report.passed).toBe(doc.vectors.length);
  });
});

describe('field handling', () => {
  const cipher = {
    id: 'x',
    alg: 'des',
    mode: 'cbc',
    key: '0123456789abcdef',
    iv: '1234567890abcdef',
    plaintext: '4e6f77206973207468652074696d6520666f7220616c6c20',
    ciphertext: 'e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6',
  };
  const mac = {
    id: 'x',
    alg: 'iso9797-1-m3',
    padding: 1,
    key: '7ca110454a1a6e570131d9619dc1376e',
    message: '48656c6c6f20576f726c642021212121',
    mac: 'f09b856213bab83b',
  };
  const auth = {
    id: 'x',
    alg: '2k3des',
    key: '10182029303840485058606870788088',
    rndA: 'ddb097c2a1e47b96',
    rndB: 'a40e79e0f52f63af',
    cardChallenge: '9414819cc8bb62c3',
    readerResponse: '937e6b1854a6d92e0fd975d9909001e8',
    cardResponse: 'e055d11dd9535060',
    sessionKey: 'dcb096c2a40e78e0a0e47a96f42e62ae',
    clearParity: true,
  };
  const div = {
    id: 'x',
    alg: 'aes128',
    masterKey: '00112233445566778899aabbccddeeff',
    input: '04782e21801d803042f54e585020416275',
    diversifiedKey: 'a8dd63a3b89d54b37ca802473fda9175',
  };

  it('the examples pass, with uppercase hex and spaces', () => {
    expect(checkCipher(cipher)).toEqual({ ok: true });
    expect(checkCipher({ ...cipher, key: '01234567 89ABCDEF' })).toEqual({ ok: true });
    expect(checkMac({ ...mac, mac: 'F09B 8562' })).toEqual({ ok: true });
    expect(checkMutualAuth({ ...auth, rndA: 'DDB0 97C2 A1E4 7B96' })).toEqual({ ok: true });
    expect(checkKeyDiversification({ ...div, input: '04782E21801D80 3042F5 4E585020416275' })).toEqual({
      ok: true,
    });
  });

  it.each([
    ['cipher', checkCipher, cipher, ['alg', 'mode', 'key', 'iv', 'plaintext', 'ciphertext']],
    ['mac', checkMac, mac, ['alg', 'padding', 'key', 'message', 'mac']],
    [
      'mutual-auth',
      checkMutualAuth,
      auth,
      ['alg', 'key', 'rndA', 'rndB', 'cardChallenge', 'readerResponse', 'cardResponse', 'sessionKey'],
    ],
    ['key-diversification', checkKeyDiversification, div, ['alg', 'masterKey', 'input', 'diversifiedKey']],
  ] as const)('%s: a missing field is a failure naming it', (_kind, check, v, fields) => {
    for (const field of fields) expectFailure(check(without(v, field)), new RegExp(`"${field}"`));
  });

  it('names a mistyped field', () => {
    expectFailure(checkCipher({ ...cipher, alg: 'aes256' }), /"alg".*aes256/);
    expectFailure(checkCipher({ ...cipher, mode: 'ctr' }), /"mode"/);
    expectFailure(checkCipher({ ...cipher, key: '0123456789abcdef00' }), /"key".*8 bytes/);
    expectFailure(checkCipher({ ...cipher, iv: '00' }), /"iv".*8 bytes/);
    expectFailure(checkCipher({ ...cipher, plaintext: 42 }), /"plaintext".*number/);
    expectFailure(checkCipher({ ...cipher, plaintext: '0011' }), /"plaintext".*multiple of 8/);
    expectFailure(checkCipher({ ...cipher, ciphertext: 'e5c7cdde872bf27c' }), /"ciphertext".*24 bytes/);
    expectFailure(checkMac({ ...mac, padding: 3 }), /"padding".*3/);
    expectFailure(checkMac({ ...mac, padding: '1' }), /"padding"/);
    expectFailure(checkMac({ ...mac, key: '0011' }), /"key".*16 or 24 bytes/);
    expectFailure(checkMac({ ...mac, mac: '' }), /"mac".*1 to 8 bytes/);
    expectFailure(checkMac({ ...mac, mac: 'f09b856213bab83b00' }), /"mac"/);
    expectFailure(checkMac({ ...mac, message: 'xyz' }), /"message"/);
    expectFailure(checkMutualAuth({ ...auth, alg: 'des3' }), /"alg"/);
    expectFailure(checkMutualAuth({ ...auth, rndA: 'ddb097c2' }), /"rndA".*8 bytes/);
    expectFailure(checkMutualAuth({ ...auth, sessionKey: 'dcb096c2' }), /"sessionKey".*16 bytes/);
    expectFailure(checkMutualAuth({ ...auth, clearParity: 'yes' }), /"clearParity"/);
    expectFailure(checkKeyDiversification({ ...div, masterKey: '0011' }), /"masterKey".*16 bytes/);
    expectFailure(checkKeyDiversification({ ...div, input: '' }), /"input"/);
    expectFailure(
      checkKeyDiversification({ ...div, diversifiedKey: 'a8dd63a3' }),
      /"diversifiedKey".*16 bytes/,
    );
  });

  it('points at the broken step', () => {
    expectFailure(
      checkCipher({ ...cipher, ciphertext: flipByte(cipher.ciphertext, 23) }),
      /encrypt.*"ciphertext"/,
    );
    expectFailure(checkMac({ ...mac, mac: flipByte(mac.mac, 0) }), /"mac".*computed f09b856213bab83b/);
    expectFailure(
      checkMutualAuth({ ...auth, cardChallenge: flipByte(auth.cardChallenge, 0) }),
      /pass 1.*"cardChallenge"/,
    );
    expectFailure(
      checkMutualAuth({ ...auth, readerResponse: flipByte(auth.readerResponse, 15) }),
      /pass 2.*"readerResponse"/,
    );
    expectFailure(
      checkMutualAuth({ ...auth, cardResponse: flipByte(auth.cardResponse, 7) }),
      /pass 3.*"cardResponse"/,
    );
    expectFailure(
      checkMutualAuth({ ...auth, sessionKey: flipByte(auth.sessionKey, 15, 0x02) }),
      /session key/,
    );
    expectFailure(
      checkKeyDiversification({ ...div, diversifiedKey: flipByte(div.diversifiedKey, 0) }),
      /AN10922/,
    );
  });

  it('accepts a truncated MAC as a prefix', () => {
    expect(checkMac({ ...mac, mac: 'f09b8562' })).toEqual({ ok: true });
    expectFailure(checkMac({ ...mac, mac: 'f09b8563' }));
  });

  it('ignores padding for AES-CMAC', () => {
    const cmac = {
      id: 'x',
      alg: 'aes-cmac',
      key: '2b7e151628aed2a6abf7158809cf4f3c',
      message: '',
      mac: 'bb1d6929e95937287fa37d129b756746',
    };
    expect(checkMac(cmac)).toEqual({ ok: true });
    expect(checkMac({ ...cmac, padding: 1 })).toEqual({ ok: true });
  });

  it('checks the DES-suite diversification in its 8-byte and stored K′ ‖ K′ forms', () => {
    // value from OpenSSL CMAC (DES-EDE-CBC, key master ‖ master) over 21 ‖ M
    const des = {
      id: 'x',
      alg: 'des',
      masterKey: '2b7e151628aed2a6',
      input: '0102030405060708 8ff0 c3a1',
      diversifiedKey: '4a356394baf10b57',
    };
    expect(checkKeyDiversification(des)).toEqual({ ok: true });
    expect(checkKeyDiversification({ ...des, diversifiedKey: '4a356394baf10b574a356394baf10b57' })).toEqual({
      ok: true,
    });
    expectFailure(checkKeyDiversification({ ...des, diversifiedKey: '4a356394baf10b570000000000000000' }));
    expectFailure(checkKeyDiversification({ ...des, diversifiedKey: '4a356394baf10b' }), /8 or 16 bytes/);
  });

  it('an unusable diversification input is a failure, not a crash', () => {
    expectFailure(checkKeyDiversification({ ...div, input: '00'.repeat(32) }), /"input".*1 to 31/);
  });

  it('never throws, whatever the vector', () => {
    const odd = [{}, { alg: {} }, { alg: 'des', mode: 'ecb', key: [] }, Object.create(null) as Vector];
    for (const check of [checkCipher, checkMac, checkMutualAuth, checkKeyDiversification]) {
      for (const v of odd) expect(check(v).ok).toBe(false);
      expect(check(null as unknown as Vector).ok).toBe(false);
    }
  });
});
