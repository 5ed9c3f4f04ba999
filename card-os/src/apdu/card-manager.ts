// The card manager applet (AID and commands in apdu-specs applet-kinds): installs and deletes registry
// applets after issuance, inside an SM session authenticated to the target area.
import { CARD_MANAGER, SW_AID_EXISTS, appletKindName } from '@mica/apdu-specs/apdu/applet-kinds';
import type { CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { isSecureMessaging } from '@mica/apdu-specs/apdu/command-apdu';
import type { PlainCommand } from '@mica/apdu-specs/apdu/secure-messaging';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { ROOT_AREA } from '@mica/apdu-specs/node-code';
import { SF2 } from '@mica/apdu-specs/status-flags';
import { appletRegistry, deleteApplet, grantShare, registerApplet } from '../fs/applet-registry';
import { FsError } from '../fs/fs-error';
import type { FileSystem } from '../fs/fs';
import { fciOf, ok, type Applet, type ApduResponse, type AppletContext } from './applet';
import { AuthenticateService, type ApduSession } from './authenticate';
import { IsoError } from './iso-error';

function sessionNamesArea(fs: FileSystem, s: ApduSession, system: number, area: number): boolean {
  if (s.system !== system || !s.nodes.includes(area)) return false;
  return fs.system(system)?.byCode.get(area)?.kind === 'area';
}

function fsToIso(e: unknown): never {
  if (e instanceof FsError) {
    if (e.sf2 === SF2.NODE_EXISTS) throw new IsoError(SW_AID_EXISTS);
    if (e.sf2 === SF2.NO_SUCH_NODE) throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
    throw new IsoError(SW.NOT_ENOUGH_MEMORY, e.message);
  }
  if (e instanceof RangeError) throw new IsoError(SW.WRONG_DATA, e.message);
  throw e;
}

export class CardManager implements Applet {
  readonly aid = Uint8Array.from(CARD_MANAGER.aid);
  private readonly auth = new AuthenticateService((_ctx, p2) => ({ system: p2, area: ROOT_AREA }), {
    systemInP2: true,
  });

  select(ctx: AppletContext): Uint8Array {
    this.auth.end(ctx);
    return fciOf(this.aid);
  }

  deselect(ctx: AppletContext): void {
    this.auth.end(ctx);
  }

  process(apdu: CommandApdu, ctx: AppletContext): ApduResponse {
    if (this.auth.handles(apdu)) return this.auth.process(apdu, ctx);
    if ((apdu.cla & 0x80) === 0) throw new IsoError(SW.INS_NOT_SUPPORTED);
    const handler = this.handlers.get(apdu.ins);
    if (!handler) throw new IsoError(SW.INS_NOT_SUPPORTED);
    if (!isSecureMessaging(apdu.cla)) throw new IsoError(SW.SECURITY_STATUS);
    return this.auth.protect(apdu, ctx, (cmd, s) => handler(cmd, s, ctx));
  }

  private readonly handlers = new Map<
    number,
    (cmd: PlainCommand, s: ApduSession, ctx: AppletContext) => ApduResponse
  >([
    [CARD_MANAGER.insInstall, (cmd, s, ctx) => this.install(cmd, s, ctx)],
    [CARD_MANAGER.insDelete, (cmd, s, ctx) => this.delete(cmd, s, ctx)],
    [CARD_MANAGER.insGrant, (cmd, s, ctx) => this.grant(cmd, s, ctx)],
  ]);

  private install(cmd: PlainCommand, s: ApduSession, ctx: AppletContext): ApduResponse {
    const d = cmd.data;
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
    if (d.length < 4 || d.length !== 4 + d[3]!) throw new IsoError(SW.WRONG_DATA);
    const kind = d[0]!;
    const area = (d[1]! << 8) | d[2]!;
    const aid = d.slice(4);
    if (appletKindName(kind) === undefined || appletKindName(kind) === 'card-manager')
      throw new IsoError(SW.WRONG_DATA);
    if (!sessionNamesArea(ctx.card.fs, s, s.system, area)) throw new IsoError(SW.SECURITY_STATUS);
    if (aid.length >= 5 && aid.every((x, i) => x === this.aid[i]) && aid.length === this.aid.length)
      throw new IsoError(SW_AID_EXISTS);
    try {
      registerApplet(ctx.card.fs, { kind, system: s.system, area, aid });
    } catch (e) {
      fsToIso(e);
    }
    return ok();
  }

  /**
   * GRANT: the applets of the grantee area may read `service`. The session must name an area that
   * holds the service (its owner or an ancestor): only the service's key holder shares it.
   */
  private grant(cmd: PlainCommand, s: ApduSession, ctx: AppletContext): ApduResponse {
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
    const d = cmd.data;
    if (d.length !== CARD_MANAGER.grantLength) throw new IsoError(SW.WRONG_LENGTH);
    const service = (d[0]! << 8) | d[1]!;
    const grantee = (d[2]! << 8) | d[3]!;
    const view = ctx.card.fs.system(s.system);
    const node = view?.byCode.get(service);
    const area = view?.byCode.get(grantee);
    if (!node || node.kind !== 'service' || !area || area.kind !== 'area')
      throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
    if (service >= area.code && service <= area.end) throw new IsoError(SW.WRONG_DATA);
    const holds = s.nodes.some((code) => {
      const a = view?.byCode.get(code);
      return a?.kind === 'area' && service >= a.code && service <= a.end;
    });
    if (!holds) throw new IsoError(SW.SECURITY_STATUS);
    try {
      grantShare(ctx.card.fs, { system: s.system, service, granteeArea: grantee });
    } catch (e) {
      fsToIso(e);
    }
    return ok();
  }

  private delete(cmd: PlainCommand, s: ApduSession, ctx: AppletContext): ApduResponse {
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
    const entry = appletRegistry(ctx.card.fs).find(
      (e) => e.aid.length === cmd.data.length && e.aid.every((x, i) => x === cmd.data[i]),
    );
    if (!entry) throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
    if (!sessionNamesArea(ctx.card.fs, s, entry.system, entry.area)) throw new IsoError(SW.SECURITY_STATUS);
    try {
      deleteApplet(ctx.card.fs, entry.aid);
    } catch (e) {
      fsToIso(e);
    }
    return ok();
  }
}
