// Conformance check for vector kind `line-code` (rf.md §5, §14): encode(input) = expected chips or
// sequence letters, and decode(expected) = input (bits, or bytes through the frame's L1 codec).
import { bitsFromString, bitsToBytesMsb, bitsToString, bytesToBitsMsb } from '@mica/apdu-specs/rf/bits';
import { isFrameError } from '@mica/apdu-specs/rf/frame-error';
import { typeABits, typeAFromBits } from '@mica/apdu-specs/rf/type-a';
import { TYPE_B_DEFAULTS, typeBFrameLevels, typeBFromLevels } from '@mica/apdu-specs/rf/type-b';
import { bytesEqual, bytesToHex } from '@mica/apdu-specs/hex';
import {
  chipString,
  CHIP_CODES,
  invertStream,
  streamFromString,
  type ChipCode,
} from '@mica/card-os/rf/chips';
import { decodeChips, encodeChips, sequencesOf, streamFromSequences } from '@mica/card-os/rf/line-code';
import { manchesterChipFc } from '@mica/card-os/rf/manchester';
import {
  choiceField,
  errorMessage,
  fail,
  guarded,
  hexField,
  optionalBooleanField,
  PASS,
  type CheckResult,
} from '../check-result';

const FRAMES = ['a-short', 'a-std', 'b', 'f'] as const;
type FrameKind = (typeof FRAMES)[number];

const FRAME_CODES: Readonly<Record<FrameKind, readonly ChipCode[]>> = {
  'a-short': ['miller-a', 'ook-sc-a'],
  'a-std': ['miller-a', 'ook-sc-a'],
  b: ['nrz-b', 'bpsk-sc-b'],
  f: ['manchester-f'],
};

/** The bits L2 codes for `bytes` framed as `frame` (Type B card→reader includes TR1). */
function frameBitsOf(frame: FrameKind, code: ChipCode, bytes: Uint8Array): Uint8Array {
  if (frame === 'a-short') return typeABits({ bytes, validBitsInLastByte: 7 });
  if (frame === 'a-std') return typeABits({ bytes });
  if (frame === 'b') return typeBFrameLevels(bytes, { tr1: code === 'bpsk-sc-b' ? TYPE_B_DEFAULTS.tr1 : 0 });
  return bytesToBitsMsb(bytes);
}

/** Bytes back from decoded bits through the frame's L1 decoder. */
function bytesOfBits(frame: FrameKind, bits: Uint8Array): Uint8Array | string {
  if (frame === 'a-short' || frame === 'a-std') {
    const f = typeAFromBits(bits);
    const bad = f.parityOk.findIndex((ok) => !ok);
    return bad >= 0 ? `parity error in byte ${bad}` : f.bytes;
  }
  if (frame === 'b') {
    const d = typeBFromLevels(bits);
    return isFrameError(d) ? `Type B framing: ${d.error}` : d.bytes;
  }
  return bitsToBytesMsb(bits);
}

function stringField(
  v: Record<string, unknown>,
  name: string,
): { ok: true; value: string | undefined } | { ok: false; message: string } {
  const raw = v[name];
  if (raw === undefined || typeof raw === 'string') return { ok: true, value: raw };
  return { ok: false, message: `field "${name}" must be a string` };
}

