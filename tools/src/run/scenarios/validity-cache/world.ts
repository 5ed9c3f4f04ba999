// The seed 004 world of one fixture (flows.md 6.1, defaults of 6.3): the bank with the users' accounts
// (the e-money management account is the bank's clearing:<center> position), the center database
// with the population (20,000 media of which 500 stolen and 300 expired, 100 terminals), the center
// computer in one cache mode with its key holder, two cards issued from tools/profiles/validity-cache.json
// (card A, and card B with its own IDm and medium ID: the one stolen in the negative checks) and
// ValidityTerminals, each with its own store. Setup is the issuer's side (the dedicated channel);
// everything a terminal sends passes the fixture's network monitor.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile, type Profile, type ProfileArea } from '@mica/apdu-specs/profile';
import { cardKey } from '@mica/apdu-specs/secure/card-key';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import type { Mode } from '@mica/host-sdk/backend/backend';
import { expectOk } from '@mica/host-sdk/backend/outcome';
import type { CacheMode, SqliteEMoneyCenter } from '@mica/host-sdk/backend/kinds/emoney-center';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import { newTxId } from '@mica/host-sdk/platform/tx-id';
import { readOpen, type EmoneyCardLayout, type LogEntry } from '@mica/host-sdk/terminals/emoney-card';
import type { TerminalEvent } from '@mica/host-sdk/terminals/events';
import { TerminalStore } from '@mica/host-sdk/terminals/terminal-store';
import {
  ValidityTerminal,
  type SessionRequest,
  type SessionResult,
} from '@mica/host-sdk/terminals/validity-terminal';
import type { Transport } from '@mica/host-sdk/transport/transport';
import type { Fixture, FixtureCard } from '../../fixture';
import type { ScenarioContext } from '../../scenario';

export const PROFILE_PATH = new URL('../../../../profiles/validity-cache.json', import.meta.url).pathname;

/** flows.md 6.3 defaults (project numbers). */
export const DEFAULTS = Object.freeze({
  lineMs: 50,
  thinkMs: 300,
  dbTerminalMs: 80,
  dbMediumMs: 600,
  media: 20_000,
  stolen: 500,
  expired: 300,
  terminals: 100,
});

export const IDS = Object.freeze({
  bank: 'bank1',
  db: 'centerdb1',
  center: 'center1',
  /** Terminal [3] of the examples, a second registered terminal (the rogue one), an unregistered one. */
  terminal: '7e00000000000001',
  rogue: '7e00000000000002',
  stranger: '7e000000000000ff',
});

export interface ExampleCard {
  readonly name: 'card-a' | 'card-b';
  readonly mediumId: string;
  readonly idm: string;
  readonly userAccount: string;
}

export const CARD_A: ExampleCard = {
  name: 'card-a',
  mediumId: 'a004000000000001',
  idm: '01fe4d4943410001',
  userAccount: 'user-a',
};
export const CARD_B: ExampleCard = {
  name: 'card-b',
  mediumId: 'a004000000000002',
  idm: '01fe4d4943410002',
  userAccount: 'user-b',
};

/** What each user holds at the bank before the scenario (a project number). */
export const USER_DEPOSIT = 10_000;

export const LAYOUT: EmoneyCardLayout = Object.freeze({
  systemCode: 0x12fc,
  suite: '2k3des',
  number: 0x204b,
  purse: 0x20d0,
  purseAdd: 0x20d2,
  purseSubtract: 0x20d4,
  purseRead: 0x20d7,
  log: 0x208c,
  logRead: 0x208f,
  logBlocks: 8,
});

/** The example profile, or card B's: the same keys, its own IDm, card ID and medium ID. */
export function seedProfile(card: ExampleCard = CARD_A): Profile {
  const json = JSON.parse(readFileSync(PROFILE_PATH, 'utf8')) as {
    chip: { idm: string };
    issue: { cardId: string };
    systems: { areas: { areas: { services: { code: string; data?: string[] }[] }[] }[] }[];
  };
  json.chip.idm = card.idm;
  json.issue.cardId = card.mediumId;
  for (const s of json.systems[0]!.areas[0]!.areas[0]!.services)
    if (s.code === LAYOUT.number.toString(16)) s.data = [`${card.mediumId}${'00'.repeat(8)}`];
  return parseProfile(json as unknown);
}

