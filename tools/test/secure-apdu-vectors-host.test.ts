// The host SDK's applet clients send, byte for byte, the commands of apdu-transcript-secure.json, which
// the independent implementation in tools/src/independent made; the card answers them exactly (checked
// by `mica conformance`, and here again through the SDK, whose parsed results are compared with the
// values the vectors were written for).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { ListRandom } from '@mica/card-os/random';
import { ApduClient } from '@mica/host-sdk/apdu/apdu-client';
import { LocalAppletKeys } from '@mica/host-sdk/applets/applet-keys';
import { BankClient } from '@mica/host-sdk/applets/bank-client';
import { CardManagerClient } from '@mica/host-sdk/applets/card-manager-client';
import { CreditClient } from '@mica/host-sdk/applets/credit-client';
import { EmoneyClient } from '@mica/host-sdk/applets/emoney-client';
import { SettlementClient } from '@mica/host-sdk/applets/settlement-client';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
import { traced } from '@mica/host-sdk/transport/transport';

interface Service {
  code: string;
  key?: { value: string };
}
interface Vec {
  id: string;
  profile: {
    chip: { suite?: string };
    systems: { areas: { areas: { code: string; key: { value: string }; services?: Service[] }[] }[] }[];
  };
  cardRandom: string[];
  exchanges: { c: string; r: string }[];
}
const file = JSON.parse(
  readFileSync(new URL('../../test-vectors/apdu-transcript-secure.json', import.meta.url), 'utf8'),
) as { vectors: Vec[] };
const vector = (id: string): Vec => {
  const v = file.vectors.find((x) => x.id === id);
  if (!v) throw new Error(`no vector ${id}`);
  return v;
};
const norm = (hex: string): string => hex.replace(/\s+/g, '').toLowerCase();

/** A card of the vector, an APDU client whose commands are recorded, and the applet area's keys. */
function setup(v: Vec, readerRandomStart: number) {
  const card = new Card(cardImageFromProfile(parseProfile(v.profile)), {
    random: new ListRandom(v.cardRandom.map((r) => hexToBytes(r))),
  });
  card.powerOn();
  const sent: string[] = [];
  const transport = traced(
    new InProcessTransport(card),
    (e) => void (e.direction === 'command' && e.bytes && sent.push(bytesToHex(e.bytes))),
    { secrets: true },
  );
  const areas = v.profile.systems[0]!.areas[0]!.areas;
  const keyOf = (code: number): Uint8Array => {
    const hex =
      areas.find((a) => parseInt(a.code, 16) === code)?.key.value ??
      areas.flatMap((a) => a.services ?? []).find((s) => parseInt(s.code, 16) === code)?.key?.value;
    if (!hex) throw new Error(`no key for ${code.toString(16)}`);
    return hexToBytes(hex);
  };
  const suite = v.profile.chip.suite ?? '2k3des';
  const keys = (codes: number[]): LocalAppletKeys =>
    new LocalAppletKeys(
      suite,
      codes.map((code) => ({ code, key: keyOf(code) })),
      (n) => Uint8Array.from({ length: n }, (_, i) => (readerRandomStart + i) & 0xff),
    );
  /** The SDK's commands so far equal the vector's first ones. */
  const same = (): void => expect(sent).toEqual(v.exchanges.slice(0, sent.length).map((e) => norm(e.c)));
  return { client: new ApduClient(transport), keys, sent, same };
}

const DAY = 0x2474;
const cid = (n: number): Uint8Array => hexToBytes(`c0ffee00${n.toString(16).padStart(8, '0')}`);

