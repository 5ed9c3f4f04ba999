// The bank applet (flows.md 2): account identity, AUTHENTICATE, the token store, and Fig. 14 share / transfer, under SM.
import { APPLET_KINDS } from '@mica/apdu-specs/apdu/applet-kinds';
import {
  BANK_CREDIT,
  BANK_SERVICES,
  CREDIT_SERVICES,
  TOKEN_STATE,
  accountRecord,
} from '@mica/apdu-specs/apdu/bank-credit';
import type { CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { isSecureMessaging } from '@mica/apdu-specs/apdu/command-apdu';
import type { PlainCommand } from '@mica/apdu-specs/apdu/secure-messaging';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { bytesEqual } from '@mica/apdu-specs/hex';
import { ok, type ApduResponse, type Applet, type AppletContext } from '../apdu/applet';
import { AppletFirewall } from '../apdu/applet-firewall';
import { AuthenticateService } from '../apdu/authenticate';
import { IsoError } from '../apdu/iso-error';
import type { AppletFactory } from '../apdu/runtime';
import type { CardContext } from '../dispatch/context';
import { appletRegistry, shareGrants, type AppletEntry } from '../fs/applet-registry';
import { BlockTx } from '../fs/block-tx';
import type { FileSystem } from '../fs/fs';
import type { ServiceNode } from '../fs/nodes';
import { storeCommand } from './token-commands';
import { fciOf } from '../apdu/applet';
import {
  clearWrites,
  placeToken,
  putWrites,
  readEnvelope,
  readSlot,
  tokenStore,
  type UsedMarks,
} from './token-store';

/**
 * The credit applets' used marks (+C8h) that the profile granted to the bank area (07h), so the bank
 * store sees shared tokens the credit applet consumed: they are evicted first, and a re-put is 6985.
 * Without such a grant the bank knows only its own slot states.
 */
function creditUsedMarks(card: CardContext, entry: AppletEntry, fw: AppletFirewall): UsedMarks {
  const fs = card.fs;
  const grants = shareGrants(fs);
  const marks: Uint8Array[] = [];
  for (const c of appletRegistry(fs)) {
    const code = c.area + CREDIT_SERVICES.usedMarks;
    if (c.kind !== APPLET_KINDS.credit || c.system !== entry.system) continue;
    if (
      !grants.some(
        (g) => g.read && g.system === entry.system && g.service === code && g.granteeArea === entry.area,
      )
    )
      continue;
    const node = fs.system(entry.system)?.byCode.get(code);
    if (node?.kind !== 'service') continue;
    for (let i = 0; i < node.blockCount; i++) marks.push(fw.readBlock(code, i));
  }
  return (id) => marks.some((m) => bytesEqual(m, id));
}

function serviceNode(fs: FileSystem, system: number, code: number): ServiceNode {
  const n = fs.system(system)?.byCode.get(code);
  if (!n || n.kind !== 'service' || n.attribute.family !== 'random')
    throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
  return n;
}

/**
 * The internal shareable interface of Fig. 14 `transfer`: the token moves into the store of a credit
 * applet of the same system whose area holds a read grant (07h) on this store, in one commit that also
 * empties the bank slot. No credit applet: 6A88; none with the grant: 6982 (the declared path).
 */
function transferToken(
  card: CardContext,
  entry: AppletEntry,
  fw: AppletFirewall,
  slot: number,
): ApduResponse {
  const fs = card.fs;
  const ownCode = entry.area + BANK_SERVICES.tokenStore;
  const own = tokenStore(fs, fw, ownCode);
  const s = readSlot(own, slot);
  if (s.state === TOKEN_STATE.empty) throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND, 'empty slot');
  if (s.state === TOKEN_STATE.used || creditUsedMarks(card, entry, fw)(s.tokenId))
    throw new IsoError(SW.CONDITIONS_OF_USE, 'the token is used');
  const credits = appletRegistry(fs).filter(
    (e) => e.kind === APPLET_KINDS.credit && e.system === entry.system,
  );
  if (credits.length === 0) throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND, 'no credit applet');
  const grants = shareGrants(fs);
  const target = credits.find((c) =>
    grants.some(
      (g) => g.read && g.system === entry.system && g.service === ownCode && g.granteeArea === c.area,
    ),
  );
  if (!target) throw new IsoError(SW.SECURITY_STATUS, 'no grant of the token store to a credit applet');
  const destCode = target.area + CREDIT_SERVICES.tokenStore;
  const dest = tokenStore(fs, new AppletFirewall(fs, { system: target.system, area: target.area }), destCode);
  const token = {
    tokenId: s.tokenId,
    creditCompanyId: s.creditCompanyId,
    effectiveUntil: s.effectiveUntil,
    envelope: readEnvelope(own, slot),
  };
  const place = placeToken(dest, token);
  const destNode = serviceNode(fs, entry.system, destCode);
  const ownNode = serviceNode(fs, entry.system, ownCode);
  const tx = new BlockTx(fs.eeprom);
  if (!place.noop)
    for (const w of putWrites(dest, place.slot, token)) tx.write(destNode.firstBlock + w.block, w.data);
  for (const w of clearWrites(s)) tx.write(ownNode.firstBlock + w.block, w.data);
  tx.commit();
  return ok(Uint8Array.of(place.slot));
}

const SM_ONLY = new Set<number>([
  BANK_CREDIT.readBinary,
  BANK_CREDIT.putToken,
  BANK_CREDIT.listTokens,
  BANK_CREDIT.getToken,
  BANK_CREDIT.transferToken,
]);

/** Builds the bank applet of one registry entry. */
export const bankAppletFactory: AppletFactory = (entry, firewall): Applet => {
  const scope = { system: entry.system, area: entry.area };
  const auth = new AuthenticateService(() => scope);
  const storeCode = entry.area + BANK_SERVICES.tokenStore;

  const handle = (cmd: PlainCommand, ctx: AppletContext): ApduResponse => {
    const fw = firewall(ctx.card);
    if (cmd.ins === BANK_CREDIT.readBinary) {
      if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
      const code = entry.area + BANK_SERVICES.account;
      const out = new Uint8Array(accountRecord.span);
      out.set(fw.readBlock(code, 0), 0);
      out.set(fw.readBlock(code, 1), 16);
      return ok(out);
    }
    if (cmd.ins === BANK_CREDIT.transferToken) {
      if (cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
      return transferToken(ctx.card, entry, fw, cmd.p1);
    }
    return storeCommand(
      cmd,
      () => tokenStore(ctx.card.fs, fw, storeCode),
      (writes) => fw.writeBlocks(storeCode, writes),
      creditUsedMarks(ctx.card, entry, fw),
    );
  };

  return {
    aid: entry.aid,
    select: (ctx) => {
      auth.end(ctx);
      return fciOf(entry.aid);
    },
    deselect: (ctx) => auth.end(ctx),
    process: (apdu: CommandApdu, ctx) => {
      if (auth.handles(apdu)) return auth.process(apdu, ctx);
      if (!SM_ONLY.has(apdu.ins)) throw new IsoError(SW.INS_NOT_SUPPORTED);
      if (!isSecureMessaging(apdu.cla)) throw new IsoError(SW.SECURITY_STATUS);
      return auth.protect(apdu, ctx, (cmd) => handle(cmd, ctx));
    },
  };
};
