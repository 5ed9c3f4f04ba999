// Applet kinds of the registry (record 06h) and the card manager's AID and commands.

/**
 * Kind codes stored in the registry. Only the card manager is implemented so far; an applet of a
 * registered kind without an implementation is listed for SELECT but refuses it with 6A82 (as if
 * absent), so a terminal falls back exactly as for a card without it.
 */
export const APPLET_KINDS = Object.freeze({
  'card-manager': 0x01,
  transit: 0x10,
  payment: 0x11,
  loyalty: 0x12,
  identity: 0x13,
  ndef: 0x14,
  /** The e-money purse and log as APDUs (seed 001; card-os applets/emoney). */
  emoney: 0x33,
  /** The common-key settlement card (seed 002; card-os applets/settlement). */
  settlement: 0x34,
  /** The bank applet of seed 000 (card-os applets/bank; apdu-specs bank-credit). */
  bank: 0x30,
  /** The credit applet of seeds 000 and 001 (card-os applets/credit; apdu-specs bank-credit). */
  credit: 0x31,
} as const);

export type AppletKindName = keyof typeof APPLET_KINDS;

export function appletKindCode(name: string): number {
  const code = (APPLET_KINDS as Readonly<Record<string, number>>)[name];
  if (code === undefined)
    throw new RangeError(`unknown applet kind "${name}" (one of ${Object.keys(APPLET_KINDS).join(', ')})`);
  return code;
}

export function appletKindName(code: number): string | undefined {
  return Object.entries(APPLET_KINDS).find(([, c]) => c === code)?.[0];
}

/** AIDs are 5 to 16 bytes (ISO/IEC 7816-4 8.2.1.2). */
export const AID_MIN = 5;
export const AID_MAX = 16;

/**
 * The card manager: built into every card (not a registry record), AID A0 00 00 06 EF 43 4D.
 * It installs and deletes applets after issuance, only inside a session opened with AUTHENTICATE
 * (80 88, P2 = the system number) whose node list names the target area, and only with SM:
 * - INSTALL: 8C E6 00 00, SM data = kind (1) ‖ area code (2, BE) ‖ AID length (1) ‖ AID; Le 00.
 * - DELETE: 8C E4 00 00, SM data = AID; Le 00. Marks the record deleted and zeroes the data blocks
 *   of the services of the applet's area and their key blocks.
 * Plain INSTALL / DELETE: 6982. Area not in the session: 6982. AID in use: 6A89 (INSTALL) or
 * unknown: 6A88 (DELETE). Unknown kind or bad layout: 6A80. No room: 6A84.
 */
export const CARD_MANAGER = Object.freeze({
  aid: Object.freeze([0xa0, 0x00, 0x00, 0x06, 0xef, 0x43, 0x4d] as const),
  cla: 0x80,
  insInstall: 0xe6,
  insDelete: 0xe4,
  /** GRANT: a share grant (record 07h); GlobalPlatform's STORE DATA code, the card manager's one other store. */
  insGrant: 0xe2,
  /** GRANT data: service code ‖ grantee area code, both big-endian. */
  grantLength: 4,
} as const);

/** 6A89: the AID is already in use (ISO/IEC 7816-4 "file already exists"). */
export const SW_AID_EXISTS = 0x6a89;
