// Flow-level tearing: every scenario of `mica run` runs once clean (seed 1, hardened, in-process) with a
// card tap recording each card session (the image and random seed at each opening of a card target)
// and each exchange. Each session is then replayed on a card of our own, which must answer as the
// recorded run did; every exchange that wrote EEPROM becomes a sweep item. Its card is rebuilt in the
// RAM state the exchange met by replaying the session up to it on a fresh copy of the opened image with
// the same seeded random source (a secure session or a selected applet lives in card RAM; this is how
// secure-fixture.ts rebuilds sessions). The flows' writes are all secure or applet commands, so no
// cheaper restart from the image before the exchange would do. An exchange the replay cannot reach
// (it diverged from the recording) and a successful PIN command (which commits twice by design) are
// listed as excluded, with the reason; an exchange in the same state as one listed already is too.
import { createHash, type Hash } from 'node:crypto';
import { Card } from '@mica/card-os/card';
import type { Eeprom } from '@mica/card-os/hal/eeprom';
import { loadImageFile } from '@mica/card-os/hal/image-file';
import { SeededRandom, type RandomSource } from '@mica/card-os/random';
import type { CardAt, CardTap } from '../run/card-tap';
import { SCENARIOS } from '../run/registry';
import { resolveVariants, runScenario } from '../run/runner';
import type { Scenario } from '../run/scenario';
import { schemeOf } from '../targets/index';
import { SCENARIO_SEED } from './faults-campaign';
import { pinSuccess, type TearingItem, type TearingSource } from './tearing-sources';

/** Builds a card over an image with a random source (default: card-os's Card); tests inject broken ones. */
export type CardMaker = (eeprom: Eeprom, random: RandomSource) => Card;

const plainCard: CardMaker = (eeprom, random) => new Card(eeprom, { random });

interface Recorded {
  readonly iface: 'felica' | 'apdu';
  readonly command: Uint8Array;
  readonly answer: Uint8Array | null | undefined;
}

/** One opening of a card target and the exchanges until the next one. */
interface Session {
  readonly at: CardAt;
  /** The image as opened, or why there is none (not a sim: target). */
  readonly image: Eeprom | string;
  readonly seed: bigint;
  readonly exchanges: Recorded[];
}

/** The tap of one recorded run: sessions in the order their cards were opened. */
class FlowRecorder implements CardTap {
  readonly sessions: Session[] = [];
  private readonly current = new Map<string, Session>();

  opened(at: CardAt, target: string, seed: bigint): void {
    const { scheme, rest } = schemeOf(target);
    const image = scheme === 'sim' ? loadImageFile(rest) : `the card target is ${scheme}:, not sim:`;
    const s: Session = { at, image, seed, exchanges: [] };
    this.sessions.push(s);
    this.current.set(`${at.fixture}\u0000${at.card}`, s);
  }

  exchange(
    at: CardAt,
    iface: 'felica' | 'apdu',
    command: Uint8Array,
    answer: Uint8Array | null | undefined,
  ): void {
    const s = this.current.get(`${at.fixture}\u0000${at.card}`);
    if (!s) throw new Error(`card ${at.card} of fixture ${at.fixture} exchanged before it was opened`);
    s.exchanges.push({ iface, command, answer });
  }
}

