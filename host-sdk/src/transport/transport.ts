// The one interface through which the host SDK reaches a card, and its error kinds (house-style.md).

export type TransportErrorKind = 'timeout' | 'transmission' | 'protocol' | 'link-lost' | 'closed';

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface TraceEvent {
  readonly interface: 'felica' | 'apdu';
  readonly direction: 'command' | 'response';
  /** null: the card stayed silent. */
  readonly bytes: Uint8Array | null;
}

export type Tracer = (event: TraceEvent) => void;

export interface Transport {
  readonly description: string;
  /** Sends a FeliCa frame (LEN ‖ code ‖ …, no preamble or CRC); resolves with the answer, or null for silence. */
  felica(frame: Uint8Array): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

/** Wraps a transport so that every frame in both directions reaches `tracer`. */
export function traced(inner: Transport, tracer: Tracer): Transport {
  return {
    description: inner.description,
    async felica(frame) {
      tracer({ interface: 'felica', direction: 'command', bytes: frame });
      const r = await inner.felica(frame);
      tracer({ interface: 'felica', direction: 'response', bytes: r });
      return r;
    },
    close: () => inner.close(),
  };
}
