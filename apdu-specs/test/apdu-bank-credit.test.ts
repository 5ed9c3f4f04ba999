// The bank / credit declarations: known status words, one declaration per command, and the slot layout sizes.
import { describe, expect, it } from 'vitest';
import {
  BANK_CREDIT_APDUS,
  LIST_ENTRY,
  MAX_ENVELOPE,
  PUT_TOKEN_HEADER,
  SLOT_BLOCKS,
  accountRecord,
  cardDataRecord,
  slotMeta,
} from '../src/apdu/bank-credit';
import { SW } from '../src/apdu/status-words';

describe('bank and credit APDU declarations', () => {
  it('name only known status words, each command once', () => {
    for (const a of BANK_CREDIT_APDUS)
      for (const [name] of a.statusWords) expect(SW[name], `${a.name} ${name}`).toBeTypeOf('number');
    const names = BANK_CREDIT_APDUS.map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('hold the largest flows.md 2.2 envelope in a slot', () => {
    // keyMode 1/2: header 21 + ECIES (32 + 128 + 16) + signature 64 = 261 bytes.
    expect(21 + 32 + 128 + 16 + 64).toBeLessThanOrEqual(MAX_ENVELOPE);
    // keyMode 3: header 37 + nonce 12 + 128 + tag 16 + HMAC 32 = 225 bytes.
    expect(37 + 12 + 128 + 16 + 32).toBeLessThanOrEqual(MAX_ENVELOPE);
    expect(SLOT_BLOCKS).toBe(19);
    expect([PUT_TOKEN_HEADER, LIST_ENTRY]).toEqual([32, 30]);
    expect([accountRecord.span, cardDataRecord.span, slotMeta.span]).toEqual([32, 48, 16]);
  });
});
