// Contract suite of the seed 004 kinds (flows.md 6.1-6.3): `center-db`, `emoney-center` and the bank's
// holds, run unchanged in-process and against a served world (node:http, port 0, peers over HTTP too).
// Expected times are flows.md 6.3's defaults worked out by hand: line 50 ms one way, DB terminal query
// 80 ms, DB medium query 600 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '@mica/host-sdk/platform/clock';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import { World } from '@mica/host-sdk/backend/world';
import type { KindInterfaces, PeerDirectory } from '@mica/host-sdk/backend/backend';
import { TransportError } from '@mica/host-sdk/transport/transport';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import { BackendServer } from '@mica/host-sdk/backend/http/server';
import { HttpBackendLink, HttpClockClient } from '@mica/host-sdk/backend/http/client';
import { HttpPeerDirectory, httpPeer } from '@mica/host-sdk/backend/http/peers';
import type { CacheMode, CenterMessage } from '@mica/host-sdk/backend/kinds/emoney-center';
import { START } from './contract';

const TOKEN = 'c4'.repeat(32);
const DAY = 86_400_000;
const MEDIUM = '0000000000000001';
const STOLEN = '0000000000000002';
const EXPIRED = '0000000000000003';
const TERMINAL = '7e00000000000001';
const STRANGER = '7e000000000000ff';

interface Harness {
  readonly bank: KindInterfaces['bank'];
  readonly db: KindInterfaces['center-db'];
  readonly center: KindInterfaces['emoney-center'];
  readonly clock: VirtualClock;
  advanceTo(ms: number): Promise<void>;
  close(): Promise<void>;
}

async function setUp(h: Harness, mode: CacheMode, push = true): Promise<void> {
  const today = h.clock.today();
  expectOk(
    await h.db.registerMedia({
      media: [
        { mediumId: MEDIUM, idm: '01fe000000000001', userAccount: 'user-1', expiresOn: today + 365 },
        { mediumId: STOLEN, idm: '01fe000000000002', userAccount: 'user-2', expiresOn: today + 365 },
        { mediumId: EXPIRED, idm: '01fe000000000003', userAccount: 'user-3', expiresOn: today },
      ],
    }),
  );
  expectOk(await h.db.reportStolen({ mediumId: STOLEN }));
  expectOk(
    await h.db.registerTerminals({
      terminals: [{ terminalId: TERMINAL, ownerKind: 'store', ownerId: 's1' }],
    }),
  );
  expectOk(await h.center.configure({ db: 'db1', bank: 'bank1', cacheMode: mode, push }));
}

type Make = () => Promise<Harness>;

function world(): { w: World; clock: VirtualClock; peers: HttpPeerDirectory } {
  const clock = new VirtualClock(START);
  const peers = new HttpPeerDirectory();
  const w = new World({ dataDir: ':memory:', clock, rng: new SeededRng(4), peers });
  for (const [kind, id] of [
    ['bank', 'bank1'],
    ['center-db', 'db1'],
    ['emoney-center', 'center1'],
  ] as const)
    w.open(kind, id);
  return { w, clock, peers };
}

const inProcess: Make = async () => {
  const clock = new VirtualClock(START);
  const w = new World({ dataDir: ':memory:', clock, rng: new SeededRng(4) });
  w.open('bank', 'bank1');
  w.open('center-db', 'db1');
  w.open('emoney-center', 'center1');
  return Promise.resolve({
    bank: w.peer('bank', 'bank1'),
    db: w.peer('center-db', 'db1'),
    center: w.peer('emoney-center', 'center1'),
    clock,
    advanceTo: (ms) => clock.advanceTo(ms),
    close: () => Promise.resolve(w.close()),
  });
};

const overHttp: Make = async () => {
  const { w, clock, peers } = world();
  const server = new BackendServer(w, {
    callers: { all: { token: TOKEN, allow: ['**'] } },
    virtualClock: clock,
  });
  const { url } = await server.listen(0, '127.0.0.1');
  const link = new HttpBackendLink({ baseUrl: url, token: TOKEN });
  peers.connect(link);
  return {
    bank: httpPeer(link, 'bank', 'bank1'),
    db: httpPeer(link, 'center-db', 'db1'),
    center: httpPeer(link, 'emoney-center', 'center1'),
    clock,
    advanceTo: async (ms) => {
      await new HttpClockClient(link).advanceTo(ms);
    },
    close: async () => {
      await server.close();
      w.close();
    },
  };
};

