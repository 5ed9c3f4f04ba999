// The e-money applet (kind emoney, seed 001): GET BALANCE, READ LOG and AMOUNT CHANGE under SM over the FeliCa purse and log.
import { AMOUNT_KIND, EMONEY } from '@mica/apdu-specs/apdu/emoney-settlement';
import type { CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { isSecureMessaging } from '@mica/apdu-specs/apdu/command-apdu';
import type { PlainCommand } from '@mica/apdu-specs/apdu/secure-messaging';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import type { PurseBlock } from '@mica/apdu-specs/eeprom-records';
import { ok, type ApduResponse, type AppletContext } from '../apdu/applet';
import type { ApduSession } from '../apdu/authenticate';
import { AreaApplet } from '../apdu/area-applet';
import { IsoError } from '../apdu/iso-error';
import type { AppletFactory } from '../apdu/runtime';
import type { AppletEntry } from '../fs/applet-registry';
import {
  applyValueChange,
  purseTarget,
  readLog,
  readPurse,
  sessionCovers,
  type PurseConfig,
  type PurseTarget,
} from './purse-ops';

function balanceAnswer(p: PurseBlock): Uint8Array {
  const b = p.balance;
  return Uint8Array.of(
    b >>> 24,
    (b >>> 16) & 0xff,
    (b >>> 8) & 0xff,
    b & 0xff,
    p.executionId >> 8,
    p.executionId & 0xff,
  );
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((t, p) => t + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const u32 = (d: Uint8Array, i: number): number =>
  ((d[i]! << 24) | (d[i + 1]! << 16) | (d[i + 2]! << 8) | d[i + 3]!) >>> 0;
const u16 = (d: Uint8Array, i: number): number => (d[i]! << 8) | d[i + 1]!;

export class EmoneyApplet extends AreaApplet {
  constructor(
    entry: AppletEntry,
    private readonly config: PurseConfig = {},
  ) {
    super(entry);
  }

  process(apdu: CommandApdu, ctx: AppletContext): ApduResponse {
    if (this.auth.handles(apdu)) return this.auth.process(apdu, ctx);
    if ((apdu.cla & 0x80) === 0) throw new IsoError(SW.INS_NOT_SUPPORTED);
    const ins = apdu.ins;
    if (ins !== EMONEY.insGetBalance && ins !== EMONEY.insReadLog && ins !== EMONEY.insAmountChange)
      throw new IsoError(SW.INS_NOT_SUPPORTED);
    if (!isSecureMessaging(apdu.cla)) throw new IsoError(SW.SECURITY_STATUS);
    return this.auth.protect(apdu, ctx, (cmd, s) => this.inner(cmd, s, ctx));
  }

  private target(ctx: AppletContext, s: ApduSession, write: boolean): PurseTarget {
    const t = purseTarget(ctx.card.fs, this.scope, this.config);
    if (!sessionCovers(s, this.scope, t, write)) throw new IsoError(SW.SECURITY_STATUS);
    return t;
  }

  private inner(cmd: PlainCommand, s: ApduSession, ctx: AppletContext): ApduResponse {
    const fs = ctx.card.fs;
    if (cmd.ins === EMONEY.insGetBalance) {
      if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
      return ok(balanceAnswer(readPurse(fs, this.target(ctx, s, false))));
    }
    if (cmd.ins === EMONEY.insReadLog) {
      const t = this.target(ctx, s, false);
      return ok(concat(readLog(fs, t, cmd.p1, cmd.p2)));
    }
    const kind = cmd.p1;
    if (
      (kind !== AMOUNT_KIND.add && kind !== AMOUNT_KIND.subtract && kind !== AMOUNT_KIND.overwrite) ||
      cmd.p2 !== 0
    )
      throw new IsoError(SW.WRONG_P1P2);
    const d = cmd.data;
    const want = kind === AMOUNT_KIND.overwrite ? EMONEY.overwriteDataLength : EMONEY.relativeDataLength;
    if (d.length !== want) throw new IsoError(SW.WRONG_LENGTH);
    const t = this.target(ctx, s, true);
    const after = applyValueChange(fs, t, {
      kind,
      chargeId: d.slice(0, 8),
      amount: u32(d, 8),
      day: u16(d, 12),
      origin: d[14]!,
      ...(kind === AMOUNT_KIND.overwrite ? { expectedExecutionId: u16(d, 15) } : {}),
    });
    return ok(balanceAnswer(after));
  }
}

/** The factory of the runtime; `config` names the purse and log inside the applet's area. */
export function emoneyAppletFactory(config: PurseConfig = {}): AppletFactory {
  return (entry) => new EmoneyApplet(entry, config);
}
