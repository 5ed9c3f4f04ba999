// AUTHENTICATE for applets (security.md 3, 4, 6) and the SM gate over its session: one session per
// logical channel, in card RAM only (gone at deselect, reset and power-off).
import { AUTHENTICATE } from '@mica/apdu-specs/apdu/applet-commands';
import type { CommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import { isSecureMessaging } from '@mica/apdu-specs/apdu/command-apdu';
import {
  disposeSmKeys,
  initialSsc,
  smKeysFromSessionKey,
  type PlainCommand,
  type SmKeys,
} from '@mica/apdu-specs/apdu/secure-messaging';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import type { BlockCipher } from '@mica/apdu-specs/crypto/block-cipher';
import {
  cardChallenge,
  cardResponse,
  cardVerifyReaderResponse,
  sessionKey,
} from '@mica/apdu-specs/crypto/three-pass';
import { singleDesStrength, suiteByCode, type Suite } from '@mica/apdu-specs/secure/suite';
import type { AccessKeyLease } from '@mica/apdu-specs/secure/access-key-cache';
import { readNodeKey } from '../auth/node-keys';
import type { CardContext } from '../dispatch/context';
import type { ApduResponse, AppletContext } from './applet';
import { resolveScope, scopedNode, type AppletScope } from './applet-scope';
import { IsoError } from './iso-error';
import { runUnderSm } from './sm-gate';

interface Pending {
  readonly system: number;
  readonly suite: Suite;
  readonly nodes: readonly number[];
  readonly accessKey: Uint8Array;
  readonly cipher: BlockCipher;
  /** The card's cached access key (CardContext.accessKeys), released when the pending state goes. */
  readonly lease: AccessKeyLease;
  readonly rndB: Uint8Array;
  readonly cardChallenge: Uint8Array;
}

/** An open session: the authenticated nodes, the SM keys and the SSC. */
export interface ApduSession {
  readonly system: number;
  readonly nodes: readonly number[];
  readonly keys: SmKeys;
  ssc: Uint8Array;
}

interface ChannelState {
  pending: Pending | undefined;
  open: ApduSession | undefined;
}

function dropPending(p: Pending | undefined): void {
  if (!p) return;
  p.lease.release();
  p.rndB.fill(0);
}

/** The AUTHENTICATE pair and the SM gate of one applet. */
export class AuthenticateService {
  // Keyed by the card object, so a card rebuilt from an image starts with empty RAM.
  private readonly ram = new WeakMap<CardContext, Map<number, ChannelState>>();

  /**
   * `scope` gives the nodes AUTHENTICATE may name. With `systemInP2` (the card manager) the first
   * command's P2 is a system number handed to `scope`; otherwise P2 must be 00.
   */
  constructor(
    private readonly scope: (ctx: AppletContext, p2: number) => AppletScope,
    private readonly options: { readonly systemInP2?: boolean } = {},
  ) {}

  private state(ctx: AppletContext): ChannelState {
    let m = this.ram.get(ctx.card);
    if (!m) this.ram.set(ctx.card, (m = new Map()));
    let s = m.get(ctx.channel);
    if (!s) m.set(ctx.channel, (s = { pending: undefined, open: undefined }));
    return s;
  }

  /** True for the two AUTHENTICATE commands. */
  handles(apdu: CommandApdu): boolean {
    return (apdu.cla & 0x80) !== 0 && apdu.ins === AUTHENTICATE.ins && !isSecureMessaging(apdu.cla & 0x7f);
  }

  /** The open session of the channel, if any. */
  session(ctx: AppletContext): ApduSession | undefined {
    return this.ram.get(ctx.card)?.get(ctx.channel)?.open;
  }

  /** Ends the channel's session (keys wiped). */
  end(ctx: AppletContext): void {
    const s = this.ram.get(ctx.card)?.get(ctx.channel);
    if (!s) return;
    dropPending(s.pending);
    if (s.open) disposeSmKeys(s.open.keys);
    s.pending = undefined;
    s.open = undefined;
  }

  process(apdu: CommandApdu, ctx: AppletContext): ApduResponse {
    if (apdu.p1 === AUTHENTICATE.p1First && (this.options.systemInP2 || apdu.p2 === AUTHENTICATE.p2))
      return this.first(apdu, ctx);
    if (apdu.p1 === AUTHENTICATE.p1Continue && apdu.p2 === AUTHENTICATE.p2) return this.second(apdu, ctx);
    throw new IsoError(SW.WRONG_P1P2);
  }

  private first(apdu: CommandApdu, ctx: AppletContext): ApduResponse {
    const d = apdu.data;
    const n = d[0] ?? 0;
    if (n < 1 || n > AUTHENTICATE.maxNodes || d.length !== 1 + 2 * n) throw new IsoError(SW.WRONG_LENGTH);
    const wanted = this.scope(ctx, apdu.p2);
    const scope = resolveScope(ctx.card.fs, wanted);
    const nodes = Array.from({ length: n }, (_, i) => (d[1 + 2 * i]! << 8) | d[2 + 2 * i]!);
    const keys: Uint8Array[] = [];
    try {
      for (const code of nodes) {
        const node = scopedNode(scope, code);
        if (node.key.algorithm === 0) throw new IsoError(SW.REFERENCE_DATA_UNUSABLE);
        keys.push(readNodeKey(ctx.card.fs.eeprom, node.key));
      }
    } catch (e) {
      for (const k of keys) k.fill(0);
      throw e;
    }
    this.end(ctx);
    const suite = suiteByCode(ctx.card.fs.index.manufacture.cryptoSuite);
    let lease: AccessKeyLease;
    try {
      lease = ctx.card.accessKeys.acquire(suite, keys);
    } finally {
      for (const k of keys) k.fill(0);
    }
    const { accessKey, cipher } = lease;
    const rndB = new Uint8Array(suite.randomLength);
    ctx.card.random.fill(rndB);
    const challenge = cardChallenge(cipher, rndB);
    this.state(ctx).pending = {
      system: wanted.system,
      suite,
      nodes,
      accessKey,
      cipher,
      lease,
      rndB,
      cardChallenge: challenge,
    };
    return { data: challenge, sw: SW.OK };
  }

  private second(apdu: CommandApdu, ctx: AppletContext): ApduResponse {
    const st = this.state(ctx);
    const p = st.pending;
    if (!p) {
      this.end(ctx);
      throw new IsoError(SW.CONDITIONS_OF_USE);
    }
    const reader = apdu.data;
    const verdict =
      reader.length === 2 * p.suite.randomLength
        ? cardVerifyReaderResponse(p.cipher, p.cardChallenge, reader, p.rndB)
        : ({ ok: false } as const);
    if (!verdict.ok) {
      this.end(ctx);
      throw new IsoError(SW.SECURITY_STATUS);
    }
    const answer = cardResponse(p.cipher, reader, verdict.rndA);
    const ks = sessionKey(p.suite.cipher, verdict.rndA, p.rndB, singleDesStrength(p.suite, p.accessKey));
    const keys = smKeysFromSessionKey(p.suite, ks);
    ks.fill(0);
    verdict.rndA.fill(0);
    dropPending(p);
    st.pending = undefined;
    st.open = { system: p.system, nodes: p.nodes, keys, ssc: initialSsc(keys) };
    return { data: answer, sw: SW.OK };
  }

  /**
   * Runs an SM-protected command: without a session 6982; a missing or wrong DO or MAC 6988, the
   * session ends and nothing runs. The handler's answer (or the IsoError it throws) is wrapped.
   */
  protect(
    apdu: CommandApdu,
    ctx: AppletContext,
    handler: (cmd: PlainCommand, session: ApduSession) => ApduResponse,
  ): ApduResponse {
    const s = this.session(ctx);
    return runUnderSm(
      s,
      apdu,
      () => this.end(ctx),
      handler,
      // The handler may have ended the session (e.g. DELETE of its own area): answer without SM then.
      () => this.session(ctx) === s,
    );
  }
}
