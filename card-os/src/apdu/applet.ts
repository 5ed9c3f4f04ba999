// The small interface every card-resident applet implements (house-style.md: select, process,
// deselect); the runtime hands it a context that reaches only what the firewall allows.
import type { CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import type { CardContext } from '../dispatch/context';

export interface ApduResponse {
  readonly data: Uint8Array;
  readonly sw: number;
}

export interface AppletContext {
  readonly card: CardContext;
  /** The logical channel the command arrived on. */
  readonly channel: number;
}

export interface Applet {
  readonly aid: Uint8Array;
  /** Called on SELECT; throw IsoError to refuse. Returns the FCI (may be empty). */
  select(ctx: AppletContext): Uint8Array;
  process(apdu: CommandApdu, ctx: AppletContext): ApduResponse;
  /** Called when another applet is selected on the channel, the channel closes, or power is lost. */
  deselect(ctx: AppletContext): void;
}

/** The FCI every applet answers to SELECT: 6F ‖ len ‖ 84 ‖ len ‖ AID. */
export function fciOf(aid: Uint8Array): Uint8Array {
  return Uint8Array.of(0x6f, 2 + aid.length, 0x84, aid.length, ...aid);
}

export function ok(data: Uint8Array = new Uint8Array(0)): ApduResponse {
  return { data, sw: 0x9000 };
}
