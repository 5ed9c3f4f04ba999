// The card manager's host side (apdu-specs applet-kinds CARD_MANAGER): AUTHENTICATE to an area of a
// system (P2 = system number), then INSTALL, DELETE and GRANT under secure messaging.
import { CARD_MANAGER, appletKindCode } from '@mica/apdu-specs/apdu/applet-kinds';
import type { ApduClient } from '../apdu/apdu-client';
import type { ApduResponse } from '../apdu/apdu-response';
import type { AppletAuthResult, LocalAppletKeys } from './applet-keys';

const be16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];

function code(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`${what} must be a 16-bit node code`);
  return n;
}

function aidOf(aid: Uint8Array): Uint8Array {
  if (!(aid instanceof Uint8Array) || aid.length < 5 || aid.length > 16)
    throw new RangeError('an AID is 5 to 16 bytes');
  return aid;
}

export class CardManagerClient {
  private sm: ApduClient | undefined;
  readonly aid = Uint8Array.from(CARD_MANAGER.aid);

  constructor(private readonly client: ApduClient) {}

  select(): Promise<ApduResponse> {
    this.sm = undefined;
    return this.client.select(this.aid);
  }

  /** AUTHENTICATE with the keys of an area (or of several nodes) of system number `system`. */
  async authenticate(keys: LocalAppletKeys, system: number): Promise<AppletAuthResult> {
    if (!Number.isInteger(system) || system < 0 || system > 15) throw new RangeError('system must be 0-15');
    this.sm = undefined;
    const r = await keys.authenticate(this.client, system);
    if (r.ok) this.sm = r.client;
    return r;
  }

  private secure(ins: number, data: Uint8Array): Promise<ApduResponse> {
    if (!this.sm?.secureMessagingActive) throw new Error('no secure messaging session: AUTHENTICATE first');
    return this.sm.send({ cla: CARD_MANAGER.cla, ins, p1: 0, p2: 0, data });
  }

  /** INSTALL an applet of `kind` (an APPLET_KINDS name) owning `area`, which the session names. */
  install(kind: string, area: number, aid: Uint8Array): Promise<ApduResponse> {
    const a = aidOf(aid);
    return this.secure(
      CARD_MANAGER.insInstall,
      Uint8Array.of(appletKindCode(kind), ...be16(code(area, 'area')), a.length, ...a),
    );
  }

  /** DELETE the applet `aid`: its area's service data and keys are zeroed, its grants revoked. */
  delete(aid: Uint8Array): Promise<ApduResponse> {
    return this.secure(CARD_MANAGER.insDelete, aidOf(aid));
  }

  /** GRANT: the applets of area `to` may read `service`, which lies in an area the session names. */
  grant(service: number, to: number): Promise<ApduResponse> {
    return this.secure(
      CARD_MANAGER.insGrant,
      Uint8Array.of(...be16(code(service, 'service')), ...be16(code(to, 'grantee area'))),
    );
  }
}
