// Generates the command reference (Markdown) from the declarations: frames, status flags, node
// attributes, EEPROM record layouts and the ISO 7816 APDUs the dispatcher answers itself. `npm run reference` writes apdu-specs/REFERENCE.md.
import { APPLET_APDUS } from './apdu/applet-declarations';
import { BANK_CREDIT_APDUS } from './apdu/bank-credit';
import { EMONEY_APDUS, SETTLEMENT_APDUS } from './apdu/emoney-settlement';
import {
  DISPATCHER_APDUS,
  DISPATCHER_STATUS_WORDS,
  type ApduDeclaration,
  type ApduField,
} from './apdu/declarations';
import { SW } from './apdu/status-words';
import { EEPROM_LAYOUTS } from './eeprom-records';
import { FELICA_COMMANDS, type FelicaCommandSpec, type FrameField } from './felica-commands';
import { FELICA_SECURE_COMMANDS, ISSUANCE_PACKAGES } from './felica-secure';
import { SERVICE_ATTRIBUTES } from './node-code';
import { STATUS_FLAGS2 } from './status-flags';

const h2 = (n: number): string => n.toString(16).padStart(2, '0').toUpperCase() + 'h';

function fieldTable(fields: readonly FrameField[]): string {
  const rows = fields.map((f) => `| ${f.name} | ${f.size} | ${f.doc} |`);
  return ['| field | bytes | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** A status word, its family written 61xx / 6Cxx. */
const swText = (name: keyof typeof SW): string =>
  name === 'MORE_DATA'
    ? '61xx'
    : name === 'WRONG_LE'
      ? '6Cxx'
      : SW[name].toString(16).padStart(4, '0').toUpperCase();

function apduFieldTable(fields: readonly ApduField[]): string {
  if (fields.length === 0) return 'none';
  const rows = fields.map((f) => `| ${f.name} | ${f.size} | ${f.doc} |`);
  return ['| field | bytes | meaning |', '|---|---|---|', ...rows].join('\n');
}

function isoSection(out: string[]): void {
  out.push('', '## ISO 7816 APDUs answered by the dispatcher', '');
  out.push(
    'Command APDUs follow ISO/IEC 7816-4 5.1 (cases 1-4, short and extended); answers are response data ‖ SW1 SW2. Parts of a chain (CLA b5) are answered 9000 and the whole command runs on the last part; answers longer than Ne wait for GET RESPONSE (61xx); a short Le below an answer of at most 256 bytes gets 6Cxx.',
  );
  apduList(out, DISPATCHER_APDUS);
  out.push('', '### Any APDU', '', '| SW | name | when |', '|---|---|---|');
  for (const [name, when] of DISPATCHER_STATUS_WORDS) out.push(`| ${swText(name)} | ${name} | ${when} |`);
  out.push('', '## Applet APDUs', '');
  out.push(
    'The card manager, AUTHENTICATE and the PIN service (security.md 6); the applets of the flows follow.',
  );
  apduList(out, APPLET_APDUS);
  out.push('', '## Bank and credit applets (seeds 000, 001)');
  apduList(out, BANK_CREDIT_APDUS);
  out.push('', '## E-money applet (seeds 001, 003)');
  apduList(out, EMONEY_APDUS);
  out.push('', '## Settlement applet (seed 002)');
  apduList(out, SETTLEMENT_APDUS);
}

function apduList(out: string[], list: readonly ApduDeclaration[]): void {
  for (const a of list) {
    out.push('', `### ${a.name} (INS ${h2(a.ins)})`, '');
    if (a.notes) out.push(a.notes, '');
    out.push('| CLA | P1 | P2 | Le |', '|---|---|---|---|', `| ${a.cla} | ${a.p1} | ${a.p2} | ${a.le} |`, '');
    out.push('Data:', '', apduFieldTable(a.data), '', 'Response:', '', apduFieldTable(a.response), '');
    out.push('| SW | name | when |', '|---|---|---|');
    for (const [name, when] of a.statusWords) out.push(`| ${swText(name)} | ${name} | ${when} |`);
  }
}

export function generateReference(): string {
  const out: string[] = [];
  out.push('# mica command reference');
  out.push('');
  out.push(
    'Generated from `apdu-specs` by `npm run reference`; do not edit by hand. Design of record: `commands.md`, `eeprom.md`, `security.md`.',
  );
  out.push('');
  out.push('## FeliCa-style commands');
  out.push('');
  out.push(
    'Frames are `LEN ‖ code ‖ ...` without preamble and CRC; LEN counts itself. Node codes are little-endian on the wire, system codes big-endian. Response code = command code + 1.',
  );
  const command = (c: FelicaCommandSpec): void => {
    out.push('');
    out.push(`### ${c.name} (${h2(c.code)} → ${h2(c.responseCode)})`);
    out.push('');
    if (c.notes) out.push(c.notes, '');
    out.push('Command:', '', fieldTable(c.request), '', 'Response:', '', fieldTable(c.response));
  };
  for (const c of Object.values(FELICA_COMMANDS)) command(c);
  out.push('', '## Secure commands (security.md 3-5)', '');
  out.push(
    'Secure messaging: CTR starts at 0 after Authentication2 and moves on with every answered secure command; IV = E_ECB(KSenc, CTR); data is E_CBC(KSenc, IV, data); the MAC is the first 8 bytes of MAC(KSmac, CTR ‖ frame from the code to the byte before the MAC). A bad MAC answers SF2 = B2 without a MAC and ends the session.',
  );
  for (const c of Object.values(FELICA_SECURE_COMMANDS)) command(c);
  out.push(
    '',
    '### Issuance packages',
    '',
    'Plaintext parameters, padded with ISO 9797-1 method 2 and encrypted; node codes little-endian, other integers big-endian.',
  );
  for (const [name, fields] of Object.entries(ISSUANCE_PACKAGES))
    out.push('', `#### ${name}`, '', fieldTable(fields));
  out.push('', '## Status flags (SF2)', '');
  out.push(
    'SF1 = 00h on success; FFh for an error not tied to a block-list element; otherwise the 1-based position of the failing element.',
  );
  out.push('', '| SF2 | name | meaning |', '|---|---|---|');
  for (const s of STATUS_FLAGS2) out.push(`| ${h2(s.code)} | ${s.name} | ${s.meaning} |`);
  out.push(
    '',
    '## Service attributes',
    '',
    '| attribute | family | access | key | PIN |',
    '|---|---|---|---|---|',
  );
  for (const a of SERVICE_ATTRIBUTES.values())
    out.push(
      `| ${h2(a.code)} | ${a.family} | ${a.access} | ${a.withKey ? 'yes' : 'no'} | ${a.withPin ? 'yes' : 'no'} |`,
    );
  out.push('', 'Area attributes: 00h may hold sub-areas, 01h may not. Node FFFFh is the system.');
  isoSection(out);
  out.push('', '## EEPROM records (16-byte blocks, big-endian unless noted)');
  for (const l of EEPROM_LAYOUTS) {
    out.push(
      '',
      `### ${l.name}`,
      '',
      l.doc,
      '',
      '| offset | size | field | type | meaning |',
      '|---|---|---|---|---|',
    );
    for (const f of l.fields) out.push(`| ${f.offset} | ${f.size} | ${f.name} | ${f.kind} | ${f.doc} |`);
  }
  out.push('');
  return out.join('\n');
}
