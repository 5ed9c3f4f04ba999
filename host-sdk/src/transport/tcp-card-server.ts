// The card side of the `tcp:` framing (`mica serve tcp`): serves one card to one client at a time.
// A client's connection is the card's presence in the field: the card is powered off when the
// connection ends, and `onIdle` runs (the CLI saves the image there). A second client connecting while
// one is served is closed at once (the card is in one field only). A malformed message or an unknown
// kind closes that connection; nothing is sent to the card.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TCP_KIND, TcpMessageReader, encodeTcpMessage, type TcpMessage } from './tcp-framing';

/** What the server needs of a card: card-os's Card has this shape. */
export interface ServedCard {
  felica(frame: Uint8Array): Uint8Array | null;
  apdu(command: Uint8Array): Uint8Array | null;
  atr(): Uint8Array;
  powerOn(): unknown;
  powerOff(): void;
}

export interface TcpCardServerOptions {
  /** After each client leaves and the card is powered off. */
  readonly onIdle?: () => void;
  /** A line of news for the operator (connections, refusals, malformed input). */
  readonly log?: (line: string) => void;
}

export class TcpCardServer {
  private readonly server: Server;
  private client: Socket | undefined;

  constructor(
    private readonly card: ServedCard,
    private readonly options: TcpCardServerOptions = {},
  ) {
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Starts listening; port 0 picks a free port. Resolves with the bound address. */
  listen(port: number, host = '127.0.0.1'): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stops listening and drops the client, if any (the card is powered off). */
  close(): Promise<void> {
    this.client?.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private accept(socket: Socket): void {
    const who = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.client) {
      this.log(`refused ${who}: the card is in use by another client`);
      socket.destroy();
      return;
    }
    this.client = socket;
    socket.setNoDelay(true);
    this.log(`client ${who} connected`);
    const reader = new TcpMessageReader();
    socket.on('data', (chunk: Uint8Array) => {
      let messages: TcpMessage[];
      try {
        messages = reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (e) {
        this.log(`closing ${who}: ${(e as Error).message}`);
        socket.destroy();
        return;
      }
      for (const m of messages) {
        const answer = this.answer(m);
        if (answer === null) {
          this.log(`closing ${who}: unknown message kind ${m.kind.toString(16).padStart(2, '0')}`);
          socket.destroy();
          return;
        }
        socket.write(encodeTcpMessage(m.kind, answer));
      }
    });
    socket.on('error', (e) => this.log(`client ${who}: ${e.message}`));
    socket.on('close', () => {
      this.client = undefined;
      this.card.powerOff();
      this.log(`client ${who} left; card powered off`);
      this.options.onIdle?.();
    });
  }

  /** The answer payload (empty = silence), or null for a kind this server does not know. */
  private answer(m: TcpMessage): Uint8Array | null {
    switch (m.kind) {
      case TCP_KIND.felica:
        return this.card.felica(m.payload) ?? new Uint8Array(0);
      case TCP_KIND.apdu:
        return this.card.apdu(m.payload) ?? new Uint8Array(0);
      case TCP_KIND.powerOff:
        this.card.powerOff();
        return new Uint8Array(0);
      case TCP_KIND.powerOn:
        this.card.powerOff();
        this.card.powerOn();
        return this.card.atr();
      default:
        return null;
    }
  }
}