function masterOf(profile: Profile, code: number): { version: number; master: Uint8Array } {
  let found: { version: number; master: Uint8Array } | undefined;
  const walk = (a: ProfileArea): void => {
    for (const s of a.services)
      if (s.code === code && s.key && 'master' in s.key)
        found = { version: s.key.version, master: s.key.master };
    a.areas.forEach(walk);
  };
  for (const s of profile.systems) s.areas.forEach(walk);
  if (!found) throw new Error(`the profile has no master key for node ${code.toString(16)}`);
  return found;
}

export interface ValidityOptions {
  readonly cacheMode: CacheMode;
  readonly mode?: Mode;
  readonly push?: boolean;
  readonly capture?: boolean;
  readonly dbTerminalMs?: number;
  readonly refreshIntervalMs?: number;
  /** Card A's expiry day (default: about three years ahead). */
  readonly expiresOnA?: number;
  /** Start the center and wait for its initial load (default true). */
  readonly ready?: boolean;
  /**
   * `default`: the 20,000 media of flows.md 6.3 (the metrics and storage checks); `examples`: the two
   * example cards only (a verdict is one keyed lookup, whatever the population). Terminals: always 100.
   */
  readonly population?: 'default' | 'examples';
  /** Wraps the terminals' link to a card (a lost answer). */
  readonly wrapCard?: (t: Transport) => Transport;
}

export interface CardView {
  readonly balance: number;
  readonly executionId: number;
  readonly log: readonly LogEntry[];
}

export class ValidityWorld {
  readonly events: TerminalEvent[] = [];
  /** Decides the audit outcome expected after a terminal event (default: pass). */
  auditOf: (e: TerminalEvent) => 'pass' | 'fail' = () => 'pass';
  /** Cards a terminal has kept (capture): they can no longer be presented. */
  readonly captured = new Set<string>();
  private readonly terminals = new Map<string, ValidityTerminal>();
  private readonly stores = new Map<string, TerminalStore>();

  private constructor(
    readonly f: Fixture,
    readonly cacheMode: CacheMode,
    readonly cards: Readonly<Record<ExampleCard['name'], FixtureCard>>,
    private readonly wrapCard: (t: Transport) => Transport,
  ) {}

