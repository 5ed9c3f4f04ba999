// The JSONL trace records of rf.md §11.1: every frame on air, every APDU and FeliCa exchange, and the field
// events, as transports emit them through their tracer hook. The pcap writer is one consumer.

export interface WireEvent {
  /** µs: since field on (rf:, simulated), or as the consumer's clock gives (other targets). */
  readonly t: number;
  /** tx = reader→card. */
  readonly dir: 'tx' | 'rx';
  readonly layer: 'air' | 'apdu' | 'felica' | 'event';
  readonly tech?: 'a' | 'b' | 'f';
  /**
   * Lowercase hex. air: the bytes as on air (Type A/B the whole frame with its CRC; Type F LEN..CRC after the
   * sync); felica: LEN ‖ code ‖ …; apdu: the APDU or response data ‖ SW; event: the ATR for `atr`, else empty.
   */
  readonly hex: string;
  readonly crc?: 'ok' | 'bad' | 'none';
  /** layer event: what happened. */
  readonly event?: 'field-on' | 'field-off' | 'atr';
  /** air, card→reader: the receiver found no frame start (such frames are only in the JSONL trace). */
  readonly lost?: boolean;
  /** air, Type A: bits of the last byte when not 8 (short and split frames). */
  readonly bits?: number;
}

export type WireTracer = (event: WireEvent) => void;
