// The `tcp:<host>:<port>` transport: a card served by `mica serve tcp`, spoken to in the framing of
// ./tcp-framing.ts. One exchange at a time; a lost connection fails the pending exchange and every
// later one with `link-lost`. Exchanges are never re-sent (a secure command must not be: flows.md
// 1.4); only establishing the connection follows the injected retry policy.
import { Socket } from 'node:net';
import {
  TCP_KIND,
  TcpFramingError,
  TcpMessageReader,
  encodeTcpMessage,
  type TcpMessage,
} from './tcp-framing';
import { noRetry, realSleep, withRetry, type RetryPolicy, type Sleep } from './retry';
import { TransportError, type Transport } from './transport';

export interface TcpTransportOptions {
  /** Time allowed for connecting and for each answer, ms (default 5000). */
  readonly timeoutMs?: number;
  /** Retries of the connection attempt (default: none). */
  readonly retry?: RetryPolicy;
  readonly sleep?: Sleep;
  /** Power the card on right after connecting and keep its ATR (default true). */
  readonly powerOn?: boolean;
}

interface Pending {
  readonly kind: number;
  resolve(m: TcpMessage): void;
  reject(e: TransportError): void;
}

export class TcpTransport implements Transport {
  readonly description: string;
  private readonly reader = new TcpMessageReader();
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private failure: TransportError | undefined;
  private lastAtr: Uint8Array | undefined;

  private constructor(
    private readonly socket: Socket,
    host: string,
    port: number,
    private readonly timeoutMs: number,
  ) {
    this.description = `tcp:${host}:${port}`;
    socket.on('data', (chunk: Uint8Array) =>
      this.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
    );
    socket.on('error', (e) =>
      this.fail(new TransportError('link-lost', `connection to ${this.description} failed: ${e.message}`)),
    );
    socket.on('close', () =>
      this.fail(new TransportError('link-lost', `${this.description} closed the connection`)),
    );
  }

  /** Connects (retrying as `retry` says) and, unless `powerOn: false`, powers the card on. */
  static async connect(host: string, port: number, options: TcpTransportOptions = {}): Promise<TcpTransport> {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new RangeError(`port must be 1-65535, got ${port}`);
    const timeoutMs = options.timeoutMs ?? 5000;
    const socket = await withRetry(
      options.retry ?? noRetry,
      () => connectSocket(host, port, timeoutMs),
      options.sleep ?? realSleep,
    );
    const t = new TcpTransport(socket, host, port, timeoutMs);
    if (options.powerOn ?? true) {
      try {
        await t.powerOn();
      } catch (e) {
        socket.destroy();
        throw e;
      }
    }
    return t;
  }

  async felica(frame: Uint8Array): Promise<Uint8Array | null> {
    if (!(frame instanceof Uint8Array)) throw new TypeError('frame must be a Uint8Array');
    const r = await this.exchange(TCP_KIND.felica, frame);
    return r.length === 0 ? null : r;
  }

  /** An answer of the kind byte alone means the card is unpowered or lost power: `link-lost`. */
  async apdu(command: Uint8Array): Promise<Uint8Array> {
    if (!(command instanceof Uint8Array)) throw new TypeError('command must be a Uint8Array');
    const r = await this.exchange(TCP_KIND.apdu, command);
    if (r.length === 0) throw new TransportError('link-lost', 'the card is not powered');
    if (r.length < 2) throw new TransportError('protocol', 'answer shorter than a status word');
    return r;
  }

  /** Powers the card on (a reset if it was on) and returns its ATR. */
  async powerOn(): Promise<Uint8Array> {
    this.lastAtr = await this.exchange(TCP_KIND.powerOn, new Uint8Array(0));
    return this.lastAtr;
  }

  async powerOff(): Promise<void> {
    const r = await this.exchange(TCP_KIND.powerOff, new Uint8Array(0));
    if (r.length !== 0)
      throw new TransportError('protocol', `power-off answered with ${r.length} unexpected bytes`);
    this.lastAtr = undefined;
  }

  /** The ATR of the last power-on; powers the card on if this connection has not yet. */
  async atr(): Promise<Uint8Array> {
    return this.lastAtr ?? (await this.powerOn());
  }

  close(): Promise<void> {
    if (this.failure?.kind !== 'closed')
      this.failure = new TransportError('closed', 'the transport is closed');
    this.pending?.reject(this.failure);
    this.pending = undefined;
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.end(() => resolve());
      this.socket.destroySoon();
    });
  }

  /** One request/answer pair, after every earlier one has finished. */
  private exchange(kind: number, payload: Uint8Array): Promise<Uint8Array> {
    const run = (): Promise<Uint8Array> =>
      new Promise<TcpMessage>((resolve, reject) => {
        if (this.failure) return reject(this.failure);
        const timer = setTimeout(() => {
          this.pending = undefined;
          // The answer may still come later and would be taken for the next one's: the link is unusable.
          this.fail(
            new TransportError('timeout', `${this.description} did not answer within ${this.timeoutMs} ms`),
          );
          reject(
            new TransportError('timeout', `${this.description} did not answer within ${this.timeoutMs} ms`),
          );
        }, this.timeoutMs);
        this.pending = {
          kind,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        this.socket.write(encodeTcpMessage(kind, payload));
      }).then((m) => m.payload);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private onData(chunk: Uint8Array): void {
    let messages: TcpMessage[];
    try {
      messages = this.reader.push(chunk);
    } catch (e) {
      const why = e instanceof TcpFramingError ? e.message : String(e);
      this.fail(new TransportError('protocol', `${this.description} sent a malformed message: ${why}`));
      this.socket.destroy();
      return;
    }
    for (const m of messages) {
      const p = this.pending;
      this.pending = undefined;
      if (!p) {
        this.fail(
          new TransportError(
            'protocol',
            `${this.description} sent a message nobody asked for (kind ${m.kind})`,
          ),
        );
        this.socket.destroy();
        return;
      }
      if (m.kind !== p.kind) {
        const e = new TransportError(
          'protocol',
          `answer of kind ${hex2(m.kind)} to a message of kind ${hex2(p.kind)}`,
        );
        this.fail(e);
        this.socket.destroy();
        p.reject(e);
        return;
      }
      p.resolve(m);
    }
  }

  private fail(e: TransportError): void {
    this.failure ??= e;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(this.failure);
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function connectSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new TransportError('timeout', `connecting to tcp:${host}:${port} took longer than ${timeoutMs} ms`),
      );
    }, timeoutMs);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(new TransportError('link-lost', `cannot connect to tcp:${host}:${port}: ${e.message}`));
    });
    socket.connect(port, host, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
