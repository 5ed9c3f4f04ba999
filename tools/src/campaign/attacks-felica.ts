// security.md §8 on the FeliCa side: each attack fails as specified and leaves the EEPROM unchanged.
import { bytesToHex } from '@mica/apdu-specs/hex';
import { purseBlock } from '@mica/apdu-specs/eeprom-records';
import type { Eeprom } from '@mica/card-os/hal/eeprom';
import { SecureFelicaSession } from '@mica/host-sdk/felica/secure-session';
import type { LocalKeyHolder } from '@mica/host-sdk/keys/local-key-holder';
import { expectThat, sameBytes, type Attack, type AttackLog } from './attack';
import { KEYS, SYS, holder, issuedChip, live, type Live } from './secure-fixture';

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

const flags = (r: { sf1: number; sf2: number }): string => bytesToHex(Uint8Array.of(r.sf1, r.sf2));

function unchanged(log: AttackLog, l: Live, before: Uint8Array, input: string): void {
  expectThat(log, sameBytes(l.card.eeprom.snapshot(), before), input, 'the EEPROM changed');
}

const writeBoth = async (s: SecureFelicaSession, blocks: Uint8Array[]) =>
  s.write(
    [0x1010, 0x104c],
    [
      { serviceIndex: 0, block: 0 },
      { serviceIndex: 1, block: 0 },
    ],
    blocks,
  );

