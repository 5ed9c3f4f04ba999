// Conformance check for vector kind `key-diversification`: AN10922 diversifyKey(alg, masterKey, input) = diversifiedKey.
import { bytesEqual, bytesToHex } from '@mica/apdu-specs/hex';
import { DIVERSIFY_ALGS, diversifyKey } from '@mica/apdu-specs/crypto/diversify';
import { choiceField, errorMessage, fail, guarded, hexField, PASS, type CheckResult } from '../check-result';

const MASTER_LENGTHS = { aes128: 16, '2k3des': 16, '3k3des': 24, des: 8 } as const;

export function checkKeyDiversification(vector: Record<string, unknown>): CheckResult {
  return guarded(() => {
    const alg = choiceField(vector, 'alg', DIVERSIFY_ALGS);
    if (!alg.ok) return alg;
    const masterKey = hexField(vector, 'masterKey', MASTER_LENGTHS[alg.value]);
    if (!masterKey.ok) return masterKey;
    const input = hexField(vector, 'input');
    if (!input.ok) return input;
    const expected = hexField(vector, 'diversifiedKey');
    if (!expected.ok) return expected;

    let computed: Uint8Array;
    try {
      computed = diversifyKey(alg.value, masterKey.value, input.value);
    } catch (e) {
      return fail(`field "input" cannot be used: ${errorMessage(e)}`);
    }
    // A DES suite stores K′ as K′ ‖ K′ (security.md §2): a `des` vector may give either form.
    const stored =
      alg.value === 'des' && expected.value.length === 16
        ? new Uint8Array([...computed, ...computed])
        : computed;
    if (expected.value.length !== stored.length) {
      return fail(
        `field "diversifiedKey" must be ${alg.value === 'des' ? '8 or 16' : computed.length} bytes for ${alg.value}, got ${expected.value.length}`,
      );
    }
    if (!bytesEqual(stored, expected.value)) {
      return fail(
        `field "diversifiedKey" is ${bytesToHex(expected.value)}, computed ${bytesToHex(stored)} (AN10922 ${alg.value})`,
      );
    }
    return PASS;
  });
}
