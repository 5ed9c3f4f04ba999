// The in-process transport: a card object in the same process (the `sim:` target).

import { TransportError, type Transport } from './transport';

/** What the transport needs of a card: card-os's Card has this shape. */
export interface InProcessCard {
  felica(frame: Uint8Array): Uint8Array | null;
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

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
