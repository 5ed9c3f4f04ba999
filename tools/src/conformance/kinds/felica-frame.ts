// Conformance check for vector kind `felica-frame`: encode(payload) = frame and decode(frame) = payload.
import { decodeFelicaFrame, encodeFelicaFrame } from '@mica/apdu-specs/felica-frame';
import { bytesEqual, bytesToHex } from '@mica/apdu-specs/hex';
import { errorMessage, fail, guarded, hexField, PASS, type CheckResult } from '../check-result';

export function checkFelicaFrame(vector: Record<string, unknown>): CheckResult {
  return guarded(() => {
    const payload = hexField(vector, 'payload');
    if (!payload.ok) return payload;
    const frame = hexField(vector, 'frame');
    if (!frame.ok) return frame;
    let encoded: Uint8Array;
    try {
      encoded = encodeFelicaFrame(payload.value);
    } catch (e) {
      return fail(`field "payload" cannot be encoded: ${errorMessage(e)}`);
    }
    if (!bytesEqual(encoded, frame.value)) {
      return fail(`encode: field "frame" is ${bytesToHex(frame.value)}, encoded ${bytesToHex(encoded)}`);
    }
    const decoded = decodeFelicaFrame(frame.value);
    if (!decoded.ok) return fail(`decode: field "frame" rejected (${decoded.error}): ${decoded.message}`);
    if (!bytesEqual(decoded.payload, payload.value)) {
      return fail(
        `decode: field "payload" is ${bytesToHex(payload.value)}, decoded ${bytesToHex(decoded.payload)}`,
      );
    }
    return PASS;
  });
}
