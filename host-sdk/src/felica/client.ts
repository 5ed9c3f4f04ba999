// FeliCa client for the plain commands (commands.md): builds frames, checks answers, returns values.
import { FELICA_COMMANDS as C } from '@mica/apdu-specs/felica-commands';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { TransportError, type Transport } from '../transport/transport';
import { blockList, frame, nodeList, type BlockRef } from './frames';
import { StatusResult } from './responses';

export interface PollingResult {
  readonly idm: Uint8Array;
  readonly pmm: Uint8Array;
  /** Request code 01: the system code; 02: the communication performance. */
  readonly requestData: Uint8Array;
}

export type SearchEntry =
  | { readonly kind: 'area'; readonly code: number; readonly end: number }
  | { readonly kind: 'service'; readonly code: number }
  | { readonly kind: 'end' };

export class FelicaClient {
  constructor(readonly transport: Transport) {}

  /** Sends a frame and returns the answer, checking its response code and IDm; silence is a timeout. */
  async exchange(command: Uint8Array, name: string): Promise<Uint8Array> {
    const r = await this.transport.felica(command);
    if (r === null) throw new TransportError('timeout', `${name}: no answer from the card`);
    if (r.length < 2 || r[0] !== r.length || r[1] !== command[1]! + 1)
      throw new TransportError('protocol', `${name}: malformed answer ${bytesToHex(r)}`);
    if (
      command[1] !== C.polling.code &&
      bytesToHex(r.subarray(2, 10)) !== bytesToHex(command.subarray(2, 10))
    )
      throw new TransportError('protocol', `${name}: answer from another IDm`);
    return r;
  }

  async polling(systemCode: number, requestCode = 0, timeSlot = 0): Promise<PollingResult> {
    const r = await this.exchange(
      frame(C.polling.code, [systemCode >> 8, systemCode & 0xff, requestCode, timeSlot]),
      'Polling',
    );
    if (r.length < 18) throw new TransportError('protocol', 'Polling: answer too short');
    return { idm: r.slice(2, 10), pmm: r.slice(10, 18), requestData: r.slice(18) };
  }

  private async nodeValues(
    code: number,
    name: string,
    idm: Uint8Array,
    codes: readonly number[],
  ): Promise<number[]> {
    const r = await this.exchange(frame(code, idm, nodeList(codes)), name);
    const n = r[10];
    if (n !== codes.length || r.length !== 11 + 2 * n)
      throw new TransportError('protocol', `${name}: wrong number of values`);
    return codes.map((_, i) => r[11 + 2 * i]! | (r[12 + 2 * i]! << 8));
  }

  /** Key versions (FFFFh: no such node; 0000h: no key). */
  requestService(idm: Uint8Array, nodes: readonly number[]): Promise<number[]> {
    return this.nodeValues(C.requestService.code, 'Request Service', idm, nodes);
  }

  /** Block counts of services, free capacity of areas (FFFFh: no such node). */
  requestBlockInformation(idm: Uint8Array, nodes: readonly number[]): Promise<number[]> {
    return this.nodeValues(C.requestBlockInformation.code, 'Request Block Information', idm, nodes);
  }

  async requestResponse(idm: Uint8Array): Promise<number> {
    const r = await this.exchange(frame(C.requestResponse.code, idm), 'Request Response');
    return r[10]!;
  }

  async requestSystemCode(idm: Uint8Array): Promise<number[]> {
    const r = await this.exchange(frame(C.requestSystemCode.code, idm), 'Request System Code');
    const n = r[10]!;
    return Array.from({ length: n }, (_, i) => (r[11 + 2 * i]! << 8) | r[12 + 2 * i]!);
  }

  async searchServiceCode(idm: Uint8Array, index: number): Promise<SearchEntry> {
    const r = await this.exchange(
      frame(C.searchServiceCode.code, idm, [index & 0xff, index >> 8]),
      'Search Service Code',
    );
    const code = r[10]! | (r[11]! << 8);
    if (r.length === 14) return { kind: 'area', code, end: r[12]! | (r[13]! << 8) };
    return code === 0xffff ? { kind: 'end' } : { kind: 'service', code };
  }

  async readWithoutEncryption(
    idm: Uint8Array,
    services: readonly number[],
    blocks: readonly BlockRef[],
  ): Promise<StatusResult<Uint8Array[]>> {
    const r = await this.exchange(
      frame(C.readWithoutEncryption.code, idm, nodeList(services), blockList(blocks)),
      'Read Without Encryption',
    );
    const sf1 = r[10]!;
    const sf2 = r[11]!;
    if (sf1 !== 0) return new StatusResult<Uint8Array[]>('Read Without Encryption', sf1, sf2, undefined);
    const n = r[12]!;
    return new StatusResult(
      'Read Without Encryption',
      sf1,
      sf2,
      Array.from({ length: n }, (_, i) => r.slice(13 + 16 * i, 29 + 16 * i)),
    );
  }

  async writeWithoutEncryption(
    idm: Uint8Array,
    services: readonly number[],
    blocks: readonly BlockRef[],
    data: readonly Uint8Array[],
  ): Promise<StatusResult<true>> {
    if (data.length !== blocks.length || data.some((d) => d.length !== 16))
      throw new RangeError('one 16-byte data block per block element');
    const r = await this.exchange(
      frame(C.writeWithoutEncryption.code, idm, nodeList(services), blockList(blocks), ...data),
      'Write Without Encryption',
    );
    return new StatusResult('Write Without Encryption', r[10]!, r[11]!, r[10] === 0 ? true : undefined);
  }

  async resetMode(idm: Uint8Array): Promise<StatusResult<true>> {
    const r = await this.exchange(frame(C.resetMode.code, idm, [0, 0]), 'Reset Mode');
    return new StatusResult('Reset Mode', r[10]!, r[11]!, r[10] === 0 ? true : undefined);
  }
}
