// Applet APDU vocabulary: format-2 PIN blocks, kind codes and the declarations.
import { describe, expect, it } from 'vitest';
import { APPLET_APDUS } from '../src/apdu/applet-declarations';
import { isPinBlock, pinBlock } from '../src/apdu/applet-commands';
import { APPLET_KINDS, appletKindCode, appletKindName } from '../src/apdu/applet-kinds';
import { SW } from '../src/apdu/status-words';
import { bytesToHex, hexToBytes } from '../src/hex';

describe('applet commands', () => {
  it('encodes ISO 9564 format-2 PIN blocks', () => {
    expect(bytesToHex(pinBlock('1234'))).toBe('241234ffffffffff');
    expect(bytesToHex(pinBlock('123456789012'))).toBe('2c123456789012ff');
    expect(() => pinBlock('123')).toThrow(RangeError);
    expect(() => pinBlock('12a4')).toThrow(RangeError);
  });

  it('recognises only well-formed format-2 blocks', () => {
    expect(isPinBlock(hexToBytes('241234ffffffffff'))).toBe(true);
    for (const bad of [
      '141234ffffffffff',
      '231234ffffffffff',
      '2412a4ffffffffff',
      '241234fffffffff0',
      '241234ffffffff',
    ])
      expect(isPinBlock(hexToBytes(bad)), bad).toBe(false);
  });

  it('maps kind names and codes both ways', () => {
    for (const [name, code] of Object.entries(APPLET_KINDS)) {
      expect(appletKindCode(name)).toBe(code);
      expect(appletKindName(code)).toBe(name);
    }
    expect(() => appletKindCode('nope')).toThrow(RangeError);
  });

  it('declares every applet APDU with known status words', () => {
    expect(APPLET_APDUS.map((a) => a.name)).toHaveLength(8);
    for (const a of APPLET_APDUS)
      for (const [name] of a.statusWords) expect(SW[name], `${a.name} ${name}`).toBeTypeOf('number');
  });
});
