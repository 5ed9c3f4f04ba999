// A FeliCa transport over the ISO 7816 interface: each frame travels in the FeliCa-bridge APDU (interop.md 2).
import { FELICA_BRIDGE } from '@mica/apdu-specs/apdu/iso-commands';
import { SW, swName } from '@mica/apdu-specs/apdu/status-words';
import { TransportError, type Transport } from '../transport/transport';
import { ApduClient } from './apdu-client';

/**
 * Carries FeliCa frames as `80 FE 00 00 Lc frame 00`: `9000` brings the answer frame, `6400` is the
 * card's silence (null); any other status word is a `protocol` error. APDUs pass straight through, so
 * an existing FelicaClient runs over a PC/SC-style link unchanged.
 */
export class FelicaOverApduTransport implements Transport {
  readonly description: string;
  private readonly client: ApduClient;

  constructor(readonly inner: Transport | ApduClient) {
    // The bridge CLA is exactly 80: channel 0 whatever channel a given client uses.
    this.client = inner instanceof ApduClient ? inner.onChannel(0) : new ApduClient(inner);
    this.description = `felica-bridge:${this.client.transport.description}`;
  }

  async felica(frame: Uint8Array): Promise<Uint8Array | null> {
    if (!(frame instanceof Uint8Array)) throw new TypeError('frame must be a Uint8Array');
    if (frame.length < 1 || frame.length > 255)
      throw new RangeError(`frame must be 1-255 bytes, got ${frame.length}`);
    const r = await this.client.send({
      ...FELICA_BRIDGE,
      data: frame,
      ne: 256,
      name: 'FeliCa bridge',
    });
    if (r.sw === SW.NO_ANSWER) return null;
    if (r.sw !== SW.OK)
      throw new TransportError(
        'protocol',
        `FeliCa bridge: SW ${r.sw.toString(16).padStart(4, '0')} (${swName(r.sw)})`,
      );
    return r.data;
  }

  apdu(command: Uint8Array): Promise<Uint8Array> {
    return this.client.transport.apdu(command);
  }

  atr(): Promise<Uint8Array> {
    const t = this.client.transport;
    if (!t.atr) return Promise.reject(new TransportError('protocol', `${t.description} has no ATR`));
    return t.atr();
  }

  close(): Promise<void> {
    return this.client.transport.close();
  }
}
