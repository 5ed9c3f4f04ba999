// The PIN service: 63Cx and 6983, counters in EEPROM across power cycles and image reloads, verified
// state in RAM only, CHANGE REFERENCE DATA, RESET RETRY COUNTER, and tearing of a wrong try.
import { describe, expect, it } from 'vitest';
import { pinBlock } from '@mica/apdu-specs/apdu/applet-commands';
import { pinCounterBlock } from '@mica/apdu-specs/apdu/pin-blocks';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { tearingSweep } from '@mica/tools/campaign/tearing';
import { installPin } from '../src/apdu/pin';
import type { Card } from '../src/card';
import { cardImageFromProfile } from '../src/factory';
import { FileSystem } from '../src/fs/fs';
import { parseImage, serializeImage } from '../src/hal/image';
import { AID_A, AID_B, PIN_SCOPE, imageHex, newCard, profileFor, selectAid, send } from './apdu-fixtures';

const PIN = bytesToHex(pinBlock('1234'));
const WRONG = bytesToHex(pinBlock('9999'));
const PUK = bytesToHex(pinBlock('12345678'));
const NEW = bytesToHex(pinBlock('246810'));

function image() {
  const eeprom = cardImageFromProfile(profileFor('2k3des'));
  const fs = new FileSystem(eeprom);
  installPin(fs, PIN_SCOPE, { pin: pinBlock('1234'), puk: pinBlock('12345678') });
  return eeprom;
}

function fresh(eeprom = image()): Card {
  const card = newCard(eeprom);
  expect(selectAid(card, AID_A)).toBe(0x9000);
  return card;
}

const verify = (card: Card, pin: string) => send(card, `0020008008${pin}`);
const counters = (card: Card) => {
  const s = card.fs.system(0)!.byCode.get(0x1008);
  if (s?.kind !== 'service') throw new Error('no PIN service');
  return pinCounterBlock.decode(card.eeprom.read(s.firstBlock));
};
/** Every logical block but the PIN counter block. */
const blocksBesidesCounter = (card: Card) => {
  const s = card.fs.system(0)!.byCode.get(0x1008);
  if (s?.kind !== 'service') throw new Error('no PIN service');
  const out: string[] = [];
  for (let a = 0; a < card.eeprom.blocks; a++)
    if (a !== s.firstBlock) out.push(bytesToHex(card.eeprom.read(a)));
  return out.join('');
};

