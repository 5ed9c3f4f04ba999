// Authentication1 (10h) and Authentication2 (12h): access-key synthesis and the 3-pass core (security.md 3-4).
import {
  cardChallenge,
  cardResponse,
  cardVerifyReaderResponse,
  sessionKey,
} from '@mica/apdu-specs/crypto/three-pass';
import { FELICA_SECURE_COMMANDS as S } from '@mica/apdu-specs/felica-secure';
import { SYSTEM_NODE, readNodeCodeLE } from '@mica/apdu-specs/node-code';
import type { AccessKeyLease } from '@mica/apdu-specs/secure/access-key-cache';
import { SecureChannel } from '@mica/apdu-specs/secure/channel';
import { singleDesStrength, suiteByCode } from '@mica/apdu-specs/secure/suite';
import { CardMode, SF2 } from '@mica/apdu-specs/status-flags';
import { readNodeKey } from '../auth/node-keys';
import type { SystemView } from '../fs/nodes';
import type { CardContext } from './context';
import { response, statusResponse } from './frame';

const BODY = 10;
const MAX_NODES = 16;

export function authentication1(ctx: CardContext, view: SystemView, f: Uint8Array): Uint8Array | null {
  const idm = f.subarray(2, 10);
  const rc = S.authentication1.responseCode;
  const nA = f[BODY];
  if (nA === undefined || f.length < BODY + 2 + 2 * nA) return null;
  const nS = f[BODY + 1 + 2 * nA]!;
  if (f.length !== BODY + 2 + 2 * nA + 2 * nS) return null;
  if (nA > MAX_NODES || nS > MAX_NODES || nA + nS < 1 || nA + nS > MAX_NODES)
    return statusResponse(rc, idm, 0xff, SF2.SERVICE_COUNT);
  const areas = Array.from({ length: nA }, (_, i) => readNodeCodeLE(f, BODY + 1 + 2 * i));
  const services = Array.from({ length: nS }, (_, i) => readNodeCodeLE(f, BODY + 2 + 2 * nA + 2 * i));
  const keys: Uint8Array[] = [];
  for (const code of areas) {
    const node = code === SYSTEM_NODE ? view.system : view.byCode.get(code);
    if (!node || node.kind === 'service') return statusResponse(rc, idm, 0xff, SF2.NO_SUCH_NODE);
    if (node.key.algorithm === 0) return statusResponse(rc, idm, 0xff, SF2.NO_KEY);
    keys.push(readNodeKey(ctx.fs.eeprom, node.key));
  }
  for (const code of services) {
    const node = view.byCode.get(code);
    if (!node || node.kind !== 'service') return statusResponse(rc, idm, 0xff, SF2.NO_SUCH_NODE);
    if (node.key.algorithm === 0) return statusResponse(rc, idm, 0xff, SF2.NO_KEY);
    keys.push(readNodeKey(ctx.fs.eeprom, node.key));
  }
  ctx.endSession();
  const suite = suiteByCode(ctx.fs.index.manufacture.cryptoSuite);
  let lease: AccessKeyLease;
  try {
    lease = ctx.accessKeys.acquire(suite, keys);
  } finally {
    for (const k of keys) k.fill(0);
  }
  const { accessKey, cipher } = lease;
  const rndB = new Uint8Array(suite.randomLength);
  ctx.random.fill(rndB);
  const challenge = cardChallenge(cipher, rndB);
  ctx.session = {
    system: view.system.number,
    areas,
    services,
    suite,
    accessKey,
    cipher,
    lease,
    rndB,
    cardChallenge: challenge,
    channel: undefined,
    ctr: 0,
  };
  ctx.setMode(view.system.number, CardMode.authenticating);
  return response(rc, idm, [0, 0], challenge);
}

export function authentication2(ctx: CardContext, view: SystemView, f: Uint8Array): Uint8Array | null {
  const idm = f.subarray(2, 10);
  const rc = S.authentication2.responseCode;
  const s = ctx.session;
  if (!s || s.system !== view.system.number || s.channel || ctx.mode(s.system) !== CardMode.authenticating)
    return statusResponse(rc, idm, 0xff, SF2.AUTH_REQUIRED);
  const reader = f.subarray(BODY);
  const verdict =
    reader.length === 2 * s.suite.randomLength
      ? cardVerifyReaderResponse(s.cipher, s.cardChallenge, reader, s.rndB)
      : { ok: false as const };
  if (!verdict.ok) {
    ctx.endSession();
    return statusResponse(rc, idm, 0xff, SF2.MAC_FAILURE);
  }
  const answer = cardResponse(s.cipher, reader, verdict.rndA);
  const ks = sessionKey(s.suite.cipher, verdict.rndA, s.rndB, singleDesStrength(s.suite, s.accessKey));
  s.channel = SecureChannel.fromSessionKey(s.suite, ks);
  ks.fill(0);
  verdict.rndA.fill(0);
  s.ctr = 0;
  ctx.setMode(s.system, s.areas.length > 0 ? CardMode.issuing : CardMode.authenticated);
  return response(rc, idm, [0, 0], answer);
}
