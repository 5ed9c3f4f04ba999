// One HTTP exchange on a raw socket for the back-end fuzz target: the request's bytes are written; the
// answer is whatever arrives until the server closes the connection (Connection: close), or the
// timeout (a hang). A malformed request may be incomplete, or have lost its Connection: close: on the
// first bytes of an answer or after `graceMs` of silence the sending side is closed, so the server sees
// its end (node's server closes at once when the client's side ends, which would cut short a slow
// answer: a well-formed request keeps its side open). `parseAnswer` reads
// the first HTTP/1.1 response.
import { connect } from 'node:net';

export interface Exchanged {
  readonly data: Uint8Array;
  readonly timedOut: boolean;
  /** The sending side was closed after `graceMs` of silence (an answer after that may be cut short). */
  readonly graceEnded: boolean;
}

export function exchange(
  port: number,
  request: Uint8Array,
  timeoutMs: number,
  graceMs?: number,
): Promise<Exchanged> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let n = 0;
    let done = false;
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(grace);
      socket.destroy();
      const data = new Uint8Array(n);
      let at = 0;
      for (const c of chunks) {
        data.set(c, at);
        at += c.length;
      }
      resolve({ data, timedOut, graceEnded });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    let grace: ReturnType<typeof setTimeout> | undefined;
    let ended = false;
    let graceEnded = false;
    const end = (): void => {
      if (ended || graceMs === undefined) return;
      ended = true;
      socket.end();
    };
    socket.on('data', (c: Uint8Array) => {
      chunks.push(c);
      n += c.length;
      end();
    });
    // A reset after the answer (the server closing while bytes were still unread) is not a problem.
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('connect', () => {
      socket.write(request);
      if (graceMs !== undefined)
        grace = setTimeout(() => {
          graceEnded = !ended;
          end();
        }, graceMs);
    });
  });
}

export interface Answer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder();

/** The first response in `data`, or a sentence saying why it is not one. */
export function parseAnswer(data: Uint8Array, head: boolean): Answer | string {
  let end = -1;
  for (let i = 0; i + 3 < data.length; i++)
    if (data[i] === 13 && data[i + 1] === 10 && data[i + 2] === 13 && data[i + 3] === 10) {
      end = i;
      break;
    }
  if (end < 0) return `an answer without a complete head (${data.length} bytes)`;
  const lines = latin1.decode(data.subarray(0, end)).split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!);
  if (!m) return `an answer whose status line is ${JSON.stringify(lines[0]!.slice(0, 60))}`;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return `an answer with the header line ${JSON.stringify(line.slice(0, 60))}`;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = data.subarray(end + 4);
  const length = headers.get('content-length');
  if (head) body = body.subarray(0, 0);
  else if (length !== undefined) {
    const len = Number(length);
    if (!Number.isSafeInteger(len) || len > body.length)
      return `an answer whose content-length ${length} exceeds its ${body.length} body bytes`;
    body = body.subarray(0, len);
  }
  return { status: Number(m[1]), headers, body: utf8.decode(body) };
}
