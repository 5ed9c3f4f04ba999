// SELECT + AUTHENTICATE + a secure-messaging READ (GET BALANCE of the e-money applet), card + SDK
// in-process, 2K3DES: the ISO 7816 figure of `mica bench`.
import { hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';
import { ApduClient } from '@mica/host-sdk/apdu/apdu-client';
import { LocalAppletKeys } from '@mica/host-sdk/applets/applet-keys';
import { EmoneyClient } from '@mica/host-sdk/applets/emoney-client';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
import { OperationError } from '../cli-error';

const KEY = '0f0e0d0c0b0a09080706050403020100';
const AID = 'a0000006ef454d';

export function appletReadRig(): { run(): Promise<void> } {
  const profile = parseProfile({
    chip: { blocks: 1024 },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 64,
            areas: [
              {
                code: '1000',
                end: '17ff',
                capacity: 16,
                key: { version: 1, value: KEY },
                services: [
                  { code: '118c', blocks: 4, key: { version: 1, value: KEY } },
                  { code: '1050', key: { version: 1, value: KEY }, purse: { balance: 1000, log: '118c' } },
                ],
              },
            ],
          },
        ],
      },
    ],
    applets: [{ kind: 'emoney', aid: AID, area: '1000' }],
  });
  const card = new Card(cardImageFromProfile(profile), { random: new SeededRandom(5) });
  card.powerOn();
  const rng = new SeededRandom(6);
  const keys = new LocalAppletKeys('2k3des', [{ code: 0x1000, key: hexToBytes(KEY) }], (n) => {
    const b = new Uint8Array(n);
    rng.fill(b);
    return b;
  });
  const em = new EmoneyClient(new ApduClient(new InProcessTransport(card)), hexToBytes(AID));
  return {
    async run() {
      await em.select();
      const auth = await em.authenticate(keys);
      const balance = auth.ok ? await em.getBalance() : undefined;
      if (!balance?.ok)
        throw new OperationError('the bench card refused the SELECT + AUTHENTICATE + GET BALANCE sequence');
    },
  };
}
