// The `vpcd:` transport (cli.md "Card targets"): the host takes vpcd's place. It listens, a card such as
// `mica serve vpcd` connects, and APDUs, power events and ATR requests travel in the vpcd protocol
// (interop.md 3.1). FeliCa frames go through the FeliCa-bridge APDU.
import { createServer, type Server, type Socket } from 'node:net';
import { encodeVpcdMessage, VPCD, VpcdMessageReader, vpcdControlMessage } from '@mica/apdu-specs/vpcd';
import { FelicaOverApduTransport } from '../apdu/felica-over-apdu';
import { TransportError, type Transport } from './transport';

export interface VpcdListenOptions {
  /** Default 127.0.0.1: nothing listens beyond loopback unless asked. */
  readonly host?: string;
  /** Default 35963 (vpcd slot 0); 0 picks a free port (see `port`). */
  readonly port?: number;
  /** How long to wait for a card to connect; default 30 s. */
  readonly acceptTimeoutMs?: number;
  /** How long one APDU or ATR request may wait for its answer; default 10 s. */
  readonly responseTimeoutMs?: number;
  /** Called once the socket listens, with the port (useful with port 0). */
  readonly onListening?: (port: number) => void;
}

interface Pending {
  readonly resolve: (b: Uint8Array) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class VpcdTransport implements Transport {
  readonly description: string;
  private readonly pending: Pending[] = [];
  private lost: TransportError | undefined;
  private closed = false;
  private readonly bridge: FelicaOverApduTransport;

  private constructor(
    private readonly server: Server,
    private readonly socket: Socket,
    private readonly responseTimeoutMs: number,
    address: string,
  ) {
    this.description = `vpcd:${address}`;
    this.bridge = new FelicaOverApduTransport({
      description: this.description,
      felica: () => Promise.reject(new TransportError('protocol', 'no FeliCa link under the bridge')),
      apdu: (c) => this.apdu(c),
      close: () => Promise.resolve(),
    });
    const reader = new VpcdMessageReader();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const m of reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length))) {
        const p = this.pending.shift();
        if (!p) continue; // a card never speaks first; an unasked message is dropped
        clearTimeout(p.timer);
        p.resolve(m);
      }
    });
    socket.on('error', () => {
      // 'close' follows.
    });
    socket.on('close', () => {
      this.lost ??= new TransportError('link-lost', 'the card closed the vpcd connection');
      for (const p of this.pending.splice(0)) {
        clearTimeout(p.timer);
        p.reject(this.lost);
      }
    });
  }

  /** Listens, waits for one card to connect, powers it on. */
  static listen(options: VpcdListenOptions = {}): Promise<VpcdTransport> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? VPCD.basePort;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      return Promise.reject(new RangeError(`port must be 0-65535, got ${port}`));
    const acceptTimeoutMs = options.acceptTimeoutMs ?? 30_000;
    const responseTimeoutMs = options.responseTimeoutMs ?? 10_000;
    return new Promise<VpcdTransport>((resolve, reject) => {
      const server = createServer();
      server.maxConnections = 1;
      const timer = setTimeout(() => {
        server.close();
        reject(
          new TransportError(
            'timeout',
            `no card connected to ${host}:${port} within ${acceptTimeoutMs / 1000} s`,
          ),
        );
      }, acceptTimeoutMs);
      server.once('error', (e) => {
        clearTimeout(timer);
        reject(new TransportError('closed', `cannot listen on ${host}:${port}: ${e.message}`));
      });
      server.once('connection', (socket) => {
        clearTimeout(timer);
        const t = new VpcdTransport(server, socket, responseTimeoutMs, `${host}:${port}`);
        socket.write(vpcdControlMessage('power-on'));
        resolve(t);
      });
      server.listen(port, host, () => {
        const a = server.address();
        options.onListening?.(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  private request(payload: Uint8Array, what: string): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TransportError('closed', 'the transport is closed'));
    if (this.lost) return Promise.reject(this.lost);
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The link is out of step after a missing answer: treat it as lost.
        this.lost = new TransportError('timeout', `no answer to ${what} within ${this.responseTimeoutMs} ms`);
        reject(this.lost);
        this.socket.destroy();
      }, this.responseTimeoutMs);
      this.pending.push({ resolve, reject, timer });
      this.socket.write(payload);
    });
  }

  async apdu(command: Uint8Array): Promise<Uint8Array> {
    if (!(command instanceof Uint8Array)) throw new TypeError('command must be a Uint8Array');
    // One byte would read as a control byte (interop.md 3.1); real APDUs have at least 4.
    if (command.length < 4) throw new RangeError(`an APDU has at least 4 bytes, got ${command.length}`);
    const r = await this.request(encodeVpcdMessage(command), 'an APDU');
    if (r.length < 2) throw new TransportError('protocol', 'answer shorter than a status word');
    return r;
  }

  async atr(): Promise<Uint8Array> {
    const r = await this.request(vpcdControlMessage('get-atr'), 'the ATR request');
    if (r.length === 0) throw new TransportError('link-lost', 'the card gave an empty ATR (removed)');
    return r;
  }

  felica(frame: Uint8Array): Promise<Uint8Array | null> {
    return this.bridge.felica(frame);
  }

  /** Powers the card off (it saves its image) and closes the link. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.lost && !this.socket.destroyed) {
      await new Promise<void>((r) => this.socket.end(vpcdControlMessage('power-off'), r));
    }
    this.socket.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
