// FeliCa-style status flags as data: the single table of SF2 codes (commands.md, eeprom.md 4.6).

export interface StatusFlag2 {
  readonly code: number;
  readonly name: string;
  readonly meaning: string;
}

const table = [
  [0x00, 'OK', 'success'],
  [0x01, 'PURSE_UNDERFLOW', 'purse result below 0'],
  [0x02, 'PURSE_OVER_MAX', "purse result above the purse's maxBalance (or above 2^32-1)"],
  [0x70, 'MEMORY_ERROR', 'a block failed its parity or check value: uncorrectable memory error'],
  [0x71, 'WRITE_COUNT_WARNING', 'success, but a written block (journal included) is past its endurance'],
  [0xa1, 'SERVICE_COUNT', 'number of services out of range (0 or more than 16)'],
  [
    0xa2,
    'BLOCK_COUNT',
    'number of blocks out of range, or the block list or data shorter or longer than announced',
  ],
  [0xa3, 'SERVICE_INDEX', "a block element's service index is beyond the service list"],
  [0xa4, 'ACCESS_TYPE', 'access not allowed by the service type or attribute'],
  [0xa5, 'NO_KEY', 'authentication names a node that has no key'],
  [0xa6, 'NO_SUCH_NODE', 'the service or node does not exist'],
  [0xa7, 'ACCESS_MODE', 'invalid access mode in a block element'],
  [0xa8, 'BLOCK_NUMBER', 'the block number is outside the service'],
  [0xa9, 'WRITE_FAILURE', 'write failure, or no room (issuance: memory or capacity full)'],
  [0xad, 'NODE_EXISTS', 'the node exists already'],
  [0xaf, 'CYCLIC_TWICE', 'more than one write to the same cyclic service in one command'],
  [
    0xb1,
    'AUTH_REQUIRED',
    'authentication required: keyed service used without it, or a node outside the session',
  ],
  [0xb2, 'MAC_FAILURE', 'MAC failure; the session is destroyed'],
  [0xe1, 'DUPLICATE_CHARGE_ID', 'the log already holds a record with this charge ID'],
  [0xe2, 'STALE_BALANCE', 'direct purse write whose execution ID is not the stored one + 1'],
  [0xe3, 'LOG_REQUIRED', 'the purse policy requires a log record in the same command'],
  [0xe4, 'DUPLICATE_EXECUTION_ID', 'cashback or decrement write repeating the stored execution ID'],
] as const;

export const STATUS_FLAGS2: readonly StatusFlag2[] = Object.freeze(
  table.map(([code, name, meaning]) => Object.freeze({ code, name, meaning })),
);

type Sf2Name = (typeof table)[number][1];

/** SF2 codes by name, e.g. `SF2.BLOCK_NUMBER === 0xa8`. */
export const SF2 = Object.freeze(Object.fromEntries(table.map(([code, name]) => [name, code]))) as {
  readonly [K in Sf2Name]: Extract<(typeof table)[number], readonly [number, K, string]>[0];
};

/** SF1 when an error is not tied to one block-list element. */
export const SF1_GENERAL = 0xff;

export function statusFlag2(code: number): StatusFlag2 | undefined {
  return STATUS_FLAGS2.find((s) => s.code === code);
}

/** Card modes reported by Request Response (commands.md). */
export const CardMode = Object.freeze({
  mode0: 0x00,
  authenticating: 0x01,
  authenticated: 0x02,
  issuing: 0x03,
} as const);
