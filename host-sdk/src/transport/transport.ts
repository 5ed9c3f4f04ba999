// The one interface through which the host SDK reaches a card, and its error kinds (house-style.md).

import { redactApdu } from '@mica/apdu-specs/apdu/redact';

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
  /**
   * Sends a command APDU; resolves with response data ‖ SW1 SW2 (at least 2 bytes). An ISO 7816 card
   * always answers, so no answer is a failure, not a value: an unpowered or removed card rejects with
   * kind `link-lost`, a card that does not answer in time with kind `timeout`.
   */
  apdu(command: Uint8Array): Promise<Uint8Array>;
  /** The answer-to-reset, where the link has one (PC/SC, in-process). */
  atr?(): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Wraps a transport so that every frame and APDU in both directions reaches `tracer`. */
export interface TraceOptions {
  /** Show PIN data (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER) instead of FF bytes. */
  readonly secrets?: boolean;
}

export function traced(inner: Transport, tracer: Tracer, options: TraceOptions = {}): Transport {
  const t: Transport = {
    description: inner.description,
    async felica(frame) {
      tracer({ interface: 'felica', direction: 'command', bytes: frame });
      const r = await inner.felica(frame);
      tracer({ interface: 'felica', direction: 'response', bytes: r });
      return r;
    },
    async apdu(command) {
      tracer({
        interface: 'apdu',
        direction: 'command',
        bytes: options.secrets ? command : redactApdu(command),
      });
      let r: Uint8Array;
      try {
        r = await inner.apdu(command);
      } catch (e) {
        // A lost link or a timeout shows in the trace as silence before the error propagates.
        tracer({ interface: 'apdu', direction: 'response', bytes: null });
        throw e;
      }
      tracer({ interface: 'apdu', direction: 'response', bytes: r });
      return r;
    },
    close: () => inner.close(),
  };
  const atr = inner.atr?.bind(inner);
  return atr ? { ...t, atr } : t;
}