export function checkLineCode(vector: Record<string, unknown>): CheckResult {
  return guarded(() => {
    const code = choiceField(vector, 'code', CHIP_CODES);
    if (!code.ok) return code;
    const diff = optionalBooleanField(vector, 'diff');
    if (!diff.ok) return diff;
    const inverted = vector['polarity'] === 'inverted';
    if (vector['polarity'] !== undefined && vector['polarity'] !== 'normal' && !inverted)
      return fail('field "polarity" must be "normal" or "inverted"');
    const rate = vector['rate'] ?? 212;
    if (rate !== 212 && rate !== 424 && rate !== 106) return fail('field "rate" must be 106, 212 or 424');

    // Input: bits, or bytes framed by `frame`.
    let bits: Uint8Array;
    let frame: FrameKind | undefined;
    let bytes: Uint8Array | undefined;
    const bitsText = stringField(vector, 'bits');
    if (!bitsText.ok) return bitsText;
    if (bitsText.value !== undefined) {
      try {
        bits = bitsFromString(bitsText.value, 'field "bits"');
      } catch (e) {
        return fail(errorMessage(e));
      }
    } else {
      const f = choiceField(vector, 'frame', FRAMES);
      if (!f.ok) return fail(`either field "bits" or fields "bytes" and "frame" are needed: ${f.message}`);
      frame = f.value;
      if (!FRAME_CODES[frame].includes(code.value))
        return fail(`field "frame" ${frame} does not go with code ${code.value}`);
      const b = hexField(vector, 'bytes');
      if (!b.ok) return b;
      bytes = b.value;
      try {
        bits = frameBitsOf(frame, code.value, bytes);
      } catch (e) {
        return fail(`field "bytes" cannot be framed as ${frame}: ${errorMessage(e)}`);
      }
    }

    // Expected: chips, or sequence letters (Type A codes).
    const chipsText = stringField(vector, 'chips');
    if (!chipsText.ok) return chipsText;
    const seqText = stringField(vector, 'sequences');
    if (!seqText.ok) return seqText;
    if (chipsText.value === undefined && seqText.value === undefined)
      return fail('field "chips" or field "sequences" is missing');
    if (seqText.value !== undefined && code.value !== 'miller-a' && code.value !== 'ook-sc-a')
      return fail(`field "sequences" exists only for miller-a and ook-sc-a, not ${code.value}`);

    const encoded = encodeChips(code.value, bits, {
      ...(diff.value !== undefined ? { diff: diff.value } : {}),
      ...(rate === 424 ? { rate: 424 as const } : {}),
    });
    const onAir = inverted ? invertStream(encoded) : encoded;
    let expected;
    try {
      if (seqText.value !== undefined) {
        const seq = seqText.value.replace(/\s+/g, '');
        const got = sequencesOf(onAir);
        if (got !== seq) return fail(`encode: field "sequences" is ${seq}, encoded ${got}`);
        expected = streamFromSequences(code.value as 'miller-a' | 'ook-sc-a', seq);
      }
      if (chipsText.value !== undefined) {
        expected = streamFromString(
          code.value,
          code.value === 'manchester-f' ? manchesterChipFc(rate === 424 ? 424 : 212) : encoded.chipFc,
          chipsText.value,
        );
        const want = chipString(expected);
        const got = chipString(onAir);
        if (got !== want) return fail(`encode: field "chips" is ${want}, encoded ${got}`);
      }
    } catch (e) {
      return fail(errorMessage(e));
    }
    if (expected === undefined) return fail('nothing to compare');

    const decoded = decodeChips(expected, {
      ...(diff.value !== undefined ? { diff: diff.value } : {}),
      polarity: inverted || (frame === 'f' && !diff.value) ? 'auto' : 'normal',
    });
    if (inverted && !diff.value && decoded.polarity !== 'inverted')
      return fail('decode: the inverted stream was not reported as polarity inverted');
    if (diff.value) {
      // An inverted differential stream can differ only in its first bit (rf.md §5.2).
      const got = decoded.bits.slice();
      if (inverted && got.length > 0) got[0] = bits[0]!;
      if (!bytesEqual(got, bits))
        return fail(`decode: got bits ${bitsToString(decoded.bits)}, want ${bitsToString(bits)}`);
    } else if (!bytesEqual(decoded.bits, bits)) {
      return fail(`decode: got bits ${bitsToString(decoded.bits)}, want ${bitsToString(bits)}`);
    }
    if (frame !== undefined && bytes !== undefined) {
      const back = bytesOfBits(frame, decoded.bits);
      if (typeof back === 'string') return fail(`decode: ${back}`);
      if (!bytesEqual(back, bytes))
        return fail(`decode: got bytes ${bytesToHex(back)}, want ${bytesToHex(bytes)}`);
    }
    return PASS;
  });
}
