// A key holder in the same process: node keys given as stored values or as masters diversified per
// card (security.md 2: AN10922 with M = IDm ‖ node code (BE) ‖ system code (BE)).
import { AccessKeyCache, type AccessKeyLease } from '@mica/apdu-specs/secure/access-key-cache';
import { cardKey, type KeySource } from '@mica/apdu-specs/secure/card-key';
import {
  readerOpenChallenge,
  readerResponse,
  readerVerifyCardResponse,
  sessionKey,
} from '@mica/apdu-specs/crypto/three-pass';
import { MAC_BYTES, SecureChannel } from '@mica/apdu-specs/secure/channel';
import { singleDesStrength, suiteByName, type Suite } from '@mica/apdu-specs/secure/suite';
import { formatCode } from '@mica/apdu-specs/node-code';
import type { AuthRequest, CryptogramSession, KeyHolder } from './key-holder';

export type HeldKey = KeySource;

export type RandomBytes = (n: number) => Uint8Array;

class LocalSession implements CryptogramSession {
  private rndA: Uint8Array;
  private rndB: Uint8Array | undefined;
  private reader: Uint8Array | undefined;
  private channel: SecureChannel | undefined;
  private ctr = 0;

  private readonly accessKey: Uint8Array;
  private readonly cipher: AccessKeyLease['cipher'];

  constructor(
    private readonly suite: Suite,
    private readonly lease: AccessKeyLease,
    random: RandomBytes,
  ) {
    this.accessKey = lease.accessKey;
    this.cipher = lease.cipher;
    this.rndA = random(suite.randomLength);
  }

  respond(cardChallenge: Uint8Array): Promise<Uint8Array> {
    this.rndB = readerOpenChallenge(this.cipher, cardChallenge);
    this.reader = readerResponse(this.cipher, cardChallenge, this.rndA, this.rndB);
    return Promise.resolve(this.reader);
  }

  confirm(cardResponse: Uint8Array): Promise<boolean> {
    if (!this.reader || !this.rndB || cardResponse.length !== this.rndA.length) return Promise.resolve(false);
    if (!readerVerifyCardResponse(this.cipher, this.reader, cardResponse, this.rndA))
      return Promise.resolve(false);
    const ks = sessionKey(
      this.suite.cipher,
      this.rndA,
      this.rndB,
      singleDesStrength(this.suite, this.accessKey),
    );
    this.channel = SecureChannel.fromSessionKey(this.suite, ks);
    ks.fill(0);
    this.ctr = 0;
    return Promise.resolve(true);
  }

  private live(): SecureChannel {
    if (!this.channel) throw new Error('the session is not authenticated (or was closed)');
    return this.channel;
  }

  seal(clear: Uint8Array, secret: Uint8Array): Promise<Uint8Array> {
    const ch = this.live();
    const body = new Uint8Array(clear.length + secret.length);
    body.set(clear);
    if (secret.length > 0) body.set(ch.encrypt(this.ctr, secret), clear.length);
    return Promise.resolve(ch.seal(this.ctr, body));
  }

  open(answer: Uint8Array, encryptedFrom: number): Promise<Uint8Array | null> {
    const ch = this.live();
    const ctr = this.ctr;
    if (answer.length < 12 + MAC_BYTES || !ch.verify(ctr, answer)) {
      void this.close();
      return Promise.resolve(null);
    }
    this.ctr = (ctr + 1) >>> 0;
    const out = answer.slice(0, answer.length - MAC_BYTES);
    out[0] = out.length;
    if (encryptedFrom < out.length) out.set(ch.decrypt(ctr, out.subarray(encryptedFrom)), encryptedFrom);
    return Promise.resolve(out);
  }

  close(): Promise<void> {
    this.channel?.dispose();
    this.channel = undefined;
    this.lease.release(); // the access key stays in the holder's cache until LocalKeyHolder.dispose()
    this.rndA.fill(0);
    return Promise.resolve();
  }
}

export class LocalKeyHolder implements KeyHolder {
  private readonly keys = new Map<string, HeldKey>();
  /** Access keys and their cipher contexts, reused by later sessions over the same node keys. */
  private readonly accessKeys = new AccessKeyCache(8);

  constructor(private readonly random: RandomBytes) {}

  /** Holds the key of node `node` (FFFFh = the system) of system `systemCode`. */
  set(systemCode: number, node: number, key: HeldKey): this {
    this.keys.set(`${formatCode(systemCode)}:${formatCode(node)}`, key);
    return this;
  }

  has(systemCode: number, node: number): boolean {
    return this.keys.has(`${formatCode(systemCode)}:${formatCode(node)}`);
  }

  /** The per-card key of a node (for issuance packages, which carry key material). */
  keyFor(suite: Suite, idm: Uint8Array, systemCode: number, node: number): Uint8Array {
    const k = this.keys.get(`${formatCode(systemCode)}:${formatCode(node)}`);
    if (!k) throw new Error(`no key for node ${formatCode(node)} of system ${formatCode(systemCode)}`);
    return cardKey(suite, k, idm, node, systemCode);
  }

  versionOf(systemCode: number, node: number): number {
    return this.keys.get(`${formatCode(systemCode)}:${formatCode(node)}`)?.version ?? 0;
  }

  authenticate(req: AuthRequest): Promise<CryptogramSession> {
    const suite = suiteByName(req.suite);
    const nodeKeys = [...req.areas, ...req.services].map((n) =>
      this.keyFor(suite, req.idm, req.systemCode, n),
    );
    let lease: AccessKeyLease;
    try {
      lease = this.accessKeys.acquire(suite, nodeKeys);
    } finally {
      for (const k of nodeKeys) k.fill(0);
    }
    return Promise.resolve(new LocalSession(suite, lease, this.random));
  }

  /** Wipes the cached access keys and their contexts (sessions still open can then no longer run). */
  dispose(): void {
    this.accessKeys.clear();
  }
}
