// The chip: EEPROM, file system and RAM state behind one facade that takes FeliCa frames and answers
// them (or stays silent). Deterministic: the random source is injected.
import { FELICA_COMMANDS as C } from '@mica/apdu-specs/felica-commands';
import { CardMode } from '@mica/apdu-specs/status-flags';
import type { Eeprom } from './hal/eeprom';
import { PowerLostError } from './hal/errors';
import { FileSystem } from './fs/fs';
import type { ServiceNode, SystemView } from './fs/nodes';
import type { CardContext } from './dispatch/context';
import { NO_SESSION } from './dispatch/elements';
import * as plain from './dispatch/felica-plain';
import { authentication1, authentication2 } from './dispatch/felica-auth';
import { secureRead, secureWrite, sessionPersonalises } from './dispatch/felica-secure';
import { issuance } from './dispatch/felica-issuance';
import { FELICA_SECURE_COMMANDS as S } from '@mica/apdu-specs/felica-secure';
import { dropSession, type AuthSession } from './auth/session';
import { AccessKeyCache } from '@mica/apdu-specs/secure/access-key-cache';
import { identityBlock0, identityBlock1, identityBlock2 } from '@mica/apdu-specs/eeprom-records';
import { ApduDispatcher } from './apdu/dispatcher';
import type { Applet } from './apdu/applet';
import { appletRuntime } from './apdu/runtime';
import { atrFromAts, historicalBytes } from './apdu/atr';
import { defaultIdentity, type Iso14443Identity } from './fs/manufacture';
import { SystemRandom, type RandomSource } from './random';
import { CardFrameEndpoint, type FrameEndpointOptions } from './air/frame-endpoint';

export interface CardOptions {
  readonly random?: RandomSource;
  /** The ISO 7816 applets; default: the applet runtime (the card manager and the registry's applets). */
  readonly applets?: (card: Card) => readonly Applet[];
  /** Called with anything unexpected that the error boundary swallowed (the card stays silent). */
  readonly onTrace?: (event: CardTraceEvent) => void;
}

export interface CardTraceEvent {
  readonly kind: 'unexpected-error' | 'power-lost';
  readonly message: string;
}

type Handler = (ctx: CardContext, view: SystemView, frame: Uint8Array) => Uint8Array | null;

const ADDRESSED: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [C.requestService.code, plain.requestService],
  [C.requestResponse.code, plain.requestResponse],
  [C.readWithoutEncryption.code, (ctx, v, f) => plain.readWithoutEncryption(ctx, v, f, NO_SESSION)],
  [
    C.writeWithoutEncryption.code,
    (ctx, v, f) => plain.writeWithoutEncryption(ctx, v, f, NO_SESSION, personalisingOf(ctx, v)),
  ],
  [C.searchServiceCode.code, plain.searchServiceCode],
  [C.requestSystemCode.code, plain.requestSystemCode],
  [C.requestBlockInformation.code, plain.requestBlockInformation],
  [C.resetMode.code, plain.resetMode],
  [S.authentication1.code, authentication1],
  [S.authentication2.code, authentication2],
  [S.read.code, secureRead],
  [S.write.code, secureWrite],
  [S.registerIssueId.code, issuance],
  [S.registerArea.code, issuance],
  [S.registerService.code, issuance],
  [S.changeKey.code, issuance],
  [S.separateSystem.code, issuance],
]);

/** Keyless purses written without encryption during an issuance session of their system are personalised. */
function personalisingOf(ctx: CardContext, view: SystemView): (purse: ServiceNode) => boolean {
  const s = ctx.session;
  return s?.channel && s.system === view.system.number && ctx.mode(s.system) === CardMode.issuing
    ? sessionPersonalises(view, s)
    : () => false;
}

export class Card implements CardContext {
  readonly fs: FileSystem;
  readonly random: RandomSource;
  readonly accessKeys = new AccessKeyCache();
  private readonly modes = new Uint8Array(16);
  session: AuthSession | undefined;
  private powered = false;
  private readonly onTrace: ((event: CardTraceEvent) => void) | undefined;
  private readonly iso: ApduDispatcher;
  private readonly appletList: (card: Card) => readonly Applet[];

  constructor(
    readonly eeprom: Eeprom,
    options: CardOptions = {},
  ) {
    this.fs = new FileSystem(eeprom);
    this.random = options.random ?? new SystemRandom();
    this.onTrace = options.onTrace;
    this.appletList = options.applets ?? appletRuntime();
    this.iso = new ApduDispatcher({
      context: this,
      applets: () => this.appletList(this),
      felica: (frame) => this.felica(frame),
      uid: () => this.identity().uid,
      historicalBytes: () => historicalBytes(this.identity().ats),
      trace: (message) => this.trace({ kind: 'unexpected-error', message }),
    });
  }

