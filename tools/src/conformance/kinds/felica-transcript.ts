// Kind `felica-transcript`: a fresh card issued from the profile answers each tx with exactly rx, in
// order, in one power-on session (vectors.md).
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { ProfileError, parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { ListRandom, SeededRandom, type RandomSource } from '@mica/card-os/random';
import { RfTransport } from '@mica/host-sdk/transport/rf/rf-transport';
import type { CheckContext, CheckResult } from '../check-result';

export interface Exchange {
  readonly command: Uint8Array;
  /** null = the card stays silent. */
  readonly response: Uint8Array | null;
}

type Vector = Record<string, unknown>;

function fail(message: string): CheckResult {
  return { ok: false, message };
}

/** Reads `exchanges` with the given field names (tx/rx for FeliCa, c/r for APDUs). */
export function readExchanges(v: Vector, cmd: string, rsp: string): Exchange[] | string {
  const list = v['exchanges'];
  if (!Array.isArray(list) || list.length === 0) return 'missing field "exchanges" (a non-empty array)';
  const out: Exchange[] = [];
  for (let i = 0; i < list.length; i++) {
    const e = list[i] as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null) return `exchanges[${i}] must be an object`;
    if (typeof e[cmd] !== 'string') return `exchanges[${i}].${cmd} missing`;
    if (e[rsp] !== null && typeof e[rsp] !== 'string') return `exchanges[${i}].${rsp} must be hex or null`;
    try {
      out.push({
        command: hexToBytes(e[cmd] as string, `exchanges[${i}].${cmd}`),
        response: e[rsp] === null ? null : hexToBytes(e[rsp] as string, `exchanges[${i}].${rsp}`),
      });
    } catch (err) {
      return (err as Error).message;
    }
  }
  return out;
}

export function cardRandomOf(v: Vector): RandomSource | string {
  const r = v['cardRandom'];
  if (r === undefined) return new SeededRandom(0);
  if (!Array.isArray(r) || r.some((x) => typeof x !== 'string'))
    return 'cardRandom must be a list of hex strings';
  try {
    return new ListRandom(r.map((x: string, i) => hexToBytes(x, `cardRandom[${i}]`)));
  } catch (err) {
    return (err as Error).message;
  }
}

/** A fresh, powered card from the vector's inline profile. */
export function cardFromVector(v: Vector, random: RandomSource): Card | string {
  if (v['profile'] === undefined) return 'missing field "profile"';
  try {
    const eeprom = cardImageFromProfile(parseProfile(v['profile']));
    const card = new Card(eeprom, { random });
    card.powerOn();
    return card;
  } catch (e) {
    return e instanceof ProfileError
      ? `profile ${e.message}`
      : `cannot issue the profile: ${(e as Error).message}`;
  }
}

/** Sends every exchange to the card (in-process, or over rf: when the context says so) and compares. */
export function replayTranscript(
  card: Card,
  exchanges: readonly Exchange[],
  iface: 'felica' | 'apdu',
  context: CheckContext = {},
): CheckResult {
  const rf = context.rf ? new RfTransport(card.airEndpoint(), context.rf) : undefined;
  try {
    for (let i = 0; i < exchanges.length; i++) {
      const e = exchanges[i]!;
      let got: Uint8Array | null;
      try {
        if (rf) got = iface === 'felica' ? rf.exchangeFelica(e.command) : rf.exchangeApdu(e.command);
        else got = iface === 'felica' ? card.felica(e.command) : card.apdu(e.command);
      } catch (err) {
        return fail(`exchange ${i + 1}: ${(err as Error).message}`);
      }
      const want = e.response === null ? '-' : bytesToHex(e.response);
      const have = got === null ? '-' : bytesToHex(got);
      if (want !== have)
        return fail(`exchange ${i + 1} (${bytesToHex(e.command)}): expected ${want}, got ${have}`);
    }
    return { ok: true };
  } finally {
    void rf?.close();
  }
}

export function checkFelicaTranscript(v: Vector, context: CheckContext = {}): CheckResult {
  const exchanges = readExchanges(v, 'tx', 'rx');
  if (typeof exchanges === 'string') return fail(exchanges);
  const random = cardRandomOf(v);
  if (typeof random === 'string') return fail(random);
  const card = cardFromVector(v, random);
  if (typeof card === 'string') return fail(card);
  return replayTranscript(card, exchanges, 'felica', context);
}
