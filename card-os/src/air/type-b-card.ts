// The card side of ISO/IEC 14443-3 Type B (rf.md §4.3): IDLE / READY / ACTIVE / HALT, REQB and WUPB (N = 1)
// → ATQB, ATTRIB → answer and ISO-DEP, HLTB → 00. The card's AFI is 00 (no application family), so it
// answers REQB/WUPB with AFI 00 only. Frames with a CRC or framing error are ignored without a state change.
import { atqbFrame, attribAnswer } from '@mica/apdu-specs/rf/activation';
import { frameSize } from '@mica/apdu-specs/rf/iso-dep';
import { withCrcB } from '@mica/apdu-specs/rf/type-b';
import type { AirAnswer, ReceivedAirFrame } from '@mica/apdu-specs/rf/endpoint';
import type { Iso14443Identity } from '../fs/manufacture';
import { IsoDepCard, type IsoDepApplication } from './iso-dep-card';

type State = 'idle' | 'ready' | 'active' | 'halt';

function samePupi(bytes: Uint8Array, at: number, pupi: Uint8Array): boolean {
  for (let i = 0; i < 4; i++) if (bytes[at + i] !== pupi[i]) return false;
  return true;
}

export class TypeBCard {
  private state: State = 'idle';
  private isoDep: IsoDepCard | null = null;

  constructor(
    private readonly identity: () => Iso14443Identity,
    private readonly app: IsoDepApplication,
  ) {}

  reset(): void {
    this.state = 'idle';
    this.isoDep = null;
  }

  get currentState(): State {
    return this.state;
  }

  receive(frame: ReceivedAirFrame): AirAnswer | null {
    if (frame.codingError || frame.crc !== 'ok') return null;
    const { bytes } = frame;
    const id = this.identity();
    const body = bytes.length - 2;
    // REQB / WUPB: 05 AFI PARAM
    if (body === 3 && bytes[0] === 0x05) {
      const wakeUp = (bytes[2]! & 0x08) !== 0;
      if (bytes[1] !== 0x00 || (bytes[2]! & 0x07) !== 0) return null;
      if (this.state === 'active' || (this.state === 'halt' && !wakeUp)) return null;
      this.state = 'ready';
      return { bytes: atqbFrame(id.pupi, id.appData, id.protInfo) };
    }
    // HLTB: 50 PUPI
    if (body === 5 && bytes[0] === 0x50 && samePupi(bytes, 1, id.pupi)) {
      if (this.state !== 'ready' && this.state !== 'active') return null;
      this.state = 'halt';
      this.isoDep = null;
      return { bytes: withCrcB(Uint8Array.of(0x00)) };
    }
    // ATTRIB: 1D PUPI Param1 Param2 Param3 Param4 [INF]
    if (body >= 9 && bytes[0] === 0x1d && this.state === 'ready') {
      if (!samePupi(bytes, 1, id.pupi)) return null;
      const fsdi = bytes[6]! & 0x0f;
      const cid = bytes[8]! & 0x0f;
      const p3 = id.protInfo[2] ?? 0;
      const cidSupported = (p3 & 0x01) !== 0;
      if (cid !== 0 && !cidSupported) return null;
      this.isoDep = new IsoDepCard(
        'b',
        frameSize(Math.min(fsdi, 8)),
        cidSupported ? cid : undefined,
        p3 >>> 4,
        this.app,
      );
      this.state = 'active';
      return { bytes: attribAnswer(cidSupported ? cid : 0, 0) };
    }
    if (this.state !== 'active' || this.isoDep === null) return null;
    const answer = this.isoDep.receive(bytes);
    if (this.isoDep.halted) {
      this.state = 'halt';
      this.isoDep = null;
    }
    return answer;
  }
}
