// The card side of the pcsc: conformance run (pcsc-conformance.ts): inside pcscd's network namespace it
// presents, on request, a fresh card issued from one vector's profile to a vpcd slot. It lives in its own
// process because the PC/SC client's calls block its thread while pcscd waits for the card.
// Requests on stdin, one per line: `insert <vector file> <vector id>` → `inserted` | `error <why>`;
// `remove` → `removed`. Usage: vector-card-host.ts <vpcd port>
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { cardFromVector, cardRandomOf } from '../conformance/kinds/felica-transcript';
import { VpcdCardLink } from '../vpcd/card-link';
import { ServedImage } from '../vpcd/served-cards';

const port = Number(process.argv[2]);
let current: { link: VpcdCardLink; running: Promise<void> } | undefined;

async function insert(file: string, id: string): Promise<string> {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { vectors: Record<string, unknown>[] };
  const v = doc.vectors.find((x) => x['id'] === id);
  if (!v) return `error no vector ${id} in ${file}`;
  const random = cardRandomOf(v);
  if (typeof random === 'string') return `error ${random}`;
  const card = cardFromVector(v, random);
  if (typeof card === 'string') return `error ${card}`;
  let connected: () => void = () => undefined;
  const up = new Promise<void>((r) => (connected = r));
  const link = new VpcdCardLink(new ServedImage({ card, eeprom: card.eeprom }), {
    host: '127.0.0.1',
    port,
    retryMs: 50,
    connectTimeoutMs: 10_000,
    onEvent: (e) => {
      if (e.kind === 'connected') connected();
    },
  });
  const running = link.run();
  current = { link, running };
  const failed = running.then(
    () => 'error the link ended',
    (e: Error) => `error ${e.message}`,
  );
  return Promise.race([up.then(() => 'inserted'), failed]);
}

async function remove(): Promise<string> {
  const c = current;
  current = undefined;
  if (c) {
    await c.link.stop();
    await c.running.catch(() => undefined);
  }
  return 'removed';
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  const [op, file = '', id = ''] = line.trim().split(' ');
  let out: string;
  try {
    out =
      op === 'insert' ? await insert(file, id) : op === 'remove' ? await remove() : `error unknown "${op}"`;
  } catch (e) {
    out = `error ${(e as Error).message}`;
  }
  process.stdout.write(`${out}\n`);
}
await remove();
