// The PIN service applets share: VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER over counters
// and reference data kept in a keyed random service of the applet's area (apdu-specs pin-blocks).
// Anti-tearing: a try first commits the decremented counter, and only then compares; a correct code
// restores the counter in a second commit. A power cut can cost a try, never give one.
// Verified status lives in RAM per channel: cleared at deselect, reset and power-off.
import { PIN_COMMANDS, isPinBlock } from '@mica/apdu-specs/apdu/applet-commands';
import type { CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { pinCounterBlock, pinReferenceBlock, type PinCounters } from '@mica/apdu-specs/apdu/pin-blocks';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { constantTimeEqual } from '@mica/apdu-specs/crypto/compare';
import type { CardContext } from '../dispatch/context';
import { BlockTx } from '../fs/block-tx';
import type { FileSystem } from '../fs/fs';
import type { ServiceNode } from '../fs/nodes';
import type { CommitResult } from '../hal/eeprom';
import type { ApduResponse, AppletContext } from './applet';
import { resolveScope, scopedService, type AppletScope } from './applet-scope';
import { IsoError } from './iso-error';

export interface PinLocation {
  readonly scope: AppletScope;
  /** Code of the keyed random service (2 blocks or more) inside the scope that holds the PIN. */
  readonly service: number;
}

export interface NewPin {
  readonly pin: Uint8Array;
  readonly puk: Uint8Array;
  readonly pinTries?: number;
  readonly pukTries?: number;
}

const EMPTY = new Uint8Array(0);

function pinServiceOf(fs: FileSystem, loc: PinLocation): ServiceNode {
  const s = scopedService(resolveScope(fs, loc.scope), loc.service);
  if (s.attribute.family !== 'random' || !s.attribute.withKey || s.blockCount < 2)
    throw new IsoError(
      SW.REFERENCE_DATA_UNUSABLE,
      'the PIN service must be a keyed random service of 2 blocks',
    );
  return s;
}

function checkTries(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 15) throw new RangeError(`${what} must be 1..15`);
  return n;
}

/** Personalisation: stores PIN, unblocking code and full counters in one atomic commit. */
export function installPin(fs: FileSystem, loc: PinLocation, p: NewPin): CommitResult {
  if (!isPinBlock(p.pin) || !isPinBlock(p.puk))
    throw new RangeError('pin and puk must be format-2 PIN blocks');
  const pinMax = checkTries(p.pinTries ?? 3, 'pinTries');
  const pukMax = checkTries(p.pukTries ?? 10, 'pukTries');
  const s = pinServiceOf(fs, loc);
  const tx = new BlockTx(fs.eeprom);
  tx.write(
    s.firstBlock,
    pinCounterBlock.encode({
      pinTriesLeft: pinMax,
      pinMaxTries: pinMax,
      pukTriesLeft: pukMax,
      pukMaxTries: pukMax,
      reserved: new Uint8Array(12),
    }),
  );
  tx.write(s.firstBlock + 1, pinReferenceBlock.encode({ pin: p.pin, puk: p.puk }));
  return tx.commit();
}

/** The PIN commands of one applet. */
export class PinService {
  private readonly verified = new WeakMap<CardContext, Set<number>>();

  constructor(private readonly locate: (ctx: AppletContext) => PinLocation) {}

  handles(apdu: CommandApdu): boolean {
    return (
      (apdu.cla & 0x80) === 0 &&
      (apdu.ins === PIN_COMMANDS.verify ||
        apdu.ins === PIN_COMMANDS.changeReferenceData ||
        apdu.ins === PIN_COMMANDS.resetRetryCounter)
    );
  }

  isVerified(ctx: AppletContext): boolean {
    return this.verified.get(ctx.card)?.has(ctx.channel) ?? false;
  }

  /** Drops the channel's verified status (deselect). */
  clear(ctx: AppletContext): void {
    this.verified.get(ctx.card)?.delete(ctx.channel);
  }

  private setVerified(ctx: AppletContext): void {
    let s = this.verified.get(ctx.card);
    if (!s) this.verified.set(ctx.card, (s = new Set()));
    s.add(ctx.channel);
  }

  /** Tries left of the PIN (for tests and the applet's own status). */
  counters(ctx: AppletContext): PinCounters {
    const s = pinServiceOf(ctx.card.fs, this.locate(ctx));
    return pinCounterBlock.decode(ctx.card.fs.eeprom.read(s.firstBlock));
  }

