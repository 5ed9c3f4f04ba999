// The card-level ISO 7816-4 commands the dispatcher itself answers, and the project's FeliCa bridge.

export const INS = Object.freeze({
  SELECT: 0xa4,
  MANAGE_CHANNEL: 0x70,
  GET_RESPONSE: 0xc0,
} as const);

/** Logical channels 0-3 (first-interindustry CLA); further channels are refused with 6881. */
export const MAX_CHANNELS = 4;

/**
 * The FeliCa bridge (interop.md 2): CLA 80, INS FE, P1 00, P2 00, data = LEN ‖ code ‖ … (a FeliCa frame
 * without preamble and CRC); answer = the response frame ‖ 9000, or 6400 when the card stays silent.
 */
export const FELICA_BRIDGE = Object.freeze({ cla: 0x80, ins: 0xfe, p1: 0x00, p2: 0x00 } as const);