describe('applet clients against the independent implementation (apdu-transcript-secure.json)', () => {
  for (const id of [
    'emoney-secure-2k3des-cashback',
    'emoney-secure-3k3des-direct',
    'emoney-secure-aes128-cashback',
  ]) {
    it(`${id}: the e-money client sends exactly the vector's commands`, async () => {
      const v = vector(id);
      const relative = id.endsWith('cashback');
      const { client, keys, sent, same } = setup(v, 0xa0);
      const e = new EmoneyClient(client, hexToBytes('a0000006ef454d'));
      expect((await e.select()).sw).toBe(0x9000);
      expect((await e.authenticate(keys([0x1000, 0x1050, 0x118c]))).ok).toBe(true);
      expect(await e.getBalance()).toMatchObject({ ok: true, balance: 1000, executionId: 0 });
      const e1 = relative ? 0xffc0 : 1;
      const base = { day: DAY, origin: 5 };
      expect(await e.amountChange({ kind: 'add', amount: 500, chargeId: cid(1), ...base })).toMatchObject({
        ok: true,
        balance: 1500,
        executionId: e1,
      });
      const log1 = await e.readLog();
      expect(log1.ok && log1.records.length).toBe(1);
      expect(await e.amountChange({ kind: 'add', amount: 100, chargeId: cid(1), ...base })).toMatchObject({
        ok: false,
        sw: 0x69e1,
      });
      expect(
        await e.amountChange({ kind: 'subtract', amount: 2000, chargeId: cid(2), ...base }),
      ).toMatchObject({
        ok: false,
        sw: 0x6901,
      });
      expect(await e.amountChange({ kind: 'add', amount: 49000, chargeId: cid(3), ...base })).toMatchObject({
        ok: false,
        sw: 0x6902,
      });
      const overwrite = { kind: 'overwrite' as const, amount: 3000, chargeId: cid(4), ...base };
      expect(await e.amountChange({ ...overwrite, executionId: 5 })).toMatchObject({ ok: false, sw: 0x69e2 });
      expect(await e.amountChange({ ...overwrite, executionId: e1 })).toMatchObject({
        ok: true,
        balance: 3000,
      });
      expect(await e.getBalance()).toMatchObject({ ok: true, balance: 3000, executionId: e1 + 1 });
      const log2 = await e.readLog();
      expect(log2.ok && log2.records.map((r) => r.kind)).toEqual([3, 1]);
      const older = await e.readLog(1, 1);
      expect(older.ok && older.records.map((r) => r.amount)).toEqual([500]);
      expect(
        await e.amountChange({ kind: 'subtract', amount: 1200, chargeId: cid(5), ...base }),
      ).toMatchObject({
        ok: true,
        balance: 1800,
      });
      expect(sent).toHaveLength(15);
      same();
    });
  }

  it("settlement-secure-2k3des: the settlement client sends exactly the vector's commands", async () => {
    const v = vector('settlement-secure-2k3des');
    const { client, keys, sent, same } = setup(v, 0x61);
    const s = new SettlementClient(client, hexToBytes('a0000006ef5354'));
    expect((await s.select()).sw).toBe(0x9000);
    expect((await s.authenticate(keys([0x3000]))).ok).toBe(true);
    expect(await s.balance()).toMatchObject({ ok: true, balance: 5000 });
    const orderNo = new TextEncoder().encode('ORD00042');
    const billHash = Uint8Array.from({ length: 32 }, (_, i) => 0x90 + i);
    const pay = { orderNo, day: DAY, origin: 3, billHash };
    const charge = hexToBytes('5e771e0000000001');
    expect(await s.pay({ ...pay, chargeId: charge, amount: 1200 })).toMatchObject({
      ok: true,
      debited: 1200,
      newBalance: 3800,
    });
    expect(await s.pay({ ...pay, chargeId: charge, amount: 1200 })).toMatchObject({ ok: false, sw: 0x69e1 });
    expect(await s.pay({ ...pay, chargeId: hexToBytes('5e771e0000000002'), amount: 3801 })).toMatchObject({
      ok: false,
      sw: 0x6901,
    });
    const topUp = { topUpId: hexToBytes('7070707070707070'), day: DAY, origin: 9 };
    expect(
      await s.valueUpdate({ ...topUp, chargeId: hexToBytes('5e771e0000000003'), op: 'add', amount: 700 }),
    ).toMatchObject({ ok: true, newBalance: 4500 });
    expect(sent).toHaveLength(8);
    same();
  });

  it("bank-secure-2k3des: the bank client sends exactly the vector's commands", async () => {
    const v = vector('bank-secure-2k3des');
    const { client, keys, sent, same } = setup(v, 0x11);
    const b = new BankClient(client, hexToBytes('a0000006ef42414e4b'));
    expect((await b.select()).sw).toBe(0x9000);
    expect((await b.authenticate(keys([0x3000, 0x3008, 0x3048]))).ok).toBe(true);
    expect(await b.readAccount()).toMatchObject({ ok: true, account: { bankId: 'MICABANK' } });
    const envA = Uint8Array.from({ length: 40 }, (_, i) => 0xe0 + i);
    const token = {
      today: 8000,
      tokenId: new Uint8Array(16).fill(1),
      creditCompanyId: new TextEncoder().encode('CREDITCO'),
      effectiveUntil: 9000,
      envelope: envA,
    };
    expect(await b.tokens.put(token)).toMatchObject({ ok: true, slot: 0 });
    const listed = await b.tokens.list();
    expect(listed.ok && listed.tokens.map((t) => t.state)).toEqual([1]);
    const got = await b.tokens.get(0);
    expect(got.ok && bytesToHex(got.envelope)).toBe(bytesToHex(envA));
    expect(sent).toHaveLength(7);
    same();
  });

  it("credit-secure-2k3des: the credit client sends exactly the vector's commands", async () => {
    const v = vector('credit-secure-2k3des');
    const { client, keys, sent, same } = setup(v, 0x31);
    const c = new CreditClient(client, hexToBytes('a0000006ef435244'));
    expect((await c.select()).sw).toBe(0x9000);
    const nonce = hexToBytes('00112233aabbccdd');
    expect(await c.pinProof(nonce, 12000)).toMatchObject({ ok: false, sw: 0x6982 });
    expect((await c.verify('1234')).sw).toBe(0x63c2);
    expect((await c.verify('9999')).sw).toBe(0x9000);
    const proof = await c.pinProof(nonce, 12000);
    expect(proof.ok).toBe(true);
    expect(await c.pinProof(nonce, 12000)).toMatchObject({ ok: false, sw: 0x6982 });
    expect((await c.authenticate(keys([0x4000, 0x4088, 0x40c8]))).ok).toBe(true);
    const tokenId = new Uint8Array(16).fill(1);
    expect(
      await c.putToken({
        today: 8000,
        tokenId,
        creditCompanyId: new TextEncoder().encode('CREDITCO'),
        effectiveUntil: 9000,
        envelope: Uint8Array.from({ length: 33 }, (_, i) => 0x10 + i),
      }),
    ).toMatchObject({ ok: true, slot: 0 });
    expect((await c.markTokenUsed(tokenId)).sw).toBe(0x9000);
    expect((await c.markTokenUsed(tokenId)).sw).toBe(0x6985);
    expect((await c.markTokenUsed(new Uint8Array(16).fill(2))).sw).toBe(0x6a88);
    const listed = await c.listTokens();
    expect(listed.ok && listed.tokens.map((t) => t.state)).toEqual([2]);
    expect(sent).toHaveLength(13);
    same();
  });

  it('credit-keypair-pin-2k3des: key pair, SIGN, DECRYPT and the PIN commands', async () => {
    const v = vector('credit-keypair-pin-2k3des');
    const { client, keys, sent, same } = setup(v, 0x51);
    const c = new CreditClient(client, hexToBytes('a0000006ef435244'));
    expect((await c.select()).sw).toBe(0x9000);
    expect((await c.authenticate(keys([0x4000, 0x4108]))).ok).toBe(true);
    const message = new TextEncoder().encode('mica: sign this token request');
    expect(await c.sign(message)).toMatchObject({ ok: false, sw: 0x6985 });
    const pair = await c.generateKeyPair();
    expect(pair.ok).toBe(true);
    expect(await c.generateKeyPair()).toMatchObject({ ok: false, sw: 0x6985 });
    const signed = await c.sign(message);
    expect(signed.ok).toBe(true);
    expect(sent).toHaveLength(7);
    same();
    // The PIN commands of the vector's end, through the client, on a fresh card of the same profile.
    const fresh = setup(v, 0x51);
    const pin = new CreditClient(fresh.client, hexToBytes('a0000006ef435244'));
    await pin.select();
    const sws = [
      await pin.changePin('1111', '8642'),
      await pin.changePin('2468', '8642'),
      await pin.verify('2468'),
      await pin.verify('2468'),
      await pin.verify('2468'),
      await pin.verify('8642'),
      await pin.resetRetryCounter('99999999'),
      await pin.resetRetryCounter('13579135', '1357'),
      await pin.verify('1357'),
    ].map((r) => r.sw);
    expect(sws).toEqual(v.exchanges.slice(-9).map((e) => parseInt(norm(e.r), 16)));
    expect(fresh.sent.slice(1)).toEqual(v.exchanges.slice(-9).map((e) => norm(e.c)));
  });

  it('bank-credit-transfer-2k3des: share and transfer through the clients', async () => {
    const v = vector('bank-credit-transfer-2k3des');
    const { client, keys, sent, same } = setup(v, 0x13);
    const bank = new BankClient(client, hexToBytes('a0000006ef42414e4b'));
    const credit = new CreditClient(client, hexToBytes('a0000006ef435244'));
    const token = {
      today: 8000,
      tokenId: new Uint8Array(16).fill(1),
      creditCompanyId: new TextEncoder().encode('CREDITCO'),
      effectiveUntil: 9000,
      envelope: Uint8Array.from({ length: 48 }, (_, i) => 0x60 + i),
    };
    expect((await bank.select()).sw).toBe(0x9000);
    expect((await bank.authenticate(keys([0x3000, 0x3048]))).ok).toBe(true);
    expect(await bank.tokens.put(token)).toMatchObject({ ok: true, slot: 0 });
    expect(await bank.tokens.put(token)).toMatchObject({ ok: true, slot: 0 });
    expect((await credit.select()).sw).toBe(0x9000);
    expect((await credit.authenticate(keys([0x4000, 0x4088, 0x40c8]))).ok).toBe(true);
    const shared = await credit.listTokens('shared');
    expect(shared.ok && shared.tokens.map((t) => t.slot)).toEqual([0]);
    const got = await credit.getToken(0, 'shared');
    expect(got.ok && bytesToHex(got.envelope)).toBe(bytesToHex(token.envelope));
    expect(await credit.listTokens()).toMatchObject({ ok: true, tokens: [] });
    expect((await bank.select()).sw).toBe(0x9000);
    expect((await bank.authenticate(keys([0x3000, 0x3048]))).ok).toBe(true);
    expect(await bank.transferToken(0)).toMatchObject({ ok: true, creditSlot: 0 });
    expect(sent).toHaveLength(15);
    same();
  });

  it('card-manager-2k3des: INSTALL and GRANT through CardManagerClient', async () => {
    const v = vector('card-manager-2k3des');
    const { client, keys, sent, same } = setup(v, 0x15);
    const m = new CardManagerClient(client);
    const emoney = hexToBytes('a0000006ef454d');
    expect((await m.select()).sw).toBe(0x9000);
    expect((await client.select(emoney)).sw).toBe(0x6a82);
    expect((await m.select()).sw).toBe(0x9000);
    expect((await m.authenticate(keys([0x1000]), 0)).ok).toBe(true);
    expect((await m.install('emoney', 0x1000, emoney)).sw).toBe(0x9000);
    expect((await m.install('emoney', 0x1000, emoney)).sw).toBe(0x6a89);
    expect((await m.install('card-manager', 0x1000, hexToBytes('a0000006ef0101'))).sw).toBe(0x6a80);
    expect((await m.install('emoney', 0x2000, hexToBytes('a0000006ef0202'))).sw).toBe(0x6982);
    expect((await m.grant(0x118c, 0x1000)).sw).toBe(0x6a80);
    expect((await m.grant(0x118c, 0x2000)).sw).toBe(0x9000);
    expect(sent).toHaveLength(11);
    same();
  });
});
