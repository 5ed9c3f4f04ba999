// Runs test-vector files (vectors.md): one checker per `kind`; a malformed file, an unknown kind or a
// missing field is a failure with a message, never a crash and never a silent skip.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckContext, CheckResult } from './check-result';
import { KINDS } from './kinds/index';

export interface VectorFailure {
  readonly id: string;
  readonly message: string;
}

export interface FileReport {
  readonly file: string;
  readonly kind: string;
  readonly passed: number;
  readonly failed: number;
  readonly failures: readonly VectorFailure[];
  /** A problem with the file as a whole (counted as one failure). */
  readonly error?: string;
}

export interface ConformanceReport {
  readonly files: readonly FileReport[];
  readonly passed: number;
  readonly failed: number;
}

/** Expands directories (recursively, *.json, sorted) and keeps files as given. */
export function expandPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      out.push(p); // reported as an unreadable file
      continue;
    }
    if (st.isDirectory()) {
      const entries = readdirSync(p).sort();
      out.push(
        ...expandPaths(
          entries
            .filter((e) => e.endsWith('.json') || statSync(join(p, e)).isDirectory())
            .map((e) => join(p, e)),
        ),
      );
    } else out.push(p);
  }
  return out;
}

function fileError(file: string, kind: string, error: string): FileReport {
  return { file, kind, passed: 0, failed: 1, failures: [], error };
}

export function runFile(file: string, context: CheckContext = {}): FileReport {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return fileError(file, '?', `not a readable JSON file: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return fileError(file, '?', 'the file must be a JSON object');
  const o = json as Record<string, unknown>;
  const kind = o['kind'];
  if (typeof kind !== 'string') return fileError(file, '?', 'missing field "kind"');
  const check = KINDS.get(kind);
  if (!check) return fileError(file, kind, `unknown kind "${kind}" (known: ${[...KINDS.keys()].join(', ')})`);
  for (const f of ['description', 'source'] as const)
    if (typeof o[f] !== 'string') return fileError(file, kind, `missing field "${f}"`);
  const vectors = o['vectors'];
  if (!Array.isArray(vectors)) return fileError(file, kind, 'missing field "vectors" (an array)');
  const failures: VectorFailure[] = [];
  const ids = new Set<string>();
  let passed = 0;
  vectors.forEach((v: unknown, i: number) => {
    const fallbackId = `#${i}`;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      failures.push({ id: fallbackId, message: 'a vector must be an object' });
      return;
    }
    const vec = v as Record<string, unknown>;
    const id = typeof vec['id'] === 'string' ? vec['id'] : fallbackId;
    if (typeof vec['id'] !== 'string') {
      failures.push({ id, message: 'missing field "id"' });
      return;
    }
    if (ids.has(id)) {
      failures.push({ id, message: 'duplicate id' });
      return;
    }
    ids.add(id);
    let r: CheckResult;
    try {
      r = check(vec, context);
    } catch (e) {
      r = { ok: false, message: `checker error: ${(e as Error).message}` };
    }
    if (r.ok) passed += 1;
    else failures.push({ id, message: r.message });
  });
  return { file, kind, passed, failed: failures.length, failures };
}

export function runConformance(
  paths: readonly string[],
  onFile?: (done: number, total: number) => void,
  context: CheckContext = {},
): ConformanceReport {
  const files = expandPaths(paths);
  const reports: FileReport[] = [];
  files.forEach((f, i) => {
    reports.push(runFile(f, context));
    onFile?.(i + 1, files.length);
  });
  return {
    files: reports,
    passed: reports.reduce((n, r) => n + r.passed, 0),
    failed: reports.reduce((n, r) => n + r.failed, 0),
  };
}
