// F0.3 card issuance of seed 003 (flows.md 5.3), through the card's own issuance commands: the brand
// holder authenticates to the system with the transport key, registers the card ID and changes the
// system key to its own; with the system key it registers the root area and the issuer's area; the
// issuer, authenticated to its area, registers the ID service, the purse, the log and the overlaps of
// its keys, and writes the card ID; last, the brand holder registers the K-M overlaps it alone holds.
// The issuing machine runs at the issuing facility next to the brand holder's and the issuer's key
// holders (dedicated channel), so it asks them for per-card key material (never a master).
import { SYSTEM_NODE } from '@mica/apdu-specs/node-code';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import type { FelicaClient } from '../felica/client';
import type { StatusResult } from '../felica/responses';
import { SecureFelicaSession } from '../felica/secure-session';
import { LocalKeyHolder, type RandomBytes } from '../keys/local-key-holder';
import {
  AREA_CAPACITY,
  BRAND_SUITE,
  BRAND_SYSTEM_CODE,
  CYBERSHOP_KEYS,
  LOG_BLOCKS,
  MAX_BALANCE,
  ROOT_AREA_CODE,
  ROOT_AREA_END,
  issuerAreaLayout,
  type ServiceKeyName,
} from './card-layout';

export class BrandIssuanceError extends Error {
  override readonly name = 'BrandIssuanceError';
}

export interface BrandIssueRequest {
  /** The chip's transport key (stored form). */
  readonly transportKey: Uint8Array;
  /** The brand holder's key holder [145] (system, root, issuer area and K-M keys). */
  readonly brand: LocalKeyHolder;
  /** The issuer's key holder [161] (its area key, P and the service keys of its cards). */
  readonly issuer: LocalKeyHolder;
  readonly area: number;
  /** The keys the issuer puts on its cards (its loading channels and the merchant keys F-J). */
  readonly issuerKeys: readonly ServiceKeyName[];
  readonly cardId: string;
  /** BCD YYYYMMDD. */
  readonly issueDate: number;
  readonly sequence: number;
  /** Hardened: the purse requires a log record in the same Write (eeprom.md 4.4 flag bit 0). */
  readonly requireLog: boolean;
  readonly random: RandomBytes;
}

function ok(r: StatusResult<unknown>, what: string): void {
  if (!r.ok) throw new BrandIssuanceError(`${what}: ${r.toString()}`);
}

/** Issues one brand card; returns the names of the commands sent, in order (for the transcript). */
export async function issueBrandCard(client: FelicaClient, q: BrandIssueRequest): Promise<string[]> {
  const suite = suiteByName(BRAND_SUITE);
  const done: string[] = [];
  const idm = (await client.polling(BRAND_SYSTEM_CODE)).idm;
  const pkg = (holder: LocalKeyHolder, node: number): { version: number; value: Uint8Array } => ({
    version: holder.versionOf(BRAND_SYSTEM_CODE, node),
    value: holder.keyFor(suite, idm, BRAND_SYSTEM_CODE, node),
  });
  const session = async (holder: LocalKeyHolder, areas: number[]): Promise<SecureFelicaSession> =>
    SecureFelicaSession.open(client, holder, {
      idm,
      systemCode: BRAND_SYSTEM_CODE,
      suite: BRAND_SUITE,
      areas,
      services: [],
    });

  const transport = new LocalKeyHolder(q.random).set(BRAND_SYSTEM_CODE, SYSTEM_NODE, {
    version: 0,
    value: q.transportKey,
  });
  const t = await session(transport, [SYSTEM_NODE]);
  try {
    ok(
      await t.registerIssueId({ cardId: hexToBytes(q.cardId), issueDate: q.issueDate, sequence: q.sequence }),
      'Register Issue ID',
    );
    done.push('Register Issue ID');
    ok(await t.changeKey(SYSTEM_NODE, pkg(q.brand, SYSTEM_NODE)), 'Change Key (system)');
    done.push('Change Key FFFF');
  } finally {
    await t.close();
  }

  const l = issuerAreaLayout(q.area);
  const b = await session(q.brand, [SYSTEM_NODE]);
  try {
    ok(
      await b.registerArea({
        code: ROOT_AREA_CODE,
        end: ROOT_AREA_END,
        capacity: AREA_CAPACITY,
        key: pkg(q.brand, ROOT_AREA_CODE),
      }),
      'Register Area (root)',
    );
    done.push('Register Area 0000');
    ok(
      await b.registerArea({ code: l.area, end: l.end, capacity: AREA_CAPACITY, key: pkg(q.brand, l.area) }),
      'Register Area',
    );
    done.push(`Register Area ${l.area.toString(16)}`);
  } finally {
    await b.close();
  }

  const i = await session(q.issuer, [l.area]);
  try {
    ok(await i.registerService({ code: l.id, blocks: 1, overlapOf: 0xffff }), 'Register Service (ID)');
    ok(
      await i.registerService({
        code: l.log,
        blocks: LOG_BLOCKS,
        overlapOf: 0xffff,
        key: pkg(q.issuer, l.log),
      }),
      'Register Service (log)',
    );
    ok(
      await i.registerService({
        code: l.purse,
        blocks: 1,
        overlapOf: 0xffff,
        key: pkg(q.issuer, l.purse),
        purse: { maxBalance: MAX_BALANCE, logServiceCode: l.log, requireLog: q.requireLog },
      }),
      'Register Service (purse)',
    );
    done.push('Register Service ID, log, purse');
    for (const k of q.issuerKeys) {
      const s = l.services[k];
      ok(
        await i.registerService({
          code: s.purse,
          blocks: 1,
          overlapOf: l.purse,
          key: pkg(q.issuer, s.purse),
        }),
        `Register Service (${k})`,
      );
      ok(
        await i.registerService({ code: s.log, blocks: 0, overlapOf: l.log, key: pkg(q.issuer, s.log) }),
        `Register Service (${k} log)`,
      );
    }
    done.push(`Register Service ${q.issuerKeys.join(', ')}`);
    const id = new Uint8Array(16);
    id.set(hexToBytes(q.cardId));
    ok(await client.writeWithoutEncryption(idm, [l.id], [{ serviceIndex: 0, block: 0 }], [id]), 'Write (ID)');
    done.push('Write Without Encryption (ID)');
  } finally {
    await i.close();
  }

  const k = await session(q.brand, [SYSTEM_NODE]);
  try {
    for (const name of CYBERSHOP_KEYS) {
      const s = l.services[name];
      ok(
        await k.registerService({ code: s.purse, blocks: 1, overlapOf: l.purse, key: pkg(q.brand, s.purse) }),
        `Register Service (${name})`,
      );
      ok(
        await k.registerService({ code: s.log, blocks: 0, overlapOf: l.log, key: pkg(q.brand, s.log) }),
        `Register Service (${name} log)`,
      );
    }
    done.push(`Register Service ${CYBERSHOP_KEYS.join(', ')}`);
  } finally {
    await k.close();
  }
  return done;
}
