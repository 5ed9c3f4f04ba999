// One world of a scenario (flows.md 1.2-1.7): back-end instances sharing a virtual clock, a random
// stream forked from the run's seed, and a mode; served over HTTP on a loopback port by the same
// BackendServer as `mica backend serve` when the run says `--transport http` (back-end-to-back-end
// calls then cross HTTP too); its cards as card targets; a network monitor on every message that
// terminals and back-ends exchange (the `internet` channel); and the conservation audit after every
// step, which the step states the expected outcome of.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { Profile } from '@mica/apdu-specs/profile';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { saveImageFile } from '@mica/card-os/hal/image-file';
import { SeededRandom } from '@mica/card-os/random';
import { audit, type AuditReport, type CardPurse } from '@mica/host-sdk/backend/audit';
import type { AuditView, KindInterfaces, Mode, PeerDirectory } from '@mica/host-sdk/backend/backend';
import type { Callers } from '@mica/host-sdk/backend/http/callers';
import { HttpBackendLink, HttpClockClient, httpKeyHolderLink } from '@mica/host-sdk/backend/http/client';
import { httpPeer } from '@mica/host-sdk/backend/http/peers';
import { BackendServer } from '@mica/host-sdk/backend/http/server';
import { expectOk, type Outcome } from '@mica/host-sdk/backend/outcome';
import { World, type Kind } from '@mica/host-sdk/backend/world';
import type { KeyHolder } from '@mica/host-sdk/keys/key-holder';
import { RemoteKeyHolder, keyHolderService, type KeyHolderLink } from '@mica/host-sdk/keys/remote-key-holder';
import { VirtualClock, jstDateTime } from '@mica/host-sdk/platform/clock';
import { SeededRng, type Rng } from '@mica/host-sdk/platform/rng';
import { TransportError, type Transport } from '@mica/host-sdk/transport/transport';
import { openTarget, schemeOf, type OpenedTarget } from '../targets/index';
import { TraceRecorder } from '../trace/recorder';
import { tapped, type CardTap } from './card-tap';
import type { FaultInjector } from './faults';
import type { BackendTransport } from './scenario';

/** flows.md 3.3: the clock starts 2004-06-07 10:00 JST. */
export const DEFAULT_START = Date.UTC(2004, 5, 7, 1, 0);

export interface FixtureOptions {
  /** Default: the run's --mode. */
  readonly mode?: Mode;
  /** Virtual clock start, ms (default DEFAULT_START). */
  readonly start?: number;
}

/** One transcript line's content (flows.md 1.7). */
export interface StepLine {
  /** The patent step (or the flows.md row, e.g. "P7", "Q6"). */
  readonly step: string;
  readonly from: string;
  readonly to: string;
  readonly summary: string;
  /** The card command of this step and its answer (SW, or status flags). */
  readonly card?: { readonly command: string; readonly status: string };
  /**
   * What the conservation audit after this step must find: `pass` (default), or `fail` where the
   * check demonstrates a state nobody has booked yet (the audit must catch it).
   */
  readonly audit?: 'pass' | 'fail';
}

export interface StepRecord extends StepLine {
  readonly t: number;
  readonly fixture: string;
  readonly check: string | null;
  readonly auditOk: boolean;
}

/** Where a fixture reports (the runner). */
export interface FixtureSink {
  step(record: Omit<StepRecord, 'check'>): void;
  problem(text: string): void;
}

export class SetupError extends Error {
  override readonly name = 'SetupError';
}

/** A forbidden value on the network (a key, a PIN) in every form it could travel in. */
interface Forbidden {
  readonly label: string;
  readonly forms: readonly string[];
}

/**
 * The hook on every `internet` message (flows.md 1.6): a message that carries a registered value
 * (raw, hex or base64) is a violation, reported to the running check.
 */
export class NetworkMonitor {
  private readonly forbidden: Forbidden[] = [];
  readonly violations: string[] = [];
  messages = 0;

  constructor(private readonly report: (text: string) => void) {}

  /** Registers a value that must never cross the network: bytes (as hex, HEX, base64) or a string. */
  forbid(label: string, value: Uint8Array | string): void {
    const forms =
      typeof value === 'string'
        ? [JSON.stringify(value)]
        : [
            bytesToHex(value),
            bytesToHex(value).toUpperCase(),
            Buffer.from(value).toString('base64').replace(/=+$/, ''),
          ];
    this.forbidden.push({ label, forms });
  }

