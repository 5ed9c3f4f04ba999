// The authenticated e-money payment of ARCHITECTURE.md's performance table, card + SDK in-process,
// 2K3DES: Polling (RC 00); Authentication1 with 2 services; Authentication2; secure Read of the purse;
// secure atomic Write of purse + log (2 blocks). Also its airtime at 212 kbps (rf.md 8.1).
import { createCipheriv } from 'node:crypto';
import { purseBlock } from '@mica/apdu-specs/eeprom-records';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import { SecureFelicaSession } from '@mica/host-sdk/felica/secure-session';
import { LocalKeyHolder } from '@mica/host-sdk/keys/local-key-holder';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
import { traced, type Transport } from '@mica/host-sdk/transport/transport';

const PURSE_KEY = '3132333435363738393a3b3c3d3e3f40';
const LOG_KEY = '4142434445464748494a4b4c4d4e4f50';
const PROFILE = {
  chip: { blocks: 4096 },
  systems: [
    {
      systemCode: '12fc',
      areas: [
        {
          code: '0000',
          end: 'fffe',
          capacity: 64,
          services: [
            {
              code: '1010',
              key: { version: 1, value: PURSE_KEY },
              purse: { balance: 4_000_000_000, maxBalance: 4_294_967_295, log: '104c', requireLog: true },
            },
            { code: '104c', blocks: 8, key: { version: 1, value: LOG_KEY } },
          ],
        },
      ],
    },
  ],
};

export interface PaymentRig {
  /** Runs one whole payment; resolves when the card has confirmed it. */
  pay(): Promise<void>;
  /** LEN of every frame exchanged so far (when recording). */
  readonly lengths: number[];
}

export function paymentRig(record = false): PaymentRig {
  const card = new Card(cardImageFromProfile(parseProfile(PROFILE)), { random: new SeededRandom(3) });
  card.powerOn();
  card.eeprom.endurance = 0xffffffff;
  const lengths: number[] = [];
  let transport: Transport = new InProcessTransport(card);
  if (record) transport = traced(transport, (e) => e.bytes && lengths.push(e.bytes.length));
  const client = new FelicaClient(transport);
  const rng = new SeededRandom(4);
  const holder = new LocalKeyHolder((n) => {
    const b = new Uint8Array(n);
    rng.fill(b);
    return b;
  })
    .set(0x12fc, 0x1010, { version: 1, value: hexToBytes(PURSE_KEY) })
    .set(0x12fc, 0x104c, { version: 1, value: hexToBytes(LOG_KEY) });
  const purseRef = [{ serviceIndex: 0, block: 0 }];
  const both = [
    { serviceIndex: 0, block: 0 },
    { serviceIndex: 1, block: 0 },
  ];
  const log = new Uint8Array(16);
  let n = 0;
  return {
    lengths,
    async pay() {
      const idm = (await client.polling(0x12fc)).idm;
      const s = await SecureFelicaSession.open(client, holder, {
        idm,
        systemCode: 0x12fc,
        suite: '2k3des',
        areas: [],
        services: [0x1010, 0x104c],
      });
      const p = purseBlock.decode((await s.read([0x1010], purseRef)).expectOk()[0]!);
      n += 1;
      new DataView(log.buffer).setUint32(4, n); // a fresh charge ID per payment
      log[11] = 1;
      log[12] = 2;
      const next = purseBlock.encode({
        ...p,
        balance: p.balance - 1,
        executionId: (p.executionId + 1) & 0xffff,
      });
      (await s.write([0x1010, 0x104c], both, [next, log])).expectOk();
      await s.close();
    },
  };
}

/** Type F airtime at 212 kbps of frames of these lengths: 8·(6 + 2 + L + 2) bits of 64/fc each. */
export function felicaAirtimeSeconds(lengths: readonly number[]): number {
  const fc = 13_560_000;
  return lengths.reduce((t, len) => t + (8 * (6 + 2 + len + 2) * 64) / fc, 0);
}

/** Airtime of one payment, recorded frame by frame. */
export async function paymentAirtimeSeconds(): Promise<number> {
  const rig = paymentRig(true);
  await rig.pay();
  return felicaAirtimeSeconds(rig.lengths);
}

/** OpenSSL's own 2K3DES-CBC speed on this machine (MB/s): the machine reference beside the payment rows. */
export function opensslTdesMBps(): number {
  const data = new Uint8Array(1 << 20);
  const c = createCipheriv('des-ede-cbc', new Uint8Array(16).fill(1), new Uint8Array(8));
  c.setAutoPadding(false);
  c.update(data);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 8; i++) c.update(data);
  return 8 / (Number(process.hrtime.bigint() - t0) / 1e9);
}
