// The settlement applet (kind settlement, seed 002): common key only; GET DATA, AUTHENTICATE, SECURE COMMAND (BRC, SPC, VALUE UPDATE, READ LOG).
import type { CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { isSecureMessaging } from '@mica/apdu-specs/apdu/command-apdu';
import { AMOUNT_KIND, SETTLEMENT } from '@mica/apdu-specs/apdu/emoney-settlement';
import type { PlainCommand } from '@mica/apdu-specs/apdu/secure-messaging';
import {
  SETTLEMENT_KC_DIRECT,
  SETTLEMENT_MODE,
  faithfulResponseData,
  openFaithfulCommand,
} from '@mica/apdu-specs/apdu/settlement-envelope';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { createBlockCipher, type BlockCipher } from '@mica/apdu-specs/crypto/block-cipher';
import { suiteByCode } from '@mica/apdu-specs/secure/suite';
import { synthesizeAccessKey } from '@mica/apdu-specs/secure/synthesis';
import { ok, type ApduResponse, type AppletContext } from '../apdu/applet';
import { resolveScope, scopedNode } from '../apdu/applet-scope';
import type { ApduSession } from '../apdu/authenticate';
import { AreaApplet } from '../apdu/area-applet';
import { IsoError } from '../apdu/iso-error';
import type { AppletFactory } from '../apdu/runtime';
import { readNodeKey } from '../auth/node-keys';
import type { AppletEntry } from '../fs/applet-registry';
import type { ServiceNode } from '../fs/nodes';
import {
  applyValueChange,
  purseTarget,
  readLog,
  readPurse,
  type PurseConfig,
  type PurseTarget,
} from './purse-ops';

/**
 * The purse and log, plus the random service whose block 0 starts with the card ID (default: the first
 * one); byte 8 of that block is the mode (SETTLEMENT_MODE: 00 hardened, 01 faithful).
 */
export interface SettlementConfig extends PurseConfig {
  readonly idService?: number;
}

const be32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const u32 = (d: Uint8Array, i: number): number =>
  ((d[i]! << 24) | (d[i + 1]! << 16) | (d[i + 2]! << 8) | d[i + 3]!) >>> 0;
const u16 = (d: Uint8Array, i: number): number => (d[i]! << 8) | d[i + 1]!;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((t, p) => t + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export class SettlementApplet extends AreaApplet {
  constructor(
    entry: AppletEntry,
    private readonly config: SettlementConfig = {},
  ) {
    super(entry);
  }

  process(apdu: CommandApdu, ctx: AppletContext): ApduResponse {
    if (this.auth.handles(apdu)) return this.auth.process(apdu, ctx);
    if ((apdu.cla & 0x80) === 0) throw new IsoError(SW.INS_NOT_SUPPORTED);
    if (apdu.ins === SETTLEMENT.insGetData && !isSecureMessaging(apdu.cla)) return this.getData(apdu, ctx);
    if (apdu.ins !== SETTLEMENT.insSecure) throw new IsoError(SW.INS_NOT_SUPPORTED);
    if (!isSecureMessaging(apdu.cla)) throw new IsoError(SW.SECURITY_STATUS);
    if (this.faithful(ctx)) return this.faithfulSecure(apdu, ctx);
    return this.auth.protect(apdu, ctx, (cmd, s) => this.inner(cmd, s, ctx));
  }

  /** The mode byte (byte 8 of the ID block): 01 = faithful SECURE COMMAND (flows.md 4.2 (F)). */
  private faithful(ctx: AppletContext): boolean {
    const block = this.idBlock(ctx);
    return block !== undefined && block[SETTLEMENT.cardIdLength] === SETTLEMENT_MODE.faithful;
  }

  /**
   * (F) The encrypted data object only: under the session's KSenc, or (P2 b8, VALUE UPDATE only)
   * directly under KC, the access key of the area node alone. No MAC, no counter: a flipped cipher
   * bit or a replayed envelope is not detected. A malformed envelope or padding is still 6988.
   */
  private faithfulSecure(apdu: CommandApdu, ctx: AppletContext): ApduResponse {
    const direct = (apdu.p2 & SETTLEMENT_KC_DIRECT) !== 0;
    let cipher: BlockCipher;
    let session: ApduSession | undefined;
    if (direct) {
      if (apdu.p1 !== SETTLEMENT.inner.valueUpdate) throw new IsoError(SW.SECURITY_STATUS);
      cipher = this.commonKeyCipher(ctx);
    } else {
      session = this.auth.session(ctx);
      if (!session) throw new IsoError(SW.SECURITY_STATUS);
      cipher = session.keys.enc;
    }
    try {
      const data = openFaithfulCommand(cipher, apdu.data);
      if (!data) throw new IsoError(SW.SM_DATA_INCORRECT, 'faithful envelope: malformed DO 87');
      const cmd: PlainCommand = {
        cla: apdu.cla & ~0x0c,
        ins: apdu.ins,
        p1: apdu.p1,
        p2: apdu.p2 & ~SETTLEMENT_KC_DIRECT,
        data,
        ne: 256,
      };
      let r: ApduResponse;
      try {
        r = this.inner(cmd, session, ctx);
      } catch (e) {
        if (!(e instanceof IsoError)) throw e;
        r = { data: new Uint8Array(0), sw: e.sw };
      }
      return { data: faithfulResponseData(cipher, r.data, r.sw), sw: r.sw };
    } finally {
      if (direct) cipher.dispose();
    }
  }

  private commonKeyCipher(ctx: AppletContext): BlockCipher {
    const scope = resolveScope(ctx.card.fs, this.scope);
    const node = scopedNode(scope, this.scope.area);
    if (node.key.algorithm === 0) throw new IsoError(SW.REFERENCE_DATA_UNUSABLE);
    const suite = suiteByCode(ctx.card.fs.index.manufacture.cryptoSuite);
    const kc = readNodeKey(ctx.card.fs.eeprom, node.key);
    const access = synthesizeAccessKey(suite, [kc]);
    kc.fill(0);
    try {
      return createBlockCipher(suite.cipher, access);
    } finally {
      access.fill(0);
    }
  }

  private idBlock(ctx: AppletContext): Uint8Array | undefined {
    const { view, area } = resolveScope(ctx.card.fs, this.scope);
    const code = this.config.idService;
    const s = view.nodes.find(
      (n): n is ServiceNode =>
        n.kind === 'service' &&
        n.attribute.family === 'random' &&
        n.code >= area.code &&
        n.code <= area.end &&
        (code === undefined || n.code === code),
    );
    return s ? ctx.card.fs.eeprom.read(s.firstBlock) : undefined;
  }

  private cardId(ctx: AppletContext): Uint8Array {
    const block = this.idBlock(ctx);
    if (!block) return ctx.card.fs.idm(this.scope.system).slice(0, SETTLEMENT.cardIdLength);
    return block.slice(0, SETTLEMENT.cardIdLength);
  }

  private getData(apdu: CommandApdu, ctx: AppletContext): ApduResponse {
    if (apdu.p1 !== 0 || apdu.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
    const t = purseTarget(ctx.card.fs, this.scope, this.config);
    const balance = readPurse(ctx.card.fs, t).balance;
    return ok(Uint8Array.of(...this.cardId(ctx), ...be32(balance)));
  }

  /**
   * Only the common key opens the card: the session must name the applet's area node (no session:
   * the faithful envelope was opened under KC itself).
   */
  private target(ctx: AppletContext, s: ApduSession | undefined): PurseTarget {
    if (s && (s.system !== this.scope.system || !s.nodes.includes(this.scope.area)))
      throw new IsoError(SW.SECURITY_STATUS);
    return purseTarget(ctx.card.fs, this.scope, this.config);
  }

  private inner(cmd: PlainCommand, s: ApduSession | undefined, ctx: AppletContext): ApduResponse {
    const fs = ctx.card.fs;
    const t = this.target(ctx, s);
    const d = cmd.data;
    switch (cmd.p1) {
      case SETTLEMENT.inner.brc:
        if (cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
        return ok(Uint8Array.of(...be32(readPurse(fs, t).balance)));
      case SETTLEMENT.inner.spc: {
        if (cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
        if (d.length !== SETTLEMENT.spcLength) throw new IsoError(SW.WRONG_LENGTH);
        const amount = u32(d, 16);
        const after = applyValueChange(fs, t, {
          kind: AMOUNT_KIND.subtract,
          chargeId: d.slice(0, 8),
          amount,
          day: u16(d, 20),
          origin: d[22]!,
        });
        return ok(Uint8Array.of(...d.subarray(8, 16), ...be32(amount), ...be32(after.balance)));
      }
      case SETTLEMENT.inner.valueUpdate: {
        if (cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
        if (d.length !== SETTLEMENT.valueUpdateLength) throw new IsoError(SW.WRONG_LENGTH);
        const op = d[16]!;
        if (op !== AMOUNT_KIND.add && op !== AMOUNT_KIND.subtract) throw new IsoError(SW.WRONG_DATA);
        const after = applyValueChange(fs, t, {
          kind: op,
          chargeId: d.slice(0, 8),
          amount: u32(d, 17),
          day: u16(d, 21),
          origin: d[23]!,
        });
        return ok(Uint8Array.of(0x01, ...be32(after.balance)));
      }
      case SETTLEMENT.inner.readLog:
        return ok(concat(readLog(fs, t, 0, cmd.p2)));
      default:
        throw new IsoError(SW.WRONG_P1P2);
    }
  }
}

/** The factory of the runtime; `config` names the purse, log and ID service inside the applet's area. */
export function settlementAppletFactory(config: SettlementConfig = {}): AppletFactory {
  return (entry) => new SettlementApplet(entry, config);
}
