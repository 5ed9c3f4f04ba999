// center-db registerMedia's duplicates (flows.md 6.1): the insert's key constraints find them, then the
// refusal names the registered medium or IDm as a lookup before the insert did; a refused request
// registers none of its media.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '@mica/host-sdk/platform/clock';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import { World } from '@mica/host-sdk/backend/world';
import type { KindInterfaces } from '@mica/host-sdk/backend/backend';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { START } from './contract';

const A = { mediumId: '00000000000000a1', idm: '01fe0000000000a1', userAccount: 'user-a', expiresOn: 9000 };
const B = { mediumId: '00000000000000b2', idm: '01fe0000000000b2', userAccount: 'user-b', expiresOn: 9000 };
const C = { mediumId: '00000000000000c3', idm: '01fe0000000000c3', userAccount: 'user-c', expiresOn: 9000 };

function centerDb(): { db: KindInterfaces['center-db']; close: () => void } {
  const w = new World({ dataDir: ':memory:', clock: new VirtualClock(START), rng: new SeededRng(4) });
  w.open('center-db', 'db1');
  return { db: w.peer('center-db', 'db1'), close: () => w.close() };
}

describe('center-db registerMedia duplicates', () => {
  it.each([
    ['a registered medium id', [{ ...C, mediumId: A.mediumId }], `medium ${A.mediumId} is registered`],
    ['a registered IDm', [{ ...C, idm: A.idm }], `IDm ${A.idm} is registered under medium ${A.mediumId}`],
    [
      'both: the medium id is named first',
      [{ ...C, mediumId: B.mediumId, idm: A.idm }],
      `medium ${B.mediumId} is registered`,
    ],
    [
      'a medium id twice in one request',
      [C, { ...C, idm: '01fe0000000000d4' }],
      `medium ${C.mediumId} is registered`,
    ],
    [
      'an IDm twice in one request',
      [C, { ...C, mediumId: '00000000000000d4' }],
      `IDm ${C.idm} is registered under medium ${C.mediumId}`,
    ],
  ])('refuses %s with E_DUPLICATE and registers none of the request', async (_, media, message) => {
    const { db, close } = centerDb();
    try {
      expect(expectOk(await db.registerMedia({ media: [A, B] }))).toEqual({ count: 2 });
      const o = await db.registerMedia({ media });
      expect(o).toEqual({ ok: false, code: 'E_DUPLICATE', step: '—', message });
      expect(expectOk(await db.queryMedium({ mediumId: C.mediumId }))).toBeNull();
      expect(expectOk(await db.queryMedium({ mediumId: '00000000000000d4' }))).toBeNull();
      expect(expectOk(await db.queryMedium({ mediumId: A.mediumId }))).toEqual({
        ...A,
        stolenAt: null,
        capturedAt: null,
      });
    } finally {
      close();
    }
  });

  it('registers new media after a refusal, with no change feed entries from the refused request', async () => {
    const { db, close } = centerDb();
    try {
      expectOk(await db.registerMedia({ media: [A] }));
      expect((await db.registerMedia({ media: [B, A] })).ok).toBe(false);
      expect(expectOk(await db.registerMedia({ media: [B, C] }))).toEqual({ count: 2 });
      expect(expectOk(await db.subscribe({ centerId: 'center1', push: false }))).toEqual({ dbSeq: 3 });
    } finally {
      close();
    }
  });
});
