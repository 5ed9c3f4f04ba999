// The card side of the FeliCa physical layer (rf.md §4.1, §8.6): a frame with a good CRC goes to the
// card's FeliCa dispatch; the answer gets its CRC; a Polling answer waits for the time slot the card picks
// from its own slot generator (uniform in 0..TSN).
import { crcFelica } from '@mica/apdu-specs/crc';
import type { AirAnswer, ReceivedAirFrame } from '@mica/apdu-specs/rf/endpoint';
import type { RandomSource } from '../random';
import { pollingSlotStartFc } from '../rf/timing';

export interface FelicaApplication {
  felica(frame: Uint8Array): Uint8Array | null;
  processingFc(frame: Uint8Array): number;
}

export class TypeFCard {
  constructor(
    private readonly app: FelicaApplication,
    private readonly slots: RandomSource,
  ) {}

  /** A slot uniform in 0..tsn (tsn + 1 is a power of two for the TSN values of rf.md §8.6). */
  private pickSlot(tsn: number): number {
    const n = Math.min(tsn, 0x0f) + 1;
    const b = new Uint8Array(1);
    this.slots.fill(b);
    return b[0]! % n;
  }

  receive(frame: ReceivedAirFrame): AirAnswer | null {
    if (frame.codingError || frame.crc !== 'ok') return null;
    const len = frame.bytes[0] ?? 0;
    if (len < 2 || frame.bytes.length !== len + 2) return null;
    const payload = frame.bytes.slice(0, len);
    const answer = this.app.felica(payload);
    if (answer === null) return null;
    const c = crcFelica(answer);
    const bytes = Uint8Array.of(...answer, c >>> 8, c & 0xff);
    if (payload[1] === 0x00 && payload.length === 6) {
      const slot = this.pickSlot(payload[5]!);
      return { bytes, slot, processingFc: pollingSlotStartFc(slot) };
    }
    const processingFc = this.app.processingFc(payload);
    return processingFc > 0 ? { bytes, processingFc } : { bytes };
  }
}
