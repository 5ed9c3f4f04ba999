// security.md 8: the attacks that must fail, each leaving the EEPROM unchanged; and who may issue what.
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { purseBlock } from '@mica/apdu-specs/eeprom-records';
import type { Eeprom } from '@mica/card-os/hal/eeprom';
import { SecureFelicaSession } from '@mica/host-sdk/felica/secure-session';
import type { LocalKeyHolder } from '@mica/host-sdk/keys/local-key-holder';
import { KEYS, SYS, holder, issuedChip, live, type Live } from './helpers/secure-fixture';

let chip: Eeprom;
beforeAll(async () => {
  chip = await issuedChip();
});

const attacks: { name: string; instances: number }[] = [];
function attack(name: string, instances = 1): void {
  attacks.push({ name, instances });
}

function open(l: Live, h: LocalKeyHolder, areas: number[], services: number[]): Promise<SecureFelicaSession> {
  return SecureFelicaSession.open(l.client, h, {
    idm: l.idm,
    systemCode: SYS,
    suite: '2k3des',
    areas,
    services,
  });
}

const purse = (balance: number, exec: number): Uint8Array =>
  purseBlock.encode({ balance, userData: new Uint8Array(6), lastAmount: 0, executionId: exec });
const logRecord = (id: number): Uint8Array =>
  Uint8Array.of(0, 0, 0, 0, 0, 0, 0, id, 0, 0, 0, 100, 3, 0x24, 0x74, 1);

/** Sends a raw frame and returns SF1 SF2 (or '-' for silence). */
function raw(l: Live, frame: Uint8Array): string {
  const r = l.card.felica(frame);
  return r === null ? '-' : bytesToHex(r.subarray(10, 12));
}

