// Channels of seed 003 (flows.md 1.6): every message between actors travels over a typed channel,
// and a hook on every `internet` message refuses one that carries a key package or any registered key
// bytes (raw, hex or base64). Key stores register their keys here; key packages travel only over
// `dedicated` or `media`.
import { bytesToHex } from '@mica/apdu-specs/hex';
import { KEY_PACKAGE_FORMAT } from './key-package';

export type ChannelType = 'card' | 'dedicated' | 'internet' | 'media';

export class KeyOnInternetError extends Error {
  override readonly name = 'KeyOnInternetError';
  readonly code = 'E_KEY_ON_INTERNET';
  constructor(
    readonly from: string,
    readonly to: string,
    what: string,
  ) {
    super(`E_KEY_ON_INTERNET: ${from} → ${to} over the internet carries ${what}`);
  }
}

export interface ChannelMessage {
  readonly channel: ChannelType;
  readonly from: string;
  readonly to: string;
  readonly summary: string;
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export class ChannelHook {
  private readonly needles = new Map<string, string>();
  private readonly rawKeys: Uint8Array[] = [];
  /** Every message that passed, for the transcript (no payloads). */
  readonly messages: ChannelMessage[] = [];
  /** Messages the hook refused. */
  readonly refused: ChannelMessage[] = [];

  /** Registers key bytes to look for (a key store calls this for every key it holds). */
  registerKey(key: Uint8Array, label: string): void {
    if (!(key instanceof Uint8Array) || key.length < 8)
      throw new RangeError('a registered key is at least 8 bytes');
    this.rawKeys.push(key.slice());
    this.needles.set(bytesToHex(key), label);
    this.needles.set(bytesToHex(key).toUpperCase(), label);
    this.needles.set(base64(key), label);
  }

  get registeredKeys(): number {
    return this.rawKeys.length;
  }

  /** What in `payload` is key material, or undefined when it is clean. */
  findKeyMaterial(payload: unknown): string | undefined {
    const text =
      typeof payload === 'string'
        ? payload
        : payload instanceof Uint8Array
          ? ''
          : (JSON.stringify(payload) ?? '');
    if (text.includes(KEY_PACKAGE_FORMAT)) return 'a key package';
    for (const [needle, label] of this.needles) if (text.includes(needle)) return `key bytes of ${label}`;
    const raw = payload instanceof Uint8Array ? payload : new TextEncoder().encode(text);
    for (const k of this.rawKeys) if (contains(raw, k)) return 'raw key bytes';
    return undefined;
  }

  /** Passes a message over a channel: throws KeyOnInternetError for key material on the internet. */
  send<T>(channel: ChannelType, from: string, to: string, summary: string, payload: T): T {
    const m = { channel, from, to, summary };
    if (channel === 'internet') {
      const found = this.findKeyMaterial(payload);
      if (found !== undefined) {
        this.refused.push(m);
        throw new KeyOnInternetError(from, to, found);
      }
    }
    this.messages.push(m);
    return payload;
  }
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