  inspect(channel: string, message: unknown): void {
    this.messages++;
    const text = JSON.stringify(message) ?? '';
    for (const f of this.forbidden)
      if (f.forms.some((form) => text.includes(form))) {
        const v = `${f.label} crossed the internet channel in ${channel}`;
        this.violations.push(v);
        this.report(v);
      }
  }
}

/** A card of a fixture: a stable Transport across power cycles of the underlying target. */
export interface FixtureCard {
  readonly name: string;
  /** The image file (sim: targets), or null for a card given by --card. */
  readonly image: string | null;
  readonly transport: Transport;
  /** Powers the card off (the image is saved) and on again. */
  powerCycle(): Promise<void>;
  close(): Promise<void>;
}

export interface CardTargetChoice {
  readonly card?: string | undefined;
  readonly rf?: string | undefined;
  /** Capture file of every card exchange of this fixture, written when it closes. */
  readonly pcap?: string | undefined;
}

type AnyMethods = Record<string, (request?: unknown) => Promise<unknown>>;

export class Fixture {
  readonly mode: Mode;
  readonly clock: VirtualClock;
  readonly world: World;
  readonly network: NetworkMonitor;
  /** Purse balances for C3 (the scenario sets it once its cards exist). */
  cards: () => Promise<readonly CardPurse[]> = () => Promise.resolve([]);
  /** Card state for --json: cardId → {balances, log}. */
  cardState: () => Promise<Record<string, unknown>> = () => Promise.resolve({});
  private readonly rng: Rng;
  private readonly extraViews: (() => AuditView)[] = [];
  private readonly holders = new Map<string, KeyHolder>();
  private readonly holderFactories = new Map<string, () => KeyHolder>();
  private readonly holderServices = new Map<string, KeyHolderLink>();
  private readonly opened: { kind: Kind; id: string }[] = [];
  private readonly openedCards: FixtureCard[] = [];
  private server: BackendServer | undefined;
  private runnerLink: HttpBackendLink | undefined;
  private terminalLink: HttpBackendLink | undefined;
  private started = false;
  private lastAudit: AuditReport | undefined;
  /** Restarts per back-end id (a call in flight across one hears link-lost). */
  private readonly restarts = new Map<string, number>();
  private trace: { readonly recorder: TraceRecorder; readonly air: boolean } | undefined;

  constructor(
    readonly label: string,
    private readonly transport: BackendTransport,
    seed: number,
    mode: Mode,
    readonly dir: string,
    private readonly sink: FixtureSink,
    private readonly target: CardTargetChoice,
    options: FixtureOptions = {},
    /** Back-end faults (`mica campaign faults`): every monitored call and card exchange passes it. */
    private readonly faults?: FaultInjector,
    /** Sees every card opening and exchange (the tearing campaign's flow recorder); none by default. */
    private readonly cardTap?: CardTap,
  ) {
    this.mode = options.mode ?? mode;
    this.clock = new VirtualClock(options.start ?? DEFAULT_START);
    this.rng = new SeededRng(seed).fork(`fixture/${label}`);
    this.network = new NetworkMonitor((t) => sink.problem(t));
    const peers: PeerDirectory = {
      peer: <K extends keyof KindInterfaces>(kind: K, id: string): KindInterfaces[K] =>
        this.monitored(
          this.transport === 'http'
            ? httpPeer(this.link('backends'), kind, id)
            : this.live(() => this.world.peer(kind, id)),
          `${String(kind)}/${id}`,
          id,
        ),
    };
    // In memory there is no directory to make (a `:memory:` directory in the working directory was).
    if (dir !== ':memory:') mkdirSync(dir, { recursive: true });
    this.world = new World({
      dataDir: dir,
      clock: this.clock,
      rng: this.rng.fork('world'),
      mode: this.mode,
      peers,
    });
  }

  /** An independent random stream for an actor of the scenario (terminal, key holder, card). */
  random(label: string): Rng {
    return this.rng.fork(`actor/${label}`);
  }

  /** Opens (creating) a back-end instance: the issuer's side of setup, on the dedicated channel. */
  open<K extends Kind>(kind: K, id: string): KindInterfaces[K] {
    this.world.open(kind, id);
    if (!this.opened.some((o) => o.id === id)) this.opened.push({ kind, id });
    return this.live(() => this.world.open(kind, id));
  }

