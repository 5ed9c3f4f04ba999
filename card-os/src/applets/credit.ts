// The credit applet (flows.md 2-3): card data after SELECT, PIN with a MAC'd proof, tokens received and marked used, key pair,
// and AUTHENTICATE PK with PUT CERTIFICATE (credit-pkma.ts).
import { PIN_COMMANDS } from '@mica/apdu-specs/apdu/applet-commands';
import { APPLET_KINDS } from '@mica/apdu-specs/apdu/applet-kinds';
import {
  BANK_CREDIT,
  BANK_SERVICES,
  CREDIT_SERVICES,
  TOKEN_STATE,
  cardDataRecord,
} from '@mica/apdu-specs/apdu/bank-credit';
import type { CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { isSecureMessaging } from '@mica/apdu-specs/apdu/command-apdu';
import type { PlainCommand } from '@mica/apdu-specs/apdu/secure-messaging';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { computeMac } from '@mica/apdu-specs/crypto/mac';
import { bytesEqual, concatBytes } from '@mica/apdu-specs/hex';
import { suiteByCode } from '@mica/apdu-specs/secure/suite';
import { ok, type ApduResponse, type Applet, type AppletContext } from '../apdu/applet';
import type { AppletFirewall } from '../apdu/applet-firewall';
import { resolveScope, type AppletScope } from '../apdu/applet-scope';
import { AuthenticateService } from '../apdu/authenticate';
import { IsoError } from '../apdu/iso-error';
import { PinService } from '../apdu/pin';
import type { AppletFactory } from '../apdu/runtime';
import { readNodeKey } from '../auth/node-keys';
import type { CardContext } from '../dispatch/context';
import { appletRegistry } from '../fs/applet-registry';
import { storeCommand } from './token-commands';
import { fciOf } from '../apdu/applet';
import { decrypt, generateKeyPair, sign } from './credit-keys';
import { PkAuthService, pkSessionAllows, putCertificate } from './credit-pkma';
import {
  findToken,
  listEntries,
  markUsedWrite,
  readEnvelope,
  tokenStore,
  type TokenStore,
} from './token-store';

const ZERO = new Uint8Array(16);

function readCardData(fw: AppletFirewall, area: number): Uint8Array {
  const code = area + CREDIT_SERVICES.cardData;
  return concatBytes(fw.readBlock(code, 0), fw.readBlock(code, 1), fw.readBlock(code, 2)).slice(
    0,
    cardDataRecord.span,
  );
}

/** The bank store shared with this applet (read through its grant: 6982 without one). */
function sharedStore(card: CardContext, fw: AppletFirewall): TokenStore {
  const bank = appletRegistry(card.fs).find(
    (e) => e.kind === APPLET_KINDS.bank && e.system === fw.scope.system,
  );
  if (!bank) throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND, 'no bank applet');
  return tokenStore(card.fs, fw, bank.area + BANK_SERVICES.tokenStore);
}

/** Used marks for shared tokens: one tokenId per block of +C8h, zero = free. */
function usedMarks(card: CardContext, fw: AppletFirewall, area: number): Uint8Array[] {
  const code = area + CREDIT_SERVICES.usedMarks;
  const node = card.fs.system(fw.scope.system)?.byCode.get(code);
  if (!node || node.kind !== 'service') throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
  return Array.from({ length: node.blockCount }, (_, i) => fw.readBlock(code, i));
}

/**
 * P4 proof (flows.md 3.2): the suite MAC (first 8 bytes) under the credit area's per-card key over
 * nonce ‖ amount ‖ cardNo ‖ 01. The key's first 16 bytes are used.
 */
function pinProof(
  card: CardContext,
  scope: AppletScope,
  nonceAmount: Uint8Array,
  cardNo: Uint8Array,
): Uint8Array {
  const { area } = resolveScope(card.fs, scope);
  if (area.key.algorithm === 0) throw new IsoError(SW.REFERENCE_DATA_UNUSABLE);
  const suite = suiteByCode(card.fs.index.manufacture.cryptoSuite);
  const key = readNodeKey(card.fs.eeprom, area.key);
  try {
    const mac = computeMac(
      suite.mac,
      key.subarray(0, 16),
      concatBytes(nonceAmount, cardNo, Uint8Array.of(1)),
      {
        padding: 2,
      },
    );
    return mac.slice(0, 8);
  } finally {
    key.fill(0);
  }
}

const SM_COMMANDS = new Set<number>([
  BANK_CREDIT.readBinary,
  BANK_CREDIT.putToken,
  BANK_CREDIT.listTokens,
  BANK_CREDIT.getToken,
  BANK_CREDIT.markTokenUsed,
  BANK_CREDIT.generateKeyPair,
  BANK_CREDIT.pso,
  BANK_CREDIT.putCertificate,
]);

