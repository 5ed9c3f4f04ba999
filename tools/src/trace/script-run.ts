// Runs a script of exchanges (the transcript shape of vectors.md, read by host-sdk's parseScript) against a
// transport: each answer printed as `mica felica` / `mica apdu` print it, and compared with the recorded
// answer where the script gives one.
import { readFileSync } from 'node:fs';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { parseScript, ScriptError, type ScriptedExchange } from '@mica/host-sdk/transport/script';
import { TransportError, type Transport } from '@mica/host-sdk/transport/transport';
import { UsageError } from '../cli-error';

export interface Script {
  readonly exchanges: readonly ScriptedExchange[];
  /** Exchanges that give no answer (`rx`/`r` absent): their answers are not compared. */
  readonly unchecked: ReadonlySet<number>;
}

/** Marks exchanges without an answer (rf.md §13.3: `rx`, if present, is compared) and fills in null. */
function markUnanswered(json: unknown, unchecked: Set<number>): unknown {
  const patch = (holder: Record<string, unknown>): Record<string, unknown> => {
    const list = holder['exchanges'];
    if (!Array.isArray(list)) return holder;
    return {
      ...holder,
      exchanges: list.map((e: unknown, i) => {
        if (typeof e !== 'object' || e === null) return e;
        const x = e as Record<string, unknown>;
        const key = 'tx' in x ? 'rx' : 'r';
        if (key in x) return x;
        unchecked.add(i);
        return { ...x, [key]: null };
      }),
    };
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json;
  const o = json as Record<string, unknown>;
  if (Array.isArray(o['vectors']))
    return {
      ...o,
      vectors: (o['vectors'] as unknown[]).map((v) =>
        typeof v === 'object' && v !== null ? patch(v as Record<string, unknown>) : v,
      ),
    };
  return patch(o);
}

/** Reads `FILE` or `FILE#vector-id`; errors name the file and the JSON path. */
export function readScriptFile(spec: string): Script {
  const hash = spec.lastIndexOf('#');
  const file = hash > 0 ? spec.slice(0, hash) : spec;
  const id = hash > 0 ? spec.slice(hash + 1) : undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--script ${file} is not a readable JSON file: ${(e as Error).message}`);
  }
  const unchecked = new Set<number>();
  try {
    return { exchanges: parseScript(markUnanswered(json, unchecked), id), unchecked };
  } catch (e) {
    if (e instanceof ScriptError) throw new UsageError(`--script ${spec}: ${e.message}`);
    throw e;
  }
}

export interface ScriptRun {
  /** One line per exchange: the answer in hex, or `-` for silence. */
  readonly lines: string[];
  /** Exchanges whose answer differs from the recorded one. */
  readonly mismatches: string[];
  /** The transport error that ended the run early, if any. */
  readonly error?: TransportError;
}

/** Every exchange in order; a transport error ends the run (it is returned, not thrown). */
export async function runScript(t: Transport, script: Script): Promise<ScriptRun> {
  const lines: string[] = [];
  const mismatches: string[] = [];
  for (const [i, e] of script.exchanges.entries()) {
    let got: Uint8Array | null;
    try {
      got = e.interface === 'felica' ? await t.felica(e.command) : await t.apdu(e.command);
    } catch (err) {
      if (err instanceof TransportError) {
        lines.push('-');
        return { lines, mismatches, error: err };
      }
      throw err;
    }
    const have = got === null ? '-' : bytesToHex(got);
    lines.push(have);
    const want = e.answer === null ? '-' : bytesToHex(e.answer);
    if (!script.unchecked.has(i) && have !== want)
      mismatches.push(`exchange ${i + 1} (${bytesToHex(e.command)}): expected ${want}, got ${have}`);
  }
  return { lines, mismatches };
}
