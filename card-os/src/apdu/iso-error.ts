// A status word thrown from anywhere inside an applet; the dispatcher is the one place that answers it.
import { swName } from '@mica/apdu-specs/apdu/status-words';

export class IsoError extends Error {
  override readonly name = 'IsoError';
  constructor(
    readonly sw: number,
    message = swName(sw),
  ) {
    super(message);
  }
}
