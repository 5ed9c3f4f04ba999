// The plain FeliCa-style commands (commands.md): Polling, Request Service, Request Response, Read and
// Write Without Encryption, Search Service Code, Request System Code, Request Block Information, Reset Mode.
import {
  COMMUNICATION_PERFORMANCE,
  FELICA_COMMANDS as C,
  MAX_NODES,
  MAX_READ_BLOCKS,
  MAX_WRITE_BLOCKS,
} from '@mica/apdu-specs/felica-commands';
import { SYSTEM_NODE, readNodeCodeLE, writeNodeCodeLE } from '@mica/apdu-specs/node-code';
import { SF2 } from '@mica/apdu-specs/status-flags';
import { MemoryError } from '../hal/errors';
import { BlockTx } from '../fs/block-tx';
import { FsError } from '../fs/fs-error';
import type { SystemView } from '../fs/nodes';
import {
  NOT_PERSONALISING,
  serviceBlockAddress,
  stageWrites,
  type PersonalisingCheck,
} from '../fs/service-data';
import { parseLists } from './block-list';
import { resolveElements, type AccessCheck } from './elements';
import { response, statusResponse } from './frame';
import type { CardContext } from './context';

const IDM_AT = 2;
const BODY_AT = 10;

/** Polling: the addressed system by system code with FFh wildcards. */
export function polling(ctx: CardContext, f: Uint8Array): Uint8Array | null {
  if (f.length !== 6) return null;
  const hi = f[2]!;
  const lo = f[3]!;
  const match = (code: number): boolean =>
    (hi === 0xff || hi === code >> 8) && (lo === 0xff || lo === (code & 0xff));
  const systems = ctx.fs.index.systems;
  const view = hi === 0xff && lo === 0xff ? systems[0] : systems.find((s) => match(s.system.code));
  if (!view) return null;
  ctx.endSession();
  ctx.resetMode(view.system.number);
  const idm = ctx.fs.idm(view.system.number);
  const rc = f[4]!;
  const extra =
    rc === 1 ? [view.system.code >> 8, view.system.code & 0xff] : rc === 2 ? COMMUNICATION_PERFORMANCE : [];
  return response(C.polling.responseCode, idm, ctx.fs.pmm(), extra);
}

function nodeList(f: Uint8Array): number[] | null {
  const n = f[BODY_AT];
  if (n === undefined || n < 1 || n > MAX_NODES || f.length !== BODY_AT + 1 + 2 * n) return null;
  const codes: number[] = [];
  for (let i = 0; i < n; i++) codes.push(readNodeCodeLE(f, BODY_AT + 1 + 2 * i));
  return codes;
}

function nodeValues(code: number, idm: Uint8Array, values: readonly number[]): Uint8Array {
  const body = new Uint8Array(1 + 2 * values.length);
  body[0] = values.length;
  values.forEach((v, i) => writeNodeCodeLE(body, 1 + 2 * i, v));
  return response(code, idm, body);
}

export function requestService(ctx: CardContext, view: SystemView, f: Uint8Array): Uint8Array | null {
  const codes = nodeList(f);
  if (!codes) return null;
  const versions = codes.map((c) => {
    if (c === SYSTEM_NODE) return view.system.key.algorithm === 0 ? 0 : view.system.key.version;
    const n = view.byCode.get(c);
    if (!n) return 0xffff;
    return n.key.algorithm === 0 ? 0 : n.key.version;
  });
  return nodeValues(C.requestService.responseCode, ctx.fs.idm(view.system.number), versions);
}

export function requestResponse(ctx: CardContext, view: SystemView, f: Uint8Array): Uint8Array | null {
  if (f.length !== BODY_AT) return null;
  return response(C.requestResponse.responseCode, ctx.fs.idm(view.system.number), [
    ctx.mode(view.system.number),
  ]);
}

/** nB ‖ block data of the block list in `f[10..end)`; throws FsError or MemoryError. */
export function readBlocks(
  ctx: CardContext,
  view: SystemView,
  f: Uint8Array,
  end: number,
  authorised: AccessCheck,
): Uint8Array | null {
  const lists = parseLists(f.subarray(0, end), BODY_AT, MAX_READ_BLOCKS);
  if (!lists) return null;
  if (lists.end !== end) throw new FsError(SF2.BLOCK_COUNT, 'bytes after the block list');
  const resolved = resolveElements(view, lists.serviceCodes, lists.elements, 'read', authorised);
  const body = new Uint8Array(1 + 16 * resolved.length);
  body[0] = resolved.length;
  const eeprom = ctx.fs.eeprom;
  resolved.forEach((r, i) =>
    eeprom.readInto(serviceBlockAddress(eeprom, r.service, r.element.blockNumber), body, 1 + 16 * i),
  );
  return body;
}

/** Where the block data of a write starts, or null (silence) when the lists are cut short. */
export function writeListsEnd(f: Uint8Array, end: number): number | null {
  const lists = parseLists(f.subarray(0, end), BODY_AT, MAX_WRITE_BLOCKS);
  return lists ? lists.end : null;
}

