// The e-money and settlement APDU vocabulary: declarations, value-rule status words, layouts, kind codes.
import { describe, expect, it } from 'vitest';
import { APPLET_KINDS, appletKindName } from '../src/apdu/applet-kinds';
import {
  EMONEY,
  EMONEY_APDUS,
  SETTLEMENT,
  SETTLEMENT_APDUS,
  VALUE_SW,
  valueSw,
} from '../src/apdu/emoney-settlement';
import { STATUS_WORDS, SW } from '../src/apdu/status-words';
import { SF2 } from '../src/status-flags';

describe('e-money and settlement APDUs', () => {
  it('declares every command once with known status words', () => {
    const all = [...EMONEY_APDUS, ...SETTLEMENT_APDUS];
    expect(all).toHaveLength(8);
    expect(new Set(all.map((a) => a.name)).size).toBe(all.length);
    for (const a of all)
      for (const [name] of a.statusWords) expect(SW[name], `${a.name} ${name}`).toBeTypeOf('number');
  });

  it('maps each value rule to 69 ‖ SF2, apart from every ISO status word', () => {
    expect(VALUE_SW).toEqual({
      DUPLICATE_CHARGE_ID: valueSw(SF2.DUPLICATE_CHARGE_ID),
      STALE_BALANCE: valueSw(SF2.STALE_BALANCE),
      LOG_REQUIRED: valueSw(SF2.LOG_REQUIRED),
      DUPLICATE_EXECUTION_ID: valueSw(SF2.DUPLICATE_EXECUTION_ID),
      INSUFFICIENT: valueSw(SF2.PURSE_UNDERFLOW),
      OVER_MAX: valueSw(SF2.PURSE_OVER_MAX),
    });
    for (const sw of Object.values(VALUE_SW)) expect(STATUS_WORDS.some((s) => s.sw === sw)).toBe(false);
  });

  it('keeps the charge ID and the amount in different cipher blocks of the settlement commands', () => {
    // SPC: chargeId bytes 0-7, amount bytes 16-19; VALUE UPDATE: amount bytes 17-20 (8- and 16-byte blocks).
    for (const bs of [8, 16]) {
      expect(Math.floor(16 / bs)).not.toBe(0);
      expect(Math.floor(17 / bs)).not.toBe(0);
    }
    expect(SETTLEMENT.spcLength).toBe(8 + 8 + 4 + 2 + 1 + 1 + 32);
    expect(SETTLEMENT.valueUpdateLength).toBe(8 + 8 + 1 + 4 + 2 + 1);
    expect(EMONEY.overwriteDataLength - EMONEY.relativeDataLength).toBe(2);
  });

  it('registers the two kinds', () => {
    expect(appletKindName(APPLET_KINDS.emoney)).toBe('emoney');
    expect(appletKindName(APPLET_KINDS.settlement)).toBe('settlement');
  });
});
