// ISO/IEC 7816-4 status words as data: the single table the card, the host and the reference use.

export interface StatusWord {
  readonly sw: number;
  readonly name: string;
  readonly meaning: string;
}

const table = [
  [0x9000, 'OK', 'normal processing'],
  [0x6100, 'MORE_DATA', '61xx: xx more bytes available with GET RESPONSE (00: 256 or more)'],
  [0x6281, 'DATA_CORRUPTED', 'part of the returned data may be corrupted'],
  [0x6283, 'SELECTED_FILE_INVALIDATED', 'the selected application is deactivated'],
  [0x63c0, 'VERIFY_FAILED', '63Cx: verification failed, x tries left'],
  [0x6400, 'NO_ANSWER', 'FeliCa bridge: the card stayed silent (interop.md 2)'],
  [0x6581, 'MEMORY_FAILURE', 'uncorrectable memory error'],
  [0x6700, 'WRONG_LENGTH', 'wrong length (Lc or Le, or a malformed APDU)'],
  [0x6881, 'CHANNEL_NOT_SUPPORTED', 'logical channel not supported or not open'],
  [0x6882, 'SM_NOT_SUPPORTED', 'secure messaging not supported'],
  [0x6883, 'LAST_COMMAND_EXPECTED', 'the last command of a chain was expected'],
  [0x6884, 'CHAINING_NOT_SUPPORTED', 'command chaining not supported here'],
  [0x6982, 'SECURITY_STATUS', 'security status not satisfied'],
  [0x6983, 'AUTH_BLOCKED', 'authentication method blocked'],
  [0x6984, 'REFERENCE_DATA_UNUSABLE', 'reference data not usable'],
  [0x6985, 'CONDITIONS_OF_USE', 'conditions of use not satisfied'],
  [0x6986, 'COMMAND_NOT_ALLOWED', 'command not allowed (no current application)'],
  [0x6988, 'SM_DATA_INCORRECT', 'secure messaging data objects incorrect'],
  [0x6a80, 'WRONG_DATA', 'incorrect parameters in the data field'],
  [0x6a81, 'FUNCTION_NOT_SUPPORTED', 'function not supported'],
  [0x6a82, 'NOT_FOUND', 'application or file not found'],
  [0x6a84, 'NOT_ENOUGH_MEMORY', 'not enough memory space'],
  [0x6a86, 'WRONG_P1P2', 'incorrect parameters P1-P2'],
  [0x6a88, 'REFERENCED_DATA_NOT_FOUND', 'referenced data not found'],
  [0x6c00, 'WRONG_LE', '6Cxx: wrong Le; xx is the exact length available'],
  [0x6d00, 'INS_NOT_SUPPORTED', 'instruction not supported'],
  [0x6e00, 'CLA_NOT_SUPPORTED', 'class not supported'],
  [0x6f00, 'UNKNOWN', 'no precise diagnosis (an unexpected internal error)'],
] as const;

export const STATUS_WORDS: readonly StatusWord[] = Object.freeze(
  table.map(([sw, name, meaning]) => Object.freeze({ sw, name, meaning })),
);

type SwName = (typeof table)[number][1];

/** Status words by name, e.g. `SW.NOT_FOUND === 0x6a82`. */
export const SW = Object.freeze(Object.fromEntries(table.map(([sw, name]) => [name, sw]))) as {
  readonly [K in SwName]: number;
};

export function swName(sw: number): string {
  const exact = STATUS_WORDS.find((s) => s.sw === sw);
  if (exact) return exact.name;
  const family = STATUS_WORDS.find((s) => (s.sw & 0xff) === 0 && s.sw >> 8 === sw >> 8 && s.sw !== 0x9000);
  if (family) return `${family.name}(${(sw & 0xff).toString(16).padStart(2, '0')})`;
  if ((sw & 0xfff0) === 0x63c0) return `VERIFY_FAILED(${sw & 0x0f})`;
  return sw.toString(16).padStart(4, '0');
}
