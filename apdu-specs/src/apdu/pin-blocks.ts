// The two user blocks of an applet's PIN service (a keyed random service of its area): counters, then
// reference data. The counter block is the only one a wrong try writes.
import { defineRecord } from '../record-layout';

export const pinCounterBlock = defineRecord(
  'pinCounterBlock',
  'PIN service block 0: retry counters (written, atomically, before a comparison result leaves the card).',
  [
    { name: 'pinTriesLeft', kind: 'u8', doc: 'PIN tries left (0 = blocked)' },
    { name: 'pinMaxTries', kind: 'u8', doc: 'PIN tries after a successful verification or reset (1..15)' },
    { name: 'pukTriesLeft', kind: 'u8', doc: 'unblocking-code tries left (0 = blocked for good)' },
    { name: 'pukMaxTries', kind: 'u8', doc: 'unblocking-code tries after a successful reset (1..15)' },
    { name: 'reserved', kind: 'bytes', size: 12, doc: 'reserved, zero' },
  ] as const,
  16,
);

export const pinReferenceBlock = defineRecord(
  'pinReferenceBlock',
  'PIN service block 1: reference data as ISO 9564 format-2 blocks.',
  [
    { name: 'pin', kind: 'bytes', size: 8, doc: 'the PIN, format-2 block' },
    { name: 'puk', kind: 'bytes', size: 8, doc: 'the unblocking code, format-2 block' },
  ] as const,
  16,
);

export type PinCounters = ReturnType<typeof pinCounterBlock.decode>;
