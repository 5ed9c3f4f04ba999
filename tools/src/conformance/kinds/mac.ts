// Conformance check for vector kind `mac`: ISO/IEC 9797-1 algorithm 1 or 3 (padding 1 or 2) or AES-CMAC; a short `mac` is a prefix.
import { bytesEqual, bytesToHex } from '@mica/apdu-specs/hex';
import { MAC_ALGS, computeMac, type MacPadding } from '@mica/apdu-specs/crypto/mac';
import { choiceField, fail, guarded, hexField, PASS, type CheckResult } from '../check-result';

const KEY_LENGTHS: Readonly<Record<(typeof MAC_ALGS)[number], readonly number[]>> = {
  'iso9797-1-m1': [8, 16, 24],
  'iso9797-1-m3': [16, 24],
  'aes-cmac': [16],
};

export function checkMac(vector: Record<string, unknown>): CheckResult {
  return guarded(() => {
    const alg = choiceField(vector, 'alg', MAC_ALGS);
    if (!alg.ok) return alg;
    const rawPadding = vector['padding'];
    let padding: MacPadding = 2;
    if (alg.value !== 'aes-cmac') {
      // vectors.md: padding is ignored for CMAC, which pads itself.
      if (rawPadding === undefined) return fail('field "padding" is missing');
      if (rawPadding !== 1 && rawPadding !== 2) {
        return fail(
          `field "padding" must be 1 or 2, got ${JSON.stringify(rawPadding) ?? String(rawPadding)}`,
        );
      }
      padding = rawPadding;
    }
    const key = hexField(vector, 'key');
    if (!key.ok) return key;
    const allowed = KEY_LENGTHS[alg.value];
    if (!allowed.includes(key.value.length)) {
      return fail(
        `field "key" must be ${allowed.join(' or ')} bytes for ${alg.value}, got ${key.value.length}`,
      );
    }
    const message = hexField(vector, 'message');
    if (!message.ok) return message;
    const mac = hexField(vector, 'mac');
    if (!mac.ok) return mac;

    const computed = computeMac(alg.value, key.value, message.value, { padding });
    if (mac.value.length === 0 || mac.value.length > computed.length) {
      return fail(
        `field "mac" must be 1 to ${computed.length} bytes for ${alg.value}, got ${mac.value.length}`,
      );
    }
    const prefix = computed.subarray(0, mac.value.length);
    if (!bytesEqual(prefix, mac.value)) {
      return fail(
        `field "mac" is ${bytesToHex(mac.value)}, computed ${bytesToHex(prefix)} (${alg.value}, padding ${padding}; full MAC ${bytesToHex(computed)})`,
      );
    }
    return PASS;
  });
}