describe('attacks that must fail (security.md 8)', () => {
  it('a wrong key: Authentication2 is refused and nothing changes', async () => {
    const l = await live(chip);
    const before = l.card.eeprom.snapshot();
    const wrong = holder(3, { 0x1088: KEYS.dataB });
    await expect(open(l, wrong, [], [0x1088])).rejects.toThrow(/Authentication2 refused \(SF2 b2\)/);
    expect(await l.client.requestResponse(l.idm)).toBe(0);
    expect(l.card.eeprom.snapshot()).toEqual(before);
    attack('wrong key');
  });

  it('a replayed Authentication2 fails against a new challenge', async () => {
    const l = await live(chip);
    const s = await open(l, holder(4), [], [0x1088]);
    await s.close();
    const auth1 = l.sent.find((f) => f[1] === 0x10)!;
    const auth2 = l.sent.find((f) => f[1] === 0x12)!;
    const before = l.card.eeprom.snapshot();
    expect(raw(l, auth1)).toBe('0000');
    expect(raw(l, auth2)).toBe('ffb2');
    expect(l.card.eeprom.snapshot()).toEqual(before);
    attack('replayed Authentication2');
  });

  it('a replayed secure command, and a replayed purse write, fail their MAC in the same and in a new session', async () => {
    const l = await live(chip);
    const s = await open(l, holder(5), [], [0x1010, 0x104c]);
    (
      await s.write(
        [0x1010, 0x104c],
        [
          { serviceIndex: 0, block: 0 },
          { serviceIndex: 1, block: 0 },
        ],
        [purse(4900, 1), logRecord(1)],
      )
    ).expectOk();
    const write = l.sent.at(-1)!;
    const after = l.card.eeprom.snapshot();
    expect(raw(l, write)).toBe('ffb2'); // CTR moved: the MAC no longer verifies; the session is destroyed
    expect(await l.client.requestResponse(l.idm)).toBe(0);
    const s2 = await open(l, holder(6), [], [0x1010, 0x104c]);
    expect(raw(l, write)).toBe('ffb2');
    expect(l.card.eeprom.snapshot()).toEqual(after);
    await s2.close();
    attack('replayed secure command (same session)');
    attack('replayed purse write (new session)');
  });

  it('a flipped bit anywhere in the encrypted blocks or the MAC is refused (B2) and changes nothing', async () => {
    const base = await live(chip);
    const s = await open(base, holder(8), [], [0x1010, 0x104c]);
    await s.close();
    const prefix = base.sent.slice();
    // Build the genuine write on one copy, then send flipped copies of it to fresh replays.
    const probe = await live(chip);
    const sp = await open(probe, holder(8), [], [0x1010, 0x104c]);
    (
      await sp.write(
        [0x1010, 0x104c],
        [
          { serviceIndex: 0, block: 0 },
          { serviceIndex: 1, block: 0 },
        ],
        [purse(4000, 1), logRecord(2)],
      )
    ).expectOk();
    const genuine = probe.sent.at(-1)!;
    const encFrom = genuine.length - 8 - 32;
    let flips = 0;
    for (let i = encFrom; i < genuine.length; i++) {
      const l = await live(chip);
      for (const f of prefix.slice(1)) l.card.felica(f);
      const before = l.card.eeprom.snapshot();
      const bad = genuine.slice();
      bad[i]! ^= 1 << (i % 8);
      expect(raw(l, bad), `byte ${i}`).toBe('ffb2');
      expect(l.card.eeprom.snapshot()).toEqual(before);
      flips += 1;
    }
    expect(flips).toBe(40);
    attack('flipped bit in encrypted blocks or MAC', flips);
  });

  it('a session used for a node outside its list gets B1', async () => {
    const l = await live(chip);
    const s = await open(l, holder(9), [], [0x1088]);
    const before = l.card.eeprom.snapshot();
    const r = await s.write([0x2008], [{ serviceIndex: 0, block: 0 }], [new Uint8Array(16).fill(0xee)]);
    expect([r.sf1, r.sf2]).toEqual([1, 0xb1]);
    const rr = await s.read([0x1010], [{ serviceIndex: 0, block: 0 }]);
    expect([rr.sf1, rr.sf2]).toEqual([1, 0xb1]);
    expect(l.card.eeprom.snapshot()).toEqual(before);
    await s.close();
    attack('session used outside its node list');
  });

  it('a keyed service read or written without authentication gets B1', async () => {
    const l = await live(chip);
    const before = l.card.eeprom.snapshot();
    const r = await l.client.readWithoutEncryption(l.idm, [0x1088], [{ serviceIndex: 0, block: 0 }]);
    expect([r.sf1, r.sf2]).toEqual([1, 0xb1]);
    const w = await l.client.writeWithoutEncryption(
      l.idm,
      [0x1010],
      [{ serviceIndex: 0, block: 0 }],
      [purse(49999, 1)],
    );
    expect([w.sf1, w.sf2]).toEqual([1, 0xb1]);
    expect(l.card.eeprom.snapshot()).toEqual(before);
    attack('keyed service without authentication');
  });

  it("an issuer cannot create a service in another issuer's area, nor change a key without the parent's key", async () => {
    const l = await live(chip);
    const issuerA = holder(10, { 0x1000: KEYS.issuerA, 0x1088: KEYS.data });
    const s = await open(l, issuerA, [0x1000], []);
    const before = l.card.eeprom.snapshot();
    const other = await s.registerService({ code: 0x2048, blocks: 1, overlapOf: 0xffff });
    expect([other.sf1, other.sf2]).toEqual([0xff, 0xb1]);
    const root = await s.registerService({ code: 0x0048, blocks: 1, overlapOf: 0xffff });
    expect([root.sf1, root.sf2]).toEqual([0xff, 0xb1]);
    const ownKey = await s.changeKey(0x1000, { version: 9, value: new Uint8Array(16).fill(9) });
    expect([ownKey.sf1, ownKey.sf2]).toEqual([0xff, 0xb1]);
    const otherKey = await s.changeKey(0x2008, { version: 9, value: new Uint8Array(16).fill(9) });
    expect([otherKey.sf1, otherKey.sf2]).toEqual([0xff, 0xb1]);
    const sysKey = await s.changeKey(0xffff, { version: 9, value: new Uint8Array(16).fill(9) });
    expect([sysKey.sf1, sysKey.sf2]).toEqual([0xff, 0xb1]);
    expect(l.card.eeprom.snapshot()).toEqual(before);
    await s.close();
    attack("service in another issuer's area");
    attack("key change without the parent's key");
  });

  it('prints the count', () => {
    const n = attacks.reduce((t, a) => t + a.instances, 0);
    console.log(
      `security attacks: ${attacks.length} kinds, ${n} attempts, ${n} failed as specified (the PIN attack arrives with the APDU applets)`,
    );
    expect(attacks.length).toBe(9);
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
