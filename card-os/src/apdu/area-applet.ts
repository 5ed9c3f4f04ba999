// An applet that owns one area and opens AUTHENTICATE sessions to it (security.md 6): its AID and scope
// from the registry entry, the FCI on SELECT, and SELECT / DESELECT ending any session of the channel.
import type { CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { fciOf, type ApduResponse, type Applet, type AppletContext } from './applet';
import type { AppletScope } from './applet-scope';
import { AuthenticateService } from './authenticate';
import type { AppletEntry } from '../fs/applet-registry';

export abstract class AreaApplet implements Applet {
  readonly aid: Uint8Array;
  protected readonly scope: AppletScope;
  protected readonly auth: AuthenticateService;

  constructor(entry: AppletEntry) {
    this.aid = entry.aid.slice();
    this.scope = { system: entry.system, area: entry.area };
    this.auth = new AuthenticateService(() => this.scope);
  }

  select(ctx: AppletContext): Uint8Array {
    this.auth.end(ctx);
    return fciOf(this.aid);
  }

  deselect(ctx: AppletContext): void {
    this.auth.end(ctx);
  }

  abstract process(apdu: CommandApdu, ctx: AppletContext): ApduResponse;
}
