// The applet runtime: registry records (06h) from the profile, SELECT of implemented and unknown kinds,
// the firewall and share grants (07h), and the card manager's INSTALL / DELETE with and without an
// authenticated SM session, including a power cut at every byte they write.
import { describe, expect, it } from 'vitest';
import { APPLET_KINDS, CARD_MANAGER } from '@mica/apdu-specs/apdu/applet-kinds';
import { RecordType } from '@mica/apdu-specs/eeprom-records';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { ProfileError, parseProfile } from '@mica/apdu-specs/profile';
import { suiteByName } from '@mica/apdu-specs/secure/suite';
import { tearingSweep } from '@mica/tools/campaign/tearing';
import { Card } from '../src/card';
import { cardImageFromProfile } from '../src/factory';
import { AppletFirewall } from '../src/apdu/applet-firewall';
import { appletRegistry, grantShare } from '../src/fs/applet-registry';
import {
  AID_A,
  AID_B,
  CM_AID,
  KEYS,
  authenticate,
  body,
  imageHex,
  newCard,
  opened,
  profileFor,
  selectAid,
  send,
  sw,
  type HostSession,
} from './apdu-fixtures';

const suite = suiteByName('2k3des');
const NEW_AID = 'a0000006ef4e5701';

function fresh(): Card {
  return newCard(cardImageFromProfile(profileFor('2k3des')));
}

function cmSession(card: Card, area: number, key: string): HostSession {
  expect(selectAid(card, CM_AID)).toBe(0x9000);
  return opened(authenticate(card, suite, [area], [key]));
}

const installData = (kind: number, area: number, aid: string) =>
  Uint8Array.of(kind, area >> 8, area & 0xff, aid.length / 2, ...hexToBytes(aid));

describe('applet registry', () => {
  it('registers the profile applets as 2-block 06h records the scanner steps over', () => {
    const card = fresh();
    const reg = appletRegistry(card.fs);
    expect(reg.map((e) => [e.kind, e.system, e.area, bytesToHex(e.aid)])).toEqual([
      [APPLET_KINDS.transit, 0, 0x1000, AID_A],
      [APPLET_KINDS.loyalty, 0, 0x2000, AID_B],
    ]);
    const a = reg[0]!.recordAddress;
    expect([...card.eeprom.read(a).subarray(0, 2)]).toEqual([RecordType.appletRegistry, 0]);
    expect([...card.eeprom.read(a - 1).subarray(0, 2)]).toEqual([RecordType.appletRegistry, 1]);
    expect(card.fs.index.records.find((r) => r.address === a)?.span).toBe(2);
  });

  it('selects implemented kinds and the card manager; an unimplemented kind answers 6A82', () => {
    const card = fresh();
    expect(selectAid(card, AID_A)).toBe(0x9000);
    expect(selectAid(card, AID_B)).toBe(0x6a82);
    const r = card.apdu(hexToBytes(`00a4040007${CM_AID}00`));
    expect(sw(r)).toBe(0x9000);
    expect(bytesToHex(body(r))).toBe(`6f098407${CM_AID}`);
  });

  it('the default applets of a Card are the runtime (card manager present)', () => {
    const card = new Card(cardImageFromProfile(profileFor('2k3des')));
    card.powerOn();
    expect(selectAid(card, CM_AID)).toBe(0x9000);
    expect(selectAid(card, AID_B)).toBe(0x6a82);
  });

  it('refuses a profile applet of an unknown kind or area', () => {
    const base = {
      chip: { blocks: 256 },
      systems: [{ systemCode: '12fc', areas: [{ code: '0000', end: 'fffe' }] }],
    };
    expect(() =>
      cardImageFromProfile(parseProfile({ ...base, applets: [{ kind: 'nope', aid: AID_A, area: '0000' }] })),
    ).toThrow(ProfileError);
    expect(() =>
      cardImageFromProfile(
        parseProfile({ ...base, applets: [{ kind: 'transit', aid: AID_A, area: '1000' }] }),
      ),
    ).toThrow(ProfileError);
  });
});

describe('firewall and sharing', () => {
  it('reaches its own area only, until a grant shares a service for reading', () => {
    const card = fresh();
    expect(selectAid(card, AID_A)).toBe(0x9000);
    const before = imageHex(card);
    expect(send(card, '00b0108900')).toBe(0x9000);
    expect(send(card, '00b0200800')).toBe(0x6982);
    expect(send(card, '00b0000900')).toBe(0x6982);
    expect(imageHex(card)).toBe(before);
    grantShare(card.fs, { system: 0, service: 0x2008, granteeArea: 0x1000 });
    const r = card.apdu(hexToBytes('00b0200800'));
    expect(sw(r)).toBe(0x9000);
    expect(bytesToHex(body(r))).toBe('5a'.repeat(16));
    // Sharing is read only.
    const fw = new AppletFirewall(card.fs, { system: 0, area: 0x1000 });
    expect(() => fw.writeBlocks(0x2008, [{ block: 0, data: new Uint8Array(16) }])).toThrow(
      expect.objectContaining({ sw: 0x6982 }),
    );
    expect(bytesToHex(fw.readBlock(0x2008, 0))).toBe('5a'.repeat(16));
  });

  it('a grant names one service for one area, never its own', () => {
    const card = fresh();
    const before = imageHex(card);
    expect(() => grantShare(card.fs, { system: 0, service: 0x2008, granteeArea: 0x2000 })).toThrow(
      /service 2008 lies inside area 2000/,
    );
    expect(imageHex(card)).toBe(before);
    expect(selectAid(card, AID_A)).toBe(0x9000);
    expect(send(card, '00b0200800')).toBe(0x6982);
  });
});

