// The independent side of the APDU applets' security (security.md 6), on ref-crypto.ts only: the
// AUTHENTICATE pair over the 3-pass core, and ISO/IEC 7816-4 secure messaging with DOs 87 / 97 / 99 /
// 8E, an SSC of the cipher block size (0 after AUTHENTICATE, +1 before each MAC), IV = E(KSenc, SSC),
// and the MAC over SSC ‖ pad2(header) ‖ pad2(DOs) with no further padding. Used to generate and check
// test-vectors/apdu-transcript-secure.json; none of apdu-specs' code is used.
import * as R from './ref-crypto';

const B = (x: Uint8Array | readonly number[]): Buffer => Buffer.from(x);

function tlv(tag: number, value: Uint8Array): Buffer {
  const n = value.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([B([tag, ...len]), B(value)]);
}

/** A command APDU in short form: header ‖ [Lc ‖ data] ‖ [Le]. */
export function apdu(header: readonly number[], data: Uint8Array, le: number | undefined): Buffer {
  const parts = [B(header)];
  if (data.length > 0) parts.push(B([data.length]), B(data));
  if (le !== undefined) parts.push(B([le & 0xff]));
  return Buffer.concat(parts);
}

/** Both ends of one applet session: AUTHENTICATE messages, then SM with a shared SSC. */
export class RefApduSession {
  readonly challenge: Buffer;
  readonly readerResponse: Buffer;
  readonly cardResponse: Buffer;
  private readonly enc: Buffer;
  private readonly macKey: Buffer;
  private ssc: Buffer;

  /**
   * Either the node keys of AUTHENTICATE with RndA and RndB (the 3-pass session), or the SM keys
   * themselves (`{ enc, mac }`: AUTHENTICATE PK, whose keys come from X25519 and HKDF; no 3-pass messages).
   */
  constructor(
    readonly suite: R.RefSuite,
    nodeKeys: readonly Uint8Array[] | { readonly enc: Buffer; readonly mac: Buffer },
    rndA: Buffer = Buffer.alloc(0),
    rndB: Buffer = Buffer.alloc(0),
  ) {
    if ('enc' in nodeKeys) {
      this.challenge = this.readerResponse = this.cardResponse = Buffer.alloc(0);
      this.enc = nodeKeys.enc;
      this.macKey = nodeKeys.mac;
    } else {
      const t = R.threePass(suite, nodeKeys, rndA, rndB);
      this.challenge = t.challenge;
      this.readerResponse = t.readerResponse;
      this.cardResponse = t.cardResponse;
      this.enc = t.ks.enc;
      this.macKey = t.ks.mac;
    }
    this.ssc = Buffer.alloc(R.blockSize(suite));
  }

  private bs(): number {
    return R.blockSize(this.suite);
  }

  private next(): Buffer {
    const s = Buffer.from(this.ssc);
    for (let i = s.length - 1; i >= 0; i--) {
      s[i] = (s[i]! + 1) & 0xff;
      if (s[i] !== 0) break;
    }
    this.ssc = s;
    return s;
  }

  private mac(ssc: Buffer, header: Buffer | undefined, dos: Buffer): Buffer {
    const parts = [ssc];
    if (header) parts.push(R.pad2(header, this.bs()));
    if (dos.length > 0) parts.push(R.pad2(dos, this.bs()));
    const m = Buffer.concat(parts);
    const full =
      this.suite === 'aes128' ? R.aesCmac(this.macKey.subarray(0, 16), m) : R.retailMac(this.macKey, m, true);
    return full.subarray(0, 8);
  }

  private do87(ssc: Buffer, data: Uint8Array): Buffer {
    const iv = R.ecbEnc(this.suite, this.enc, ssc);
    return tlv(0x87, Buffer.concat([B([1]), R.cbcEnc(this.suite, this.enc, iv, R.pad2(data, this.bs()))]));
  }

  /**
   * The protected command for plain CLA `cla` (SM bits are set here): 87 (when there is data), 97
   * (when `le` is given; 0 = 256) and 8E, with Le 00 outside.
   */
  command(cla: number, ins: number, p1: number, p2: number, data: Uint8Array, le?: number): Buffer {
    const ssc = this.next();
    const smCla = cla | 0x0c;
    const dos = Buffer.concat([
      data.length > 0 ? this.do87(ssc, data) : Buffer.alloc(0),
      le !== undefined ? tlv(0x97, B([le & 0xff])) : Buffer.alloc(0),
    ]);
    const header = B([smCla, ins, p1, p2]);
    const body = Buffer.concat([dos, tlv(0x8e, this.mac(ssc, header, dos))]);
    return apdu([smCla, ins, p1, p2], body, 0);
  }

  /** The card's protected answer: 87 (when there is data), 99 SW, 8E, then SW1 SW2. */
  response(data: Uint8Array, sw: number): Buffer {
    const ssc = this.next();
    const dos = Buffer.concat([
      data.length > 0 ? this.do87(ssc, data) : Buffer.alloc(0),
      tlv(0x99, B([sw >> 8, sw & 0xff])),
    ]);
    return Buffer.concat([dos, tlv(0x8e, this.mac(ssc, undefined, dos)), B([sw >> 8, sw & 0xff])]);
  }
}
