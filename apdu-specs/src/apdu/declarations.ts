// The dispatcher-level APDUs as data (CLA, INS, P1, P2, data, response, status words) for the card, the host and the reference.
import { FELICA_BRIDGE, INS, MAX_CHANNELS } from './iso-commands';
import type { SW } from './status-words';

/** SELECT P2: b2-b1 = which occurrence, b4-b3 = what the answer holds (ISO/IEC 7816-4 7.1.1). */
export const SELECT_P2 = Object.freeze({
  first: 0x00,
  last: 0x01,
  next: 0x02,
  previous: 0x03,
  fci: 0x00,
  fcp: 0x04,
  fmd: 0x08,
  noAnswer: 0x0c,
} as const);

/** SELECT P1 = 04: select by DF name (AID), the only selection the dispatcher answers itself. */
export const SELECT_BY_AID = 0x04;

/** MANAGE CHANNEL P1: open or close; P2 = the channel (00 on open: the card chooses). */
export const MANAGE_CHANNEL_P1 = Object.freeze({ open: 0x00, close: 0x80 } as const);

/** PC/SC Part 3 GET DATA pseudo-APDU (interop.md 3.2). */
export const PCSC_GET_DATA = Object.freeze({
  cla: 0xff,
  ins: 0xca,
  p1Uid: 0x00,
  p1Historical: 0x01,
} as const);

export interface ApduField {
  readonly name: string;
  /** Bytes, or a range such as `1-16`, or `n` for variable. */
  readonly size: string;
  readonly doc: string;
}

export interface ApduDeclaration {
  readonly name: string;
  readonly cla: string;
  readonly ins: number;
  readonly p1: string;
  readonly p2: string;
  readonly data: readonly ApduField[];
  readonly le: string;
  readonly response: readonly ApduField[];
  /** Status words by name (status-words.ts), each with when it is answered. */
  readonly statusWords: readonly (readonly [keyof typeof SW, string])[];
  readonly notes?: string;
}

const anyChannel = `00-03 (b2-b1 = logical channel 0-${MAX_CHANNELS - 1}; b5 = chaining); 40-7F (channels 4-19) answer 6881`;