describe('card manager', () => {
  it('installs and deletes only inside an authenticated SM session to the target area', () => {
    const card = fresh();
    const before = imageHex(card);
    expect(selectAid(card, CM_AID)).toBe(0x9000);
    // Plain INSTALL, and SM without a session.
    expect(
      send(card, `80e6000008${bytesToHex(installData(APPLET_KINDS.transit, 0x1000, NEW_AID)).slice(0, 16)}`),
    ).toBe(0x6982);
    const stranger = opened(
      authenticate(
        (() => {
          const c = fresh();
          selectAid(c, CM_AID);
          return c;
        })(),
        suite,
        [0x1000],
        [KEYS.areaA],
      ),
    );
    expect(
      sw(card.apdu(stranger.wrap(0x80, CARD_MANAGER.insInstall, 0, 0, installData(0x10, 0x1000, NEW_AID)))),
    ).toBe(0x6982);
    // A session to area A cannot install into area B, nor with a wrong key.
    const s = cmSession(card, 0x1000, KEYS.areaA);
    expect(s.send(0x80, CARD_MANAGER.insInstall, 0, 0, installData(0x10, 0x2000, NEW_AID)).sw).toBe(0x6982);
    expect(s.send(0x80, CARD_MANAGER.insInstall, 0, 0, installData(0x10, 0x1000, AID_B)).sw).toBe(0x6a89);
    expect(s.send(0x80, CARD_MANAGER.insInstall, 0, 0, installData(0x01, 0x1000, NEW_AID)).sw).toBe(0x6a80);
    expect(s.send(0x80, CARD_MANAGER.insDelete, 0, 0, hexToBytes(AID_B)).sw).toBe(0x6982);
    expect(authenticate(card, suite, [0x1000], [KEYS.areaB])).toBe(0x6982);
    expect(imageHex(card)).toBe(before);
  });

  it('INSTALL registers a selectable applet; DELETE wipes its area data and keys', () => {
    const card = fresh();
    const s = cmSession(card, 0x1000, KEYS.areaA);
    expect(s.send(0x80, CARD_MANAGER.insInstall, 0, 0, installData(0x10, 0x1000, NEW_AID)).sw).toBe(0x9000);
    expect(appletRegistry(card.fs).map((e) => bytesToHex(e.aid))).toContain(NEW_AID);
    expect(selectAid(card, NEW_AID)).toBe(0x9000);
    expect(send(card, '00b0108900')).toBe(0x9000);
    // Keep it selected on channel 1 while it is deleted from channel 0.
    expect(send(card, '0070000100')).toBe(0x9000);
    expect(selectAid(card, NEW_AID, 0x01)).toBe(0x9000);
    // Data in area A, then delete both applets of area A.
    const data = card.fs.system(0)!.byCode.get(0x1048);
    if (data?.kind !== 'service') throw new Error('no data service');
    const s2 = cmSession(card, 0x1000, KEYS.areaA);
    expect(s2.send(0x80, CARD_MANAGER.insDelete, 0, 0, hexToBytes(NEW_AID)).sw).toBe(0x9000);
    expect(selectAid(card, NEW_AID)).toBe(0x6a82);
    expect(send(card, '01b0108900')).toBe(0x6a82);
    const removed = card.fs.index.records.filter((r) => r.type === RecordType.appletRegistry && r.deleted);
    expect(removed.map((r) => [r.span, card.eeprom.read(r.address - 1)[0]])).toEqual([[2, 0x86]]);
    const s3 = cmSession(card, 0x1000, KEYS.areaA);
    expect(s3.send(0x80, CARD_MANAGER.insDelete, 0, 0, hexToBytes(AID_A)).sw).toBe(0x9000);
    expect(selectAid(card, AID_A)).toBe(0x6a82);
    expect(appletRegistry(card.fs).map((e) => bytesToHex(e.aid))).toEqual([AID_B]);
    expect(bytesToHex(card.eeprom.read(data.key.address))).toBe('00'.repeat(16));
    // Area B is untouched.
    const shared = card.fs.system(0)!.byCode.get(0x2008);
    if (shared?.kind !== 'service') throw new Error('no shared service');
    expect(bytesToHex(card.eeprom.read(shared.firstBlock))).toBe('5a'.repeat(16));
  });

  const tearing = (command: (s: HostSession) => unknown) => {
    const sessions = new Map<Card, HostSession>();
    return tearingSweep(
      {
        setup: () => {
          const card = fresh();
          sessions.set(card, cmSession(card, 0x1000, KEYS.areaA));
          return card;
        },
        command: (card) => command(sessions.get(card)!),
      },
      1,
    );
  };

  it('a power cut at any byte of INSTALL leaves the old or the new registry', () => {
    const r = tearing((s) =>
      s.card.apdu(s.wrap(0x80, CARD_MANAGER.insInstall, 0, 0, installData(0x10, 0x1000, NEW_AID))),
    );
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.failures).toEqual([]);
  });

  it('a power cut at any byte of DELETE leaves the old or the new state', () => {
    const r = tearing((s) => s.card.apdu(s.wrap(0x80, CARD_MANAGER.insDelete, 0, 0, hexToBytes(AID_A))));
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.failures).toEqual([]);
  });
});