function send(card: Card, ex: Recorded): Uint8Array | null {
  return ex.iface === 'felica' ? card.felica(ex.command) : card.apdu(ex.command);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The card answered as recorded: the same bytes, or no answer where the transport had none to give. */
function answeredAsRecorded(ex: Recorded, answer: Uint8Array | null): boolean {
  if (ex.answer === undefined) return answer === null || (ex.iface === 'apdu' && answer.length < 2);
  if (ex.answer === null || answer === null) return ex.answer === answer;
  return same(ex.answer, answer);
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

function describe(ex: Recorded): string {
  return ex.iface === 'felica'
    ? `FeliCa command ${hex(ex.command[1] ?? 0)}h`
    : `APDU ${hex(ex.command[0] ?? 0)} ${hex(ex.command[1] ?? 0)}`;
}

/** The category prefix of the flow sources in the campaign's report. */
export const FLOWS = 'flows';

/**
 * The cut points `npm test` spends on the flows (tools/test/campaign-tearing-flows.test.ts). Every cut
 * point of every flow is some 100,000, each rebuilding its card by replaying the session before it
 * (about 6 minutes of CPU): that sweep is the on-demand `mica campaign tearing`.
 */
export const FLOW_CI_BUDGET = 2000;

export interface FlowTearingOptions {
  /** Default: every scenario of the registry. */
  readonly scenarios?: readonly Scenario[];
  /** The card the replays and cut points run on (default: card-os's Card). */
  readonly card?: CardMaker;
}

/** What one scenario's recording gave, for the counts the tests and the docs quote. */
export interface FlowRecording {
  readonly scenario: string;
  readonly sessions: number;
  readonly exchanges: number;
  readonly items: TearingItem[];
}

function powered(make: CardMaker, image: Eeprom, seed: bigint): Card {
  const card = make(image.clone(), new SeededRandom(seed));
  card.powerOn();
  return card;
}

/** Labels of the exchanges swept already, by the hash of their card state (image, seed, frames). */
type Seen = Map<string, string>;

/** The sweep (or excluded) items of one recorded session. */
function sessionItems(label: string, s: Session, make: CardMaker, seen: Seen): TearingItem[] {
  const out: TearingItem[] = [];
  const image = s.image;
  if (typeof image === 'string') {
    s.exchanges.forEach((ex, k) =>
      out.push({ kind: 'excluded', label: `${label} #${k + 1} (${describe(ex)})`, reason: image }),
    );
    return out;
  }
  const run = powered(make, image, s.seed);
  // The state an exchange meets: the opened image, the seed and every frame of the session so far.
  const state: Hash = createHash('sha256').update(image.snapshot()).update(`seed ${s.seed}`);
  let diverged: string | undefined;
  s.exchanges.forEach((ex, k) => {
    const name = `${label} #${k + 1} (${describe(ex)})`;
    if (diverged !== undefined) {
      out.push({ kind: 'excluded', label: name, reason: diverged });
      return;
    }
    state.update(`${ex.iface} ${ex.command.length}:`).update(ex.command);
    const key = state.copy().digest('hex');
    const start = run.eeprom.physical.bytesWritten;
    const answer = send(run, ex);
    const bytes = run.eeprom.physical.bytesWritten - start;
    if (!answeredAsRecorded(ex, answer)) {
      diverged = `the replay of the session diverged from the recorded run at exchange #${k + 1}`;
      out.push({ kind: 'excluded', label: name, reason: diverged });
      return;
    }
    if (bytes === 0) return;
    if (ex.iface === 'apdu' && pinSuccess(ex.command, answer)) {
      out.push({ kind: 'excluded', label: name, reason: 'a successful PIN command commits twice by design' });
      return;
    }
    const twin = seen.get(key);
    if (twin !== undefined) {
      out.push({ kind: 'excluded', label: name, reason: `the same card state and command as ${twin}` });
      return;
    }
    seen.set(key, name);
    const prefix = s.exchanges.slice(0, k);
    const setup = (): Card => {
      const c = powered(make, image, s.seed);
      for (const p of prefix) send(c, p);
      return c;
    };
    out.push({
      kind: 'sweep',
      label: `${name} after ${k} replayed exchanges`,
      case: { setup, command: (c) => send(c, ex) },
    });
  });
  return out;
}

/** Runs `scenario` once clean with the recorder, then lists its card exchanges as tearing items. */
export async function recordFlow(scenario: Scenario, make: CardMaker = plainCard): Promise<FlowRecording> {
  const recorder = new FlowRecorder();
  await runScenario(scenario, {
    mode: 'hardened',
    transport: 'inproc',
    seed: SCENARIO_SEED,
    data: ':memory:',
    variants: resolveVariants(scenario, []),
    cardTap: recorder,
  });
  const items: TearingItem[] = [];
  const seen: Seen = new Map();
  let exchanges = 0;
  recorder.sessions.forEach((s, i) => {
    exchanges += s.exchanges.length;
    items.push(
      ...sessionItems(`${scenario.name} ${s.at.fixture}/${s.at.card} session ${i + 1}`, s, make, seen),
    );
  });
  return { scenario: scenario.name, sessions: recorder.sessions.length, exchanges, items };
}

/** One scenario's mutating card exchanges as a source (recorded when the campaign asks for its items). */
export function flowSource(scenario: Scenario, options: FlowTearingOptions = {}): TearingSource {
  return { name: FLOWS, items: async () => (await recordFlow(scenario, options.card)).items };
}

/** Every scenario of `mica run` (or those given), one source each. */
export function flowSources(options: FlowTearingOptions = {}): TearingSource[] {
  return (options.scenarios ?? SCENARIOS).map((s) => flowSource(s, options));
}