  /**
   * Registers the key holder a back-end serves at /v1/<kind>/<id>/keyholder/* (before start). A
   * factory is called again when the back-end restarts (a holder built on the old instance is gone).
   */
  serveKeyHolder(kind: Kind, id: string, holder: KeyHolder | (() => KeyHolder)): void {
    if (this.started) throw new SetupError('serve key holders before the fixture starts');
    const name = `${kind}/${id}`;
    if (typeof holder === 'function') this.holderFactories.set(name, holder);
    this.holders.set(name, typeof holder === 'function' ? holder() : holder);
  }

  /** The in-process service of a served key holder (its session table), made on first use. */
  private holderService(name: string): KeyHolderLink {
    let s = this.holderServices.get(name);
    if (!s) {
      const holder = this.holders.get(name);
      if (!holder) throw new SetupError(`no key holder is served for ${name}`);
      s = keyHolderService(holder);
      this.holderServices.set(name, s);
    }
    return s;
  }

  /** After a restart of `name`: a new holder from its factory, with no session of the old one. */
  private restartHolder(name: string): void {
    const factory = this.holderFactories.get(name);
    if (!factory) return;
    this.holders.set(name, factory());
    this.holderServices.delete(name);
  }

  /** Starts serving (over HTTP: a BackendServer on a loopback port). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.transport !== 'http') return;
    const tokens = this.rng.fork('http-callers');
    const token = (): string => bytesToHex(tokens.bytes(32));
    const callers: Callers = {
      runner: { token: token(), allow: ['**'] },
      backends: { token: token(), allow: ['*/*/*'] },
      terminals: {
        token: token(),
        allow: ['*/*/*', ...[...this.holders.keys()].map((k) => `${k}/keyholder/*`)],
      },
    };
    this.server = new BackendServer(this.world, {
      callers,
      virtualClock: this.clock,
      keyHolders: this.holders,
    });
    let url: string;
    try {
      ({ url } = await this.server.listen(0, '127.0.0.1'));
    } catch (e) {
      throw new SetupError(`cannot serve the back-ends on a loopback port: ${(e as Error).message}`);
    }
    this.runnerLink = new HttpBackendLink({ baseUrl: url, token: callers['runner']!.token });
    this.backendLink = new HttpBackendLink({ baseUrl: url, token: callers['backends']!.token });
    this.terminalLink = new HttpBackendLink({ baseUrl: url, token: callers['terminals']!.token });
  }

  private backendLink: HttpBackendLink | undefined;

  private link(which: 'runner' | 'backends' | 'terminals'): HttpBackendLink {
    const l =
      which === 'runner' ? this.runnerLink : which === 'backends' ? this.backendLink : this.terminalLink;
    if (!l) throw new SetupError(`fixture ${this.label}: start() before calling a back-end over HTTP`);
    return l;
  }

  /**
   * A back-end as a terminal (or another party on the internet channel) reaches it: in-process, or
   * an HTTP client of the served instance; every request passes the network monitor.
   */
  backend<K extends Kind>(kind: K, id: string): KindInterfaces[K] {
    const inner =
      this.transport === 'http'
        ? httpPeer(this.link('terminals'), kind, id)
        : this.live(() => this.world.peer(kind, id));
    return this.monitored(inner, `${kind}/${id}`, id);
  }

  /** The key holder a back-end serves, as a terminal reaches it (RemoteKeyHolder, monitored). */
  keyHolder(kind: Kind, id: string): KeyHolder {
    const name = `${kind}/${id}`;
    const holder = this.holders.get(name);
    if (!holder) throw new SetupError(`no key holder is served for ${name}`);
    const inner: KeyHolderLink =
      this.transport === 'http'
        ? httpKeyHolderLink(this.link('terminals'), kind, id)
        : (m) => this.holderService(name)(m);
    return new RemoteKeyHolder(async (m) => {
      this.network.inspect(`${name}/keyholder/${m.op}`, m);
      const reply = await inner(m);
      this.network.inspect(`${name}/keyholder/${m.op} (answer)`, reply);
      return reply;
    });
  }

  /** Adds an audit view for parties outside the world (a terminal's outbox, C4). */
  addAuditView(view: () => AuditView): void {
    this.extraViews.push(view);
  }

  async advanceTo(ms: number): Promise<void> {
    if (this.transport === 'http') await new HttpClockClient(this.link('runner')).advanceTo(ms);
    else await this.clock.advanceTo(ms);
  }

