// applets[].config.trustAnchor of a credit applet (AUTHENTICATE PK, flows.md 2.5): blocks 0-3 of the PK
// data service (area + 148h), and every refusal named by its JSON path.
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { ProfileError, parseProfile } from '@mica/apdu-specs/profile';

const KEY = { value: '00112233445566778899aabbccddeeff' };
const ANCHOR_KEY = '8f'.repeat(16) + '01'.repeat(16);

function profile(anchor: unknown, pkService: Record<string, unknown> | null = {}, kind = 'credit') {
  return {
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 60,
            key: KEY,
            areas: [
              {
                code: '4000',
                end: '47ff',
                capacity: 30,
                key: KEY,
                services: [
                  { code: '4088', blocks: 1, key: KEY },
                  ...(pkService ? [{ code: '4148', blocks: 14, key: KEY, ...pkService }] : []),
                ],
              },
            ],
          },
        ],
      },
    ],
    applets: [{ kind, aid: 'a0000006ef435244', area: '4000', config: { trustAnchor: anchor } }],
  };
}

function error(json: unknown): string {
  try {
    parseProfile(json);
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    return (e as Error).message;
  }
  throw new Error('no ProfileError');
}

const good = { issuerId: 'CREDITCO-PKMA', publicKey: ANCHOR_KEY };

describe('applets[].config.trustAnchor', () => {
  it('becomes blocks 0-3 of +148h: the key, then issuerId ‖ 00 padding', () => {
    const p = parseProfile(profile(good));
    const pk = p.systems[0]!.areas[0]!.areas[0]!.services[1]!;
    expect(pk.code).toBe(0x4148);
    // "CREDITCO-PKMA" in ASCII, 00-padded to 32 bytes.
    expect(pk.data.map((d) => bytesToHex(d))).toEqual([
      '8f'.repeat(16),
      '01'.repeat(16),
      '435245444954434f2d504b4d41000000',
      '00000000000000000000000000000000',
    ]);
  });

  it('refuses a bad anchor or PK data service with the path $.applets[0].config.trustAnchor', () => {
    expect(error(profile({ ...good, colour: 1 }))).toMatch(
      /^\$\.applets\[0\]\.config\.trustAnchor\.colour: unknown field/,
    );
    expect(error(profile({ ...good, issuerId: '' }))).toMatch(
      /^\$\.applets\[0\]\.config\.trustAnchor\.issuerId: must be a string of 1 to 24 UTF-8 bytes/,
    );
    expect(error(profile({ ...good, issuerId: 'X'.repeat(25) }))).toMatch(/trustAnchor\.issuerId: must be/);
    expect(error(profile({ ...good, issuerId: 7 }))).toMatch(/trustAnchor\.issuerId: must be/);
    expect(error(profile({ ...good, publicKey: 'ab'.repeat(31) }))).toMatch(
      /^\$\.applets\[0\]\.config\.trustAnchor\.publicKey: must be 32 bytes, got 31/,
    );
    expect(error(profile('CREDITCO'))).toMatch(/^\$\.applets\[0\]\.config\.trustAnchor: must be an object/);
    expect(error(profile(good, null))).toMatch(
      /^\$\.applets\[0\]\.config\.trustAnchor: needs the PK data service \(the applet's area \+ 148h/,
    );
    expect(error(profile(good, { blocks: 13 }))).toMatch(
      /^\$\.applets\[0\]\.config\.trustAnchor: the PK data service 4148 must be a keyed random service of 14/,
    );
    expect(error(profile(good, { key: undefined }))).toMatch(
      /^\$\.applets\[0\]\.config\.trustAnchor: the PK data service 4148 must be a keyed/,
    );
    expect(error(profile(good, { data: ['00'.repeat(16)] }))).toMatch(
      /services\[1\]\.data: the applet config\.trustAnchor gives this PK data service its data/,
    );
    expect(
      error({
        ...profile(good),
        applets: [{ kind: 'bank', aid: 'a0000006ef42414e4b', area: '4000', config: { trustAnchor: good } }],
      }),
    ).toMatch(/^\$\.applets\[0\]\.config\.trustAnchor: unknown field \(allowed: grants\)/);
  });
});
