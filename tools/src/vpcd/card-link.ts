// The card's end of a vpcd link (interop.md 3.2): connects to vpcd (server mode), answers power events,
// ATR requests and APDUs, and reconnects after a loss; a card is anything with the VpcdCard shape.
import { connect, type Socket } from 'node:net';
import { encodeVpcdMessage, VpcdMessageReader, vpcdRequest } from '@mica/apdu-specs/vpcd';

/** What the link needs of a card. Power events have no reply; an APDU always gets one. */
export interface VpcdCard {
  powerOn(): void;
  powerOff(): void;
  /** Warm reset: volatile state cleared, power kept. */
  reset(): void;
  readonly isPowered: boolean;
  atr(): Uint8Array;
  /** Response data ‖ SW1 SW2; must not throw (the caller turns a throw into 6F00 anyway). */
  apdu(command: Uint8Array): Promise<Uint8Array>;
}

export type LinkEvent =
  | { readonly kind: 'connected'; readonly address: string }
  | { readonly kind: 'disconnected'; readonly reason: string }
  | { readonly kind: 'control'; readonly name: 'power-off' | 'power-on' | 'reset' }
  | { readonly kind: 'unknown-control'; readonly code: number }
  | { readonly kind: 'empty-message' }
  | { readonly kind: 'implicit-power-on' }
  | { readonly kind: 'card-error'; readonly message: string };

export interface VpcdLinkOptions {
  readonly host: string;
  readonly port: number;
  /** Pause between connection attempts. */
  readonly retryMs: number;
  /** Give up when no connection succeeds for this long (at start and after each loss). */
  readonly connectTimeoutMs: number;
  readonly onEvent?: (event: LinkEvent) => void;
}

/** Status word of an internal error: the dispatcher always answers (interop.md 3.2). */
const SW_INTERNAL = Uint8Array.of(0x6f, 0x00);

export class ConnectTimeoutError extends Error {
  override readonly name = 'ConnectTimeoutError';
}

export class VpcdCardLink {
  private socket: Socket | undefined;
  private stopping = false;
  private queue: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private finish: ((e?: Error) => void) | undefined;

  constructor(
    private readonly card: VpcdCard,
    private readonly options: VpcdLinkOptions,
  ) {
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)
      throw new RangeError(`port must be 1-65535, got ${options.port}`);
    if (!(options.retryMs > 0)) throw new RangeError(`retryMs must be positive, got ${options.retryMs}`);
    if (!(options.connectTimeoutMs >= 0))
      throw new RangeError(`connectTimeoutMs must be 0 or more, got ${options.connectTimeoutMs}`);
  }

  /** Runs until stop() (resolves) or until no connection succeeds within the timeout (rejects). */
  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.finish = (e) => {
        this.finish = undefined;
        if (e) reject(e);
        else resolve();
      };
      this.attempt(Date.now() + this.options.connectTimeoutMs);
    });
  }

  /** Closes the socket (vpcd reports the card removed) and ends run(). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const s = this.socket;
    this.socket = undefined;
    await this.queue;
    if (s && !s.destroyed) await new Promise<void>((r) => s.end(r));
    s?.destroy();
    this.finish?.();
  }

  private emit(event: LinkEvent): void {
    this.options.onEvent?.(event);
  }

  private attempt(deadline: number): void {
    if (this.stopping) return;
    const { host, port } = this.options;
    const s = connect({ host, port });
    s.setNoDelay(true);
    let connected = false;
    s.once('connect', () => {
      connected = true;
      this.socket = s;
      this.emit({ kind: 'connected', address: `${host}:${port}` });
      const reader = new VpcdMessageReader();
      s.on('data', (chunk: Buffer) => {
        for (const m of reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)))
          this.queue = this.queue.then(() => this.handle(s, m));
      });
    });
    s.once('error', () => {
      // 'close' follows and decides what happens next.
    });
    s.once('close', () => {
      if (this.socket === s) this.socket = undefined;
      if (this.stopping) return;
      if (connected) {
        this.emit({ kind: 'disconnected', reason: 'vpcd closed the connection' });
        this.queue = this.queue.then(() => this.powerOffQuietly());
        this.attempt(Date.now() + this.options.connectTimeoutMs);
        return;
      }
      if (Date.now() >= deadline) {
        this.finish?.(
          new ConnectTimeoutError(
            `no vpcd accepted a connection on ${host}:${port} within ${this.options.connectTimeoutMs / 1000} s`,
          ),
        );
        return;
      }
      this.retryTimer = setTimeout(() => this.attempt(deadline), this.options.retryMs);
    });
  }

  private powerOffQuietly(): void {
    try {
      if (this.card.isPowered) this.card.powerOff();
    } catch (e) {
      this.emit({ kind: 'card-error', message: (e as Error).message });
    }
  }

  private async handle(s: Socket, payload: Uint8Array): Promise<void> {
    const req = vpcdRequest(payload);
    let reply: Uint8Array | undefined;
    try {
      switch (req.kind) {
        case 'empty':
          this.emit({ kind: 'empty-message' });
          break;
        case 'unknown-control':
          this.emit({ kind: 'unknown-control', code: req.code });
          break;
        case 'control':
          if (req.name === 'get-atr') reply = this.card.atr();
          else {
            this.emit({ kind: 'control', name: req.name });
            if (req.name === 'power-off') this.card.powerOff();
            else if (req.name === 'power-on') this.card.powerOn();
            else this.card.reset();
          }
          break;
        case 'apdu':
          if (!this.card.isPowered) {
            this.emit({ kind: 'implicit-power-on' });
            this.card.powerOn();
          }
          reply = await this.card.apdu(req.apdu);
          if (reply.length < 2) throw new Error(`the card answered ${reply.length} bytes, no status word`);
          break;
      }
    } catch (e) {
      this.emit({ kind: 'card-error', message: (e as Error).message });
      // An APDU always gets an answer; a failed ATR read gets none (vpcd then sees the card removed).
      if (req.kind === 'apdu') reply = SW_INTERNAL;
    }
    if (reply === undefined || s.destroyed) return;
    let message: Uint8Array;
    try {
      message = encodeVpcdMessage(reply);
    } catch (e) {
      this.emit({ kind: 'card-error', message: (e as Error).message });
      message = encodeVpcdMessage(SW_INTERNAL);
    }
    s.write(message);
  }
}