  static async create(ctx: ScenarioContext, label: string, o: ValidityOptions): Promise<ValidityWorld> {
    const f = ctx.fixture(label, o.mode ? { mode: o.mode } : {});
    const profiles = { 'card-a': seedProfile(CARD_A), 'card-b': seedProfile(CARD_B) };
    const suite = suiteByName(LAYOUT.suite);
    const keys = [LAYOUT.purseAdd, LAYOUT.purseSubtract, LAYOUT.log].map((node) => ({
      node,
      ...masterOf(profiles['card-a'], node),
    }));
    for (const k of keys) {
      f.network.forbid(`the master of node ${k.node.toString(16)}`, k.master);
      for (const p of Object.values(profiles))
        f.network.forbid(
          `the key of node ${k.node.toString(16)} of ${bytesToHex(p.chip.idm)}`,
          cardKey(suite, k, p.chip.idm, k.node, LAYOUT.systemCode),
        );
    }

    // The issuer's side: instances and their records, on the dedicated channel.
    const setupRng = f.random('setup');
    const bank = f.open('bank', IDS.bank);
    const db = f.open('center-db', IDS.db);
    const center = f.open('emoney-center', IDS.center);
    const today = f.clock.today();
    for (const c of [CARD_A, CARD_B]) {
      expectOk(
        await bank.openAccount({ accountNo: c.userAccount, userId: c.userAccount, name: c.userAccount }),
      );
      expectOk(
        await bank.depositCash({ txId: newTxId(setupRng), accountNo: c.userAccount, amount: USER_DEPOSIT }),
      );
    }
    const far = today + 3 * 365;
    const media = [
      {
        mediumId: CARD_A.mediumId,
        idm: CARD_A.idm,
        userAccount: CARD_A.userAccount,
        expiresOn: o.expiresOnA ?? far,
      },
      { mediumId: CARD_B.mediumId, idm: CARD_B.idm, userAccount: CARD_B.userAccount, expiresOn: far },
    ];
    // The rest of the population: the first `stolen` reported stolen, the next `expired` expired.
    const synthetic = (i: number): string => `b0${i.toString(16).padStart(14, '0')}`;
    const population = o.population === 'examples' ? { media: 2, stolen: 0 } : DEFAULTS;
    for (let i = 0; i < population.media - 2; i++)
      media.push({
        mediumId: synthetic(i),
        idm: `02fe${i.toString(16).padStart(12, '0')}`,
        userAccount: `u-${i}`,
        expiresOn:
          i >= DEFAULTS.stolen && i < DEFAULTS.stolen + DEFAULTS.expired
            ? today - 1 - (i % 30)
            : far - (i % 365),
      });
    for (let i = 0; i < media.length; i += 5000)
      expectOk(await db.registerMedia({ media: media.slice(i, i + 5000) }));
    if (population.stolen > 0)
      expectOk(
        await db.reportStolenBatch({
          mediumIds: Array.from({ length: population.stolen }, (_, i) => synthetic(i)),
        }),
      );
    expectOk(
      await db.registerTerminals({
        terminals: Array.from({ length: DEFAULTS.terminals }, (_, i) => ({
          terminalId: `7e${(i + 1).toString(16).padStart(14, '0')}`,
          ownerKind: i % 2 === 0 ? ('store' as const) : ('user' as const),
          ownerId: `owner-${i + 1}`,
        })),
      }),
    );
    expectOk(
      await center.configure({
        db: IDS.db,
        bank: IDS.bank,
        cacheMode: o.cacheMode,
        lineMs: DEFAULTS.lineMs,
        dbTerminalMs: o.dbTerminalMs ?? DEFAULTS.dbTerminalMs,
        dbMediumMs: DEFAULTS.dbMediumMs,
        push: o.push ?? true,
        capture: o.capture ?? false,
        ...(o.refreshIntervalMs !== undefined ? { refreshIntervalMs: o.refreshIntervalMs } : {}),
      }),
    );
    expectOk(
      await center.registerKeys({
        systemCode: LAYOUT.systemCode,
        keys: keys.map((k) => ({ node: k.node, version: k.version, master: bytesToHex(k.master) })),
      }),
    );
    const random = f.random('center-key-holder');
    // A factory: a restarted center (mica campaign faults) serves a holder of its reopened instance.
    f.serveKeyHolder('emoney-center', IDS.center, () =>
      (center as SqliteEMoneyCenter).keyHolder((n) => random.bytes(n)),
    );

    await f.start();
    const cards = {
      'card-a': await f.card('card-a', profiles['card-a']),
      'card-b': await f.card('card-b', profiles['card-b']),
    };
    const w = new ValidityWorld(f, o.cacheMode, cards, o.wrapCard ?? ((t) => t));
    f.cards = async () =>
      Promise.all(
        ([CARD_A, CARD_B] as const).map(async (c) => ({
          cardId: c.mediumId,
          issuer: IDS.center,
          balance: (await w.cardView(c)).balance,
        })),
      );
    f.cardState = async () => {
      const out: Record<string, unknown> = {};
      for (const c of [CARD_A, CARD_B]) {
        const v = await w.cardView(c);
        out[c.mediumId] = {
          balances: { [LAYOUT.purse.toString(16)]: v.balance },
          executionId: v.executionId,
          log: v.log,
        };
      }
      return out;
    };
    if (o.ready ?? true) {
      const { readyAt } = expectOk(await w.center.start({}));
      await f.advanceTo(readyAt);
      await f.step({ step: 'start', from: IDS.center, to: IDS.db, summary: await w.cacheSummary() });
    }
    return w;
  }

  /** The center as the runner reaches it (dedicated channel). */
  get center() {
    return this.f.world.peer('emoney-center', IDS.center);
  }

  get db() {
    return this.f.world.peer('center-db', IDS.db);
  }

  get bank() {
    return this.f.world.peer('bank', IDS.bank);
  }

