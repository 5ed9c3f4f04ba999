// The `pcsc:` transport (interop.md 4.5): a PC/SC reader through pcscd, on the npm `smartcard` package.
// That package is an optional dependency built against libpcsclite; it is loaded only when a pcsc:
// transport opens, so everything else works without it. FeliCa frames go through the FeliCa bridge.
import { FelicaOverApduTransport } from '../apdu/felica-over-apdu';
import { TransportError, type Transport, type TransportErrorKind } from './transport';

/** The part of `smartcard`'s low-level API this transport uses (declared here: the package is optional). */
export interface PcscModule {
  readonly Context: new () => PcscContext;
  readonly SCARD_SHARE_SHARED: number;
  readonly SCARD_PROTOCOL_T0: number;
  readonly SCARD_PROTOCOL_T1: number;
  readonly SCARD_LEAVE_CARD: number;
  readonly SCARD_STATE_PRESENT: number;
}

export interface PcscContext {
  listReaders(): PcscReader[];
  close(): void;
}

export interface PcscReader {
  readonly name: string;
  readonly state: number;
  connect(shareMode: number, protocol: number): Promise<PcscCard>;
}

export interface PcscCard {
  readonly protocol: number;
  readonly atr: Uint8Array | null;
  transmit(command: Uint8Array, options?: { maxRecvLength?: number }): Promise<Uint8Array>;
  disconnect(disposition?: number): void;
}

/** The package name, in a variable so that type checking never needs the optional package. */
const PACKAGE = 'smartcard';

/**
 * Loads the native PC/SC binding. Fails with a `closed` TransportError naming what to install when the
 * package is absent (its build needs Debian's libpcsclite-dev, g++, make and python3).
 */
export async function loadPcscModule(): Promise<PcscModule> {
  try {
    const m = (await import(PACKAGE)) as { default?: PcscModule } & Partial<PcscModule>;
    const mod = (m.Context ? m : m.default) as PcscModule | undefined;
    if (!mod?.Context) throw new Error('the module has no Context');
    return mod;
  } catch (e) {
    throw new TransportError(
      'closed',
      `the npm package "smartcard" (PC/SC) is not available: ${(e as Error).message.split('\n')[0]}. ` +
        'Install Debian libpcsclite-dev (with g++, make, python3), then run npm rebuild smartcard ' +
        '(or npm install, if npm ci left the optional package out)',
    );
  }
}

/** Maps the binding's PC/SC error strings (pcsc-lite's texts) onto the transport error kinds. */
export function pcscErrorKind(message: string): TransportErrorKind {
  if (/service not running|service stopped|no readers available|unknown reader/i.test(message))
    return 'closed';
  if (/card was removed|no smart card|reader unavailable|unpowered|was reset|unresponsive/i.test(message))
    return 'link-lost';
  if (/timed out/i.test(message)) return 'timeout';
  if (/insufficient buffer|protocol mismatch|invalid/i.test(message)) return 'protocol';
  return 'transmission';
}

function wrapError(e: unknown, what: string): TransportError {
  if (e instanceof TransportError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new TransportError(pcscErrorKind(message), `${what}: ${message}`);
}

export interface PcscOpenOptions {
  /** The binding; default: the `smartcard` package, loaded now. Tests inject a stand-in. */
  readonly module?: PcscModule;
  /** Largest answer accepted (data + SW); default 65 538, an extended-length answer. */
  readonly maxResponseLength?: number;
}

export class PcscTransport implements Transport {
  readonly description: string;
  private closed = false;
  private readonly bridge: FelicaOverApduTransport;

  private constructor(
    private readonly mod: PcscModule,
    private readonly context: PcscContext,
    private readonly card: PcscCard,
    readonly readerName: string,
    private readonly maxResponseLength: number,
  ) {
    this.description = `pcsc:${readerName}`;
    this.bridge = new FelicaOverApduTransport({
      description: this.description,
      felica: () => Promise.reject(new TransportError('protocol', 'no FeliCa link under the bridge')),
      apdu: (c) => this.apdu(c),
      close: () => Promise.resolve(),
    });
  }

  /**
   * Opens `readerName` exactly, or (undefined / empty) the first reader with a card present: context,
   * connect shared with T=0 or T=1. PCSCLITE_CSOCK_NAME must already be in the environment.
   */
  static async open(readerName?: string, options: PcscOpenOptions = {}): Promise<PcscTransport> {
    const mod = options.module ?? (await loadPcscModule());
    let context: PcscContext;
    try {
      context = new mod.Context();
    } catch (e) {
      throw wrapError(e, 'PC/SC context');
    }
    try {
      let readers: PcscReader[];
      try {
        readers = context.listReaders();
      } catch (e) {
        throw wrapError(e, 'listing PC/SC readers');
      }
      const names = readers.map((r) => r.name);
      let reader: PcscReader | undefined;
      if (readerName) {
        reader = readers.find((r) => r.name === readerName);
        if (!reader)
          throw new TransportError(
            'closed',
            `no PC/SC reader named "${readerName}" (readers: ${names.length ? names.map((n) => `"${n}"`).join(', ') : 'none'})`,
          );
      } else {
        reader = readers.find((r) => (r.state & mod.SCARD_STATE_PRESENT) !== 0);
        if (!reader)
          throw new TransportError(
            'link-lost',
            `no PC/SC reader has a card (readers: ${names.length ? names.map((n) => `"${n}"`).join(', ') : 'none'})`,
          );
      }
      let card: PcscCard;
      try {
        card = await reader.connect(mod.SCARD_SHARE_SHARED, mod.SCARD_PROTOCOL_T0 | mod.SCARD_PROTOCOL_T1);
      } catch (e) {
        throw wrapError(e, `connecting to "${reader.name}"`);
      }
      return new PcscTransport(mod, context, card, reader.name, options.maxResponseLength ?? 65_538);
    } catch (e) {
      context.close();
      throw e;
    }
  }

  async apdu(command: Uint8Array): Promise<Uint8Array> {
    if (this.closed) throw new TransportError('closed', 'the transport is closed');
    if (!(command instanceof Uint8Array)) throw new TypeError('command must be a Uint8Array');
    if (command.length < 4) throw new RangeError(`an APDU has at least 4 bytes, got ${command.length}`);
    let r: Uint8Array;
    try {
      r = await this.card.transmit(command, { maxRecvLength: this.maxResponseLength });
    } catch (e) {
      throw wrapError(e, `${this.description}`);
    }
    if (r.length < 2) throw new TransportError('protocol', 'answer shorter than a status word');
    // The binding answers a Node Buffer; the SDK hands out plain Uint8Arrays.
    return Uint8Array.prototype.slice.call(r);
  }

  atr(): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TransportError('closed', 'the transport is closed'));
    const a = this.card.atr;
    if (!a || a.length === 0)
      return Promise.reject(new TransportError('link-lost', `${this.description}: no ATR`));
    return Promise.resolve(Uint8Array.prototype.slice.call(a));
  }

  felica(frame: Uint8Array): Promise<Uint8Array | null> {
    return this.bridge.felica(frame);
  }

  /** Disconnects leaving the card as it is, then releases the context. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    try {
      this.card.disconnect(this.mod.SCARD_LEAVE_CARD);
    } catch {
      // the card may already be gone; the context is released anyway
    }
    this.context.close();
    return Promise.resolve();
  }
}