  /** The ISO/IEC 14443 identity: the interface identity record, or the defaults from the IDm. */
  identity(): Iso14443Identity {
    const rec = this.fs.index.identity;
    const idm = this.fs.idm(0);
    if (!rec || rec.blocks.length < 3) return defaultIdentity(idm);
    const b0 = identityBlock0.decode(rec.blocks[0]!);
    const b1 = identityBlock1.decode(rec.blocks[1]!);
    const b2 = identityBlock2.decode(rec.blocks[2]!);
    return {
      uid: b0.uid.slice(0, b0.uidLength),
      atqa: b0.atqa,
      sak: b0.sak,
      ats: b1.ats.slice(0, Math.max(1, b1.ats[0]!)),
      pupi: b2.pupi,
      appData: b2.appData,
      protInfo: b2.protInfo,
    };
  }

  /** The card's frame endpoint for the radio simulator (rf.md §10.3): the chip answering over the air. */
  airEndpoint(options: FrameEndpointOptions = {}): CardFrameEndpoint {
    return new CardFrameEndpoint(this, options);
  }

  /** The ATR presented over PC/SC (interop.md 3.2). */
  atr(): Uint8Array {
    return atrFromAts(this.identity().ats);
  }

  /** Answers one command APDU with response data ‖ SW1 SW2, or null when unpowered. */
  apdu(command: Uint8Array): Uint8Array | null {
    if (!(command instanceof Uint8Array)) throw new TypeError('command must be a Uint8Array');
    if (!this.powered) return null;
    try {
      return this.iso.transceive(command);
    } catch (e) {
      if (e instanceof PowerLostError) {
        this.powered = false;
        this.trace({ kind: 'power-lost', message: e.message });
        return null;
      }
      throw e;
    }
  }

  get isPowered(): boolean {
    return this.powered;
  }

  /** Power-on: journal recovery, caches dropped, every system in Mode 0. */
  powerOn(): { replayed: number; erased: number } {
    this.endSession();
    this.iso.reset();
    this.accessKeys.clear();
    this.modes.fill(CardMode.mode0);
    this.powered = false;
    try {
      const r = this.eeprom.powerOn();
      this.powered = true;
      return r;
    } catch (e) {
      if (e instanceof PowerLostError) {
        this.trace({ kind: 'power-lost', message: e.message });
        return { replayed: 0, erased: 0 };
      }
      throw e;
    }
  }

  powerOff(): void {
    this.powered = false;
    this.iso.reset();
    this.endSession();
    this.accessKeys.clear();
    this.modes.fill(CardMode.mode0);
  }

  mode(system: number): number {
    return this.modes[system] ?? CardMode.mode0;
  }

  setMode(system: number, mode: number): void {
    this.modes[system] = mode;
  }

  resetMode(system: number): void {
    this.modes[system] = CardMode.mode0;
    if (this.session?.system === system) this.endSession();
  }

  endSession(): void {
    const s = this.session;
    if (!s) return;
    this.modes[s.system] = CardMode.mode0;
    dropSession(s);
    this.session = undefined;
  }

  private trace(event: CardTraceEvent): void {
    this.onTrace?.(event);
  }

  /** Answers one FeliCa frame (LEN ‖ code ‖ ...), or returns null for silence. */
  felica(frame: Uint8Array): Uint8Array | null {
    if (!(frame instanceof Uint8Array)) throw new TypeError('frame must be a Uint8Array');
    if (!this.powered) return null;
    // Silence: LEN differs from the frame's length, or the frame cannot hold LEN and a code.
    if (frame.length < 2 || frame[0] !== frame.length) return null;
    try {
      const code = frame[1]!;
      if (code === C.polling.code) return plain.polling(this, frame);
      const handler = ADDRESSED.get(code);
      if (!handler || frame.length < 10) return null;
      const view = this.fs.systemByIdm(frame, 2);
      if (!view) return null;
      return handler(this, view, frame);
    } catch (e) {
      if (e instanceof PowerLostError) {
        this.powered = false;
        this.trace({ kind: 'power-lost', message: e.message });
        return null;
      }
      this.trace({
        kind: 'unexpected-error',
        message: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
      });
      return null;
    }
  }
}
