// Who may call what (flows.md 1.2): `<dataDir>/callers.json` = {callerId: {token: 32-byte hex,
// allow: ["<kind>/<id>/<method>" globs]}}. `*` matches within one path segment, `**` across segments.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constantTimeEqual } from '@mica/apdu-specs/crypto/compare';
import { hexToBytes } from '@mica/apdu-specs/hex';

export interface Caller {
  readonly token: string;
  readonly allow: readonly string[];
}

export type Callers = Readonly<Record<string, Caller>>;

export class CallersError extends Error {
  override readonly name = 'CallersError';
}

export function parseCallers(json: unknown, source = 'callers.json'): Callers {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CallersError(`${source} must be an object {callerId: {token, allow}}`);
  const out: Record<string, Caller> = {};
  for (const [id, c] of Object.entries(json as Record<string, unknown>)) {
    const x = c as Record<string, unknown> | null;
    if (typeof x !== 'object' || x === null) throw new CallersError(`${source}: ${id} must be an object`);
    if (typeof x['token'] !== 'string' || !/^[0-9a-f]{64}$/.test(x['token']))
      throw new CallersError(`${source}: ${id}.token must be 32 bytes of lowercase hex`);
    const allow = x['allow'];
    if (!Array.isArray(allow) || allow.some((g) => typeof g !== 'string'))
      throw new CallersError(`${source}: ${id}.allow must be a list of "<kind>/<id>/<method>" globs`);
    out[id] = { token: x['token'], allow: allow as string[] };
  }
  return out;
}

export function readCallers(dataDir: string): Callers {
  const path = join(dataDir, 'callers.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CallersError(`${path} is missing: write it with the callers and their tokens (flows.md 1.2)`);
  }
  try {
    return parseCallers(JSON.parse(text), path);
  } catch (e) {
    if (e instanceof CallersError) throw e;
    throw new CallersError(`${path}: ${(e as Error).message}`);
  }
}

export function writeCallers(dataDir: string, callers: Callers): void {
  parseCallers(callers);
  writeFileSync(join(dataDir, 'callers.json'), `${JSON.stringify(callers, null, 2)}\n`, { mode: 0o600 });
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** The caller holding `token` (compared in constant time), or undefined. */
export function callerOf(callers: Callers, token: string): string | undefined {
  if (!/^[0-9a-f]{64}$/.test(token)) return undefined;
  const t = hexToBytes(token);
  let found: string | undefined;
  for (const [id, c] of Object.entries(callers)) if (constantTimeEqual(hexToBytes(c.token), t)) found = id;
  return found;
}

export function allowed(callers: Callers, callerId: string, path: string): boolean {
  return callers[callerId]?.allow.some((g) => globToRegExp(g).test(path)) ?? false;
}
