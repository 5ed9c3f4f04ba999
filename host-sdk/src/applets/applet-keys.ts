// A local key object for applet AUTHENTICATE (security.md 6): the reader side of the 3-pass core, giving an SM client.
import { AUTHENTICATE } from '@mica/apdu-specs/apdu/applet-commands';
import { smKeysFromSessionKey } from '@mica/apdu-specs/apdu/secure-messaging';
import {
  readerOpenChallenge,
  readerResponse,
  readerVerifyCardResponse,
  sessionKey,
} from '@mica/apdu-specs/crypto/three-pass';
import { singleDesStrength, suiteByName, type Suite } from '@mica/apdu-specs/secure/suite';
import { AccessKeyCache } from '@mica/apdu-specs/secure/access-key-cache';
import type { ApduClient } from '../apdu/apdu-client';

/** n random bytes from an injected, seeded source. */
export type RandomBytes = (n: number) => Uint8Array;

/** The outcome of AUTHENTICATE: an SM client (SSC 0), or the SW of the refusal (0 = wrong card response). */
export type AppletAuthResult =
  { readonly ok: true; readonly client: ApduClient } | { readonly ok: false; readonly sw: number };

/** Node keys held in this process, in the order AUTHENTICATE names their nodes. */
export class LocalAppletKeys {
  private readonly suite: Suite;
  /** The one access key of these nodes and its cipher contexts, kept until dispose(). */
  private readonly accessKeys = new AccessKeyCache(1);

  constructor(
    suite: string,
    private readonly nodes: readonly { readonly code: number; readonly key: Uint8Array }[],
    private readonly random: RandomBytes,
  ) {
    this.suite = suiteByName(suite);
    if (nodes.length < 1 || nodes.length > AUTHENTICATE.maxNodes)
      throw new RangeError(`1-${AUTHENTICATE.maxNodes} nodes`);
  }

  /**
   * Runs both AUTHENTICATE commands on the selected applet of `client`'s channel. `p2` of the first
   * part is 00, or the system number for the card manager.
   */
  async authenticate(client: ApduClient, p2 = 0): Promise<AppletAuthResult> {
    const data = Uint8Array.of(this.nodes.length, ...this.nodes.flatMap((n) => [n.code >> 8, n.code & 0xff]));
    const first = await client.send({
      cla: AUTHENTICATE.cla,
      ins: AUTHENTICATE.ins,
      p1: 0,
      p2,
      data,
      ne: 256,
    });
    if (!first.ok) return { ok: false, sw: first.sw };
    const lease = this.accessKeys.acquire(
      this.suite,
      this.nodes.map((n) => n.key),
    );
    const { accessKey: access, cipher } = lease;
    try {
      const rndA = this.random(this.suite.randomLength);
      const rndB = readerOpenChallenge(cipher, first.data);
      const rr = readerResponse(cipher, first.data, rndA, rndB);
      const second = await client.send({
        cla: AUTHENTICATE.cla,
        ins: AUTHENTICATE.ins,
        p1: AUTHENTICATE.p1Continue,
        p2: 0,
        data: rr,
        ne: 256,
      });
      if (!second.ok) return { ok: false, sw: second.sw };
      if (!readerVerifyCardResponse(cipher, rr, second.data, rndA)) return { ok: false, sw: 0 };
      const ks = sessionKey(this.suite.cipher, rndA, rndB, singleDesStrength(this.suite, access));
      const keys = smKeysFromSessionKey(this.suite, ks);
      ks.fill(0);
      rndA.fill(0);
      return { ok: true, client: client.withSecureMessaging(keys) };
    } finally {
      lease.release();
    }
  }

  /** Wipes the cached access key and its cipher contexts. */
  dispose(): void {
    this.accessKeys.clear();
  }
}