/** Checks and commits the writes of a Write command whose block data is `data`; true = endurance warning. */
export function writeBlocks(
  ctx: CardContext,
  view: SystemView,
  f: Uint8Array,
  listsEnd: number,
  data: Uint8Array,
  authorised: AccessCheck,
  personalising: PersonalisingCheck = NOT_PERSONALISING,
): boolean {
  const lists = parseLists(f.subarray(0, listsEnd), BODY_AT, MAX_WRITE_BLOCKS)!;
  const n = lists.elements.length;
  if (data.length !== 16 * n)
    throw new FsError(SF2.BLOCK_COUNT, `block data is ${data.length} bytes, not ${16 * n}`);
  const resolved = resolveElements(
    view,
    lists.serviceCodes,
    lists.elements,
    'write',
    authorised,
    personalising,
  );
  const tx = new BlockTx(ctx.fs.eeprom);
  stageWrites(
    view,
    tx,
    resolved.map((r, i) => ({
      position: r.element.position,
      service: r.service,
      blockNumber: r.element.blockNumber,
      data: data.subarray(16 * i, 16 * (i + 1)),
    })),
    personalising,
  );
  return tx.commit().enduranceWarning;
}

export function readWithoutEncryption(
  ctx: CardContext,
  view: SystemView,
  f: Uint8Array,
  authorised: AccessCheck,
): Uint8Array | null {
  const idm = f.subarray(IDM_AT, BODY_AT);
  const rc = C.readWithoutEncryption.responseCode;
  try {
    const body = readBlocks(ctx, view, f, f.length, authorised);
    return body && response(rc, idm, [0, 0], body);
  } catch (e) {
    return refusal(rc, idm, e);
  }
}

export function writeWithoutEncryption(
  ctx: CardContext,
  view: SystemView,
  f: Uint8Array,
  authorised: AccessCheck,
  personalising: PersonalisingCheck = NOT_PERSONALISING,
): Uint8Array | null {
  const idm = f.subarray(IDM_AT, BODY_AT);
  const rc = C.writeWithoutEncryption.responseCode;
  try {
    const end = writeListsEnd(f, f.length);
    if (end === null) return null;
    const warning = writeBlocks(ctx, view, f, end, f.subarray(end), authorised, personalising);
    return statusResponse(rc, idm, 0, warning ? SF2.WRITE_COUNT_WARNING : SF2.OK);
  } catch (e) {
    return refusal(rc, idm, e);
  }
}

/** Turns an FsError or MemoryError into SF1 SF2; anything else goes up to the card's error boundary. */
export function refusal(code: number, idm: Uint8Array, e: unknown): Uint8Array {
  if (e instanceof FsError) return statusResponse(code, idm, e.sf1, e.sf2);
  if (e instanceof MemoryError) return statusResponse(code, idm, 0xff, SF2.MEMORY_ERROR);
  throw e;
}

export function searchServiceCode(ctx: CardContext, view: SystemView, f: Uint8Array): Uint8Array | null {
  if (f.length !== BODY_AT + 2) return null;
  const index = readNodeCodeLE(f, BODY_AT);
  const node = view.nodes[index];
  const body = new Uint8Array(node?.kind === 'area' ? 4 : 2);
  if (!node) writeNodeCodeLE(body, 0, 0xffff);
  else {
    writeNodeCodeLE(body, 0, node.code);
    if (node.kind === 'area') writeNodeCodeLE(body, 2, node.end);
  }
  return response(C.searchServiceCode.responseCode, ctx.fs.idm(view.system.number), body);
}

export function requestSystemCode(ctx: CardContext, view: SystemView, f: Uint8Array): Uint8Array | null {
  if (f.length !== BODY_AT) return null;
  const systems = ctx.fs.index.systems;
  const body = new Uint8Array(1 + 2 * systems.length);
  body[0] = systems.length;
  systems.forEach((s, i) => {
    body[1 + 2 * i] = s.system.code >> 8;
    body[2 + 2 * i] = s.system.code & 0xff;
  });
  return response(C.requestSystemCode.responseCode, ctx.fs.idm(view.system.number), body);
}

export function requestBlockInformation(
  ctx: CardContext,
  view: SystemView,
  f: Uint8Array,
): Uint8Array | null {
  const codes = nodeList(f);
  if (!codes) return null;
  const counts = codes.map((c) => {
    const n = view.byCode.get(c);
    if (!n) return 0xffff;
    return n.kind === 'area' ? n.capacity - n.used : n.blockCount;
  });
  return nodeValues(C.requestBlockInformation.responseCode, ctx.fs.idm(view.system.number), counts);
}

export function resetMode(ctx: CardContext, view: SystemView, f: Uint8Array): Uint8Array | null {
  if (f.length !== BODY_AT + 2) return null;
  ctx.resetMode(view.system.number);
  return statusResponse(C.resetMode.responseCode, ctx.fs.idm(view.system.number), 0, 0);
}
