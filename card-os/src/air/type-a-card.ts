// The card side of ISO/IEC 14443-3 Type A (rf.md §4.2, §9.3): IDLE / READY / ACTIVE / HALT states, REQA and
// WUPA → ATQA, bit-oriented anticollision per cascade level, SELECT → SAK, HLTA, RATS → ATS, then ISO-DEP.
//
// mica's reading of the state rules (both ends are mica; tests pin them): a frame received with a CRC,
// parity or coding error is ignored without a state change; a valid but unexpected frame sends READY and
// ACTIVE back to IDLE (HALT when the card was woken from HALT); REQA/WUPA are answered in READY and
// ACTIVE too (a reader restarting activation after an error), WUPA also in HALT.
import { parseAts } from '@mica/apdu-specs/rf/activation';
import { isFrameError } from '@mica/apdu-specs/rf/frame-error';
import { frameSize } from '@mica/apdu-specs/rf/iso-dep';
import {
  anticollisionAnswer,
  crcAOk,
  HLTA,
  REQA,
  SAK_UID_INCOMPLETE,
  SEL_CODES,
  uidCascadeLevels,
  withCrcA,
  WUPA,
} from '@mica/apdu-specs/rf/type-a';
import type { AirAnswer, ReceivedAirFrame } from '@mica/apdu-specs/rf/endpoint';
import type { Iso14443Identity } from '../fs/manufacture';
import { IsoDepCard, type IsoDepApplication } from './iso-dep-card';

type State = 'idle' | 'ready' | 'active' | 'halt' | 'protocol';

export class TypeACard {
  private state: State = 'idle';
  /** The card was woken from HALT: an error sends it back to HALT rather than IDLE. */
  private fromHalt = false;
  private level = 0;
  private isoDep: IsoDepCard | null = null;

  constructor(
    private readonly identity: () => Iso14443Identity,
    private readonly app: IsoDepApplication,
  ) {}

  /** Field off or on: back to IDLE. */
  reset(): void {
    this.state = 'idle';
    this.fromHalt = false;
    this.level = 0;
    this.isoDep = null;
  }

  get currentState(): State {
    return this.state;
  }

  private fallBack(): null {
    this.state = this.fromHalt ? 'halt' : 'idle';
    this.isoDep = null;
    return null;
  }

  receive(frame: ReceivedAirFrame): AirAnswer | null {
    if (!frame.parityOk || frame.codingError || frame.crc === 'bad') return null;
    const { bytes } = frame;
    const id = this.identity();
    if (frame.bitsInLastByte === 7 && bytes.length === 1) {
      const cmd = bytes[0]!;
      if (cmd !== REQA && cmd !== WUPA) return this.state === 'protocol' ? null : this.fallBack();
      if (this.state === 'protocol' || (this.state === 'halt' && cmd === REQA)) return null;
      if (this.state === 'halt') this.fromHalt = true;
      else if (this.state === 'idle') this.fromHalt = false;
      this.state = 'ready';
      this.level = 0;
      return { bytes: id.atqa.slice(), bitsInLastByte: 8 };
    }
    switch (this.state) {
      case 'idle':
      case 'halt':
        return null;
      case 'ready':
        return this.ready(frame, id);
      case 'active':
        return this.active(frame, id);
      case 'protocol':
        return this.protocol(frame);
    }
  }

  private ready(frame: ReceivedAirFrame, id: Iso14443Identity): AirAnswer | null {
    const { bytes } = frame;
    const levels = uidCascadeLevels(id.uid);
    const uidCl = levels[this.level]!;
    if (bytes.length < 2 || bytes[0] !== SEL_CODES[this.level]) return this.fallBack();
    const nvb = bytes[1]!;
    if (nvb === 0x70 && bytes.length === 9 && frame.bitsInLastByte === 8) {
      if (!crcAOk(bytes)) return this.fallBack();
      for (let i = 0; i < 5; i++) if (bytes[2 + i] !== uidCl[i]) return this.fallBack();
      if (this.level < levels.length - 1) {
        this.level += 1;
        return { bytes: withCrcA(Uint8Array.of(SAK_UID_INCOMPLETE)) };
      }
      this.state = 'active';
      return { bytes: withCrcA(Uint8Array.of(id.sak & ~SAK_UID_INCOMPLETE)) };
    }
    // Anticollision: NVB = whole bytes (SEL and NVB included) << 4 | extra bits.
    const whole = (nvb >>> 4) - 2;
    const extra = nvb & 0x0f;
    const known = whole * 8 + extra;
    if (whole < 0 || extra > 7 || known >= 40) return this.fallBack();
    const expectLen = 2 + whole + (extra > 0 ? 1 : 0);
    if (
      bytes.length !== expectLen ||
      (extra > 0 ? frame.bitsInLastByte !== extra : frame.bitsInLastByte !== 8)
    )
      return this.fallBack();
    // Only a card whose UID starts with the known bits answers; the others stay in READY, silent.
    for (let k = 0; k < known; k++) {
      const sent = (bytes[2 + (k >>> 3)]! >>> (k & 7)) & 1;
      if (sent !== ((uidCl[k >>> 3]! >>> (k & 7)) & 1)) return null;
    }
    const answer = anticollisionAnswer(uidCl, known);
    return answer.firstBit === undefined
      ? { bytes: answer.bytes }
      : { bytes: answer.bytes, firstBit: answer.firstBit };
  }

  private active(frame: ReceivedAirFrame, id: Iso14443Identity): AirAnswer | null {
    const { bytes } = frame;
    if (frame.crc !== 'ok') return this.fallBack();
    if (bytes.length === 4 && bytes[0] === HLTA[0] && bytes[1] === HLTA[1]) {
      this.state = 'halt';
      this.fromHalt = false;
      return null;
    }
    if (bytes.length === 4 && bytes[0] === 0xe0) {
      const fsdi = bytes[1]! >>> 4;
      const cid = bytes[1]! & 0x0f;
      if (cid === 0x0f) return this.fallBack();
      const ats = parseAts(id.ats);
      const fwi = isFrameError(ats) ? 4 : ats.fwi;
      const cidSupported = isFrameError(ats) ? false : ats.cidSupported;
      this.isoDep = new IsoDepCard(
        'a',
        frameSize(Math.min(fsdi, 8)),
        cidSupported ? cid : undefined,
        fwi,
        this.app,
      );
      this.state = 'protocol';
      return { bytes: withCrcA(id.ats) };
    }
    return this.fallBack();
  }

  private protocol(frame: ReceivedAirFrame): AirAnswer | null {
    if (frame.crc !== 'ok' || this.isoDep === null) return null;
    const answer = this.isoDep.receive(frame.bytes);
    if (this.isoDep.halted) {
      this.state = 'halt';
      this.fromHalt = false;
      this.isoDep = null;
    }
    return answer;
  }
}