/** Sends HELLO as a terminal at `at` (arriving 50 ms later) and collects what arrives until `until`. */
async function session(
  h: Harness,
  id: string,
  medium: string,
  terminal: string,
  until: number,
  txnAt?: number,
): Promise<CenterMessage[]> {
  const t0 = h.clock.now();
  await h.advanceTo(t0 + 50);
  const r = await h.center.hello({ connectionId: id, mediumId: medium, terminalId: terminal, sentAt: t0 });
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  if (txnAt !== undefined) {
    await h.advanceTo(t0 + txnAt + 50);
    const ok = await h.center.txn({
      connectionId: id,
      txId: id.repeat(2),
      kind: 'load',
      amount: 100,
      sentAt: t0 + txnAt,
    });
    if (!ok.ok) throw new Error(`${ok.code}: ${ok.message}`);
  }
  await h.advanceTo(t0 + until);
  return expectOk(await h.center.receive({ connectionId: id, after: 0 })).map((m) => ({
    ...m,
    sentAt: m.sentAt - t0,
    deliverAt: m.deliverAt - t0,
  }));
}

for (const [name, make] of [
  ['in-process', inProcess],
  ['HTTP', overHttp],
] as const) {
  describe(`seed 004 contract (${name})`, () => {
    it('bank holds: E_FUNDS when not covered; a hold reduces what the account covers; commit books once, release books nothing', async () => {
      const h = await make();
      try {
        expectOk(await h.bank.openAccount({ accountNo: 'user-1', userId: 'u1', name: 'U1' }));
        expectOk(await h.bank.depositCash({ txId: '01'.repeat(16), accountNo: 'user-1', amount: 5000 }));
        const tooMuch = await h.bank.holdFunds({
          txId: '02'.repeat(16),
          accountNo: 'user-1',
          amount: 5001,
          peer: 'center1',
        });
        expect(tooMuch.ok ? 'ok' : tooMuch.code).toBe('E_FUNDS');
        expectOk(
          await h.bank.holdFunds({
            txId: '03'.repeat(16),
            accountNo: 'user-1',
            amount: 3000,
            peer: 'center1',
          }),
        );
        expect(expectOk(await h.bank.account({ accountNo: 'user-1' })).balance).toBe(2000);
        const second = await h.bank.holdFunds({
          txId: '04'.repeat(16),
          accountNo: 'user-1',
          amount: 2500,
          peer: 'center1',
        });
        expect(second.ok ? 'ok' : second.code).toBe('E_FUNDS');
        expect(expectOk(await h.bank.commitHold({ txId: '03'.repeat(16) })).status).toBe('committed');
        expect(expectOk(await h.bank.commitHold({ txId: '03'.repeat(16) })).status).toBe('committed');
        expect(expectOk(await h.bank.account({ accountNo: 'user-1' })).balance).toBe(2000);
        const view = expectOk(await h.bank.auditView({}));
        expect(view.entries.filter((e) => e.account === 'clearing:center1').map((e) => e.amount)).toEqual([
          -3000,
        ]);
        expectOk(
          await h.bank.holdFunds({
            txId: '05'.repeat(16),
            accountNo: 'user-1',
            amount: 2000,
            peer: 'center1',
          }),
        );
        expect(expectOk(await h.bank.releaseHold({ txId: '05'.repeat(16) })).status).toBe('released');
        expect(expectOk(await h.bank.account({ accountNo: 'user-1' })).balance).toBe(2000);
        const late = await h.bank.commitHold({ txId: '05'.repeat(16) });
        expect(late.ok ? 'ok' : late.code).toBe('E_BAD_STATE');
        expect(expectOk(await h.bank.auditView({})).entries.length).toBe(view.entries.length);
      } finally {
        await h.close();
      }
    });

    it('center-db: queries are counted per kind; the extract lists the deny-list, the expiry horizon and the allow-list', async () => {
      const h = await make();
      try {
        await setUp(h, 'both');
        expect(expectOk(await h.db.queryTerminal({ terminalId: TERMINAL }))?.active).toBe(true);
        expect(expectOk(await h.db.queryTerminal({ terminalId: STRANGER }))).toBeNull();
        expect(expectOk(await h.db.queryMedium({ mediumId: STOLEN }))?.stolenAt).toBe(START);
        const x = expectOk(await h.db.extract({ horizonDay: h.clock.today() + 1 }));
        expect(x.deny).toEqual([
          { mediumId: STOLEN, reason: 'stolen' },
          { mediumId: EXPIRED, reason: 'expired' },
        ]);
        expect(x.expiring).toEqual([]);
        expect(x.allow).toEqual([TERMINAL]);
        expect(expectOk(await h.db.accessCounts({}))).toEqual({ extract: 1, medium: 1, terminal: 2 });
        const dup = await h.db.registerMedia({
          media: [{ mediumId: MEDIUM, idm: '01fe0000000000aa', userAccount: 'x', expiresOn: 1 }],
        });
        expect(dup.ok ? 'ok' : dup.code).toBe('E_DUPLICATE');
        await expect((async () => h.db.reportStolen({ mediumId: 'zz' } as never))()).rejects.toThrow(
          /mediumId/,
        );
      } finally {
        await h.close();
      }
    });

    it('the center answers E_NOT_READY until its initial load completes, then sizes its cache per mode', async () => {
      const h = await make();
      try {
        await setUp(h, 'both');
        const { readyAt } = expectOk(await h.center.start({}));
        expect(readyAt).toBe(START + 1000);
        const early = await h.center.hello({
          connectionId: 'aa'.repeat(8),
          mediumId: MEDIUM,
          terminalId: TERMINAL,
          sentAt: START,
        });
        expect(early.ok ? 'ok' : early.code).toBe('E_NOT_READY');
        await h.advanceTo(readyAt);
        const s = expectOk(await h.center.status({}));
        expect([s.state, s.mediumEntries, s.terminalEntries, s.bytes]).toEqual(['ready', 2, 1, 2 * 13 + 8]);
        const again = await h.center.configure({ db: 'db1', bank: 'bank1', cacheMode: 'none' });
        expect(again.ok ? 'ok' : again.code).toBe('E_BAD_STATE');
      } finally {
        await h.close();
      }
    });

    it('both: ACK at 100 ms from the cache, START when TXN arrives (450 ms); a stolen medium gets NAK at 100 ms; no DB access', async () => {
      const h = await make();
      try {
        await setUp(h, 'both');
        expectOk(await h.center.start({}));
        await h.advanceTo(START + 1000);
        const before = expectOk(await h.db.accessCounts({}));
        const ok = await session(h, '01'.repeat(8), MEDIUM, TERMINAL, 600, 400);
        expect(ok.map((m) => [m.type, m.sentAt, m.deliverAt])).toEqual([
          ['ACK', 50, 100],
          ['START', 450, 500],
        ]);
        const nak = await session(h, '02'.repeat(8), STOLEN, TERMINAL, 200);
        expect(nak.map((m) => [m.type, m.type === 'NAK' ? m.reason : '', m.deliverAt])).toEqual([
          ['NAK', 'MEDIUM_STOLEN', 100],
        ]);
        expect(expectOk(await h.db.accessCounts({}))).toEqual(before);
        const rows = expectOk(await h.center.connections({}));
        expect(
          rows.map((r) => [r.verdict, r.dbAccesses, r.tStart === null ? null : r.tStart - r.tHello]),
        ).toEqual([
          ['ACK', 0, 450],
          ['NAK', 0, null],
        ]);
        const reused = await session(h, '0d'.repeat(8), MEDIUM, TERMINAL, 200);
        expect(reused[0]?.type).toBe('ACK');
        const again = await h.center.txn({
          connectionId: '0d'.repeat(8),
          txId: '01'.repeat(16),
          kind: 'load',
          amount: 100,
          sentAt: h.clock.now(),
        });
        expect(again.ok ? 'ok' : again.code).toBe('E_TXID_CONFLICT');
        const closed = await h.center.txn({
          connectionId: '02'.repeat(8),
          txId: 'cd'.repeat(16),
          kind: 'load',
          amount: 1,
          sentAt: h.clock.now(),
        });
        expect(closed.ok ? 'ok' : closed.code).toBe('E_BAD_STATE');
      } finally {
        await h.close();
      }
    });

    it('bad requests are refused naming the field, and change nothing', async () => {
      const h = await make();
      try {
        await setUp(h, 'both');
        expectOk(await h.center.start({}));
        await h.advanceTo(START + 1000);
        const before = expectOk(await h.center.connections({}));
        const bad = [
          () =>
            h.center.hello({
              connectionId: 'x',
              mediumId: MEDIUM,
              terminalId: TERMINAL,
              sentAt: START,
            } as never),
          () =>
            h.center.hello({ connectionId: '12'.repeat(8), mediumId: MEDIUM, terminalId: TERMINAL } as never),
          () =>
            h.center.txn({
              connectionId: '12'.repeat(8),
              txId: 'ab',
              kind: 'load',
              amount: 1,
              sentAt: START,
            } as never),
          () => h.center.configure({ db: 'db1', bank: 'bank1', cacheMode: 'sometimes' } as never),
          () => h.center.cached({}),
        ];
        const messages: string[] = [];
        for (const call of bad)
          messages.push(
            await (async () => call())().then(
              (o) => `answered ${JSON.stringify(o)}`,
              (e: Error) => e.message,
            ),
          );
        expect(messages[0]).toMatch(/hello\.connectionId must be 8 bytes of lowercase hex/);
        expect(messages[1]).toMatch(/hello\.sentAt is missing/);
        expect(messages[2]).toMatch(/txn\.txId must be 16 bytes of lowercase hex/);
        expect(messages[3]).toMatch(/configure\.cacheMode must be one of none, both, medium, terminal/);
        expect(messages[4]).toMatch(/cached must name exactly one of mediumId and terminalId/);
        expect(expectOk(await h.center.connections({}))).toEqual(before);
        const unknown = await h.center.txn({
          connectionId: '13'.repeat(8),
          txId: 'ab'.repeat(16),
          kind: 'load',
          amount: 1,
          sentAt: START,
        });
        expect(unknown.ok ? 'ok' : [unknown.code, unknown.step]).toEqual(['E_NOT_FOUND', 'S7']);
      } finally {
        await h.close();
      }
    });

    it('none: terminal then medium from the DB, ACK at 780 ms, START at 1130 ms, 2 DB accesses', async () => {
      const h = await make();
      try {
        await setUp(h, 'none');
        expectOk(await h.center.start({}));
        await h.advanceTo(START + 1000);
        const m = await session(h, '03'.repeat(8), MEDIUM, TERMINAL, 1200, 1080);
        expect(m.map((x) => [x.type, x.deliverAt])).toEqual([
          ['ACK', 780],
          ['START', 1180],
        ]);
        const [row] = expectOk(await h.center.connections({ connectionId: '03'.repeat(8) }));
        expect([row?.dbAccesses, row!.tStart! - row!.tHello]).toEqual([2, 1130]);
      } finally {
        await h.close();
      }
    });

    it('terminal: START waits for the medium query (650 ms); a stolen medium gets a late NAK at 700 ms', async () => {
      const h = await make();
      try {
        await setUp(h, 'terminal');
        expectOk(await h.center.start({}));
        await h.advanceTo(START + 1000);
        const ok = await session(h, '04'.repeat(8), MEDIUM, TERMINAL, 800, 400);
        expect(ok.map((x) => [x.type, x.sentAt])).toEqual([
          ['ACK', 50],
          ['START', 650],
        ]);
        const late = await session(h, '05'.repeat(8), STOLEN, TERMINAL, 800, 400);
        expect(late.map((x) => [x.type, x.deliverAt, x.type === 'NAK' ? x.late : null])).toEqual([
          ['ACK', 100, null],
          ['NAK', 700, true],
        ]);
        const early = await session(h, '06'.repeat(8), MEDIUM, STRANGER, 200);
        expect(early.map((x) => [x.type, x.type === 'NAK' ? x.reason : '', x.deliverAt])).toEqual([
          ['NAK', 'TERMINAL_UNREGISTERED', 100],
        ]);
      } finally {
        await h.close();
      }
    });

    it('push: a medium reported stolen after the load is denied at once; without push only after the next refresh', async () => {
      for (const push of [true, false]) {
        const h = await make();
        try {
          await setUp(h, 'both', push);
          expectOk(await h.center.start({}));
          await h.advanceTo(START + 1000);
          expectOk(await h.db.reportStolen({ mediumId: MEDIUM }));
          const first = await session(h, (push ? '07' : '08').repeat(8), MEDIUM, TERMINAL, 200);
          expect(first[0]?.type).toBe(push ? 'NAK' : 'ACK');
          await h.advanceTo(START + 1000 + 3_600_000);
          const after = await session(h, (push ? '09' : '0a').repeat(8), MEDIUM, TERMINAL, 200);
          expect(after[0]?.type).toBe('NAK');
          expect(expectOk(await h.center.status({})).loads).toBe(2);
        } finally {
          await h.close();
        }
      }
    });

    it('a medium expiring before the next refresh is in the expiry horizon and refused from its expiry day on', async () => {
      const h = await make();
      try {
        await setUp(h, 'both');
        const today = h.clock.today();
        expectOk(
          await h.db.registerMedia({
            media: [
              {
                mediumId: '00000000000000e1',
                idm: '01fe0000000000e1',
                userAccount: 'u',
                expiresOn: today + 1,
              },
            ],
          }),
        );
        expectOk(
          await h.center.configure({
            db: 'db1',
            bank: 'bank1',
            cacheMode: 'both',
            refreshIntervalMs: 7 * DAY,
          }),
        );
        expectOk(await h.center.start({}));
        await h.advanceTo(START + 1000);
        expect((await session(h, '0b'.repeat(8), '00000000000000e1', TERMINAL, 200))[0]?.type).toBe('ACK');
        await h.advanceTo(START + DAY);
        const next = await session(h, '0c'.repeat(8), '00000000000000e1', TERMINAL, 200);
        expect(next.map((x) => (x.type === 'NAK' ? x.reason : x.type))).toEqual(['MEDIUM_EXPIRED']);
        expect(expectOk(await h.center.status({})).loads).toBe(1);
      } finally {
        await h.close();
      }
    });
  });
}

