// What the bank and credit applets answer alike: the FCI of SELECT and the SM commands of their own token store.
import { BANK_CREDIT } from '@mica/apdu-specs/apdu/bank-credit';
import type { PlainCommand } from '@mica/apdu-specs/apdu/secure-messaging';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { ok, type ApduResponse } from '../apdu/applet';
import type { BlockWriteRequest } from '../apdu/applet-firewall';
import { IsoError } from '../apdu/iso-error';
import {
  listEntries,
  parsePut,
  placeToken,
  putWrites,
  readEnvelope,
  type TokenStore,
  type UsedMarks,
} from './token-store';

/**
 * The commands of a token store that run under SM (bank, and the credit applet's own store); `used`
 * names tokens marked used elsewhere (the credit applet's marks, when granted to the bank area).
 */
export function storeCommand(
  cmd: PlainCommand,
  store: () => TokenStore,
  write: (writes: readonly BlockWriteRequest[]) => void,
  used: UsedMarks = () => false,
): ApduResponse {
  switch (cmd.ins) {
    case BANK_CREDIT.putToken: {
      if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
      const t = parsePut(cmd.data);
      const s = store();
      const place = placeToken(s, t, t.today, used);
      if (!place.noop) write(putWrites(s, place.slot, t));
      return ok(Uint8Array.of(place.slot));
    }
    case BANK_CREDIT.listTokens:
      if (cmd.p1 !== 0 || cmd.p2 !== BANK_CREDIT.storeOwn) throw new IsoError(SW.WRONG_P1P2);
      return ok(listEntries(store(), used));
    case BANK_CREDIT.getToken:
      if (cmd.p2 !== BANK_CREDIT.storeOwn) throw new IsoError(SW.WRONG_P1P2);
      return ok(readEnvelope(store(), cmd.p1));
    default:
      throw new IsoError(SW.INS_NOT_SUPPORTED);
  }
}
