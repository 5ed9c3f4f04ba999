// Conformance check for vector kind `reed-solomon`: RS(20,16) parity of `data`, and decoding of `received`.
import { bytesEqual, bytesToHex } from '@mica/apdu-specs/hex';
import { rsDecode, rsParity } from '@mica/card-os/hal/reed-solomon';
import { fail, guarded, hexField, optionalBooleanField, PASS, type CheckResult } from '../check-result';

export function checkReedSolomon(vector: Record<string, unknown>): CheckResult {
  return guarded(() => {
    const data = hexField(vector, 'data', 16);
    if (!data.ok) return data;
    const parity = hexField(vector, 'parity', 4);
    if (!parity.ok) return parity;
    const computed = rsParity(data.value);
    if (!bytesEqual(computed, parity.value)) {
      return fail(`encode: field "parity" is ${bytesToHex(parity.value)}, computed ${bytesToHex(computed)}`);
    }

    const correctable = optionalBooleanField(vector, 'correctable');
    if (!correctable.ok) return correctable;
    if (vector['received'] === undefined) {
      return correctable.value === undefined
        ? PASS
        : fail('field "received" is missing (needed with "correctable")');
    }
    const received = hexField(vector, 'received', 20);
    if (!received.ok) return received;
    if (correctable.value === undefined)
      return fail('field "correctable" is missing (needed with "received")');

    const r = rsDecode(received.value);
    if (!correctable.value) {
      return r.status === 'failed'
        ? PASS
        : fail(`decode: field "received" must be reported uncorrectable, decoder said ${r.status}`);
    }
    if (r.status === 'failed') return fail('decode: field "received" should be correctable, decoder failed');
    const decoded = r.status === 'clean' ? received.value.subarray(0, 16) : r.data;
    if (!bytesEqual(decoded, data.value)) {
      return fail(
        `decode: field "received" decoded to ${bytesToHex(decoded)}, field "data" is ${bytesToHex(data.value)}`,
      );
    }
    return PASS;
  });
}
