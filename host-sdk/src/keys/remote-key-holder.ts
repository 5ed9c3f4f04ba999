// A key holder reached through messages (JSON-safe: hex strings): the terminal relays card frames and
// the holder, behind the link, computes every cryptogram. `keyHolderService` is the holder's side.
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import type { AuthRequest, CryptogramSession, KeyHolder } from './key-holder';

export type KeyHolderMessage =
  | {
      readonly op: 'authenticate';
      readonly idm: string;
      readonly systemCode: number;
      readonly suite: string;
      readonly areas: readonly number[];
      readonly services: readonly number[];
    }
  | { readonly op: 'respond'; readonly session: string; readonly cardChallenge: string }
  | { readonly op: 'confirm'; readonly session: string; readonly cardResponse: string }
  | { readonly op: 'seal'; readonly session: string; readonly clear: string; readonly secret: string }
  | { readonly op: 'open'; readonly session: string; readonly answer: string; readonly encryptedFrom: number }
  | { readonly op: 'close'; readonly session: string };

export type KeyHolderReply = {
  readonly session?: string;
  readonly bytes?: string | null;
  readonly ok?: boolean;
};

export type KeyHolderLink = (message: KeyHolderMessage) => Promise<KeyHolderReply>;

/** The holder's side of the link: sessions kept by id. */
export function keyHolderService(holder: KeyHolder): KeyHolderLink {
  const sessions = new Map<string, CryptogramSession>();
  let next = 0;
  const get = (id: string): CryptogramSession => {
    const s = sessions.get(id);
    if (!s) throw new Error(`unknown key-holder session ${id}`);
    return s;
  };
  return async (m) => {
    switch (m.op) {
      case 'authenticate': {
        const s = await holder.authenticate({
          idm: hexToBytes(m.idm),
          systemCode: m.systemCode,
          suite: m.suite,
          areas: m.areas,
          services: m.services,
        });
        const id = String(++next);
        sessions.set(id, s);
        return { session: id };
      }
      case 'respond':
        return { bytes: bytesToHex(await get(m.session).respond(hexToBytes(m.cardChallenge))) };
      case 'confirm':
        return { ok: await get(m.session).confirm(hexToBytes(m.cardResponse)) };
      case 'seal':
        return { bytes: bytesToHex(await get(m.session).seal(hexToBytes(m.clear), hexToBytes(m.secret))) };
      case 'open': {
        const r = await get(m.session).open(hexToBytes(m.answer), m.encryptedFrom);
        return { bytes: r === null ? null : bytesToHex(r) };
      }
      case 'close':
        await sessions.get(m.session)?.close();
        sessions.delete(m.session);
        return {};
    }
  };
}

function bytesOf(r: KeyHolderReply): Uint8Array {
  if (typeof r.bytes !== 'string') throw new Error('the key holder answered without bytes');
  return hexToBytes(r.bytes);
}

class RemoteSession implements CryptogramSession {
  constructor(
    private readonly link: KeyHolderLink,
    private readonly id: string,
  ) {}
  async respond(cardChallenge: Uint8Array): Promise<Uint8Array> {
    return bytesOf(
      await this.link({ op: 'respond', session: this.id, cardChallenge: bytesToHex(cardChallenge) }),
    );
  }
  async confirm(cardResponse: Uint8Array): Promise<boolean> {
    return (
      (await this.link({ op: 'confirm', session: this.id, cardResponse: bytesToHex(cardResponse) })).ok ===
      true
    );
  }
  async seal(clear: Uint8Array, secret: Uint8Array): Promise<Uint8Array> {
    return bytesOf(
      await this.link({ op: 'seal', session: this.id, clear: bytesToHex(clear), secret: bytesToHex(secret) }),
    );
  }
  async open(answer: Uint8Array, encryptedFrom: number): Promise<Uint8Array | null> {
    const r = await this.link({ op: 'open', session: this.id, answer: bytesToHex(answer), encryptedFrom });
    return r.bytes === null || r.bytes === undefined ? null : hexToBytes(r.bytes);
  }
  async close(): Promise<void> {
    await this.link({ op: 'close', session: this.id });
  }
}

export class RemoteKeyHolder implements KeyHolder {
  constructor(private readonly link: KeyHolderLink) {}
  async authenticate(req: AuthRequest): Promise<CryptogramSession> {
    const r = await this.link({
      op: 'authenticate',
      idm: bytesToHex(req.idm),
      systemCode: req.systemCode,
      suite: req.suite,
      areas: req.areas,
      services: req.services,
    });
    if (typeof r.session !== 'string') throw new Error('the key holder opened no session');
    return new RemoteSession(this.link, r.session);
  }
}
