// The cards a vpcd link can present: a mica card image (saved at every power-off) and the echo card,
// the trivial reference of the bench's round-trip row.
import type { Card } from '@mica/card-os/card';
import type { Eeprom } from '@mica/card-os/hal/eeprom';
import { saveImageFile } from '@mica/card-os/hal/image-file';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
import { traced, type Tracer, type Transport } from '@mica/host-sdk/transport/transport';
import type { VpcdCard } from './card-link';

export interface ServedImageOptions {
  /** The card of the image; its power state is driven by the link. */
  readonly card: Card;
  readonly eeprom: Eeprom;
  /** Where the image is saved at every power-off; undefined: never saved. */
  readonly path?: string;
  /** Replaces the ATR derived from the card's ATS (`--atr`). */
  readonly atr?: Uint8Array;
  /** Receives each APDU and answer (PIN data masked, as host-sdk's `traced` does). */
  readonly tracer?: Tracer;
}

/** A mica card behind a vpcd link. */
export class ServedImage implements VpcdCard {
  private readonly transport: Transport;

  constructor(private readonly o: ServedImageOptions) {
    const inner = new InProcessTransport(o.card, o.path ? `vpcd-card:${o.path}` : 'vpcd-card');
    this.transport = o.tracer ? traced(inner, o.tracer) : inner;
  }

  get isPowered(): boolean {
    return this.o.card.isPowered;
  }

  powerOn(): void {
    this.o.card.powerOn();
  }

  /** Volatile state is reset (and session keys wiped) by Card.powerOff; the image is saved. */
  powerOff(): void {
    this.o.card.powerOff();
    this.save();
  }

  reset(): void {
    this.o.card.powerOff();
    this.o.card.powerOn();
  }

  atr(): Uint8Array {
    return this.o.atr ?? this.o.card.atr();
  }

  apdu(command: Uint8Array): Promise<Uint8Array> {
    return this.transport.apdu(command);
  }

  save(): void {
    if (this.o.path !== undefined) saveImageFile(this.o.path, this.o.eeprom);
  }
}

/** The ATR of a contactless card without historical bytes (interop.md 3.2). */
export const ECHO_ATR = Uint8Array.of(0x3b, 0x80, 0x80, 0x01, 0x01);

/** Answers every APDU with the APDU itself ‖ 9000: the cheapest card a reader can talk to. */
export class EchoCard implements VpcdCard {
  private powered = false;

  get isPowered(): boolean {
    return this.powered;
  }

  powerOn(): void {
    this.powered = true;
  }

  powerOff(): void {
    this.powered = false;
  }

  reset(): void {
    this.powered = true;
  }

  atr(): Uint8Array {
    return ECHO_ATR;
  }

  apdu(command: Uint8Array): Promise<Uint8Array> {
    const out = new Uint8Array(command.length + 2);
    out.set(command, 0);
    out[command.length] = 0x90;
    return Promise.resolve(out);
  }
}
