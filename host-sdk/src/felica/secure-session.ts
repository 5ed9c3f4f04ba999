// An authenticated FeliCa session on the host: Authentication1/2 through a key holder, then secure
// Read, Write and the issuance commands, each sealed by the key holder and its answer MAC-checked.
import { FELICA_SECURE_COMMANDS as S } from '@mica/apdu-specs/felica-secure';
import { pad2 } from '@mica/apdu-specs/crypto/padding';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import {
  changeKeyPackage,
  registerAreaPackage,
  registerIssueIdPackage,
  registerServicePackage,
  separateSystemPackage,
  type PackageKey,
  type ServicePackage,
} from '@mica/apdu-specs/secure/packages';
import { TransportError } from '../transport/transport';
import type { AuthRequest, CryptogramSession, KeyHolder } from '../keys/key-holder';
import type { FelicaClient } from './client';
import { blockList, frame, nodeList, type BlockRef } from './frames';
import { StatusResult } from './responses';

export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
  constructor(
    message: string,
    readonly sf1 = 0xff,
    readonly sf2 = 0,
  ) {
    super(message);
  }
}

export class SecureFelicaSession {
  private constructor(
    private readonly client: FelicaClient,
    private readonly crypto: CryptogramSession,
    readonly request: AuthRequest,
    private readonly blockSize: number,
  ) {}

  /** Authentication1 and 2 over the request's node list; throws AuthenticationError on refusal. */
  static async open(
    client: FelicaClient,
    holder: KeyHolder,
    request: AuthRequest,
  ): Promise<SecureFelicaSession> {
    const suite = suiteByName(request.suite);
    const crypto = await holder.authenticate(request);
    try {
      const r1 = await client.exchange(
        frame(S.authentication1.code, request.idm, nodeList(request.areas), nodeList(request.services)),
        'Authentication1',
      );
      if (r1[10] !== 0)
        throw new AuthenticationError(
          `Authentication1 refused (SF2 ${r1[11]!.toString(16)})`,
          r1[10],
          r1[11],
        );
      const readerResponse = await crypto.respond(r1.subarray(12));
      const r2 = await client.exchange(
        frame(S.authentication2.code, request.idm, readerResponse),
        'Authentication2',
      );
      if (r2[10] !== 0)
        throw new AuthenticationError(
          `Authentication2 refused (SF2 ${r2[11]!.toString(16)})`,
          r2[10],
          r2[11],
        );
      if (!(await crypto.confirm(r2.subarray(12))))
        throw new AuthenticationError('the card did not prove the key (cardResponse wrong)');
      return new SecureFelicaSession(client, crypto, request, suite.blockSize);
    } catch (e) {
      await crypto.close();
      throw e;
    }
  }

  /** Sends a sealed command; an answer without a valid MAC is no answer: the session is over. */
  private async send(
    clear: Uint8Array,
    secret: Uint8Array,
    name: string,
    encryptedFrom = 255,
  ): Promise<Uint8Array> {
    const f = await this.crypto.seal(clear, secret);
    const raw = await this.client.exchange(f, name);
    if (raw.length === 12) {
      // Only the answer to a command whose own MAC failed (B2) carries no MAC; the session is gone.
      await this.crypto.close();
      throw new TransportError(
        'protocol',
        `${name}: answered ${raw[10]!.toString(16)} ${raw[11]!.toString(16)} without a MAC; the session ended`,
      );
    }
    const opened = await this.crypto.open(raw, encryptedFrom);
    if (!opened)
      throw new TransportError(
        'protocol',
        `${name}: the answer's MAC is wrong; treat as no answer and authenticate again`,
      );
    return opened;
  }

  async read(services: readonly number[], blocks: readonly BlockRef[]): Promise<StatusResult<Uint8Array[]>> {
    const r = await this.send(
      frame(S.read.code, this.request.idm, nodeList(services), blockList(blocks)),
      new Uint8Array(0),
      'Read',
      13,
    );
    if (r[10] !== 0) return new StatusResult<Uint8Array[]>('Read', r[10]!, r[11]!, undefined);
    const n = r[12]!;
    return new StatusResult(
      'Read',
      0,
      r[11]!,
      Array.from({ length: n }, (_, i) => r.slice(13 + 16 * i, 29 + 16 * i)),
    );
  }

  async write(
    services: readonly number[],
    blocks: readonly BlockRef[],
    data: readonly Uint8Array[],
  ): Promise<StatusResult<true>> {
    if (data.length !== blocks.length || data.some((d) => d.length !== 16))
      throw new RangeError('one 16-byte data block per block element');
    const plain = new Uint8Array(16 * data.length);
    data.forEach((d, i) => plain.set(d, 16 * i));
    const r = await this.send(
      frame(S.write.code, this.request.idm, nodeList(services), blockList(blocks)),
      plain,
      'Write',
    );
    plain.fill(0);
    return new StatusResult('Write', r[10]!, r[11]!, r[10] === 0 ? true : undefined);
  }

  private async issue(code: number, name: string, params: Uint8Array): Promise<StatusResult<true>> {
    const secret = pad2(params, this.blockSize);
    params.fill(0);
    const r = await this.send(frame(code, this.request.idm), secret, name);
    secret.fill(0);
    return new StatusResult(name, r[10]!, r[11]!, r[10] === 0 ? true : undefined);
  }

  registerIssueId(p: {
    cardId: Uint8Array;
    issueDate: number;
    sequence: number;
  }): Promise<StatusResult<true>> {
    return this.issue(S.registerIssueId.code, 'Register Issue ID', registerIssueIdPackage(p));
  }
  registerArea(p: {
    code: number;
    end: number;
    capacity: number;
    key?: PackageKey | undefined;
  }): Promise<StatusResult<true>> {
    return this.issue(S.registerArea.code, 'Register Area', registerAreaPackage(p));
  }
  registerService(p: ServicePackage): Promise<StatusResult<true>> {
    return this.issue(S.registerService.code, 'Register Service', registerServicePackage(p));
  }
  changeKey(node: number, key: PackageKey): Promise<StatusResult<true>> {
    return this.issue(S.changeKey.code, 'Change Key', changeKeyPackage({ node, key }));
  }
  separateSystem(p: { systemCode: number; capacity: number; key: PackageKey }): Promise<StatusResult<true>> {
    return this.issue(S.separateSystem.code, 'Separate System', separateSystemPackage(p));
  }

  close(): Promise<void> {
    return this.crypto.close();
  }
}
