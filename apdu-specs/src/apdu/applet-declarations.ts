// The applet-level APDUs (AUTHENTICATE, PIN commands, card manager) as data, in the shape of declarations.ts.
import { AUTHENTICATE, PIN_COMMANDS } from './applet-commands';
import { CARD_MANAGER } from './applet-kinds';
import type { ApduDeclaration } from './declarations';

const proprietary = '80-83 (b2-b1 = logical channel)';
const interindustry = '00-03 (b2-b1 = logical channel)';
const sm = '8C-8F (SM: b4-b3 = 11; b2-b1 = logical channel)';
const pinBlockField = { name: 'PIN block', size: '8', doc: 'ISO 9564 format-2 block: 2N ‖ digits ‖ F fill' };

export const APPLET_APDUS: readonly ApduDeclaration[] = Object.freeze([
  {
    name: 'AUTHENTICATE (first part)',
    cla: proprietary,
    ins: AUTHENTICATE.ins,
    p1: '00',
    p2: '00 (card manager: the system number)',
    data: [
      { name: 'n', size: '1', doc: `node count, 1-${AUTHENTICATE.maxNodes}` },
      {
        name: 'node codes',
        size: '2n',
        doc: "area then service codes, big-endian, in synthesis order; all inside the applet's area",
      },
    ],
    le: '00',
    response: [{ name: 'cardChallenge', size: '8 or 16', doc: 'E_CBC(K, IV = 0, RndB) (security.md 4)' }],
    statusWords: [
      ['OK', 'challenge issued; any earlier session of the channel is gone'],
      ['SECURITY_STATUS', "a node outside the applet's area"],
      ['REFERENCED_DATA_NOT_FOUND', 'a node that does not exist'],
      ['REFERENCE_DATA_UNUSABLE', 'a node without a key'],
      ['WRONG_LENGTH', 'n out of range or the data length does not match'],
      ['WRONG_P1P2', 'P1 not 00 or 01, or P2 not 00'],
    ],
  },
  {
    name: 'AUTHENTICATE (continuation)',
    cla: proprietary,
    ins: AUTHENTICATE.ins,
    p1: '01',
    p2: '00',
    data: [
      {
        name: 'readerResponse',
        size: '16 or 32',
        doc: 'E_CBC(K, IV = last block of cardChallenge, RndA ‖ rotl8(RndB))',
      },
    ],
    le: '00',
    response: [
      {
        name: 'cardResponse',
        size: '8 or 16',
        doc: 'E_CBC(K, IV = last block of readerResponse, rotl8(RndA))',
      },
    ],
    statusWords: [
      ['OK', 'session open: KSenc, KSmac, SSC = 0'],
      ['SECURITY_STATUS', 'wrong cryptogram; the session is cleared'],
      ['CONDITIONS_OF_USE', 'no first part pending on this channel'],
    ],
    notes: 'The session lives in RAM per logical channel; deselect, reset and power-off end it.',
  },
  {
    name: 'VERIFY',
    cla: interindustry,
    ins: PIN_COMMANDS.verify,
    p1: '00',
    p2: '80 (the applet PIN)',
    data: [pinBlockField],
    le: 'absent',
    response: [],
    statusWords: [
      ['OK', 'PIN verified (or, without data, already verified)'],
      ['VERIFY_FAILED', '63Cx: wrong PIN (or, without data, not verified), x tries left'],
      ['AUTH_BLOCKED', 'no tries left'],
      ['WRONG_DATA', 'not a format-2 block'],
      ['REFERENCED_DATA_NOT_FOUND', 'P2 not 80'],
    ],
    notes: 'The decremented counter is committed before the comparison; a correct PIN restores it.',
  },
  {
    name: 'CHANGE REFERENCE DATA',
    cla: interindustry,
    ins: PIN_COMMANDS.changeReferenceData,
    p1: '00',
    p2: '80',
    data: [
      { ...pinBlockField, name: 'current PIN block' },
      { ...pinBlockField, name: 'new PIN block' },
    ],
    le: 'absent',
    response: [],
    statusWords: [
      ['OK', 'changed; the PIN counts as verified'],
      ['VERIFY_FAILED', '63Cx: wrong current PIN'],
      ['AUTH_BLOCKED', 'no tries left'],
      ['WRONG_DATA', 'not two format-2 blocks'],
    ],
  },
  {
    name: 'RESET RETRY COUNTER',
    cla: interindustry,
    ins: PIN_COMMANDS.resetRetryCounter,
    p1: '00 (with a new PIN) or 01 (counter only)',
    p2: '80',
    data: [
      { ...pinBlockField, name: 'unblocking-code block' },
      { ...pinBlockField, name: 'new PIN block', size: '8 (P1 = 00 only)' },
    ],
    le: 'absent',
    response: [],
    statusWords: [
      ['OK', 'PIN and unblocking-code counters restored'],
      ['VERIFY_FAILED', '63Cx: wrong unblocking code, x tries left'],
      ['AUTH_BLOCKED', 'the unblocking code is blocked'],
      ['WRONG_DATA', 'wrong length or not format-2 blocks'],
    ],
  },
  {
    name: 'INSTALL (card manager)',
    cla: sm,
    ins: CARD_MANAGER.insInstall,
    p1: '00',
    p2: '00',
    data: [
      { name: 'kind', size: '1', doc: 'applet kind code (APPLET_KINDS; not the card manager)' },
      { name: 'area', size: '2', doc: 'owning area code, big-endian; named in the session' },
      { name: 'AID length', size: '1', doc: '5-16' },
      { name: 'AID', size: '5-16', doc: 'a new AID' },
    ],
    le: '00 (the SM answer)',
    response: [],
    statusWords: [
      ['OK', 'registered (record 06h)'],
      ['SECURITY_STATUS', 'no session, plain CLA, or the area is not in the session'],
      ['SM_DATA_INCORRECT', 'a missing or wrong DO or MAC; the session ends'],
      ['WRONG_DATA', 'bad layout or kind (6A89: the AID is in use)'],
      ['NOT_ENOUGH_MEMORY', 'no room for the record'],
    ],
    notes: 'The data travels in DO 87 (security.md 6).',
  },
  {
    name: 'DELETE (card manager)',
    cla: sm,
    ins: CARD_MANAGER.insDelete,
    p1: '00',
    p2: '00',
    data: [{ name: 'AID', size: '5-16', doc: 'the applet to delete' }],
    le: '00 (the SM answer)',
    response: [],
    statusWords: [
      ['OK', "deleted: record marked, the area's service data and service keys zeroed"],
      ['SECURITY_STATUS', "no session, plain CLA, or the applet's area is not in the session"],
      ['SM_DATA_INCORRECT', 'a missing or wrong DO or MAC; the session ends'],
      ['REFERENCED_DATA_NOT_FOUND', 'no applet with this AID'],
    ],
  },
  {
    name: 'GRANT (card manager)',
    cla: sm,
    ins: CARD_MANAGER.insGrant,
    p1: '00',
    p2: '00',
    data: [
      {
        name: 'service',
        size: '2',
        doc: 'the shared service, big-endian; inside an area named in the session',
      },
      { name: 'grantee area', size: '2', doc: 'the area whose applets may read it, big-endian; same system' },
    ],
    le: '00 (the SM answer)',
    response: [],
    statusWords: [
      ['OK', 'granted (record 07h); the grantee applets read the service through the firewall'],
      ['SECURITY_STATUS', "no session, plain CLA, or the session does not name the service's area"],
      ['SM_DATA_INCORRECT', 'a missing or wrong DO or MAC; the session ends'],
      ['REFERENCED_DATA_NOT_FOUND', 'no such service or grantee area'],
      ['WRONG_DATA', 'the service lies inside the grantee area'],
      ['WRONG_LENGTH', 'data not 4 bytes'],
      ['NOT_ENOUGH_MEMORY', 'no room for the record'],
    ],
    notes: 'Deleting the applet that owns the service revokes its grants (record type 87h).',
  },
]);
