// The card frame endpoint (rf.md §10.3) at frame level: Type A activation and anticollision, Type B
// activation, ISO-DEP rules through the card (chaining, R(NAK) without re-execution, WTX, DESELECT),
// Type F CRC and Polling slots. Expected frames are built from apdu-specs, never from the card's code.
import { describe, expect, it } from 'vitest';
import { crcFelica } from '@mica/apdu-specs/crc';
import { bytesToHex, concatBytes, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { attribFrame, hltbFrame, ratsFrame, reqbFrame } from '@mica/apdu-specs/rf/activation';
import type { AirTech, ReceivedAirFrame } from '@mica/apdu-specs/rf/endpoint';
import { isoDep, type IsoDepBlock } from '@mica/apdu-specs/rf/iso-dep';
import {
  anticollisionFrame,
  crcAOk,
  selectFrame,
  uidCascadeLevels,
  withCrcA,
} from '@mica/apdu-specs/rf/type-a';
import { crcBOk } from '@mica/apdu-specs/rf/type-b';
import { CardFrameEndpoint, type AirCard } from '../src/air/frame-endpoint';
import { Card } from '../src/card';
import { cardImageFromProfile } from '../src/factory';
import { defaultIdentity, type Iso14443Identity } from '../src/fs/manufacture';
import { ListRandom } from '../src/random';

function rx(bytes: Uint8Array, bitsInLastByte = 8, crc: 'ok' | 'bad' | 'none' = 'ok'): ReceivedAirFrame {
  return { bytes, bitsInLastByte, crc, parityOk: true, atFc: 0 };
}
const REQA = rx(Uint8Array.of(0x26), 7, 'none');
const WUPA = rx(Uint8Array.of(0x52), 7, 'none');

/** A fake chip: answers every APDU with `answer(command)` and counts executions. */
function fakeCard(
  id: Partial<Iso14443Identity> = {},
  answer = (c: Uint8Array) => concatBytes(c, hexToBytes('9000')),
) {
  const state = { executed: 0, powered: true };
  const card: AirCard = {
    felica: () => null,
    apdu: (c) => {
      state.executed += 1;
      return answer(c);
    },
    identity: () => defaultIdentity(hexToBytes('02fe010203040506'), id),
    powerOn: () => (state.powered = true),
    powerOff: () => (state.powered = false),
    get isPowered() {
      return state.powered;
    },
  };
  return { card, state };
}

function block(tech: 'a' | 'b', b: IsoDepBlock): ReceivedAirFrame {
  return rx(isoDep.encode(b, { tech }));
}

function decoded(tech: 'a' | 'b', bytes: Uint8Array | undefined): IsoDepBlock {
  const d = isoDep.decode(bytes!, { tech });
  if ('error' in d) throw new Error(`not a block: ${d.error}`);
  return d;
}

/** REQA → anticollision → SELECT (every cascade level) → RATS; returns the ATS. */
function activateA(ep: CardFrameEndpoint, uid: Uint8Array, fsdi = 8, cid = 0): Uint8Array {
  expect(ep.receive('a', REQA)).not.toBeNull();
  const levels = uidCascadeLevels(uid);
  levels.forEach((cl, i) => {
    const sel = [0x93, 0x95, 0x97][i]!;
    const ac = anticollisionFrame(sel, cl, 0);
    expect(bytesToHex(ep.receive('a', rx(ac.bytes, 8, 'none'))!.bytes)).toBe(bytesToHex(cl));
    const sak = ep.receive('a', rx(selectFrame(sel, cl)))!.bytes;
    expect(crcAOk(sak)).toBe(true);
    expect((sak[0]! & 0x04) !== 0).toBe(i < levels.length - 1);
  });
  const ats = ep.receive('a', rx(ratsFrame(fsdi, cid)))!.bytes;
  expect(crcAOk(ats)).toBe(true);
  return ats.subarray(0, ats.length - 2);
}

describe('Type A activation', () => {
  it('REQA → ATQA, anticollision, SELECT → SAK 20, RATS → ATS of the identity', () => {
    const { card } = fakeCard();
    const ep = new CardFrameEndpoint(card);
    ep.field(true);
    const id = card.identity();
    expect(bytesToHex(ep.receive('a', REQA)!.bytes)).toBe('4400');
    ep.field(true);
    const ats = activateA(ep, id.uid);
    expect(bytesToHex(ats)).toBe('0578807002');
    expect(ep.states.a).toBe('protocol');
  });

  it('single and triple UIDs cascade with SAK 04 until the last level', () => {
    for (const uid of ['08123456', '0102030405060708090a']) {
      const { card } = fakeCard({ uid: hexToBytes(uid) });
      const ep = new CardFrameEndpoint(card);
      ep.field(true);
      activateA(ep, hexToBytes(uid));
    }
  });

  it('a split anticollision frame gets the remaining bits; a different prefix is silent', () => {
    const { card } = fakeCard({ uid: hexToBytes('08123457') });
    const ep = new CardFrameEndpoint(card);
    ep.field(true);
    ep.receive('a', REQA);
    const cl = uidCascadeLevels(hexToBytes('08123457'))[0]!;
    // 25 known bits: 08 12 34 and bit 0 of the fourth byte (1 for ...57); NVB 0x51.
    const f = anticollisionFrame(0x93, cl, 25);
    expect(bytesToHex(f.bytes.subarray(0, 2))).toBe('9351');
    const a = ep.receive('a', rx(f.bytes, 1, 'none'))!;
    expect(a.firstBit).toBe(1);
    expect(bytesToHex(a.bytes)).toBe(bytesToHex(cl.subarray(3)));
    const other = anticollisionFrame(0x93, uidCascadeLevels(hexToBytes('08123456'))[0]!, 25);
    expect(ep.receive('a', rx(other.bytes, 1, 'none'))).toBeNull();
  });

  it('HLTA halts: REQA is ignored, WUPA wakes the card', () => {
    const { card } = fakeCard();
    const ep = new CardFrameEndpoint(card);
    ep.field(true);
    const uid = card.identity().uid;
    ep.receive('a', REQA);
    for (const [i, cl] of uidCascadeLevels(uid).entries()) {
      ep.receive('a', rx(anticollisionFrame([0x93, 0x95][i]!, cl, 0).bytes, 8, 'none'));
      ep.receive('a', rx(selectFrame([0x93, 0x95][i]!, cl)));
    }
    expect(ep.receive('a', rx(withCrcA(hexToBytes('5000'))))).toBeNull();
    expect(ep.states.a).toBe('halt');
    expect(ep.receive('a', REQA)).toBeNull();
    expect(ep.receive('a', WUPA)).not.toBeNull();
  });

  it('frames with a bad CRC or parity are ignored without a state change', () => {
    const { card } = fakeCard();
    const ep = new CardFrameEndpoint(card);
    ep.field(true);
    ep.receive('a', REQA);
    const cl = uidCascadeLevels(card.identity().uid)[0]!;
    const sel = selectFrame(0x93, cl);
    sel[sel.length - 1]! ^= 1;
    expect(ep.receive('a', rx(sel, 8, 'bad'))).toBeNull();
    expect(
      ep.receive('a', { ...rx(anticollisionFrame(0x93, cl, 0).bytes, 8, 'none'), parityOk: false }),
    ).toBeNull();
    expect(ep.states.a).toBe('ready');
    expect(ep.receive('a', rx(anticollisionFrame(0x93, cl, 0).bytes, 8, 'none'))).not.toBeNull();
  });
});

describe('ISO-DEP through the card', () => {
  for (const tech of ['a', 'b'] as const) {
    const activate = (ep: CardFrameEndpoint, card: AirCard, fsdi = 8) => {
      if (tech === 'a') activateA(ep, card.identity().uid, fsdi);
      else {
        const id = card.identity();
        const atqb = ep.receive('b', rx(reqbFrame()))!.bytes;
        expect(crcBOk(atqb)).toBe(true);
        expect(bytesToHex(atqb.subarray(0, 12))).toBe(
          `50${bytesToHex(id.pupi)}${bytesToHex(id.appData)}${bytesToHex(id.protInfo)}`,
        );
        const ans = ep.receive('b', rx(attribFrame(id.pupi, { fsdi })))!.bytes;
        expect(ans[0]).toBe(0x00); // MBLI 0, CID 0
        expect(crcBOk(ans)).toBe(true);
      }
    };

    it(`Type ${tech.toUpperCase()}: I(0) → I(1) with the answer; R(NAK) re-sends without executing again`, () => {
      const { card, state } = fakeCard();
      const ep = new CardFrameEndpoint(card);
      ep.field(true);
      activate(ep, card);
      const cmd = hexToBytes('00a4040007a0000000031010');
      const a = decoded(
        tech,
        ep.receive(tech, block(tech, { type: 'I', blockNumber: 0, chaining: false, inf: cmd }))!.bytes,
      );
      expect(a).toMatchObject({ type: 'I', blockNumber: 0, chaining: false });
      expect(state.executed).toBe(1);
      const again = ep.receive(tech, block(tech, { type: 'R', ack: false, blockNumber: 0 }))!;
      expect(decoded(tech, again.bytes)).toEqual(a);
      expect(state.executed).toBe(1);
      // The next command toggles.
      const b = decoded(
        tech,
        ep.receive(tech, block(tech, { type: 'I', blockNumber: 1, chaining: false, inf: cmd }))!.bytes,
      );
      expect(b).toMatchObject({ type: 'I', blockNumber: 1 });
      expect(state.executed).toBe(2);
    });

    it(`Type ${tech.toUpperCase()}: reader chaining acknowledged, card chaining by FSD 16`, () => {
      const { card, state } = fakeCard({}, () =>
        concatBytes(new Uint8Array(30).fill(0xab), hexToBytes('9000')),
      );
      const ep = new CardFrameEndpoint(card);
      ep.field(true);
      activate(ep, card, 0);
      const ack = decoded(
        tech,
        ep.receive(tech, block(tech, { type: 'I', blockNumber: 0, chaining: true, inf: hexToBytes('0001') }))!
          .bytes,
      );
      expect(ack).toEqual({ type: 'R', ack: true, blockNumber: 0 });
      const first = decoded(
        tech,
        ep.receive(
          tech,
          block(tech, { type: 'I', blockNumber: 1, chaining: false, inf: hexToBytes('0203') }),
        )!.bytes,
      );
      expect(state.executed).toBe(1);
      expect(first).toMatchObject({ type: 'I', chaining: true, blockNumber: 1 });
      const parts: Uint8Array[] = [(first as { inf: Uint8Array }).inf];
      let bn = 0 as 0 | 1;
      for (;;) {
        const next = decoded(
          tech,
          ep.receive(tech, block(tech, { type: 'R', ack: true, blockNumber: bn }))!.bytes,
        );
        bn = (bn ^ 1) as 0 | 1;
        if (next.type !== 'I') throw new Error('expected an I-block');
        parts.push(next.inf);
        expect(next.inf.length).toBeLessThanOrEqual(13);
        if (!next.chaining) break;
      }
      expect(bytesToHex(concatBytes(...parts))).toBe('ab'.repeat(30) + '9000');
    });

    it(`Type ${tech.toUpperCase()}: S(WTX) when processing exceeds FWT, then the answer; DESELECT halts`, () => {
      const { card } = fakeCard();
      const ep = new CardFrameEndpoint(card, { processingFc: () => 4096 * 2 ** 9 });
      ep.field(true);
      activate(ep, card);
      const w = decoded(
        tech,
        ep.receive(
          tech,
          block(tech, { type: 'I', blockNumber: 0, chaining: false, inf: hexToBytes('00b0000000') }),
        )!.bytes,
      );
      expect(w.type === 'S' && w.command === 'wtx' && w.wtxm).toBeGreaterThan(1);
      const wtxm = (w as { wtxm: number }).wtxm;
      const answer = ep.receive(tech, block(tech, { type: 'S', command: 'wtx', wtxm }))!;
      expect(decoded(tech, answer.bytes)).toMatchObject({ type: 'I', blockNumber: 0 });
      const d = decoded(tech, ep.receive(tech, block(tech, { type: 'S', command: 'deselect' }))!.bytes);
      expect(d).toEqual({ type: 'S', command: 'deselect' });
      expect(
        ep.receive(tech, block(tech, { type: 'I', blockNumber: 1, chaining: false, inf: hexToBytes('00') })),
      ).toBeNull();
    });
  }

  it('Type B: HLTB answers 00 and halts; only WUPB wakes the card', () => {
    const { card } = fakeCard();
    const ep = new CardFrameEndpoint(card);
    ep.field(true);
    const pupi = card.identity().pupi;
    ep.receive('b', rx(reqbFrame()));
    expect(bytesToHex(ep.receive('b', rx(hltbFrame(pupi)))!.bytes)).toBe('0078f0');
    expect(ep.receive('b', rx(reqbFrame()))).toBeNull();
    expect(ep.receive('b', rx(reqbFrame({ wakeUp: true })))).not.toBeNull();
    expect(ep.receive('b', rx(reqbFrame({ afi: 0x10 })))).toBeNull();
  });
});

describe('Type F through the card', () => {
  const profile = parseProfile({
    chip: { blocks: 512 },
    systems: [{ systemCode: '12fc', areas: [{ code: '0000', end: 'fffe', capacity: 16, services: [] }] }],
  });
  const withCrc = (hex: string) => {
    const p = hexToBytes(hex);
    const c = crcFelica(p);
    return rx(Uint8Array.of(...p, c >>> 8, c & 0xff));
  };

  it('answers a good frame with its CRC, stays silent on a bad CRC, picks Polling slots in 0..TSN', () => {
    const card = new Card(cardImageFromProfile(profile));
    const ep = card.airEndpoint({ slotRandom: new ListRandom([Uint8Array.of(0, 3, 6, 0x0f)]) });
    ep.field(true);
    const a = ep.receive('f', withCrc('0600ffff0100'))!;
    expect(a.slot).toBe(0);
    const body = a.bytes.subarray(0, a.bytes.length - 2);
    expect(bytesToHex(body)).toBe(bytesToHex(card.felica(hexToBytes('0600ffff0100'))!));
    expect(crcFelica(body)).toBe((a.bytes[a.bytes.length - 2]! << 8) | a.bytes[a.bytes.length - 1]!);
    expect(ep.receive('f', { ...withCrc('0600ffff0100'), crc: 'bad' })).toBeNull();
    expect(ep.receive('f', withCrc('0600ffff0103'))!.slot).toBe(3);
    expect(ep.receive('f', withCrc('0600ffff0103'))!.slot).toBe(2);
    expect(ep.receive('f', withCrc('0600ffff010f'))!.slot).toBe(15);
  });

  it('a field-off loses power; the endpoint ignores technologies the card lacks', () => {
    const card = new Card(cardImageFromProfile(profile));
    const ep = card.airEndpoint({ techs: ['f'] });
    ep.field(true);
    expect(ep.receive('a' as AirTech, REQA)).toBeNull();
    ep.field(false);
    expect(ep.powered).toBe(false);
    expect(ep.receive('f', withCrc('0600ffff0100'))).toBeNull();
  });
});
