// HTTP rules of flows.md 1.2 (401/403 and malformed requests change nothing), restart from the SQLite
// files loses nothing committed, secrets are wrapped at rest, the hardened PIN proof is checked, and a
// lost peer leaves an in-flight item that the audit lists (C4) until a retry completes it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { computeMac } from '@mica/apdu-specs/crypto/mac';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { VirtualClock } from '@mica/host-sdk/platform/clock';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import { World } from '@mica/host-sdk/backend/world';
import { BackendServer } from '@mica/host-sdk/backend/http/server';
import { HttpBackendLink, HttpBankClient } from '@mica/host-sdk/backend/http/client';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { RequestError } from '@mica/host-sdk/backend/schema';
import { START } from './contract';

const dir = mkdtempSync(join(tmpdir(), 'mica-backend-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tx = (n: number): string => n.toString(16).padStart(32, '0');
const TELLER = 'b1'.repeat(32);
const OTHER = 'c2'.repeat(32);

async function post(
  url: string,
  path: string,
  body: string,
  token?: string,
  type = 'application/json',
): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${url}/v1/${path}`, {
    method: 'POST',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': type },
    body,
  });
  return { status: r.status, json: await r.json() };
}

describe('HTTP: unauthorised and malformed requests are 4xx and change nothing', () => {
  it('401, 403, 400, 404, 415 with clear messages; the ledger is untouched', async () => {
    const clock = new VirtualClock(START);
    const w = new World({ dataDir: ':memory:', clock, rng: new SeededRng(1) });
    const bank = w.open('bank', 'bank1');
    expectOk(await bank.openAccount({ accountNo: 'a1', userId: 'u', name: 'n' }));
    const server = new BackendServer(w, {
      callers: {
        teller: { token: TELLER, allow: ['bank/bank1/*'] },
        other: { token: OTHER, allow: ['bank/bank1/account'] },
      },
    });
    const { url } = await server.listen(0);
    try {
      const deposit = JSON.stringify({ txId: tx(1), accountNo: 'a1', amount: 100 });
      expect(await post(url, 'bank/bank1/depositCash', deposit)).toEqual({
        status: 401,
        json: { ok: false, code: 'E_UNAUTHORIZED', message: 'missing Authorization: Bearer <token>' },
      });
      expect((await post(url, 'bank/bank1/depositCash', deposit, 'ff'.repeat(32))).status).toBe(401);
      expect(await post(url, 'bank/bank1/depositCash', deposit, OTHER)).toEqual({
        status: 403,
        json: {
          ok: false,
          code: 'E_UNAUTHORIZED',
          message: 'caller other may not call bank/bank1/depositCash',
        },
      });
      expect(await post(url, 'bank/bank1/depositCash', '{"txId":', TELLER)).toMatchObject({
        status: 400,
        json: { code: 'E_BAD_REQUEST' },
      });
      expect(
        await post(
          url,
          'bank/bank1/depositCash',
          JSON.stringify({ txId: tx(1), accountNo: 'a1', amount: -5 }),
          TELLER,
        ),
      ).toEqual({
        status: 400,
        json: {
          ok: false,
          code: 'E_BAD_REQUEST',
          message: 'depositCash.amount must be an integer from 1 to 4294967295, got -5',
        },
      });
      expect(
        (
          await post(
            url,
            'bank/bank1/depositCash',
            JSON.stringify({ txId: tx(1), accountNo: 'a1', amount: 5, extra: 1 }),
            TELLER,
          )
        ).json,
      ).toMatchObject({
        message: 'depositCash.extra is not a field of this request',
      });
      expect((await post(url, 'bank/bank1/nope', '{}', TELLER)).status).toBe(404);
      expect((await post(url, 'bank/bank1/depositCash', deposit, TELLER, 'text/plain')).status).toBe(415);
      // Media types are case-insensitive (RFC 9110 8.3.1); a look-alike subtype is not JSON.
      expect((await post(url, 'bank/bank1/depositCash', deposit, TELLER, 'application/jsonx')).status).toBe(
        415,
      );
      expect(expectOk(await bank.account({ accountNo: 'a1' })).balance).toBe(0);
      expect(expectOk(await bank.auditView()).entries).toEqual([]);
      // The same request, authorised and well-formed, goes through.
      expect((await post(url, 'bank/bank1/depositCash', deposit, TELLER)).json).toMatchObject({
        ok: true,
        result: { balance: 100 },
      });
      const upper = JSON.stringify({ txId: tx(2), accountNo: 'a1', amount: 1 });
      expect(
        (await post(url, 'bank/bank1/depositCash', upper, TELLER, 'Application/JSON; charset=UTF-8')).json,
      ).toMatchObject({ ok: true, result: { balance: 101 } });
      // The client names the server's refusal of a malformed request.
      const client = new HttpBankClient(new HttpBackendLink({ baseUrl: url, token: TELLER }), 'bank1');
      await expect(client.depositCash({ txId: 'xyz', accountNo: 'a1', amount: 1 })).rejects.toThrow(
        RequestError,
      );
    } finally {
      await server.close();
      w.close();
    }
  });
});

describe('persistence', () => {
  it('a restart from the data directory loses nothing committed; secrets are wrapped at rest', async () => {
    const open = (): World =>
      World.openDirectory({ dataDir: dir, clock: new VirtualClock(START), rng: new SeededRng(2) });
    const first = new World({ dataDir: dir, clock: new VirtualClock(START), rng: new SeededRng(2) });
    const bank = first.open('bank', 'bankp');
    const credit = first.open('credit', 'creditp');
    expectOk(await bank.openAccount({ accountNo: 'a1', userId: 'u', name: 'n' }));
    expectOk(await bank.depositCash({ txId: tx(9), accountNo: 'a1', amount: 700 }));
    const key = '00112233445566778899aabbccddeeff';
    expectOk(
      await credit.openCardAccount({
        cardNo: '1234',
        userId: 'u',
        name: 'n',
        billingBankId: 'bankp',
        billingAccountNo: 'a1',
        cardExpiry: 9000,
        limit: 10,
      }),
    );
    expectOk(await credit.registerCardKey({ cardNo: '1234', suite: '2k3des', key }));
    first.close();
    expect(readFileSync(join(dir, 'credit-creditp.sqlite')).includes(Buffer.from(hexToBytes(key)))).toBe(
      false,
    );
    const again = open();
    try {
      expect(again.list().map((x) => `${x.kind}/${x.id}`)).toEqual(['bank/bankp', 'credit/creditp']);
      expect(expectOk(await again.peer('bank', 'bankp').account({ accountNo: 'a1' })).balance).toBe(700);
      // A retry after the restart is still answered from the idempotency table.
      expect(
        expectOk(await again.peer('bank', 'bankp').depositCash({ txId: tx(9), accountNo: 'a1', amount: 700 }))
          .balance,
      ).toBe(700);
    } finally {
      again.close();
    }
  });
});

describe('seed 001 rules', () => {
  it('hardened mode: the purchase needs the card proof over a fresh nonce; a forged one is refused', async () => {
    const clock = new VirtualClock(START);
    const w = new World({ dataDir: ':memory:', clock, rng: new SeededRng(3) });
    const bank = w.open('bank', 'bank1');
    const credit = w.open('credit', 'credit1');
    const emoney = w.open('emoney', 'emoney1');
    expectOk(await bank.openAccount({ accountNo: 'a1', userId: 'u1', name: 'YAMADA TARO' }));
    expectOk(
      await credit.openCardAccount({
        cardNo: '987654321',
        userId: 'u1',
        name: 'YAMADA TARO',
        billingBankId: 'bank1',
        billingAccountNo: 'a1',
        cardExpiry: 9000,
        limit: 100_000,
      }),
    );
    const key = hexToBytes('404142434445464748494a4b4c4d4e4f');
    expectOk(await credit.registerCardKey({ cardNo: '987654321', suite: '2k3des', key: bytesToHex(key) }));
    expectOk(
      await emoney.registerUser({
        emoneyNo: '12345678',
        name: 'YAMADA TARO',
        password: 'abcdefg',
        refundBankId: 'bank1',
        refundAccountNo: 'a1',
      }),
    );
    const { nonce } = expectOk(await credit.beginPurchase({ terminalId: 'T-001' }));
    // What the card computes (flows.md 3.2 P4), built here byte by byte: nonce ‖ 000007d0 ‖ 987654321fffffffffff ‖ 01.
    const message = hexToBytes(`${nonce}000007d0987654321fffffffffff01`);
    const mac = bytesToHex(computeMac('iso9797-1-m3', key, message, { padding: 2 }).slice(0, 8));
    const ask = {
      txId: tx(1),
      terminalId: 'T-001',
      creditCardNo: '987654321',
      emoneyNo: '12345678',
      amount: 2000,
      emoneyId: 'emoney1',
    };
    expect(await credit.purchaseValue({ ...ask, auth: { result: 'verified' } })).toMatchObject({
      ok: false,
      code: 'E_PIN_NOT_VERIFIED',
    });
    const forged = bytesToHex(hexToBytes(mac).map((b, i) => (i === 0 ? b ^ 1 : b)));
    expect(await credit.purchaseValue({ ...ask, txId: tx(2), auth: { nonce, mac: forged } })).toMatchObject({
      ok: false,
      code: 'E_PIN_NOT_VERIFIED',
    });
    expect(await credit.purchaseValue({ ...ask, txId: tx(3), auth: { nonce, mac } })).toMatchObject({
      ok: true,
    });
    expect(await credit.purchaseValue({ ...ask, txId: tx(4), auth: { nonce, mac } })).toMatchObject({
      ok: false,
      code: 'E_PIN_NOT_VERIFIED',
      message: `nonce ${nonce} was used already`,
    });
    expect(expectOk(await credit.billing({ cardNo: '987654321' }))).toHaveLength(1);
    w.close();
  });

  it('a lost e-money server leaves the purchase in flight (C4); the retry with the same txId completes it once', async () => {
    const clock = new VirtualClock(START);
    const w = new World({ dataDir: ':memory:', clock, rng: new SeededRng(4), mode: 'faithful' });
    w.open('bank', 'bank1');
    const credit = w.open('credit', 'credit1');
    const emoney = w.open('emoney', 'emoney1');
    expectOk(
      await credit.openCardAccount({
        cardNo: '987654321',
        userId: 'u1',
        name: 'Y',
        billingBankId: 'bank1',
        billingAccountNo: 'a1',
        cardExpiry: 9000,
        limit: 100_000,
      }),
    );
    expectOk(
      await emoney.registerUser({
        emoneyNo: '12345678',
        name: 'Y',
        password: 'p',
        refundBankId: 'bank1',
        refundAccountNo: 'a1',
      }),
    );
    const real = emoney.prepareCharge.bind(emoney);
    let down = true;
    // The e-money server is unreachable for the first attempt (a link error, as over HTTP).
    emoney.prepareCharge = (r) => (down ? Promise.reject(new Error('link lost')) : real(r));
    const ask = {
      txId: tx(1),
      terminalId: 'T',
      creditCardNo: '987654321',
      emoneyNo: '12345678',
      amount: 2000,
      emoneyId: 'emoney1',
      auth: { result: 'verified' as const },
    };
    await expect(credit.purchaseValue(ask)).rejects.toThrow('link lost');
    const mid = await w.audit();
    expect(mid.ok).toBe(true);
    expect(mid.inFlight).toMatchObject([
      { txId: tx(1), holder: 'credit1', peer: 'emoney1', clearingAmount: 2000 },
    ]);
    down = false;
    expectOk(await credit.purchaseValue(ask));
    expectOk(await credit.purchaseValue(ask));
    const end = await w.audit();
    expect(end.ok).toBe(true);
    expect(end.inFlight).toEqual([]);
    expect(expectOk(await emoney.charges({ emoneyNo: '12345678' }))).toHaveLength(1);
    expect(expectOk(await credit.account({ cardNo: '987654321' })).liabilityUnbilled).toBe(2000);
    w.close();
  });
});