describe('PIN service', () => {
  it('blocks after three wrong tries: 63C2, 63C1, 63C0, then 6983', () => {
    const card = fresh();
    const rest = blocksBesidesCounter(card);
    expect(verify(card, WRONG)).toBe(0x63c2);
    expect(counters(card).pinTriesLeft).toBe(2);
    expect(verify(card, WRONG)).toBe(0x63c1);
    expect(counters(card).pinTriesLeft).toBe(1);
    expect(verify(card, WRONG)).toBe(0x63c0);
    expect(counters(card).pinTriesLeft).toBe(0);
    const blocked = imageHex(card);
    expect(verify(card, PIN)).toBe(0x6983);
    expect(send(card, '0020008000'.slice(0, 8))).toBe(0x6983);
    expect(imageHex(card)).toBe(blocked);
    expect(blocksBesidesCounter(card)).toBe(rest);
  });

  it('a correct PIN restores the counter; the status query answers 9000 or 63Cx', () => {
    const card = fresh();
    expect(send(card, '00200080')).toBe(0x63c3);
    expect(verify(card, WRONG)).toBe(0x63c2);
    expect(verify(card, PIN)).toBe(0x9000);
    expect(counters(card).pinTriesLeft).toBe(3);
    expect(send(card, '00200080')).toBe(0x9000);
  });

  it('keeps the counter across power cycles and image reloads', () => {
    const card = fresh();
    expect(verify(card, WRONG)).toBe(0x63c2);
    card.powerOff();
    card.powerOn();
    expect(selectAid(card, AID_A)).toBe(0x9000);
    expect(verify(card, WRONG)).toBe(0x63c1);
    const reloaded = fresh(parseImage(serializeImage(card.eeprom)));
    expect(verify(reloaded, WRONG)).toBe(0x63c0);
    const again = fresh(parseImage(serializeImage(reloaded.eeprom)));
    expect(verify(again, PIN)).toBe(0x6983);
  });

  it('never keeps the verified state over reset, power loss, deselect or a reload', () => {
    const card = fresh();
    expect(verify(card, PIN)).toBe(0x9000);
    expect(send(card, '00d6108910' + '11'.repeat(16))).toBe(0x9000);
    card.powerOff();
    card.powerOn();
    expect(selectAid(card, AID_A)).toBe(0x9000);
    expect(send(card, '00200080')).toBe(0x63c3);
    expect(send(card, '00d6108910' + '22'.repeat(16))).toBe(0x6982);
    expect(verify(card, PIN)).toBe(0x9000);
    expect(selectAid(card, AID_B)).toBe(0x6a82);
    expect(selectAid(card, AID_A)).toBe(0x9000);
    expect(send(card, '00200080')).toBe(0x63c3);
    expect(verify(card, PIN)).toBe(0x9000);
    const reloaded = fresh(parseImage(serializeImage(card.eeprom)));
    expect(send(reloaded, '00200080')).toBe(0x63c3);
  });

  it('changes the PIN only with the current one', () => {
    const card = fresh();
    expect(send(card, `0024008010${WRONG}${NEW}`)).toBe(0x63c2);
    expect(send(card, `0024008010${PIN}${NEW}`)).toBe(0x9000);
    expect(counters(card).pinTriesLeft).toBe(3);
    expect(verify(card, PIN)).toBe(0x63c2);
    expect(verify(card, NEW)).toBe(0x9000);
  });

  it('resets a blocked PIN with the unblocking code, which has its own counter', () => {
    const card = fresh();
    for (const expected of [0x63c2, 0x63c1, 0x63c0]) expect(verify(card, WRONG)).toBe(expected);
    expect(send(card, `002c008010${WRONG}${NEW}`)).toBe(0x63c9);
    expect(counters(card)).toMatchObject({ pinTriesLeft: 0, pukTriesLeft: 9 });
    expect(send(card, `002c008010${PUK}${NEW}`)).toBe(0x9000);
    expect(counters(card)).toMatchObject({ pinTriesLeft: 3, pukTriesLeft: 10 });
    expect(verify(card, NEW)).toBe(0x9000);
    for (const expected of [0x63c2, 0x63c1, 0x63c0]) expect(verify(card, WRONG)).toBe(expected);
    expect(send(card, `002c018008${PUK}`)).toBe(0x9000);
    expect(verify(card, NEW)).toBe(0x9000);
  });

  it('refuses malformed commands without touching EEPROM', () => {
    const card = fresh();
    const before = imageHex(card);
    expect(send(card, '0020008008' + '1234ffffffffffff')).toBe(0x6a80);
    expect(send(card, '002000800412341234')).toBe(0x6a80);
    expect(send(card, `0020008108${PIN}`)).toBe(0x6a88);
    expect(send(card, `0020010008${PIN}`.replace('00200100', '00200180'))).toBe(0x6a86);
    expect(send(card, `0024008008${PIN}`)).toBe(0x6a80);
    expect(send(card, `002c028008${PUK}`)).toBe(0x6a86);
    expect(imageHex(card)).toBe(before);
  });

  it('a power cut at any byte of a wrong try leaves the old or the new counter, never a free try', () => {
    const r = tearingSweep(
      {
        setup: () => fresh(),
        command: (card) => card.apdu(Uint8Array.from([0x00, 0x20, 0x00, 0x80, 0x08, ...pinBlock('9999')])),
      },
      1,
    );
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.failures).toEqual([]);
    expect(r.oldState + r.newState).toBe(r.cuts);
  });

  it('a wrong try is answered only after its decrement is committed', () => {
    const ref = fresh();
    const start = ref.eeprom.physical.bytesWritten;
    expect(verify(ref, WRONG)).toBe(0x63c2);
    const bytes = ref.eeprom.physical.bytesWritten - start;
    for (let cut = 0; cut <= bytes; cut++) {
      const card = fresh();
      card.eeprom.cutPowerAfter(card.eeprom.physical.bytesWritten + cut);
      const answer = card.apdu(Uint8Array.from([0x00, 0x20, 0x00, 0x80, 0x08, ...pinBlock('9999')]));
      card.eeprom.cutPowerAfter(undefined);
      card.powerOff();
      card.powerOn();
      expect([2, 3]).toContain(counters(card).pinTriesLeft);
      // An answer only ever follows the committed decrement.
      if (answer) expect(counters(card).pinTriesLeft).toBe(2);
      else expect(cut).toBeLessThan(bytes);
    }
  });

  it('a power cut during a correct try costs at most that try', () => {
    const ref = fresh();
    const start = ref.eeprom.physical.bytesWritten;
    expect(verify(ref, PIN)).toBe(0x9000);
    const bytes = ref.eeprom.physical.bytesWritten - start;
    for (let cut = 0; cut < bytes; cut += 7) {
      const card = fresh();
      card.eeprom.cutPowerAfter(card.eeprom.physical.bytesWritten + cut);
      const answer = card.apdu(Uint8Array.from([0x00, 0x20, 0x00, 0x80, 0x08, ...pinBlock('1234')]));
      card.eeprom.cutPowerAfter(undefined);
      card.powerOff();
      card.powerOn();
      expect(answer).toBeNull();
      expect([2, 3]).toContain(counters(card).pinTriesLeft);
      expect(selectAid(card, AID_A)).toBe(0x9000);
      expect(send(card, '00200080')).not.toBe(0x9000);
    }
  });
});
