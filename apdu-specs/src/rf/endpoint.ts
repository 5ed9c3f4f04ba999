// The card frame endpoint (rf.md §10.3): the structural interface through which the radio simulator talks
// to a card model. The in-process card implements it (card-os `CardFrameEndpoint`); the `rf:` transport
// uses it without importing the card.

export type AirTech = 'a' | 'b' | 'f';

/** A reader frame as the card's demodulator decoded it. */
export interface ReceivedAirFrame {
  /** As decoded, CRC bytes included (Type F: LEN..CRC after the sync word). */
  readonly bytes: Uint8Array;
  /** 7 for short frames, the valid bits of a split last byte, otherwise 8. */
  readonly bitsInLastByte: number;
  readonly crc: 'ok' | 'bad' | 'none';
  /** Every parity bit was right (Type A; true for the others). */
  readonly parityOk: boolean;
  /** A coding violation, a framing error or a truncated frame (the card cannot accept it). */
  readonly codingError?: boolean;
  /** When the frame started, in carrier cycles since field on. */
  readonly atFc: number;
}

/** The card's complete answer: the simulator codes, transmits and times it. */
export interface AirAnswer {
  /** As on air, CRC included (Type F: LEN..data ‖ CRC, high byte first). */
  readonly bytes: Uint8Array;
  /** Type A: bits of the last byte sent (split anticollision answers end on a whole byte, so 8). */
  readonly bitsInLastByte?: number;
  /** Type A: low bits of the first byte the reader already sent (the answer to a split anticollision frame). */
  readonly firstBit?: number;
  /** The card's processing time: the answer starts at max(turnaround, processingFc) after the command. */
  readonly processingFc?: number;
  /** Type F Polling: the time slot the card picked (the answer then starts at that slot, rf.md §8.6). */
  readonly slot?: number;
}

export interface RfCardEndpoint {
  readonly techs: readonly AirTech[];
  /** Field on: the card powers up (recovery); off: volatile state is lost (selected app, auth, FeliCa mode). */
  field(on: boolean): void;
  /** Answers one frame, or returns null to stay silent. */
  receive(tech: AirTech, frame: ReceivedAirFrame): AirAnswer | null;
  /** Whether the chip is powered (false after a power cut); the simulator then reports a lost link. */
  readonly powered?: boolean;
}
