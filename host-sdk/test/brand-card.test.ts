// Seed 003 card operations on a real (simulated) chip: issuance through the card's commands by the
// brand holder's and the issuer's key holders, then a load and a payment through the overlaps.
import { describe, expect, it } from 'vitest';
import { FelicaClient } from '../src/felica/client';
import { LocalKeyHolder } from '../src/keys/local-key-holder';
import { InProcessTransport } from '../src/transport/in-process';
import { SeededRng } from '../src/platform/rng';
import { BRAND_SYSTEM_CODE, keyNodes } from '../src/brand/card-layout';
import { issueBrandCard } from '../src/brand/issuance';
import { ValueSession, detect } from '../src/brand/card-ops';
import { BRAND_TK, brandChip, brandHolders } from './brand-chip';

const rng = new SeededRng('brand-card');
const random = (n: number): Uint8Array => rng.bytes(n);

describe('seed 003 card', () => {
  it('is issued through its commands and moves value only through the overlaps', async () => {
    const card = brandChip();
    const client = new FelicaClient(new InProcessTransport(card));
    const { brand, issuer } = brandHolders(rng, 0x3000);
    const sent = await issueBrandCard(client, {
      transportKey: Uint8Array.from(Buffer.from(BRAND_TK, 'hex')),
      brand,
      issuer,
      area: 0x3000,
      issuerKeys: ['A', 'B', 'F'],
      cardId: '0300000000000001',
      issueDate: 0x20040607,
      sequence: 1,
      requireLog: true,
      random,
    });
    expect(sent[0]).toBe('Register Issue ID');
    const found = await detect(client, [{ issuerId: 'issuer23', area: 0x3000 }], 'S1');
    expect(found).toMatchObject({ ok: true, value: { cardId: '0300000000000001', issuerId: 'issuer23' } });
    if (!found.ok) return;
    const s = await ValueSession.open(client, issuer, found.value, 'A', { info: 'S4', verdict: 'S7' });
    if (!s.ok) throw new Error(s.message);
    const tx = 'ab'.repeat(16);
    expect(await s.value.writeValue('hardened', 'add', 5000, tx, 1700, 'S10')).toMatchObject({ ok: true });
    expect(await s.value.balance('S87')).toMatchObject({ ok: true, value: 5000 });
    expect(await s.value.readLog(tx, 'S14')).toMatchObject({ ok: true, value: true });
    // The same charge ID again: refused by the card.
    expect(await s.value.writeValue('hardened', 'add', 5000, tx, 1700, 'S10')).toMatchObject({ ok: false });
    await s.value.close();
    const c = await ValueSession.open(client, issuer, found.value, 'C', { info: 'S4', verdict: 'S7' });
    expect(c).toMatchObject({ ok: false, code: 'E_NODE_ABSENT' });
    const forged = new LocalKeyHolder(random);
    for (const n of keyNodes(0x3000, 'B'))
      forged.set(BRAND_SYSTEM_CODE, n, { version: 1, master: rng.bytes(16) });
    expect(
      await ValueSession.open(client, forged, found.value, 'B', { info: 'S4', verdict: 'S7' }),
    ).toMatchObject({
      ok: false,
      code: 'E_AUTH_FAILED',
    });
    const f = await ValueSession.open(client, issuer, found.value, 'F', { info: 'S84', verdict: 'S86' });
    if (!f.ok) throw new Error(f.message);
    expect(
      await f.value.writeValue('hardened', 'subtract', 6000, 'cd'.repeat(16), 1700, 'S89'),
    ).toMatchObject({
      ok: false,
      code: 'E_INSUFFICIENT_VALUE',
    });
    expect(
      await f.value.writeValue('hardened', 'subtract', 1200, 'cd'.repeat(16), 1700, 'S89'),
    ).toMatchObject({ ok: true });
    expect(await f.value.balance('S87')).toMatchObject({ value: 3800 });
    await f.value.close();
  });
});