describe('seed 004: a center restarted from its file (flows.md 7.9)', () => {
  it('resumes the pending DB query of a connection and its interval reload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mica-center-'));
    try {
      const clock1 = new VirtualClock(START);
      const w1 = new World({ dataDir: dir, clock: clock1, rng: new SeededRng(4) });
      const h1: Harness = {
        bank: w1.open('bank', 'bank1'),
        db: w1.open('center-db', 'db1'),
        center: w1.open('emoney-center', 'center1'),
        clock: clock1,
        advanceTo: (ms) => clock1.advanceTo(ms),
        close: () => Promise.resolve(w1.close()),
      };
      await setUp(h1, 'terminal');
      expectOk(await h1.center.start({}));
      await h1.advanceTo(START + 1000);
      // HELLO at +1000 arrives at +1050 and is ACKed from the cache; the medium query ends at +1650.
      await h1.advanceTo(START + 1050);
      expectOk(
        await h1.center.hello({
          connectionId: '11'.repeat(8),
          mediumId: MEDIUM,
          terminalId: TERMINAL,
          sentAt: START + 1000,
        }),
      );
      await h1.advanceTo(START + 1200);
      await h1.close();

      // The process is gone, and its clock with it: a new world over the same files.
      const clock2 = new VirtualClock(START + 1200);
      const w2 = World.openDirectory({ dataDir: dir, clock: clock2, rng: new SeededRng(4) });
      const center = w2.peer('emoney-center', 'center1');
      expectOk(
        await center.txn({
          connectionId: '11'.repeat(8),
          txId: 'ef'.repeat(16),
          kind: 'load',
          amount: 100,
          sentAt: START + 1200,
        }),
      );
      await clock2.advanceTo(START + 1649);
      expect(
        expectOk(await center.receive({ connectionId: '11'.repeat(8), after: 0 })).map((m) => m.type),
      ).toEqual(['ACK']);
      await clock2.advanceTo(START + 1650);
      const msgs = expectOk(await center.receive({ connectionId: '11'.repeat(8), after: 0 }));
      expect(msgs.map((m) => [m.type, m.sentAt - START])).toEqual([
        ['ACK', 1050],
        ['START', 1650],
      ]);
      expect(expectOk(await center.status({})).loads).toBe(1);
      await clock2.advanceTo(START + 1000 + 3_600_000);
      expect(expectOk(await center.status({})).loads).toBe(2);
      w2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('seed 004: the bank unreachable when a load completes', () => {
  it('leaves the transfer in flight (C4: the audit holds) until flushOutbox reaches the bank, once', async () => {
    const clock = new VirtualClock(START);
    let bankDown = false;
    const peers: PeerDirectory = {
      peer<K extends keyof KindInterfaces>(kind: K, id: string): KindInterfaces[K] {
        const inner = w.peer(kind, id);
        if (kind !== 'bank') return inner;
        return new Proxy(inner, {
          get(t, name, receiver) {
            const v = Reflect.get(t, name, receiver) as unknown;
            if (name === 'commitHold' && bankDown)
              return () => Promise.reject(new TransportError('link-lost', 'bank1 is down'));
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
          },
        });
      },
    };
    const w: World = new World({
      dataDir: ':memory:',
      clock,
      rng: new SeededRng(4),
      mode: 'faithful',
      peers,
    });
    const h: Harness = {
      bank: w.open('bank', 'bank1'),
      db: w.open('center-db', 'db1'),
      center: w.open('emoney-center', 'center1'),
      clock,
      advanceTo: (ms) => clock.advanceTo(ms),
      close: () => Promise.resolve(w.close()),
    };
    try {
      await setUp(h, 'both');
      expectOk(await h.bank.openAccount({ accountNo: 'user-1', userId: 'u1', name: 'U1' }));
      expectOk(await h.bank.depositCash({ txId: '01'.repeat(16), accountNo: 'user-1', amount: 5000 }));
      expectOk(await h.center.start({}));
      await h.advanceTo(START + 1000);
      const id = '21'.repeat(8);
      await session(h, id, MEDIUM, TERMINAL, 500, 400);
      // Faithful mode: T1 takes the HELLO medium without a witness; the bank holds 100 for user-1.
      expect(expectOk(await h.center.authenticated({ connectionId: id })).verdict).toBe('OK');
      expect(expectOk(await h.center.prepare({ connectionId: id })).amount).toBe(100);
      bankDown = true;
      expectOk(await h.center.complete({ connectionId: id, balanceAfter: 100 }));
      const card = [{ cardId: MEDIUM, issuer: 'center1', balance: 100 }];
      const inFlight = await w.audit(card);
      expect(inFlight.ok).toBe(true);
      expect(
        expectOk(await h.center.auditView({})).inFlight.map((i) => [i.peer, i.topic, i.clearingAmount]),
      ).toEqual([['bank1', 'commitHold', -100]]);
      expect(expectOk(await h.bank.account({ accountNo: 'user-1' })).balance).toBe(4900);
      expect(expectOk(await h.center.flushOutbox({})).delivered).toBe(0);
      bankDown = false;
      expect(expectOk(await h.center.flushOutbox({})).delivered).toBe(1);
      expect(expectOk(await h.center.flushOutbox({})).delivered).toBe(0);
      expect(expectOk(await h.center.auditView({})).inFlight).toEqual([]);
      expect(expectOk(await h.bank.account({ accountNo: 'user-1' })).balance).toBe(4900);
      expect(
        expectOk(await h.bank.auditView({}))
          .entries.filter((e) => e.account === 'clearing:center1')
          .map((e) => e.amount),
      ).toEqual([-100]);
      expect((await w.audit(card)).ok).toBe(true);
    } finally {
      await h.close();
    }
  });
});
