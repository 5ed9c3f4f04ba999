// The applet conformance suite (apdu-transcript vectors) through pcscd (interop.md 4.5): for each vector
// a fresh card from its profile connects to a vpcd slot (vector-card-host.ts, started inside pcscd's
// network namespace), the SDK's pcsc: transport opens that reader and every command must get exactly
// the recorded answer. One JSON line per vector.
// Usage: pcsc-conformance.ts <pcscd pid> <vpcd port> <reader name> <vector file>...
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { loadPcscModule, PcscTransport } from '@mica/host-sdk/transport/pcsc';
import { TransportError } from '@mica/host-sdk/transport/transport';
import { readExchanges } from '../conformance/kinds/felica-transcript';

const [pidText, portText, readerName, ...files] = process.argv.slice(2);
const port = Number(portText);
if (!pidText || !readerName || !Number.isInteger(port) || files.length === 0) {
  process.stderr.write('usage: pcsc-conformance.ts <pcscd pid> <vpcd port> <reader name> <vector file>...\n');
  process.exit(2);
}
const host = spawn(
  'nsenter',
  [
    '-t',
    pidText,
    '-n',
    process.execPath,
    '--import',
    'tsx',
    new URL('./vector-card-host.ts', import.meta.url).pathname,
    String(port),
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const hostLines = createInterface({ input: host.stdout! })[Symbol.asyncIterator]();
async function ask(request: string): Promise<string> {
  host.stdin!.write(`${request}\n`);
  const r = await hostLines.next();
  return r.done ? 'error the card host ended' : r.value;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mod = await loadPcscModule();

/** Waits until the reader shows (or no longer shows) a card. */
async function waitPresence(present: boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ctx = new mod.Context();
    try {
      const r = ctx.listReaders().find((x) => x.name === readerName);
      if (r && ((r.state & mod.SCARD_STATE_PRESENT) !== 0) === present) return true;
    } finally {
      ctx.close();
    }
    await sleep(50);
  }
  return false;
}

async function runVector(file: string, v: Record<string, unknown>): Promise<string | undefined> {
  const exchanges = readExchanges(v, 'c', 'r');
  if (typeof exchanges === 'string') return exchanges;
  const inserted = await ask(`insert ${file} ${String(v['id'])}`);
  try {
    if (inserted !== 'inserted') return `card host: ${inserted}`;
    if (!(await waitPresence(true, 10_000))) return `"${readerName}" never showed the card`;
    const t = await PcscTransport.open(readerName, { module: mod });
    try {
      for (const [i, e] of exchanges.entries()) {
        let have: string;
        try {
          have = bytesToHex(await t.apdu(e.command));
        } catch (err) {
          if (!(err instanceof TransportError)) throw err;
          have = `${err.kind} (${err.message})`;
        }
        const want = e.response === null ? '-' : bytesToHex(e.response);
        if (have !== want)
          return `exchange ${i + 1} (${bytesToHex(e.command)}): expected ${want}, got ${have}`;
      }
    } finally {
      await t.close();
    }
    return undefined;
  } finally {
    await ask('remove');
    await waitPresence(false, 10_000);
  }
}

let failed = 0;
for (const file of files) {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { vectors: Record<string, unknown>[] };
  for (const v of doc.vectors) {
    const id = String(v['id']);
    const cmds = readExchanges(v, 'c', 'r');
    // A command under 4 bytes cannot cross PC/SC: vpcd reads 1 byte as a control byte (interop.md 3.1)
    // and pcsc-lite refuses shorter APDUs. Such a vector is reported as excluded, with the reason.
    if (typeof cmds !== 'string' && cmds.some((e) => e.command.length < 4)) {
      process.stdout.write(
        `${JSON.stringify({ file, id, excluded: 'holds a command shorter than 4 bytes' })}\n`,
      );
      continue;
    }
    let message: string | undefined;
    try {
      message = await runVector(file, v);
    } catch (e) {
      message = `error: ${(e as Error).message}`;
    }
    if (message) failed += 1;
    process.stdout.write(`${JSON.stringify({ file, id, ok: !message, ...(message ? { message } : {}) })}\n`);
  }
}
host.stdin!.end();
await new Promise((r) => host.once('exit', r));
process.exit(failed === 0 ? 0 : 1);
