// `mica backend new|serve|audit` (cli.md): instances in a data directory, served over HTTP with the
// callers of callers.json and a virtual clock, audited from the directory and over HTTP.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const mica = join(root, 'tools/bin/mica.js');
const dir = mkdtempSync(join(tmpdir(), 'mica-backend-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'd4'.repeat(32);

function run(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [mica, ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('mica backend', () => {
  it('new, serve (deposit over HTTP, virtual clock), audit from the directory and over HTTP', async () => {
    const data = join(dir, 'world');
    for (const [kind, id] of [
      ['bank', 'bank1'],
      ['emoney', 'emoney1'],
    ])
      expect(run(['backend', 'new', kind!, id!, '--data', data, '--seed', '1'])).toMatchObject({
        status: 0,
        stdout: `${data}/${kind}-${id}.sqlite\n`,
      });
    expect(run(['backend', 'new', 'nokind', 'x', '--data', data])).toMatchObject({ status: 2 });
    expect(run(['backend', 'serve', '--data', data]).stderr).toMatch(/callers\.json is missing/);
    writeFileSync(join(data, 'callers.json'), JSON.stringify({ ops: { token: TOKEN, allow: ['**'] } }));
    const server = spawn(process.execPath, [mica, 'backend', 'serve', '--data', data, '--clock', 'virtual'], {
      cwd: root,
    });
    try {
      const first = await new Promise<string>((resolve, reject) => {
        server.stdout.once('data', (d: Uint8Array) => resolve(new TextDecoder().decode(d)));
        server.once('exit', (c) => reject(new Error(`mica backend serve exited with ${c}`)));
      });
      const url = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(first)![1]!;
      const call = async (path: string, body?: unknown): Promise<unknown> =>
        (
          await fetch(`${url}/v1/${path}`, {
            method: body === undefined ? 'GET' : 'POST',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          })
        ).json();
      expect(await call('bank/bank1/openAccount', { accountNo: 'a1', userId: 'u', name: 'n' })).toMatchObject(
        { ok: true },
      );
      expect(
        await call('bank/bank1/depositCash', { txId: '01'.repeat(16), accountNo: 'a1', amount: 300 }),
      ).toMatchObject({ ok: true, result: { balance: 300 } });
      expect(await call('_clock')).toEqual({
        ok: true,
        result: { now: Date.UTC(2004, 5, 7, 1), today: 1619, pending: 0 },
      });
      expect(await call('_clock/advance', { ms: 86_400_000 })).toMatchObject({
        ok: true,
        result: { today: 1620 },
      });
      const audited = spawnSync(
        process.execPath,
        [mica, 'backend', 'audit', '--url', url, '--token', TOKEN],
        { cwd: root, encoding: 'utf8' },
      );
      expect(audited).toMatchObject({ status: 0, stdout: 'C1 PASS\nC2 PASS\nC3 PASS\nC4 PASS\n' });
    } finally {
      server.kill('SIGINT');
      await new Promise((r) => server.once('exit', r));
    }
    expect(run(['backend', 'audit', '--data', data, '--json'])).toMatchObject({ status: 0 });
    expect(JSON.parse(run(['backend', 'audit', '--data', data, '--json']).stdout)).toMatchObject({
      ok: true,
      inFlight: [],
    });
  });
});
