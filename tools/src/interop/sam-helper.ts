// The key-holder half of the interop tier's pyscard session (interop.md 4.4): a small security module
// on stdin/stdout, one request per line, one answer per line. The Python client sequences the APDUs
// and reads the answers; this process only holds the keys: the reader side of AUTHENTICATE's 3-pass
// core and the SM wrapping (security.md 6). Usage: sam-helper.ts <suite> <node key hex>...
//   challenge <cardChallenge>   → <readerResponse>
//   confirm <cardResponse>      → ok | fail           (ok: SM keys derived, SSC = 0)
//   wrap <plain command APDU>   → <protected command APDU>
//   unwrap <response ‖ SW>      → <plain data ‖ SW> | fail <reason>
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { buildCommandApdu, parseCommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import {
  initialSsc,
  smKeysFromSessionKey,
  unwrapResponse,
  wrapCommand,
  type SmKeys,
} from '@mica/apdu-specs/apdu/secure-messaging';
import { createBlockCipher } from '@mica/apdu-specs/crypto/block-cipher';
import {
  readerOpenChallenge,
  readerResponse,
  readerVerifyCardResponse,
  sessionKey,
} from '@mica/apdu-specs/crypto/three-pass';
import { bytesToHex, concatBytes, hexToBytes } from '@mica/apdu-specs/hex';
import { singleDesStrength, suiteByName } from '@mica/apdu-specs/secure/suite';
import { synthesizeAccessKey } from '@mica/apdu-specs/secure/synthesis';

const [suiteName, ...keyHex] = process.argv.slice(2);
if (!suiteName || keyHex.length === 0) {
  process.stderr.write('usage: sam-helper.ts <suite> <node key hex>...\n');
  process.exit(2);
}
const suite = suiteByName(suiteName);
const access = synthesizeAccessKey(
  suite,
  keyHex.map((k, i) => hexToBytes(k, `key ${i + 1}`)),
);
const cipher = createBlockCipher(suite.cipher, access);

let pending: { rndA: Uint8Array; rndB: Uint8Array; rr: Uint8Array } | undefined;
let sm: { keys: SmKeys; ssc: Uint8Array } | undefined;

function answer(line: string): string {
  const [op, arg = ''] = line.trim().split(/\s+/, 2);
  const bytes = hexToBytes(arg, op);
  switch (op) {
    case 'challenge': {
      sm = undefined;
      const rndA = new Uint8Array(randomBytes(suite.randomLength));
      const rndB = readerOpenChallenge(cipher, bytes);
      const rr = readerResponse(cipher, bytes, rndA, rndB);
      pending = { rndA, rndB, rr };
      return bytesToHex(rr);
    }
    case 'confirm': {
      const p = pending;
      pending = undefined;
      if (!p || !readerVerifyCardResponse(cipher, p.rr, bytes, p.rndA)) return 'fail';
      const ks = sessionKey(suite.cipher, p.rndA, p.rndB, singleDesStrength(suite, access));
      const keys = smKeysFromSessionKey(suite, ks);
      sm = { keys, ssc: initialSsc(keys) };
      return 'ok';
    }
    case 'wrap': {
      if (!sm) return 'fail no session';
      const parsed = parseCommandApdu(bytes);
      if (!parsed.ok) return `fail ${parsed.reason}`;
      const a = parsed.apdu;
      const w = wrapCommand(sm.keys, sm.ssc, {
        cla: a.cla,
        ins: a.ins,
        p1: a.p1,
        p2: a.p2,
        data: a.data,
        ne: a.ne,
      });
      sm.ssc = w.ssc;
      return bytesToHex(buildCommandApdu(w.cla, w.ins, w.p1, w.p2, w.data, 256));
    }
    case 'unwrap': {
      if (!sm) return 'fail no session';
      if (bytes.length < 2) return 'fail no status word';
      const data = bytes.subarray(0, bytes.length - 2);
      // An answer without SM data objects (6982, 6988) ends the session and is passed on as it is.
      if (data.length === 0) {
        sm = undefined;
        return bytesToHex(bytes);
      }
      const u = unwrapResponse(sm.keys, sm.ssc, data);
      if (!u.ok) {
        sm = undefined;
        return `fail ${u.reason}`;
      }
      sm.ssc = u.ssc;
      return bytesToHex(concatBytes(u.data, Uint8Array.of(u.sw >> 8, u.sw & 0xff)));
    }
    default:
      return `fail unknown request "${op}"`;
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (line.trim() === '') continue;
  let out: string;
  try {
    out = answer(line);
  } catch (e) {
    out = `fail ${(e as Error).message}`;
  }
  process.stdout.write(`${out}\n`);
}
cipher.dispose();
access.fill(0);
