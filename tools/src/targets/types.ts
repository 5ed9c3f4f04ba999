// Card targets (cli.md "Card targets"): a string names the card a command talks to; an opener turns
// it into a host-sdk Transport. Each scheme lives in its own module and is listed in ./index.ts.
import type { Transport } from '@mica/host-sdk/transport/transport';
import type { RandomSource } from '@mica/card-os/random';
import type { RfCardEndpoint } from '@mica/apdu-specs/rf/endpoint';
import type { WireTracer } from '@mica/host-sdk/transport/wire-trace';

export interface TargetOptions {
  /** Seed of the card's random source (sim: targets, also inside rf:). */
  readonly random?: RandomSource;
  /** Cut the power after the N-th EEPROM byte write of the session (sim: targets, also inside rf:). */
  readonly powerCutAfterBytes?: number;
  /** Receives the target's JSONL trace records where it produces them (rf:, rf.md §11.1). */
  readonly onWire?: WireTracer;
  /**
   * sim: targets (also inside rf:): fsync the image when closing saves it (default true). `mica run`
   * passes false for the images of an in-memory run, in a temporary folder it removes afterwards.
   */
  readonly durableImage?: boolean;
}

export interface OpenedTarget {
  readonly transport: Transport;
  /** The card's frame endpoint, for targets whose card is in this process (the radio simulator wraps it). */
  readonly endpoint?: RfCardEndpoint;
  /** Ends the session: powers the card off and saves its image where the target owns one. */
  close(): Promise<void>;
}

/** Opens the part of a target after `<scheme>:`; throws UsageError naming what is wrong. */
export type TargetOpener = (rest: string, options: TargetOptions) => Promise<OpenedTarget>;