/** Builds the credit applet of one registry entry. */
export const creditAppletFactory: AppletFactory = (entry, firewall): Applet => {
  const scope = { system: entry.system, area: entry.area };
  const auth = new AuthenticateService(() => scope);
  const pk = new PkAuthService();
  const pin = new PinService(() => ({ scope, service: entry.area + CREDIT_SERVICES.pin }));
  // One proof per successful VERIFY, per channel, in RAM.
  const proofs = new WeakMap<CardContext, Set<number>>();
  const storeCode = entry.area + CREDIT_SERVICES.tokenStore;

  const proofSet = (ctx: AppletContext): Set<number> => {
    let s = proofs.get(ctx.card);
    if (!s) proofs.set(ctx.card, (s = new Set()));
    return s;
  };

  const reset = (ctx: AppletContext): void => {
    auth.end(ctx);
    pk.end(ctx);
    pin.clear(ctx);
    proofSet(ctx).delete(ctx.channel);
  };

  const markUsed = (cmd: PlainCommand, ctx: AppletContext, fw: AppletFirewall): ApduResponse => {
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
    if (cmd.data.length !== 16) throw new IsoError(SW.WRONG_LENGTH);
    const own = findToken(tokenStore(ctx.card.fs, fw, storeCode), cmd.data);
    if (own) {
      if (own.state === TOKEN_STATE.used) throw new IsoError(SW.CONDITIONS_OF_USE, 'already used');
      fw.writeBlocks(storeCode, [markUsedWrite(own)]);
      return ok();
    }
    const shared = findToken(sharedStore(ctx.card, fw), cmd.data);
    if (!shared) throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND, 'no such token');
    const marks = usedMarks(ctx.card, fw, entry.area);
    if (marks.some((m) => bytesEqual(m, cmd.data))) throw new IsoError(SW.CONDITIONS_OF_USE, 'already used');
    const free = marks.findIndex((m) => bytesEqual(m, ZERO));
    if (free < 0) throw new IsoError(SW.NOT_ENOUGH_MEMORY, 'no free used mark');
    fw.writeBlocks(entry.area + CREDIT_SERVICES.usedMarks, [{ block: free, data: cmd.data }]);
    return ok();
  };

  const handle = (cmd: PlainCommand, ctx: AppletContext): ApduResponse => {
    const fw = firewall(ctx.card);
    switch (cmd.ins) {
      case BANK_CREDIT.readBinary:
        if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
        return ok(readCardData(fw, entry.area));
      case BANK_CREDIT.markTokenUsed:
        return markUsed(cmd, ctx, fw);
      case BANK_CREDIT.generateKeyPair:
        if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
        return ok(generateKeyPair(ctx.card, fw));
      case BANK_CREDIT.putCertificate:
        return putCertificate(cmd, ctx.card, fw);
      case BANK_CREDIT.pso:
        if (cmd.p1 === BANK_CREDIT.sign.p1 && cmd.p2 === BANK_CREDIT.sign.p2)
          return ok(sign(ctx.card, fw, cmd.data));
        if (cmd.p1 === BANK_CREDIT.decrypt.p1 && cmd.p2 === BANK_CREDIT.decrypt.p2)
          return ok(decrypt(ctx.card, fw, cmd.data));
        throw new IsoError(SW.WRONG_P1P2);
      default:
        break;
    }
    if (
      (cmd.ins === BANK_CREDIT.listTokens || cmd.ins === BANK_CREDIT.getToken) &&
      cmd.p2 === BANK_CREDIT.storeShared
    ) {
      const shared = sharedStore(ctx.card, fw);
      if (cmd.ins === BANK_CREDIT.getToken) return ok(readEnvelope(shared, cmd.p1));
      if (cmd.p1 !== 0) throw new IsoError(SW.WRONG_P1P2);
      const marks = usedMarks(ctx.card, fw, entry.area);
      return ok(listEntries(shared, (id) => marks.some((m) => bytesEqual(m, id))));
    }
    return storeCommand(
      cmd,
      () => tokenStore(ctx.card.fs, fw, storeCode),
      (writes) => fw.writeBlocks(storeCode, writes),
    );
  };

  return {
    aid: entry.aid,
    select: (ctx) => {
      reset(ctx);
      return fciOf(entry.aid);
    },
    deselect: reset,
    process: (apdu: CommandApdu, ctx) => {
      if (pk.handles(apdu)) return pk.process(apdu, ctx, firewall(ctx.card), () => auth.end(ctx));
      if (auth.handles(apdu)) {
        pk.end(ctx);
        return auth.process(apdu, ctx);
      }
      if (pin.handles(apdu)) {
        proofSet(ctx).delete(ctx.channel);
        const r = pin.process(apdu, ctx);
        if (r.sw === SW.OK && apdu.ins === PIN_COMMANDS.verify && apdu.data.length > 0)
          proofSet(ctx).add(ctx.channel);
        return r;
      }
      const sm = isSecureMessaging(apdu.cla);
      const interindustry = (apdu.cla & 0x80) === 0;
      if (!sm && interindustry && apdu.ins === BANK_CREDIT.internalAuthenticate) {
        if (apdu.p1 !== 0 || apdu.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
        if (apdu.data.length !== 12) throw new IsoError(SW.WRONG_LENGTH);
        if (!proofSet(ctx).delete(ctx.channel)) throw new IsoError(SW.SECURITY_STATUS, 'no verified PIN');
        const cardNo = readCardData(firewall(ctx.card), entry.area).subarray(0, 10);
        return ok(pinProof(ctx.card, scope, apdu.data, cardNo));
      }
      if (!sm && interindustry && apdu.ins === BANK_CREDIT.readBinary) {
        if (apdu.p1 !== 0 || apdu.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
        return ok(readCardData(firewall(ctx.card), entry.area));
      }
      if (!SM_COMMANDS.has(apdu.ins)) throw new IsoError(SW.INS_NOT_SUPPORTED);
      if (!sm) throw new IsoError(SW.SECURITY_STATUS);
      if (pk.active(ctx))
        return pk.protect(apdu, ctx, (cmd) => {
          if (!pkSessionAllows(cmd)) throw new IsoError(SW.SECURITY_STATUS, 'not allowed in a PK session');
          return handle(cmd, ctx);
        });
      return auth.protect(apdu, ctx, (cmd) => handle(cmd, ctx));
    },
  };
};
