// FeliCa-style secure messaging (security.md 5): CTR, IV = E_ECB(KSenc, CTR), CBC encryption, and the
// 8-byte MAC over CTR ‖ frame bytes. One channel object per session, its cipher contexts built once.
import { createBlockCipher, type BlockCipher } from '../crypto/block-cipher';
import { cbcDecrypt, cbcEncrypt } from '../crypto/modes';
import { assertBytes, constantTimeEqual } from '../crypto/compare';
import { createMac, type Mac } from '../crypto/mac';
import { deriveSmKeys } from '../crypto/three-pass';
import type { Suite } from './suite';

export const MAC_BYTES = 8;

export class SecureChannel {
  private readonly enc: BlockCipher;
  private readonly mac: Mac;
  private readonly zeroIv: Uint8Array;
  private readonly blockSize: number;
  private readonly macInput: Uint8Array = new Uint8Array(260);

  constructor(
    readonly suite: Suite,
    ksEnc: Uint8Array,
    ksMac: Uint8Array,
  ) {
    this.enc = createBlockCipher(suite.cipher, ksEnc.subarray(0, suite.keyLength));
    this.mac = createMac(suite.mac, suite.mac === 'aes-cmac' ? ksMac.subarray(0, 16) : ksMac.subarray(0, 16));
    this.blockSize = suite.blockSize;
    this.zeroIv = new Uint8Array(suite.blockSize);
  }

  /** The channel of a session key Ks: KSenc and KSmac derived with SHA-256 (security.md 4). */
  static fromSessionKey(suite: Suite, ks: Uint8Array): SecureChannel {
    const { ksEnc, ksMac } = deriveSmKeys(ks, suite.smKeyLength);
    const ch = new SecureChannel(suite, ksEnc, ksMac);
    ksEnc.fill(0);
    ksMac.fill(0);
    return ch;
  }

  /** The CTR block: CTR as 4 bytes BE, left-padded with zeros to the block size (a fresh array). */
  private ctrBlock(ctr: number, extra = 0): Uint8Array {
    const n = this.blockSize;
    const b = new Uint8Array(n + extra);
    b[n - 4] = ctr >>> 24;
    b[n - 3] = (ctr >>> 16) & 0xff;
    b[n - 2] = (ctr >>> 8) & 0xff;
    b[n - 1] = ctr & 0xff;
    return b;
  }

  /**
   * IV = E_ECB(KSenc, CTR as 4 bytes BE, left-padded with zeros to the block size), computed as the
   * one-block CBC encryption under IV 0, so that the channel's cipher runs on its two CBC contexts only.
   */
  iv(ctr: number): Uint8Array {
    return cbcEncrypt(this.enc, this.zeroIv, this.ctrBlock(ctr));
  }

  /** E_CBC(KSenc, IV, data): one CBC pass over CTR-block ‖ data under IV 0, whose first block is the IV. */
  encrypt(ctr: number, data: Uint8Array): Uint8Array {
    assertBytes(data, 'data');
    if (data.length % this.blockSize !== 0) {
      throw new RangeError(
        `data must be a multiple of the ${this.blockSize}-byte block size, got ${data.length} bytes`,
      );
    }
    const x = this.ctrBlock(ctr, data.length);
    x.set(data, this.blockSize);
    const out = cbcEncrypt(this.enc, this.zeroIv, x);
    x.fill(0);
    return out.slice(this.blockSize);
  }

  decrypt(ctr: number, data: Uint8Array): Uint8Array {
    return cbcDecrypt(this.enc, this.iv(ctr), data);
  }

  /** First 8 bytes of MAC(KSmac, CTR(4, BE) ‖ bytes). */
  macOf(ctr: number, bytes: Uint8Array): Uint8Array {
    const m =
      bytes.length + 4 <= this.macInput.length
        ? this.macInput.subarray(0, bytes.length + 4)
        : new Uint8Array(bytes.length + 4);
    m[0] = ctr >>> 24;
    m[1] = (ctr >>> 16) & 0xff;
    m[2] = (ctr >>> 8) & 0xff;
    m[3] = ctr & 0xff;
    m.set(bytes, 4);
    return this.mac.compute(m).slice(0, MAC_BYTES);
  }

  /** Appends the MAC to a frame (LEN ‖ code ‖ …): LEN grows by 8; the MAC covers code..end. */
  seal(ctr: number, frameWithoutMac: Uint8Array): Uint8Array {
    const n = frameWithoutMac.length + MAC_BYTES;
    if (n > 255) throw new RangeError(`secure frame of ${n} bytes is longer than LEN allows`);
    const out = new Uint8Array(n);
    out.set(frameWithoutMac);
    out[0] = n;
    out.set(this.macOf(ctr, frameWithoutMac.subarray(1)), n - MAC_BYTES);
    return out;
  }

  /** True when the frame's last 8 bytes are the MAC of its code..end-8 under `ctr` (constant time). */
  verify(ctr: number, frame: Uint8Array): boolean {
    if (frame.length < 2 + MAC_BYTES) return false;
    const expected = this.macOf(ctr, frame.subarray(1, frame.length - MAC_BYTES));
    return constantTimeEqual(expected, frame.subarray(frame.length - MAC_BYTES));
  }

  dispose(): void {
    this.enc.dispose();
    this.mac.dispose();
  }
}
