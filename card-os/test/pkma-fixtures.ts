// Fixtures of the AUTHENTICATE PK tests (card-os and host-sdk): a credit applet with its PK data service
// (+148h) and config.trustAnchor, a listed card random, and certificates built byte by byte with @noble.
import { ed25519 } from '@noble/curves/ed25519.js';
import { SLOT_BLOCKS } from '@mica/apdu-specs/apdu/bank-credit';
import { bytesToHex, concatBytes, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '../src/card';
import { cardImageFromProfile } from '../src/factory';
import { ListRandom } from '../src/random';
import { BC_KEYS, CREDIT_AID } from './bank-credit-fixtures';

const enc = new TextEncoder();
export const IDM = hexToBytes('02fe010203040506');
export const ANCHOR_ISSUER = 'CREDITCO-PKMA';
export const ANCHOR_SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x11 + i);
export const ANCHOR_PUB = ed25519.getPublicKey(ANCHOR_SEED);
export const BANK_SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x71 + i);
export const BANK_PUB = ed25519.getPublicKey(BANK_SEED);
export const KEY_SECRET = Uint8Array.from({ length: 64 }, (_, i) => (0x21 * i + 7) & 0xff);
export const CARD_PUB = ed25519.getPublicKey(KEY_SECRET.subarray(0, 32));
export const RC = Uint8Array.from({ length: 16 }, (_, i) => 0xc0 + i);
export const EPH_C = Uint8Array.from({ length: 32 }, (_, i) => 0x90 + i);

/** A 155-byte certificate, built byte by byte here (not with the code under test). */
export function cert(o: {
  role?: number;
  keyType?: number;
  version?: number;
  subject?: string;
  key?: Uint8Array;
  issuer?: string;
  signer?: Uint8Array;
}): Uint8Array {
  const name = (s: string): Uint8Array => {
    const b = new Uint8Array(24);
    b.set(enc.encode(s));
    return b;
  };
  const head = concatBytes(
    Uint8Array.of(o.version ?? 1, o.role ?? 2, o.keyType ?? 1),
    name(o.subject ?? 'MICABANK'),
    o.key ?? BANK_PUB,
    hexToBytes('6500000070000000'),
    name(o.issuer ?? ANCHOR_ISSUER),
  );
  return concatBytes(head, ed25519.sign(head, o.signer ?? ANCHOR_SEED));
}

export const CARD_CERT = cert({ role: 4, subject: '02FE010203040506', key: CARD_PUB });
export const BANK_CERT = cert({});

/** Credit area 4000: store 4088 (2 slots), marks 40C8, key pair 4108, PK data 4148; the anchor when `anchor`. */
export function pkmaProfile(anchor = true) {
  const svc = (code: string, blocks: number) => ({ code, blocks, key: { value: BC_KEYS.creditStore } });
  return parseProfile({
    chip: { blocks: 1024, suite: '2k3des', idm: bytesToHex(IDM) },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 300,
            key: { value: BC_KEYS.root },
            areas: [
              {
                code: '4000',
                end: '47ff',
                capacity: 150,
                key: { value: BC_KEYS.creditArea },
                services: [svc('4088', 2 * SLOT_BLOCKS), svc('40c8', 2), svc('4108', 4), svc('4148', 14)],
              },
            ],
          },
        ],
      },
    ],
    applets: [
      {
        kind: 'credit',
        aid: CREDIT_AID,
        area: '4000',
        ...(anchor
          ? { config: { trustAnchor: { issuerId: ANCHOR_ISSUER, publicKey: bytesToHex(ANCHOR_PUB) } } }
          : {}),
      },
    ],
  });
}

/** The card random: the 3-pass RndB (8 bytes), the key pair secret, then rC and eC's private key. */
export function pkmaCard(anchor = true, extra: Uint8Array[] = []): Card {
  const rndB = Uint8Array.from({ length: 8 }, (_, i) => 0x61 + i);
  const random = new ListRandom([rndB, KEY_SECRET, RC, EPH_C, ...extra]);
  const card = new Card(cardImageFromProfile(pkmaProfile(anchor)), { random });
  card.powerOn();
  return card;
}