  process(apdu: CommandApdu, ctx: AppletContext): ApduResponse {
    if (apdu.p2 !== PIN_COMMANDS.localPin) throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
    const s = pinServiceOf(ctx.card.fs, this.locate(ctx));
    const d = apdu.data;
    switch (apdu.ins) {
      case PIN_COMMANDS.verify: {
        if (apdu.p1 !== 0) throw new IsoError(SW.WRONG_P1P2);
        if (d.length === 0) return this.status(ctx, s);
        if (!isPinBlock(d)) throw new IsoError(SW.WRONG_DATA);
        this.clear(ctx);
        const r = this.attempt(ctx, s, 'pin', d, () => undefined);
        if (r.sw === SW.OK) this.setVerified(ctx);
        return r;
      }
      case PIN_COMMANDS.changeReferenceData: {
        if (apdu.p1 !== 0) throw new IsoError(SW.WRONG_P1P2);
        const [current, next] = [d.subarray(0, 8), d.subarray(8)];
        if (d.length !== 16 || !isPinBlock(current) || !isPinBlock(next)) throw new IsoError(SW.WRONG_DATA);
        this.clear(ctx);
        const r = this.attempt(ctx, s, 'pin', current, (ref) => ({ ...ref, pin: next }));
        if (r.sw === SW.OK) this.setVerified(ctx);
        return r;
      }
      case PIN_COMMANDS.resetRetryCounter: {
        if (apdu.p1 === 0 && d.length !== 16) throw new IsoError(SW.WRONG_DATA);
        if (apdu.p1 === 1 && d.length !== 8) throw new IsoError(SW.WRONG_DATA);
        if (apdu.p1 > 1) throw new IsoError(SW.WRONG_P1P2);
        const puk = d.subarray(0, 8);
        const next = apdu.p1 === 0 ? d.subarray(8) : undefined;
        if (!isPinBlock(puk) || (next && !isPinBlock(next))) throw new IsoError(SW.WRONG_DATA);
        this.clear(ctx);
        return this.attempt(ctx, s, 'puk', puk, (ref) => (next ? { ...ref, pin: next } : ref));
      }
      default:
        throw new IsoError(SW.INS_NOT_SUPPORTED);
    }
  }

  private status(ctx: AppletContext, s: ServiceNode): ApduResponse {
    const c = pinCounterBlock.decode(ctx.card.fs.eeprom.read(s.firstBlock));
    if (c.pinTriesLeft === 0) return { data: EMPTY, sw: SW.AUTH_BLOCKED };
    if (this.isVerified(ctx)) return { data: EMPTY, sw: SW.OK };
    return { data: EMPTY, sw: SW.VERIFY_FAILED | Math.min(c.pinTriesLeft, 15) };
  }

  /**
   * One counted try of the PIN or the unblocking code. The decremented counter is committed first;
   * on a match the counters are restored (both, for the unblocking code) together with `update`'s
   * new reference data in a second commit.
   */
  private attempt(
    ctx: AppletContext,
    s: ServiceNode,
    which: 'pin' | 'puk',
    offered: Uint8Array,
    update: (ref: { pin: Uint8Array; puk: Uint8Array }) => { pin: Uint8Array; puk: Uint8Array } | undefined,
  ): ApduResponse {
    const eeprom = ctx.card.fs.eeprom;
    const c = pinCounterBlock.decode(eeprom.read(s.firstBlock));
    const left = which === 'pin' ? c.pinTriesLeft : c.pukTriesLeft;
    if (left === 0) return { data: EMPTY, sw: SW.AUTH_BLOCKED };
    const spend = new BlockTx(eeprom);
    spend.write(
      s.firstBlock,
      pinCounterBlock.encode(
        which === 'pin' ? { ...c, pinTriesLeft: left - 1 } : { ...c, pukTriesLeft: left - 1 },
      ),
    );
    spend.commit();
    const ref = pinReferenceBlock.decode(eeprom.read(s.firstBlock + 1));
    if (!constantTimeEqual(which === 'pin' ? ref.pin : ref.puk, offered))
      return { data: EMPTY, sw: SW.VERIFY_FAILED | Math.min(left - 1, 15) };
    const restore = new BlockTx(eeprom);
    restore.write(
      s.firstBlock,
      pinCounterBlock.encode(
        which === 'pin'
          ? { ...c, pinTriesLeft: c.pinMaxTries }
          : { ...c, pinTriesLeft: c.pinMaxTries, pukTriesLeft: c.pukMaxTries },
      ),
    );
    const next = update(ref);
    if (next) restore.write(s.firstBlock + 1, pinReferenceBlock.encode(next));
    restore.commit();
    return { data: EMPTY, sw: SW.OK };
  }
}