/** The FeliCa attacks of security.md §8 against the secure fixture's issued chip. */
export function felicaAttacks(): Attack[] {
  let chip: Promise<Eeprom> | undefined;
  const issued = (): Promise<Eeprom> => (chip ??= issuedChip());
  return [
    {
      name: 'wrong key',
      async run(_limit, log) {
        const l = await live(await issued());
        const before = l.card.eeprom.snapshot();
        log.attempt();
        let refused = '';
        try {
          await open(l, holder(3, { 0x1088: KEYS.dataB }), [], [0x1088]);
        } catch (e) {
          refused = (e as Error).message;
        }
        expectThat(
          log,
          /Authentication2 refused \(SF2 b2\)/.test(refused),
          'Authentication2 with key 2008h for 1088h',
          `not refused with B2 (${refused || 'opened'})`,
        );
        expectThat(
          log,
          (await l.client.requestResponse(l.idm)) === 0,
          'Request Response',
          'the card left Mode 0',
        );
        unchanged(log, l, before, 'wrong key');
      },
    },
    {
      name: 'replayed Authentication2',
      async run(_limit, log) {
        const l = await live(await issued());
        const s = await open(l, holder(4), [], [0x1088]);
        await s.close();
        const auth1 = l.sent.find((f) => f[1] === 0x10)!;
        const auth2 = l.sent.find((f) => f[1] === 0x12)!;
        const before = l.card.eeprom.snapshot();
        log.attempt();
        expectThat(
          log,
          raw(l, auth1) === '0000',
          bytesToHex(auth1),
          'Authentication1 was not accepted again',
        );
        const r = raw(l, auth2);
        expectThat(
          log,
          r === 'ffb2',
          bytesToHex(auth2),
          `the replayed Authentication2 answered ${r}, not ffb2`,
        );
        unchanged(log, l, before, 'replayed Authentication2');
      },
    },
    {
      name: 'replayed secure command (same session)',
      async run(_limit, log) {
        const l = await live(await issued());
        const s = await open(l, holder(5), [], [0x1010, 0x104c]);
        (await writeBoth(s, [purse(4900, 1), logRecord(1)])).expectOk();
        const write = l.sent.at(-1)!;
        const after = l.card.eeprom.snapshot();
        log.attempt();
        const r = raw(l, write);
        expectThat(log, r === 'ffb2', bytesToHex(write), `answered ${r}, not ffb2`);
        unchanged(log, l, after, 'replayed secure Write');
      },
    },
    {
      name: 'replayed purse write (new session)',
      async run(_limit, log) {
        const l = await live(await issued());
        const s = await open(l, holder(5), [], [0x1010, 0x104c]);
        (await writeBoth(s, [purse(4900, 1), logRecord(1)])).expectOk();
        const write = l.sent.at(-1)!;
        await s.close();
        const after = l.card.eeprom.snapshot();
        const s2 = await open(l, holder(6), [], [0x1010, 0x104c]);
        log.attempt();
        const r = raw(l, write);
        expectThat(log, r === 'ffb2', bytesToHex(write), `answered ${r}, not ffb2`);
        unchanged(log, l, after, 'replayed purse write');
        await s2.close();
      },
    },
    {
      name: 'flipped bit in encrypted blocks or MAC',
      async run(limit, log) {
        const chip = await issued();
        const base = await live(chip);
        const s = await open(base, holder(8), [], [0x1010, 0x104c]);
        await s.close();
        const prefix = base.sent.slice(1);
        // Build the genuine write on one copy, then send flipped copies of it to fresh replays.
        const probe = await live(chip);
        const sp = await open(probe, holder(8), [], [0x1010, 0x104c]);
        (await writeBoth(sp, [purse(4000, 1), logRecord(2)])).expectOk();
        const genuine = probe.sent.at(-1)!;
        const encFrom = genuine.length - 8 - 32;
        const bits = (genuine.length - encFrom) * 8;
        // One bit per byte first (bit i mod 8 of byte i), then the other bits, up to the limit.
        const order: number[] = [];
        for (let round = 0; round < 8; round++)
          for (let i = 0; i < genuine.length - encFrom; i++) order.push(i * 8 + ((i + round) % 8));
        for (const bit of order.slice(0, Math.max(1, Math.min(limit, bits)))) {
          const l = await live(chip);
          for (const f of prefix) l.card.felica(f);
          const before = l.card.eeprom.snapshot();
          const bad = genuine.slice();
          bad[encFrom + (bit >> 3)]! ^= 1 << (bit & 7);
          log.attempt();
          const r = raw(l, bad);
          const input = `byte ${encFrom + (bit >> 3)} bit ${bit & 7}`;
          expectThat(log, r === 'ffb2', input, `answered ${r}, not ffb2`);
          unchanged(log, l, before, input);
        }
      },
    },
    {
      name: 'session used outside its node list',
      async run(_limit, log) {
        const l = await live(await issued());
        const s = await open(l, holder(9), [], [0x1088]);
        const before = l.card.eeprom.snapshot();
        log.attempt();
        const w = await s.write([0x2008], [{ serviceIndex: 0, block: 0 }], [new Uint8Array(16).fill(0xee)]);
        expectThat(log, flags(w) === '01b1', 'secure Write of 2008h', `answered ${flags(w)}, not 01b1`);
        const r = await s.read([0x1010], [{ serviceIndex: 0, block: 0 }]);
        expectThat(log, flags(r) === '01b1', 'secure Read of 1010h', `answered ${flags(r)}, not 01b1`);
        unchanged(log, l, before, 'session outside its list');
        await s.close();
      },
    },
    {
      name: 'keyed service without authentication',
      async run(_limit, log) {
        const l = await live(await issued());
        const before = l.card.eeprom.snapshot();
        log.attempt();
        const r = await l.client.readWithoutEncryption(l.idm, [0x1088], [{ serviceIndex: 0, block: 0 }]);
        expectThat(
          log,
          flags(r) === '01b1',
          'Read Without Encryption of 1088h',
          `answered ${flags(r)}, not 01b1`,
        );
        const w = await l.client.writeWithoutEncryption(
          l.idm,
          [0x1010],
          [{ serviceIndex: 0, block: 0 }],
          [purse(49999, 1)],
        );
        expectThat(
          log,
          flags(w) === '01b1',
          'Write Without Encryption of 1010h',
          `answered ${flags(w)}, not 01b1`,
        );
        unchanged(log, l, before, 'keyed service without authentication');
      },
    },
    {
      name: "service in another issuer's area",
      async run(_limit, log) {
        const l = await live(await issued());
        const s = await open(l, holder(10, { 0x1000: KEYS.issuerA, 0x1088: KEYS.data }), [0x1000], []);
        const before = l.card.eeprom.snapshot();
        log.attempt();
        const other = await s.registerService({ code: 0x2048, blocks: 1, overlapOf: 0xffff });
        expectThat(
          log,
          flags(other) === 'ffb1',
          'Register Service 2048h by issuer 1000h',
          `answered ${flags(other)}, not ffb1`,
        );
        const root = await s.registerService({ code: 0x0048, blocks: 1, overlapOf: 0xffff });
        expectThat(
          log,
          flags(root) === 'ffb1',
          'Register Service 0048h by issuer 1000h',
          `answered ${flags(root)}, not ffb1`,
        );
        unchanged(log, l, before, "service in another issuer's area");
        await s.close();
      },
    },
    {
      name: "key change without the parent's key",
      async run(_limit, log) {
        const l = await live(await issued());
        const s = await open(l, holder(10, { 0x1000: KEYS.issuerA, 0x1088: KEYS.data }), [0x1000], []);
        const before = l.card.eeprom.snapshot();
        const key = { version: 9, value: new Uint8Array(16).fill(9) };
        for (const node of [0x1000, 0x2008, 0xffff]) {
          log.attempt();
          const r = await s.changeKey(node, key);
          const input = `Change Key ${node.toString(16).padStart(4, '0')}h by issuer 1000h`;
          expectThat(log, flags(r) === 'ffb1', input, `answered ${flags(r)}, not ffb1`);
        }
        unchanged(log, l, before, "key change without the parent's key");
        await s.close();
      },
    },
  ];
}
