// applets[].config of a profile (cli.md leaves its content open; apdu-specs/src/profile.ts fixes it):
// grants for every kind, a PIN for the credit applet, each error named by its JSON path.
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { ProfileError, parseProfile } from '@mica/apdu-specs/profile';

const KEY = { value: '00112233445566778899aabbccddeeff' };

function profile(applet: Record<string, unknown>, pinService: Record<string, unknown> = {}) {
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
                capacity: 20,
                key: KEY,
                services: [
                  { code: '4008', blocks: 2, key: KEY, ...pinService },
                  { code: '4088', blocks: 1, key: KEY },
                ],
              },
              { code: '3000', end: '37ff', capacity: 4, key: KEY },
            ],
          },
        ],
      },
    ],
    applets: [{ kind: 'credit', aid: 'a0000006ef435244', area: '4000', ...applet }],
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

describe('applets[].config', () => {
  it('config.pin becomes the PIN service data: counters, then PIN ‖ unblocking code (format 2)', () => {
    const p = parseProfile(profile({ config: { pin: { value: '2468', unblock: '13579135', tries: 4 } } }));
    const pin = p.systems[0]!.areas[0]!.areas[0]!.services[0]!;
    expect(pin.data.map((d) => bytesToHex(d))).toEqual([
      '04040a0a000000000000000000000000',
      '242468ffffffffff2813579135ffffff',
    ]);
    expect(p.applets[0]!.config.grants).toEqual([]);
  });

  it('grants name a service of the applet area and another area', () => {
    const p = parseProfile(profile({ config: { grants: [{ service: '4088', to: '3000' }] } }));
    expect(p.applets[0]!.config.grants.map((g) => [g.service, g.to])).toEqual([[0x4088, 0x3000]]);
  });

  it('refuses bad configs with the JSON path, before anything is issued', () => {
    expect(error(profile({ config: { colour: 'red' } }))).toMatch(
      /^\$\.applets\[0\]\.config\.colour: unknown field \(allowed: grants, pin, trustAnchor\)/,
    );
    expect(
      error({
        ...profile({}),
        applets: [{ kind: 'emoney', aid: 'a0000006ef454d', area: '4000', config: { pin: {} } }],
      }),
    ).toMatch(/^\$\.applets\[0\]\.config\.pin: unknown field \(allowed: grants\)/);
    expect(error(profile({ config: { pin: { value: '12a4', unblock: '12345678' } } }))).toMatch(
      /config\.pin\.value: must be 4 to 12 decimal digits/,
    );
    expect(error(profile({ config: { pin: { value: '1234', unblock: '12345678', tries: 16 } } }))).toMatch(
      /config\.pin\.tries: must be an integer from 1 to 15/,
    );
    expect(
      error(
        profile({ config: { pin: { value: '1234', unblock: '12345678' } } }, { data: ['00'.repeat(16)] }),
      ),
    ).toMatch(/services\[0\]\.data: the applet config gives this PIN service its data/);
    expect(
      error(profile({ config: { pin: { value: '1234', unblock: '12345678' } } }, { blocks: 1 })),
    ).toMatch(/services\[0\]: the PIN service must be a keyed random service of 2 or more blocks/);
    expect(error(profile({ area: '3000', config: { pin: { value: '1234', unblock: '12345678' } } }))).toMatch(
      /^\$\.applets\[0\]\.config\.pin: needs the PIN service 3008/,
    );
    expect(error(profile({ config: { grants: [{ service: '0009', to: '3000' }] } }))).toMatch(
      /config\.grants\[0\]\.service: 0009 is not in the applet's area/,
    );
    expect(error(profile({ kind: 'card-manager' }))).toMatch(
      /^\$\.applets\[0\]\.kind: unknown applet kind "card-manager"/,
    );
    expect(error(profile({ aid: 'a000' }))).toMatch(/^\$\.applets\[0\]\.aid: must be 5 or 6 or/);
    expect(error(profile({ area: '5000' }))).toMatch(
      /^\$\.applets\[0\]\.area: no system of the profile holds area 5000/,
    );
  });
});
