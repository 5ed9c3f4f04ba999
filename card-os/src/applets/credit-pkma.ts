// The credit applet's AUTHENTICATE PK (flows.md 2.5, Fig. 15) and PUT CERTIFICATE, which personalises it:
// the card checks a bank certificate against the trust anchor of its PK data service (+148h), answers
// with its own credit-AP certificate, a random, an ephemeral X25519 key and an Ed25519 signature by its
// key pair (+108h), checks the bank's signature, and opens an AES secure-messaging session on the
// X25519 shared secret. Pending state and session live in card RAM per channel (gone at SELECT,
// DESELECT, reset and power-off). The PK session allows only PUT TOKEN and LIST TOKENS of the own store.
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { BANK_CREDIT, CREDIT_SERVICES, PK_DATA, PKMA } from '@mica/apdu-specs/apdu/bank-credit';
import type { CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { isSecureMessaging } from '@mica/apdu-specs/apdu/command-apdu';
import {
  createSmKeys,
  disposeSmKeys,
  initialSsc,
  type PlainCommand,
  type SmKeys,
} from '@mica/apdu-specs/apdu/secure-messaging';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import {
  CERT_NAME_BYTES,
  CERT_ROLES,
  CERT_SIGNED_BYTES,
  CERTIFICATE_BYTES,
  KEY_TYPES,
  certificateLayout,
} from '@mica/apdu-specs/certificate';
import { bytesEqual, concatBytes } from '@mica/apdu-specs/hex';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import { ok, type ApduResponse, type AppletContext } from '../apdu/applet';
import type { AppletFirewall } from '../apdu/applet-firewall';
import { IsoError } from '../apdu/iso-error';
import { runUnderSm } from '../apdu/sm-gate';
import type { CardContext } from '../dispatch/context';
import { sign, signingPublicKey } from './credit-keys';

const AES = suiteByName('aes128');

/** The PK data service of the applet's area: its trust anchor and credit-AP certificate. */
interface PkData {
  readonly code: number;
  readonly anchorKey: Uint8Array;
  /** The anchor's issuerId field as it stands in certificates: char[24], 00-padded. */
  readonly anchorId: Uint8Array;
  readonly certificate: Uint8Array | undefined;
}

/** The PK data (+148h), or undefined when the service is missing or holds no trust anchor. */
function readPkData(card: CardContext, fw: AppletFirewall): PkData | undefined {
  const code = fw.scope.area + CREDIT_SERVICES.pkData;
  const node = card.fs.system(fw.scope.system)?.byCode.get(code);
  if (!node || node.kind !== 'service' || !node.attribute.withKey || node.blockCount < PK_DATA.blocks)
    return undefined;
  const all = concatBytes(...Array.from({ length: PK_DATA.blocks }, (_, i) => fw.readBlock(code, i)));
  const anchorKey = all.slice(0, 32);
  const anchorId = all.slice(PK_DATA.anchorIdBlock * 16, PK_DATA.anchorIdBlock * 16 + CERT_NAME_BYTES);
  if (anchorKey.every((b) => b === 0)) return undefined;
  const at = PK_DATA.certificateBlock * 16;
  const certificate = all.slice(at, at + CERTIFICATE_BYTES);
  return {
    code,
    anchorKey,
    anchorId,
    certificate: certificate.every((b) => b === 0) ? undefined : certificate,
  };
}

/** Version 1, the role, an Ed25519 key, issued by the anchor (issuerId and signature). */
function issuedByAnchor(cert: Uint8Array, role: number, pk: PkData): boolean {
  const c = certificateLayout.decode(cert);
  if (c.version !== 1 || c.role !== role || c.keyType !== KEY_TYPES.ed25519) return false;
  if (!bytesEqual(c.issuerId, pk.anchorId)) return false;
  try {
    return ed25519.verify(c.signature, cert.subarray(0, CERT_SIGNED_BYTES), pk.anchorKey);
  } catch {
    return false;
  }
}

/** The subjectId of the card's credit-AP certificate: the IDm as 16 uppercase hex digits, 00-padded. */
function cardSubject(idm: Uint8Array): Uint8Array {
  const out = new Uint8Array(CERT_NAME_BYTES);
  out.set(utf8ToBytes(Array.from(idm, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join('')));
  return out;
}

/** The card's IDm (system 0: what PC/SC GET DATA answers on a card without an ISO 14443 identity). */
const cardId = (card: CardContext): Uint8Array => card.fs.idm(0);

/**
 * PUT CERTIFICATE (under a 3-pass session): the credit-AP certificate for the card's own key,
 * checked against the trust anchor, written to blocks 4-13 of +148h in one commit.
 */
export function putCertificate(cmd: PlainCommand, card: CardContext, fw: AppletFirewall): ApduResponse {
  if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new IsoError(SW.WRONG_P1P2);
  if (cmd.data.length !== CERTIFICATE_BYTES) throw new IsoError(SW.WRONG_LENGTH);
  const pk = readPkData(card, fw);
  if (!pk) throw new IsoError(SW.CONDITIONS_OF_USE, 'no trust anchor');
  const own = signingPublicKey(card, fw);
  if (!own) throw new IsoError(SW.CONDITIONS_OF_USE, 'no key pair yet');
  const c = certificateLayout.decode(cmd.data);
  if (
    !issuedByAnchor(cmd.data, CERT_ROLES['credit-ap'], pk) ||
    !bytesEqual(c.publicKey, own) ||
    !bytesEqual(c.subjectId, cardSubject(cardId(card)))
  )
    throw new IsoError(SW.WRONG_DATA, 'the certificate is not the credit-AP certificate of this card');
  const padded = new Uint8Array(PK_DATA.certificateBlocks * 16);
  padded.set(cmd.data);
  fw.writeBlocks(
    pk.code,
    Array.from({ length: PK_DATA.certificateBlocks }, (_, i) => ({
      block: PK_DATA.certificateBlock + i,
      data: padded.slice(i * 16, i * 16 + 16),
    })),
  );
  return ok();
}

interface Pending {
  readonly bankKey: Uint8Array;
  readonly rB: Uint8Array;
  readonly rC: Uint8Array;
  readonly eB: Uint8Array;
  readonly eC: Uint8Array;
  readonly ephemeral: Uint8Array;
}

/** An open PK session: AES SM keys and the SSC. */
interface PkSession {
  readonly keys: SmKeys;
  ssc: Uint8Array;
}

interface ChannelState {
  pending: Pending | undefined;
  open: PkSession | undefined;
}

function dropPending(p: Pending | undefined): void {
  if (!p) return;
  p.ephemeral.fill(0);
  p.rB.fill(0);
  p.rC.fill(0);
}

/** AUTHENTICATE PK and the SM gate of its session, for one credit applet. */
export class PkAuthService {
  // Keyed by the card object, so a card rebuilt from an image starts with empty RAM.
  private readonly ram = new WeakMap<CardContext, Map<number, ChannelState>>();

  private state(ctx: AppletContext): ChannelState {
    let m = this.ram.get(ctx.card);
    if (!m) this.ram.set(ctx.card, (m = new Map()));
    let s = m.get(ctx.channel);
    if (!s) m.set(ctx.channel, (s = { pending: undefined, open: undefined }));
    return s;
  }

  /** True for AUTHENTICATE PK (CLA 80, plain, INS 86). */
  handles(apdu: CommandApdu): boolean {
    return (
      (apdu.cla & 0x80) !== 0 &&
      apdu.ins === BANK_CREDIT.authenticatePk &&
      !isSecureMessaging(apdu.cla & 0x7f)
    );
  }

  /** Whether the channel has an open PK session. */
  active(ctx: AppletContext): boolean {
    return this.ram.get(ctx.card)?.get(ctx.channel)?.open !== undefined;
  }

  /** Ends the channel's PK session and pending step (keys wiped). */
  end(ctx: AppletContext): void {
    const s = this.ram.get(ctx.card)?.get(ctx.channel);
    if (!s) return;
    dropPending(s.pending);
    if (s.open) disposeSmKeys(s.open.keys);
    s.pending = undefined;
    s.open = undefined;
  }

  /** Step 1 (P1 00) or step 2 (P1 01); `endOther` ends the channel's 3-pass session. */
  process(apdu: CommandApdu, ctx: AppletContext, fw: AppletFirewall, endOther: () => void): ApduResponse {
    if (apdu.p2 === 0 && apdu.p1 === BANK_CREDIT.pkStep1) {
      this.end(ctx);
      endOther();
      return this.first(apdu.data, ctx, fw);
    }
    if (apdu.p2 === 0 && apdu.p1 === BANK_CREDIT.pkStep2) return this.second(apdu.data, ctx);
    throw new IsoError(SW.WRONG_P1P2);
  }

  private first(d: Uint8Array, ctx: AppletContext, fw: AppletFirewall): ApduResponse {
    if (d.length !== PKMA.step1Data) throw new IsoError(SW.WRONG_LENGTH);
    const pk = readPkData(ctx.card, fw);
    if (!pk?.certificate || !signingPublicKey(ctx.card, fw))
      throw new IsoError(SW.CONDITIONS_OF_USE, 'AUTHENTICATE PK is not personalised');
    const bankCert = d.subarray(0, CERTIFICATE_BYTES);
    if (!issuedByAnchor(bankCert, CERT_ROLES.bank, pk))
      throw new IsoError(SW.SECURITY_STATUS, 'the bank certificate does not verify');
    const bank = certificateLayout.decode(bankCert);
    const rB = d.slice(CERTIFICATE_BYTES, CERTIFICATE_BYTES + PKMA.random);
    const eB = d.slice(CERTIFICATE_BYTES + PKMA.random);
    const rC = new Uint8Array(PKMA.random);
    ctx.card.random.fill(rC);
    const ephemeral = new Uint8Array(PKMA.ephemeral);
    ctx.card.random.fill(ephemeral);
    const eC = x25519.getPublicKey(ephemeral);
    const signature = sign(
      ctx.card,
      fw,
      concatBytes(utf8ToBytes(PKMA.cardLabel), rB, rC, eB, eC, bank.subjectId),
    );
    this.state(ctx).pending = { bankKey: bank.publicKey.slice(), rB, rC, eB, eC, ephemeral };
    return ok(concatBytes(pk.certificate, rC, eC, signature));
  }

  private second(d: Uint8Array, ctx: AppletContext): ApduResponse {
    const st = this.state(ctx);
    const p = st.pending;
    st.pending = undefined;
    if (d.length !== PKMA.signature) {
      dropPending(p);
      this.end(ctx);
      throw new IsoError(SW.WRONG_LENGTH);
    }
    if (!p) {
      this.end(ctx);
      throw new IsoError(SW.CONDITIONS_OF_USE, 'no AUTHENTICATE PK step 1 pending');
    }
    let shared: Uint8Array | undefined;
    let okm: Uint8Array | undefined;
    try {
      const message = concatBytes(utf8ToBytes(PKMA.bankLabel), p.rC, p.rB, p.eC, p.eB, cardId(ctx.card));
      let verified = false;
      try {
        verified = ed25519.verify(d, message, p.bankKey);
        shared = x25519.getSharedSecret(p.ephemeral, p.eB);
      } catch {
        verified = false;
      }
      if (!verified || !shared) {
        this.end(ctx);
        throw new IsoError(SW.SECURITY_STATUS, 'the bank signature does not verify');
      }
      okm = hkdf(sha256, shared, concatBytes(p.rB, p.rC), utf8ToBytes(PKMA.smInfo), 32);
      const keys = createSmKeys(AES, okm.subarray(0, 16), okm.subarray(16, 32));
      st.open = { keys, ssc: initialSsc(keys) };
      return ok();
    } finally {
      dropPending(p);
      shared?.fill(0);
      okm?.fill(0);
    }
  }

  /**
   * Runs an SM command of the PK session: a missing or wrong DO or MAC 6988 and the session ends;
   * the handler's answer (or the IsoError it throws) is wrapped.
   */
  protect(apdu: CommandApdu, ctx: AppletContext, handler: (cmd: PlainCommand) => ApduResponse): ApduResponse {
    const s = this.ram.get(ctx.card)?.get(ctx.channel)?.open;
    return runUnderSm(
      s,
      apdu,
      () => this.end(ctx),
      (cmd) => handler(cmd),
    );
  }
}

/** What a PK session may do: PUT TOKEN and LIST TOKENS P2 00 (the own store); the rest 6982. */
export function pkSessionAllows(cmd: PlainCommand): boolean {
  return (
    cmd.ins === BANK_CREDIT.putToken ||
    (cmd.ins === BANK_CREDIT.listTokens && cmd.p2 === BANK_CREDIT.storeOwn)
  );
}
