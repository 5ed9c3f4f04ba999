// security.md 8 through the attacks campaign at its CI budget: every attack fails as specified and
// leaves the EEPROM unchanged (the PIN attack: only its counter, which reaches 0 and stays 0 across power
// cycles); then who may issue what.
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { Eeprom } from '@mica/card-os/hal/eeprom';
import { SecureFelicaSession } from '@mica/host-sdk/felica/secure-session';
import type { LocalKeyHolder } from '@mica/host-sdk/keys/local-key-holder';
import { SECURITY_ATTACKS, attacksCampaign } from '../src/campaign/attacks-campaign';
import { runCampaign } from '../src/campaign/runner';
import { KEYS, SYS, holder, issuedChip, live, type Live } from '../src/campaign/secure-fixture';

let chip: Eeprom;
beforeAll(async () => {
  chip = await issuedChip();
});

function open(l: Live, h: LocalKeyHolder, areas: number[], services: number[]): Promise<SecureFelicaSession> {
  return SecureFelicaSession.open(l.client, h, {
    idm: l.idm,
    systemCode: SYS,
    suite: '2k3des',
    areas,
    services,
  });
}

describe('attacks that must fail (security.md 8, campaign attacks)', () => {
  it('every attack fails as specified and changes nothing, with a count', async () => {
    const kind = attacksCampaign(() => [SECURITY_ATTACKS]);
    const r = await runCampaign(kind, { budget: kind.ciBudget });
    expect(r.failures).toEqual([]);
    const kinds = Object.keys(r.tried);
    expect(kinds).toEqual([
      'security.md §8: wrong key',
      'security.md §8: replayed Authentication2',
      'security.md §8: replayed secure command (same session)',
      'security.md §8: replayed purse write (new session)',
      'security.md §8: flipped bit in encrypted blocks or MAC',
      'security.md §8: session used outside its node list',
      'security.md §8: keyed service without authentication',
      "security.md §8: service in another issuer's area",
      "security.md §8: key change without the parent's key",
      'security.md §8: PIN guessed past the retry limit, across power cycles',
    ]);
    // The budget is shared evenly: 40 flipped bits (one per byte of the 32 encrypted bytes and the MAC).
    expect(r.tried['security.md §8: flipped bit in encrypted blocks or MAC']).toBe(40);
    const n = Object.values(r.tried).reduce((a, b) => a + b, 0);
    console.log(`security attacks: ${kinds.length} kinds, ${n} attempts, ${n} failed as specified`);
  });
});

describe('who may issue what', () => {
  it('an issuer holding only its area key registers services and sub-areas inside its area', async () => {
    const l = await live(chip);
    const s = await open(l, holder(11, { 0x1000: KEYS.issuerA }), [0x1000], []);
    expect(await l.client.requestResponse(l.idm)).toBe(3);
    (await s.registerService({ code: 0x1109, blocks: 2, overlapOf: 0xffff })).expectOk();
    (await s.registerArea({ code: 0x1400, end: 0x14ff, capacity: 4 })).expectOk();
    expect((await s.registerArea({ code: 0x3000, end: 0x30ff, capacity: 4 })).sf2).toBe(0xb1);
    (await s.changeKey(0x1088, { version: 2, value: new Uint8Array(16).fill(7) })).expectOk();
    await s.close();
    expect(await l.client.requestService(l.idm, [0x1109, 0x1400, 0x1088])).toEqual([0, 0, 2]);
  });

  it('the system key registers areas anywhere in its system and changes the root key', async () => {
    const l = await live(chip);
    const s = await open(l, holder(12, { 0xffff: KEYS.system }), [0xffff], []);
    (
      await s.registerArea({
        code: 0x3000,
        end: 0x37ff,
        capacity: 8,
        key: { version: 5, value: new Uint8Array(16).fill(5) },
      })
    ).expectOk();
    (await s.changeKey(0x0000, { version: 3, value: new Uint8Array(16).fill(3) })).expectOk();
    await s.close();
    expect(await l.client.requestService(l.idm, [0x3000, 0x0000])).toEqual([5, 3]);
  });

  it('issuance commands are refused outside an authenticated session', async () => {
    const l = await live(chip);
    const f = Uint8Array.of(0x1a, 0x82, ...l.idm, ...new Uint8Array(16));
    expect(bytesToHex(l.card.felica(f)!)).toBe(`0c83${bytesToHex(l.idm)}ffb1`);
  });
});