  async advanceBy(ms: number): Promise<void> {
    if (this.transport === 'http') await new HttpClockClient(this.link('runner')).advanceBy(ms);
    else await this.clock.advanceBy(ms);
  }

  /** The audit views of every instance, read as the runner (dedicated channel, not monitored). */
  async views(): Promise<AuditView[]> {
    const out: AuditView[] = [];
    for (const { kind, id } of this.opened) {
      const b = (
        this.transport === 'http' && this.started
          ? httpPeer(this.link('runner'), kind, id)
          : this.world.peer(kind, id)
      ) as { auditView(r?: Record<string, never>): Promise<Outcome<AuditView>> };
      out.push(expectOk(await b.auditView({})));
    }
    for (const v of this.extraViews) out.push(v());
    return out;
  }

  async audit(): Promise<AuditReport> {
    this.lastAudit = audit(await this.views(), await this.asRunner(this.cards));
    return this.lastAudit;
  }

  /** The card state for --json, read as the runner (no fault goes into these reads). */
  readCardState(): Promise<Record<string, unknown>> {
    return this.asRunner(this.cardState);
  }

  private asRunner<T>(read: () => Promise<T>): Promise<T> {
    return this.faults ? this.faults.asRunner(read) : read();
  }

  /** Prints one transcript line, then audits; an audit other than `line.audit` expects is a problem. */
  async step(line: StepLine): Promise<void> {
    const t = this.clock.now();
    const report = await this.audit();
    const want = line.audit ?? 'pass';
    this.sink.step({ ...line, t, fixture: this.label, auditOk: report.ok });
    if (report.ok !== (want === 'pass'))
      this.sink.problem(
        `after [${line.step}] ${line.summary}: the audit ${report.ok ? 'passed' : 'failed'} (${report.checks
          .filter((c) => c.status !== 'pass')
          .map((c) => `${c.id} ${c.status}: ${c.problems.join('; ')}`)
          .join(' | ')}), expected ${want}`,
      );
  }

  /** The last audit (after the last step), for the report. */
  get finalAudit(): AuditReport | undefined {
    return this.lastAudit;
  }

  /**
   * Manufactures and issues a card from `profile` (image `<dir>/<name>.img`) and opens it as a card
   * target: `sim:` of the image, or what --card / --rf name for the main fixture.
   */
  async card(name: string, profile: Profile): Promise<FixtureCard> {
    const seed = BigInt(`0x${bytesToHex(this.random(`card/${name}`).bytes(8))}`);
    const memory = this.dir === ':memory:';
    const image = memory ? join(tempDir(), `${this.label}-${name}.img`) : join(this.dir, `${name}.img`);
    // An in-memory run's images live in its temporary folder, removed after the run: not fsynced.
    const durableImage = !memory || this.target.card !== undefined;
    let target: string;
    if (this.target.card !== undefined) {
      target = this.target.card;
    } else {
      saveImageFile(image, cardImageFromProfile(profile), { durable: durableImage });
      target = `sim:${image}`;
    }
    if (this.target.rf !== undefined) target = `rf:${target}?${this.target.rf}`;
    // rf: targets trace their frames as on air; others are traced per exchange on the virtual clock.
    const air = schemeOf(target).scheme === 'rf';
    const recorder = this.recorder(air);
    const tap = this.cardTap;
    const at = { fixture: this.label, card: name };
    const open = async (): Promise<OpenedTarget> => {
      let opened: OpenedTarget;
      try {
        opened = await openTarget(target, {
          random: new SeededRandom(seed),
          ...(recorder && air ? { onWire: recorder.onWire } : {}),
          ...(durableImage ? {} : { durableImage }),
        });
      } catch (e) {
        throw new SetupError(`cannot open card target ${target}: ${(e as Error).message}`);
      }
      tap?.opened(at, target, seed);
      return opened;
    };
    let current = await open();
    const faults = this.faults;
    const felica = (frame: Uint8Array): Promise<Uint8Array | null> =>
      tap
        ? tapped(tap, at, 'felica', frame, () => current.transport.felica(frame))
        : current.transport.felica(frame);
    const apdu = (command: Uint8Array): Promise<Uint8Array> =>
      tap
        ? tapped(tap, at, 'apdu', command, () => current.transport.apdu(command))
        : current.transport.apdu(command);
    const removal = {
      async removeAndReturn() {
        await current.close();
        current = await open();
      },
    };
    const direct: Transport = {
      description: target,
      felica: (frame) =>
        faults ? faults.cardExchange(this.label, name, () => felica(frame), removal) : felica(frame),
      apdu: (command) =>
        faults ? faults.cardExchange(this.label, name, () => apdu(command), removal) : apdu(command),
      close: () => current.close(),
    };
    const transport = recorder && !air ? recorder.wrap(direct) : direct;
    const card: FixtureCard = {
      name,
      image: this.target.card === undefined ? image : null,
      transport,
      async powerCycle() {
        await current.close();
        current = await open();
      },
      close: () => current.close(),
    };
    this.openedCards.push(card);
    return card;
  }