export const DISPATCHER_APDUS: readonly ApduDeclaration[] = Object.freeze([
  {
    name: 'SELECT by AID',
    cla: anyChannel,
    ins: INS.SELECT,
    p1: '04 (by DF name)',
    p2: 'b2-b1: 00 first or only occurrence, 02 next occurrence (01 last, 03 previous: 6A86); b4-b3: 00 FCI, 04 FCP, 08 FMD (the applet answer either way), 0C no answer',
    data: [
      {
        name: 'AID',
        size: '0-16',
        doc: 'full AID or its prefix; the applets are searched in registry order',
      },
    ],
    le: 'absent (no answer data), 00 or the FCI length',
    response: [{ name: 'FCI', size: 'n', doc: "what the applet's select returns (may be empty)" }],
    statusWords: [
      ['OK', 'selected; the previous applet of the channel was deselected'],
      ['NOT_FOUND', 'no applet matches (or no next occurrence); the selection is unchanged'],
      ['WRONG_P1P2', 'P2 asks for the last or previous occurrence'],
      ['WRONG_DATA', 'AID longer than 16 bytes'],
      ['MORE_DATA', '61xx: the FCI is longer than Le allows'],
      ['WRONG_LE', '6Cxx: short Le below an FCI of at most 256 bytes'],
    ],
    notes: 'A SELECT with another P1 goes to the selected applet; with none selected it answers 6A81.',
  },
  {
    name: 'MANAGE CHANNEL',
    cla: anyChannel,
    ins: INS.MANAGE_CHANNEL,
    p1: '00 open, 80 close',
    p2: 'open: 00 (the card picks the lowest free channel) or 01-03; close: the channel, or 00 for the channel of CLA',
    data: [],
    le: 'open with P2 = 00: 01',
    response: [{ name: 'channel', size: '1', doc: 'open with P2 = 00 only: the channel opened' }],
    statusWords: [
      ['OK', 'opened or closed'],
      [
        'CHANNEL_NOT_SUPPORTED',
        'no free channel, the channel is already open, or closing a channel that is not open',
      ],
      ['WRONG_P1P2', 'P1 neither 00 nor 80, or closing channel 0'],
    ],
    notes:
      'A channel opened from channel 1-3 selects the applet of that channel; one opened from channel 0 starts with none.',
  },
  {
    name: 'GET RESPONSE',
    cla: anyChannel,
    ins: INS.GET_RESPONSE,
    p1: '00',
    p2: '00',
    data: [],
    le: 'up to 256 bytes (00 = 256)',
    response: [{ name: 'data', size: '1-256', doc: 'the next part of the pending answer' }],
    statusWords: [
      ['OK', 'that was the last part'],
      ['MORE_DATA', '61xx: xx more bytes wait (00: 256 or more)'],
      ['CONDITIONS_OF_USE', 'nothing is pending on this channel (any other command drops pending data)'],
      ['WRONG_P1P2', 'P1 or P2 not 00'],
    ],
  },
  {
    name: 'PC/SC GET DATA',
    cla: 'FF',
    ins: PCSC_GET_DATA.ins,
    p1: '00 the identifier, 01 the historical bytes',
    p2: '00',
    data: [],
    le: '00',
    response: [
      {
        name: 'identifier or historical bytes',
        size: 'n',
        doc: 'P1 00: the Type A UID (default: IDm bytes 1-7); P1 01: the historical bytes of the ATS',
      },
    ],
    statusWords: [
      ['OK', 'answered'],
      ['FUNCTION_NOT_SUPPORTED', 'P1 01 and the ATS has no historical bytes'],
      ['WRONG_P1P2', 'P1 not 00 or 01, or P2 not 00'],
      ['INS_NOT_SUPPORTED', 'CLA FF with any INS but CA'],
    ],
    notes: 'Answered whatever the channel state; the answer ignores Le.',
  },
  {
    name: 'FeliCa bridge',
    cla: FELICA_BRIDGE.cla.toString(16).toUpperCase(),
    ins: FELICA_BRIDGE.ins,
    p1: '00',
    p2: '00',
    data: [
      { name: 'frame', size: '1-255', doc: 'a FeliCa command frame LEN ‖ code ‖ … without preamble and CRC' },
    ],
    le: 'absent or 00',
    response: [{ name: 'frame', size: 'n', doc: "the card's FeliCa answer LEN ‖ code ‖ …" }],
    statusWords: [
      ['OK', 'the card answered the frame'],
      ['NO_ANSWER', 'the card stayed silent (malformed frame, unknown command, another IDm)'],
      ['WRONG_P1P2', 'P1 or P2 not 00'],
      ['WRONG_LENGTH', 'no frame'],
    ],
    notes: 'interop.md 2: lets PC/SC readers reach the FeliCa side; answered whatever the channel state.',
  },
]);

/** Status words any APDU can get from the dispatcher itself. */
export const DISPATCHER_STATUS_WORDS: readonly (readonly [keyof typeof SW, string])[] = Object.freeze([
  [
    'WRONG_LENGTH',
    'malformed APDU: shorter than 4 bytes, Lc 0, or a body that matches neither Lc nor Lc + Le',
  ],
  ['CHANNEL_NOT_SUPPORTED', 'the CLA addresses a channel that is not open, or channel 4 or above'],
  ['COMMAND_NOT_ALLOWED', 'no applet selected on the channel'],
  ['FUNCTION_NOT_SUPPORTED', 'a SELECT other than by AID with no applet selected'],
  ['LAST_COMMAND_EXPECTED', 'a chain continued with another INS, P1 or P2'],
  ['MEMORY_FAILURE', 'an uncorrectable EEPROM error while the command ran'],
  ['UNKNOWN', 'anything unexpected inside the card (also a trace event)'],
]);
