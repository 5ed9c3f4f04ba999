// Conformance check for vector kind `airtime` (rf.md §8.1): the airtime formula in carrier cycles (and,
// when given, its value in µs rounded to 0.01).
import { bytesToHex } from '@mica/apdu-specs/hex';
import { typeABitCount } from '@mica/apdu-specs/rf/type-a';
import { fcToUs, felicaAirtimeFc, typeAAirtimeFc, typeBAirtimeFc } from '@mica/card-os/rf/timing';
import { choiceField, fail, guarded, hexField, PASS, type CheckResult } from '../check-result';

function intField(v: Record<string, unknown>, name: string, optional = false): number | string | undefined {
  const raw = v[name];
  if (raw === undefined) return optional ? undefined : `field "${name}" is missing`;
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0)
    return `field "${name}" must be a non-negative integer`;
  return raw;
}

export function checkAirtime(vector: Record<string, unknown>): CheckResult {
  return guarded(() => {
    const tech = choiceField(vector, 'tech', ['a', 'b', 'f'] as const);
    if (!tech.ok) return tech;
    const dir = choiceField(vector, 'dir', ['r2c', 'c2r'] as const);
    if (!dir.ok) return dir;
    const rate = vector['rate'];
    const rates = tech.value === 'f' ? [212, 424] : [106];
    if (typeof rate !== 'number' || !rates.includes(rate))
      return fail(`field "rate" must be ${rates.join(' or ')} for Type ${tech.value.toUpperCase()}`);
    const want = intField(vector, 'airtimeFc');
    if (typeof want === 'string') return fail(want);
    const bitsN = intField(vector, 'bits', true);
    if (typeof bitsN === 'string') return fail(bitsN);
    const pre = intField(vector, 'preambleBytes', true);
    if (typeof pre === 'string') return fail(pre);
    let got: number;
    let what: string;
    if (bitsN !== undefined) {
      if (vector['bytes'] !== undefined) return fail('give field "bytes" or field "bits", not both');
      if (tech.value === 'b') return fail('Type B airtime counts characters: give field "bytes"');
      got = tech.value === 'a' ? typeAAirtimeFc(bitsN) : bitsN * (rate === 212 ? 64 : 32);
      what = `${bitsN} bits`;
    } else {
      const bytes = hexField(vector, 'bytes');
      if (!bytes.ok) return bytes;
      const b = bytes.value;
      if (tech.value === 'f') {
        if (b[0] !== b.length)
          return fail(`field "bytes" must be LEN ‖ data with LEN = ${b.length}, got LEN ${b[0] ?? 'none'}`);
        got = felicaAirtimeFc(b.length, rate as 212 | 424, pre ?? 6);
      } else if (tech.value === 'a') got = typeAAirtimeFc(typeABitCount({ bytes: b }));
      else got = typeBAirtimeFc(dir.value, b.length);
      what = bytesToHex(b);
    }
    if (got !== want) return fail(`airtime of ${what}: field "airtimeFc" is ${want}, computed ${got}`);
    const us = vector['airtimeUs'];
    if (us !== undefined) {
      if (typeof us !== 'number') return fail('field "airtimeUs" must be a number');
      if (fcToUs(got) !== us) return fail(`field "airtimeUs" is ${us}, computed ${fcToUs(got)}`);
    }
    return PASS;
  });
}
