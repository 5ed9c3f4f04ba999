// Conformance check for vector kind `crc`: CRC_A, CRC_B or FeliCa CRC of `data` equals `crc` (transmission order).
import { CRC_ALGORITHMS, crcBytes } from '@mica/apdu-specs/crc';
import { bytesEqual, bytesToHex } from '@mica/apdu-specs/hex';
import { choiceField, fail, guarded, hexField, PASS, type CheckResult } from '../check-result';

export function checkCrc(vector: Record<string, unknown>): CheckResult {
  return guarded(() => {
    const alg = choiceField(vector, 'alg', CRC_ALGORITHMS);
    if (!alg.ok) return alg;
    const data = hexField(vector, 'data');
    if (!data.ok) return data;
    const crc = hexField(vector, 'crc', 2);
    if (!crc.ok) return crc;
    const computed = crcBytes(alg.value, data.value);
    if (!bytesEqual(computed, crc.value)) {
      return fail(
        `field "crc": expected ${bytesToHex(crc.value)}, computed ${bytesToHex(computed)} (${alg.value})`,
      );
    }
    return PASS;
  });
}
