// Test support for the seed 003 card on a simulated chip: a blank chip of the brand system and the
// brand holder's and an issuer's key holders for one issuer area (brand-card.test.ts,
// terminals/brand-retap.test.ts).
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { manufactureFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';
import { BRAND_SYSTEM_CODE, issuerAreaLayout, keyNodes, SERVICE_KEYS } from '../src/brand/card-layout';
import { LocalKeyHolder } from '../src/keys/local-key-holder';
import type { SeededRng } from '../src/platform/rng';

/** The chip's transport key (hex). */
export const BRAND_TK = '000102030405060708090a0b0c0d0e0f';

/**
 * The brand holder's key holder (system, area 0 and the issuer area's key; service keys K and on) and
 * the issuer's (its area, purse, log and service keys A-J) for the issuer area at `area`, every key
 * drawn from `rng`.
 */
export function brandHolders(
  rng: SeededRng,
  area: number,
): { brand: LocalKeyHolder; issuer: LocalKeyHolder } {
  const random = (n: number): Uint8Array => rng.bytes(n);
  const brand = new LocalKeyHolder(random);
  const issuer = new LocalKeyHolder(random);
  const l = issuerAreaLayout(area);
  const m = (): { version: number; master: Uint8Array } => ({ version: 1, master: rng.bytes(16) });
  const areaKey = m();
  brand
    .set(BRAND_SYSTEM_CODE, 0xffff, m())
    .set(BRAND_SYSTEM_CODE, 0x0000, m())
    .set(BRAND_SYSTEM_CODE, l.area, areaKey);
  issuer.set(BRAND_SYSTEM_CODE, l.area, areaKey);
  for (const n of [l.purse, l.log]) issuer.set(BRAND_SYSTEM_CODE, n, m());
  for (const k of SERVICE_KEYS)
    for (const n of keyNodes(area, k)) (k >= 'K' ? brand : issuer).set(BRAND_SYSTEM_CODE, n, m());
  return { brand, issuer };
}

/** A blank chip (IDm 03fe000000000023, 2K3DES) with the brand system only, powered on. */
export function brandChip(): Card {
  const p = parseProfile({
    chip: { idm: '03fe000000000023', blocks: 65536, suite: '2k3des', transportKey: BRAND_TK },
    systems: [{ systemCode: BRAND_SYSTEM_CODE.toString(16), areas: [] }],
  });
  const card = new Card(manufactureFromProfile(p), { random: new SeededRandom(3n) });
  card.powerOn();
  return card;
}
