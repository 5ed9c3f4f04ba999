// A refusal raised anywhere below the dispatcher, carrying its FeliCa status flags; the dispatcher is
// the one place that turns it into a response.
import { SF1_GENERAL } from '@mica/apdu-specs/status-flags';

export class FsError extends Error {
  override readonly name = 'FsError';
  constructor(
    readonly sf2: number,
    message: string,
    readonly sf1: number = SF1_GENERAL,
  ) {
    super(message);
  }
}
