// The PN532's side of the serial line (interop.md 6.2): frames in, ACK then the answer frame out. A host ACK
// (libnfc aborting a command) is consumed; a host NACK asks for the last answer again; frames with a bad
// checksum and frames not addressed to the PN532 (TFI other than D4) are dropped.
import {
  encodePn532Frame,
  PN532,
  PN532_ACK,
  PN532_ERROR_FRAME,
  Pn532FrameReader,
} from '@mica/apdu-specs/pn532';
import type { Pn532Emulator } from './emulator';

export type LineEvent =
  | { readonly kind: 'command'; readonly data: Uint8Array }
  | { readonly kind: 'answer'; readonly data: Uint8Array | null }
  | { readonly kind: 'host-ack' }
  | { readonly kind: 'host-nack' }
  | { readonly kind: 'dropped'; readonly reason: string };

export class Pn532Line {
  private readonly reader = new Pn532FrameReader();
  private last: Uint8Array | undefined;

  constructor(
    private readonly pn532: Pn532Emulator,
    private readonly write: (bytes: Uint8Array) => void,
    private readonly onEvent: (e: LineEvent) => void = () => {},
  ) {}

  /** Feeds bytes read from the line; answers every complete command before returning. */
  push(chunk: Uint8Array): void {
    for (const e of this.reader.push(chunk)) {
      if (e.kind === 'ack') {
        this.onEvent({ kind: 'host-ack' });
        continue;
      }
      if (e.kind === 'nack') {
        this.onEvent({ kind: 'host-nack' });
        if (this.last) this.write(this.last);
        continue;
      }
      if (e.kind === 'bad-checksum') {
        this.onEvent({ kind: 'dropped', reason: 'bad data checksum (DCS)' });
        continue;
      }
      if (e.tfi !== PN532.tfiHost) {
        this.onEvent({ kind: 'dropped', reason: `TFI ${e.tfi.toString(16)} is not the host's D4` });
        continue;
      }
      this.onEvent({ kind: 'command', data: e.data });
      const answer = this.pn532.command(e.data);
      this.onEvent({ kind: 'answer', data: answer });
      this.write(PN532_ACK);
      this.last = answer ? encodePn532Frame(PN532.tfiPn532, answer) : PN532_ERROR_FRAME;
      this.write(this.last);
    }
  }
}