  /** The fixture's one trace recorder when --pcap asks for a capture (stamped by the virtual clock). */
  private recorder(air: boolean): TraceRecorder | undefined {
    if (this.target.pcap === undefined) return undefined;
    this.trace ??= { recorder: new TraceRecorder(undefined, () => this.clock.now()), air };
    if (this.trace.air !== air)
      throw new SetupError('--pcap: the cards of one run must all be rf: targets, or none of them');
    return this.trace.recorder;
  }

  async close(): Promise<void> {
    if (this.faults) this.faults.closing(this.label, await this.views());
    for (const c of this.openedCards) await c.close();
    if (this.trace && this.target.pcap !== undefined)
      this.trace.recorder.write({ pcap: this.target.pcap }, this.trace.air);
    await this.server?.close();
    this.world.close();
  }

  /**
   * An in-process instance resolved at every use, so a reference a scenario holds reaches the instance
   * live now (a restart replaces it).
   */
  private live<T>(resolve: () => T): T {
    return new Proxy(resolve() as object, {
      get(_, name) {
        const t = resolve() as object;
        const v = Reflect.get(t, name, t) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    }) as T;
  }

  private monitored<T>(inner: T, channel: string, id: string): T {
    const net = this.network;
    const faults = this.faults;
    const fixture = this.label;
    const world = this.world;
    const restarts = this.restarts;
    const restartHolder = (name: string): void => this.restartHolder(name);
    const http = this.transport === 'http';
    return new Proxy(inner as object, {
      get(t, name, receiver) {
        const v = Reflect.get(t, name, receiver) as unknown;
        if (typeof name !== 'string' || typeof v !== 'function') return v;
        const send = (request?: unknown): Promise<unknown> => {
          net.inspect(`${channel}/${name}`, request);
          return (v as AnyMethods[string]).call(t, request);
        };
        if (!faults) return send;
        return (request?: unknown) =>
          faults.backendCall(
            { fixture, channel, method: name, request },
            {
              // Re-resolved: after a restart `v` belongs to the closed instance.
              send: async (r) => {
                net.inspect(`${channel}/${name}`, r);
                const generation = restarts.get(id) ?? 0;
                try {
                  return await (Reflect.get(t, name, receiver) as AnyMethods[string]).call(t, r);
                } catch (e) {
                  // The instance crashed (restarted) while answering: its caller hears nothing.
                  if ((restarts.get(id) ?? 0) !== generation)
                    throw new TransportError(
                      'link-lost',
                      `${channel}/${name}: ${id} restarted before answering`,
                    );
                  throw e;
                }
              },
              restart: () => {
                if (http) throw new SetupError('a restart fault needs the in-process transport');
                restarts.set(id, (restarts.get(id) ?? 0) + 1);
                world.restart(id);
                restartHolder(channel);
              },
            },
          );
      },
    }) as T;
  }
}

let temp: string | undefined;

/** The run's temporary directory for images of ':memory:' runs (the runner removes it). */
export function tempDir(): string {
  if (!temp) throw new SetupError('no temporary directory: run through runScenario');
  return temp;
}

export function setTempDir(dir: string | undefined): void {
  temp = dir;
}

/** `t=` of a transcript line: the virtual time in JST, ISO 8601 with +09:00 (ms when not 0). */
export function formatTime(ms: number): string {
  const d = jstDateTime(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const msPart = ((ms % 1000) + 1000) % 1000;
  const second = Math.floor((((ms % 60_000) + 60_000) % 60_000) / 1000);
  return `${p(d.year, 4)}-${p(d.month)}-${p(d.day)}T${p(d.hour)}:${p(d.minute)}:${p(second)}${msPart ? `.${p(msPart, 3)}` : ''}+09:00`;
}
