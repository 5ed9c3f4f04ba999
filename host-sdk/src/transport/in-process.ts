// The in-process transport: a card object in the same process (the `sim:` target).

import { TransportError, type Transport } from './transport';

/** What the transport needs of a card: card-os's Card has this shape. */
export interface InProcessCard {
  felica(frame: Uint8Array): Uint8Array | null;
  /** Response data ‖ SW1 SW2, or null when the card is unpowered (or lost power during the command). */
  apdu(command: Uint8Array): Uint8Array | null;
  atr(): Uint8Array;
}

export class InProcessTransport implements Transport {
  private closed = false;

  constructor(
    private readonly card: InProcessCard,
    readonly description = 'sim:in-process',
  ) {}

  felica(frame: Uint8Array): Promise<Uint8Array | null> {
    if (this.closed) return Promise.reject(new TransportError('closed', 'the transport is closed'));
    return Promise.resolve(this.card.felica(frame));
  }

  /** An unpowered card gives no answer at all: that is `link-lost` (the card left the field). */
  apdu(command: Uint8Array): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TransportError('closed', 'the transport is closed'));
    if (!(command instanceof Uint8Array))
      return Promise.reject(new TypeError('command must be a Uint8Array'));
    const r = this.card.apdu(command);
    if (r === null) return Promise.reject(new TransportError('link-lost', 'the card is not powered'));
    if (r.length < 2)
      return Promise.reject(new TransportError('protocol', 'answer shorter than a status word'));
    return Promise.resolve(r);
  }

  atr(): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TransportError('closed', 'the transport is closed'));
    return Promise.resolve(this.card.atr());
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
