import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateReference } from '../src/reference';
import { SF2, STATUS_FLAGS2 } from '../src/status-flags';
import { FELICA_COMMANDS } from '../src/felica-commands';
import { FELICA_SECURE_COMMANDS } from '../src/felica-secure';

describe('generated command reference', () => {
  it('is committed up to date (run `npm run reference` after changing a declaration)', () => {
    const committed = readFileSync(new URL('../REFERENCE.md', import.meta.url), 'utf8');
    expect(committed).toBe(generateReference());
  });
  it('documents every command, status flag and record', () => {
    const text = generateReference();
    for (const c of [...Object.values(FELICA_COMMANDS), ...Object.values(FELICA_SECURE_COMMANDS)])
      expect(text).toContain(`### ${c.name}`);
    for (const s of STATUS_FLAGS2) expect(text).toContain(`| ${s.name} |`);
    expect(text).toContain('### serviceRecord');
  });
  it('keeps the status-flag codes of commands.md and eeprom.md', () => {
    expect(SF2).toMatchObject({
      PURSE_UNDERFLOW: 0x01,
      PURSE_OVER_MAX: 0x02,
      MEMORY_ERROR: 0x70,
      WRITE_COUNT_WARNING: 0x71,
      SERVICE_COUNT: 0xa1,
      BLOCK_COUNT: 0xa2,
      SERVICE_INDEX: 0xa3,
      ACCESS_TYPE: 0xa4,
      NO_SUCH_NODE: 0xa6,
      ACCESS_MODE: 0xa7,
      BLOCK_NUMBER: 0xa8,
      WRITE_FAILURE: 0xa9,
      NODE_EXISTS: 0xad,
      CYCLIC_TWICE: 0xaf,
      AUTH_REQUIRED: 0xb1,
      MAC_FAILURE: 0xb2,
      DUPLICATE_CHARGE_ID: 0xe1,
      STALE_BALANCE: 0xe2,
      LOG_REQUIRED: 0xe3,
      DUPLICATE_EXECUTION_ID: 0xe4,
    });
  });
});
