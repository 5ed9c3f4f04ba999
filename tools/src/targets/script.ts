// `script:<file.json>[#<vector id>]`: scripted replay of a recorded dialogue (cli.md). The file holds
// `exchanges` in the transcript shape of vectors.md, or is a vector file (name the vector after #).
import { readFileSync } from 'node:fs';
import { ScriptError, ScriptTransport, parseScript } from '@mica/host-sdk/transport/script';
import { UsageError } from '../cli-error';
import type { OpenedTarget } from './types';

export function openScript(rest: string): Promise<OpenedTarget> {
  const hash = rest.lastIndexOf('#');
  const path = hash < 0 ? rest : rest.slice(0, hash);
  const id = hash < 0 ? undefined : rest.slice(hash + 1);
  if (path === '') throw new UsageError('script: target needs a file (script:<file.json>)');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`script: cannot read ${path}: ${(e as Error).message}`);
  }
  let transport: ScriptTransport;
  try {
    transport = new ScriptTransport(parseScript(json, id), `script:${rest}`);
  } catch (e) {
    if (e instanceof ScriptError) throw new UsageError(`script: ${path}: ${e.message}`);
    throw e;
  }
  return Promise.resolve({ transport, close: () => transport.close() });
}