  async cacheSummary(): Promise<string> {
    const s = expectOk(await this.center.status({}));
    return `cache ${s.cacheMode} loaded: ${s.mediumEntries} medium and ${s.terminalEntries} terminal entries, ${s.bytes} B`;
  }

  /** What anyone reads without a key (the runner's view: not a terminal step). */
  async cardView(card: ExampleCard): Promise<CardView> {
    const o = await readOpen(new FelicaClient(this.cards[card.name].transport), LAYOUT, hexToBytes(card.idm));
    return { balance: o.purse.balance, executionId: o.purse.executionId, log: o.log };
  }

  /** The card's image bytes (after a power cycle, which saves it). */
  async image(card: ExampleCard): Promise<string> {
    const c = this.cards[card.name];
    await c.powerCycle();
    return c.image === null ? JSON.stringify(await this.cardView(card)) : bytesToHex(readFileSync(c.image));
  }

  /** Every ledger entry and in-flight item of every instance (and terminal outbox), as one string to compare. */
  async ledgers(): Promise<string> {
    return JSON.stringify(
      (await this.f.views())
        .filter((v) => v.entries.length > 0 || v.inFlight.length > 0)
        .map((v) => [v.id, v.entries, v.inFlight]),
    );
  }

  /** The ledger balances of one back-end (account → Σ legs), read as the runner. */
  async ledger(id: string): Promise<Record<string, number>> {
    const v = (await this.f.views()).find((x) => x.id === id);
    const out: Record<string, number> = {};
    for (const e of v?.entries ?? []) out[e.account] = (out[e.account] ?? 0) + e.amount;
    return Object.fromEntries(Object.entries(out).filter(([, n]) => n !== 0));
  }

  private report = async (e: TerminalEvent): Promise<void> => {
    this.events.push(e);
    await this.f.step({ ...e, audit: this.auditOf(e) });
  };

  private terminal(id: string, card: ExampleCard): ValidityTerminal {
    const key = `${id}/${card.name}`;
    const have = this.terminals.get(key);
    if (have) return have;
    // One store per terminal, whichever card is in its reader.
    let store = this.stores.get(id);
    if (!store) {
      const path = this.f.dir === ':memory:' ? ':memory:' : join(this.f.dir, `terminal-${id}.sqlite`);
      const s = new TerminalStore(path, id, 'validity', this.f.clock);
      this.f.addAuditView(() => s.auditView());
      this.stores.set(id, s);
      store = s;
    }
    const t = new ValidityTerminal({
      store,
      card: this.wrapCard(this.cards[card.name].transport),
      layout: LAYOUT,
      center: {
        id: IDS.center,
        api: this.f.backend('emoney-center', IDS.center),
        keys: this.f.keyHolder('emoney-center', IDS.center),
      },
      clock: this.f.clock,
      advanceTo: (ms) => this.f.advanceTo(ms),
      lineMs: DEFAULTS.lineMs,
      thinkMs: DEFAULTS.thinkMs,
      rng: this.f.random(`terminal/${key}`),
      origin: 3,
      report: this.report,
    });
    this.terminals.set(key, t);
    return t;
  }

  /** Presents `card` at terminal `terminalId` (default [3]) for one load or unload. */
  async present(
    card: ExampleCard,
    request: SessionRequest,
    terminalId: string = IDS.terminal,
  ): Promise<SessionResult> {
    if (this.captured.has(card.name))
      throw new CardCapturedError(`${card.name} was kept by a terminal (captured); it cannot be presented`);
    const r = await this.terminal(terminalId, card).session(request);
    if (r.captured) this.captured.add(card.name);
    return r;
  }

  /** timeToStart and dbAccesses of a connection, as the center recorded them. */
  async connection(
    connectionId: string,
  ): Promise<{ timeToStart: number | null; dbAccesses: number; state: string }> {
    const [row] = expectOk(await this.center.connections({ connectionId }));
    if (!row) throw new Error(`the center has no connection ${connectionId}`);
    return {
      timeToStart: row.tStart === null ? null : row.tStart - row.tHello,
      dbAccesses: row.dbAccesses,
      state: row.state,
    };
  }
}

export class CardCapturedError extends Error {
  override readonly name = 'CardCapturedError';
}
