// The `script:<file.json>` transport: scripted replay of a recorded dialogue (cli.md "Card targets").
// The script is a list of exchanges in the transcript shape of vectors.md: `tx`/`rx` for FeliCa
// frames, `c`/`r` for APDUs (an answer of null is silence). Each command must equal the next recorded
// one and gets its recorded answer; a different command, one of the other interface, or one after the
// end is a `protocol` error, after which the transport answers nothing more.
import { bytesEqual, bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { TransportError, type Transport } from './transport';

export interface ScriptedExchange {
  readonly interface: 'felica' | 'apdu';
  readonly command: Uint8Array;
  /** null: the card stays silent. */
  readonly answer: Uint8Array | null;
}

export class ScriptError extends Error {
  override readonly name = 'ScriptError';
}

/**
 * Reads a script: an object with `exchanges`, or a vector file (vectors.md) whose vector is chosen by
 * `vectorId` (optional when the file holds exactly one). Errors name the JSON path.
 */
export function parseScript(json: unknown, vectorId?: string): ScriptedExchange[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ScriptError('a script must be a JSON object with "exchanges" (or a vector file)');
  let holder = json as Record<string, unknown>;
  let path = '';
  if (Array.isArray(holder['vectors'])) {
    const vectors = holder['vectors'] as unknown[];
    const ids = vectors.map((v) =>
      typeof v === 'object' && v !== null ? (v as Record<string, unknown>)['id'] : undefined,
    );
    let index: number;
    if (vectorId !== undefined) {
      index = ids.indexOf(vectorId);
      if (index < 0) throw new ScriptError(`no vector with id "${vectorId}" (ids: ${ids.join(', ')})`);
    } else {
      if (vectors.length !== 1)
        throw new ScriptError(
          `the file holds ${vectors.length} vectors: name one with #<id> (ids: ${ids.join(', ')})`,
        );
      index = 0;
    }
    holder = vectors[index] as Record<string, unknown>;
    path = `vectors[${index}].`;
  } else if (vectorId !== undefined) {
    throw new ScriptError(`#${vectorId} names a vector, but the file has no "vectors"`);
  }
  const list = holder['exchanges'];
  if (!Array.isArray(list)) throw new ScriptError(`${path}exchanges must be an array`);
  return list.map((e: unknown, i): ScriptedExchange => {
    const at = `${path}exchanges[${i}]`;
    if (typeof e !== 'object' || e === null) throw new ScriptError(`${at} must be an object`);
    const x = e as Record<string, unknown>;
    const felica = 'tx' in x;
    if (felica === 'c' in x) throw new ScriptError(`${at} needs either tx/rx (FeliCa) or c/r (APDU)`);
    const [cmd, ans] = felica ? ['tx', 'rx'] : ['c', 'r'];
    const command = x[cmd];
    const answer = x[ans];
    if (typeof command !== 'string') throw new ScriptError(`${at}.${cmd} must be a hex string`);
    if (answer !== null && typeof answer !== 'string')
      throw new ScriptError(`${at}.${ans} must be a hex string or null`);
    try {
      return {
        interface: felica ? 'felica' : 'apdu',
        command: hexToBytes(command, `${at}.${cmd}`),
        answer: answer === null ? null : hexToBytes(answer, `${at}.${ans}`),
      };
    } catch (err) {
      throw new ScriptError((err as Error).message);
    }
  });
}

export class ScriptTransport implements Transport {
  private at = 0;
  private failure: TransportError | undefined;

  constructor(
    private readonly script: readonly ScriptedExchange[],
    readonly description = 'script:',
  ) {}

  /** Exchanges not yet replayed. */
  get remaining(): number {
    return this.script.length - this.at;
  }

  async felica(frame: Uint8Array): Promise<Uint8Array | null> {
    return this.next('felica', frame);
  }

  /** A recorded null answer to an APDU is an unpowered card: `link-lost`, as in-process. */
  async apdu(command: Uint8Array): Promise<Uint8Array> {
    const r = await this.next('apdu', command);
    if (r === null) throw new TransportError('link-lost', 'the card is not powered (recorded silence)');
    return r;
  }

  close(): Promise<void> {
    this.failure = new TransportError('closed', 'the transport is closed');
    return Promise.resolve();
  }

  private next(iface: 'felica' | 'apdu', command: Uint8Array): Promise<Uint8Array | null> {
    if (!(command instanceof Uint8Array))
      return Promise.reject(new TypeError('command must be a Uint8Array'));
    if (this.failure) return Promise.reject(this.failure);
    const n = this.at + 1;
    const e = this.script[this.at];
    let why: string | undefined;
    if (!e)
      why = `${iface} command ${bytesToHex(command)} after the end of the script (${this.script.length} exchanges)`;
    else if (e.interface !== iface)
      why = `exchange ${n}: got a ${iface} command, the script has a ${e.interface} one`;
    else if (!bytesEqual(e.command, command))
      why = `exchange ${n}: got ${bytesToHex(command)}, the script expects ${bytesToHex(e.command)}`;
    if (why !== undefined || !e) {
      this.failure = new TransportError('protocol', why ?? 'script mismatch');
      return Promise.reject(this.failure);
    }
    this.at++;
    return Promise.resolve(e.answer === null ? null : e.answer.slice());
  }
}
