// Byte-level mutations for fuzzing: flipped bits, interesting values, inserted, deleted and repeated runs,
// truncation and extension. One to a few per input, chosen by the seeded draw.
import type { Draw } from './draw';

const INTERESTING = [0x00, 0x01, 0x02, 0x0f, 0x10, 0x7f, 0x80, 0xfe, 0xff];

function once(d: Draw, b: number[]): void {
  const at = b.length === 0 ? 0 : d.below(b.length);
  switch (d.below(8)) {
    case 0:
    case 1:
      if (b.length > 0) b[at] = b[at]! ^ (1 << d.below(8));
      break;
    case 2:
      if (b.length > 0) b[at] = d.pick(INTERESTING);
      break;
    case 3:
      if (b.length > 0) b[at] = d.byte();
      break;
    case 4:
      b.splice(at, 0, ...d.bytes(1 + d.below(4)));
      break;
    case 5:
      b.splice(at, 1 + d.below(4));
      break;
    case 6:
      b.length = d.below(b.length + 1);
      break;
    default: {
      const n = 1 + d.below(8);
      b.splice(at, 0, ...b.slice(at, at + n));
    }
  }
}

/** A mutated copy of `input` (never the same array). */
export function mutateBytes(d: Draw, input: Uint8Array, maxLength = 4096): Uint8Array {
  const b = Array.from(input);
  const rounds = 1 + (d.byte() < 200 ? 0 : d.below(4));
  for (let i = 0; i < rounds; i++) once(d, b);
  if (b.length > maxLength) b.length = maxLength;
  return Uint8Array.from(b);
}
