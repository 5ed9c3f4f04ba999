// The in-process card's frame endpoint (rf.md §10.3): what the radio simulator talks to. It powers the chip
// with the field and routes each decoded reader frame to the card's Type A, Type B or Type F framing layer,
// which decides silence and builds the complete answer, CRC included.
import type { AirAnswer, AirTech, ReceivedAirFrame, RfCardEndpoint } from '@mica/apdu-specs/rf/endpoint';
import type { Iso14443Identity } from '../fs/manufacture';
import { SeededRandom, type RandomSource } from '../random';
import type { IsoDepApplication } from './iso-dep-card';
import { TypeACard } from './type-a-card';
import { TypeBCard } from './type-b-card';
import { TypeFCard } from './type-f-card';

/** What the endpoint needs of a chip: card-os's Card has this shape. */
export interface AirCard {
  felica(frame: Uint8Array): Uint8Array | null;
  apdu(command: Uint8Array): Uint8Array | null;
  identity(): Iso14443Identity;
  powerOn(): unknown;
  powerOff(): void;
  readonly isPowered: boolean;
}

export interface FrameEndpointOptions {
  /** The technologies the card answers (default all three). */
  readonly techs?: readonly AirTech[];
  /**
   * The card's generator for FeliCa Polling time slots (card-side randomness, rf.md §6.5). Default: a seeded
   * generator of its own (seed 0), separate from the card's random source so that slot draws never shift
   * the challenges of a transcript.
   */
  readonly slotRandom?: RandomSource;
  /** The chip's processing time per command in carrier cycles (rf.md §8.3); default none (0). */
  readonly processingFc?: (tech: AirTech, command: Uint8Array) => number;
}

export class CardFrameEndpoint implements RfCardEndpoint {
  readonly techs: readonly AirTech[];
  private readonly a: TypeACard;
  private readonly b: TypeBCard;
  private readonly f: TypeFCard;

  constructor(
    private readonly card: AirCard,
    options: FrameEndpointOptions = {},
  ) {
    this.techs = Object.freeze([...(options.techs ?? (['a', 'b', 'f'] as const))]);
    const processing = options.processingFc ?? (() => 0);
    const identity = (): Iso14443Identity => card.identity();
    const app = (tech: AirTech): IsoDepApplication => ({
      apdu: (command) => card.apdu(command),
      processingFc: (command) => processing(tech, command),
    });
    this.a = new TypeACard(identity, app('a'));
    this.b = new TypeBCard(identity, app('b'));
    this.f = new TypeFCard(
      { felica: (frame) => card.felica(frame), processingFc: (frame) => processing('f', frame) },
      options.slotRandom ?? new SeededRandom(0),
    );
  }

  get powered(): boolean {
    return this.card.isPowered;
  }

  /** On: power-on (recovery, every volatile state dropped); off: power-off. Both reset the framing layers. */
  field(on: boolean): void {
    this.a.reset();
    this.b.reset();
    this.card.powerOff();
    if (on) this.card.powerOn();
  }

  receive(tech: AirTech, frame: ReceivedAirFrame): AirAnswer | null {
    if (!this.techs.includes(tech) || !this.card.isPowered) return null;
    switch (tech) {
      case 'a':
        return this.a.receive(frame);
      case 'b':
        return this.b.receive(frame);
      case 'f':
        return this.f.receive(frame);
    }
  }

  /** The Type A and Type B states (for tests and reports). */
  get states(): { a: string; b: string } {
    return { a: this.a.currentState, b: this.b.currentState };
  }
}
