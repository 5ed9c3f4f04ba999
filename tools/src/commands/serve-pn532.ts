// `mica serve pn532`: the cards in the field of an emulated PN532 on a serial line, for libnfc's pn532_uart
// driver (interop.md 6). `--pty` starts `socat PTY,… STDIO` as a child (Node has no pseudo-terminal API),
// prints the pty and its link path, and stops that child by its PID on exit; `--stdio` speaks the PN532
// frames on stdin/stdout (for `socat PTY,… EXEC:…`). Images are saved when the field goes off and on exit.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Command } from 'commander';
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { WireEvent } from '@mica/host-sdk/transport/wire-trace';
import { Card } from '@mica/card-os/card';
import { loadImageFile, saveImageFile } from '@mica/card-os/hal/image-file';
import type { Eeprom } from '@mica/card-os/hal/eeprom';
import { OperationError, UsageError } from '../cli-error';
import { Pn532Emulator } from '../pn532/emulator';
import { Pn532Line, type LineEvent } from '../pn532/line';
import { writeTraceFiles } from '../trace/write';
import { JsonlTrace } from '../vpcd/trace-jsonl';

interface ServePn532Options {
  pty?: boolean;
  link?: string;
  stdio?: boolean;
  card: string[];
  trace?: string;
  pcap?: string;
}

export const DEFAULT_PN532_LINK = '/tmp/mica-pn532';
/** At most two targets per InListPassiveTarget (MaxTg), so at most two cards in the field. */
const MAX_CARDS = 2;

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function log(line: string): void {
  process.stderr.write(`mica serve pn532: ${line}\n`);
}

function describe(e: LineEvent): string {
  switch (e.kind) {
    case 'command':
      return `> ${bytesToHex(e.data)}`;
    case 'answer':
      return e.data ? `< ${bytesToHex(e.data)}` : '< error frame';
    case 'host-ack':
      return 'host ACK (command aborted)';
    case 'host-nack':
      return 'host NACK: last answer sent again';
    case 'dropped':
      return `frame dropped: ${e.reason}`;
  }
}

/** Starts socat with a pty; resolves with the pty path once socat has printed it. */
function startSocat(link: string): Promise<{ child: ChildProcessWithoutNullStreams; pty: string }> {
  const child = spawn('socat', ['-d', '-d', `PTY,raw,echo=0,link=${link}`, 'STDIO'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    const onData = (d: Buffer): void => {
      err += d.toString();
      const m = /PTY is (\/dev\/\S+)/.exec(err);
      if (m) {
        child.stderr.off('data', onData);
        child.off('exit', onExit);
        resolve({ child, pty: m[1]! });
      }
    };
    const onExit = (code: number | null): void =>
      reject(
        new OperationError(`socat exited (${code}) before opening a pty: ${err.trim() || '(no output)'}`),
      );
    child.once('error', (e) =>
      reject(new OperationError(`cannot start socat (install Debian's socat): ${e.message}`)),
    );
    child.once('exit', onExit);
    child.stderr.on('data', onData);
  });
}

/** Terminates a child by its PID and waits for it (SIGKILL after 2 s). */
async function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, 'SIGKILL');
  }, 2000);
  await gone;
  clearTimeout(timer);
}

export function registerServePn532(serve: Command): void {
  serve
    .command('pn532')
    .description('emulate a PN532 on a serial line with the cards in its field, for libnfc (interop.md 6)')
    .option('--pty', 'start socat with a pseudo-terminal (prints "PTY /dev/pts/N" and "LINK <path>")')
    .option('--link <path>', `the pty's stable link path (with --pty; default ${DEFAULT_PN532_LINK})`)
    .option('--stdio', 'speak PN532 frames on stdin/stdout instead (behind socat EXEC:)')
    .option('--card <image>', 'a card image in the field (repeat for a second card)', collect, [])
    .option(
      '--trace <file.jsonl>',
      'write each FeliCa frame and APDU relayed, and each PN532 command, as JSONL',
    )
    .option('--pcap <file>', 'write the FeliCa frames and APDUs relayed as an upper-PDU capture on exit')
    .addHelpText(
      'after',
      '\nExample:\n  mica serve pn532 --pty --link /tmp/mica-pn532 --card card.img &\n' +
        '  LIBNFC_DEFAULT_DEVICE=pn532_uart:/tmp/mica-pn532 nfc-list -t 2\n',
    )
    .action(async (o: ServePn532Options) => {
      if (o.pty === o.stdio || (o.pty === undefined) === (o.stdio === undefined))
        throw new UsageError('give exactly one of --pty and --stdio');
      if (o.link !== undefined && !o.pty) throw new UsageError('--link goes with --pty');
      if (o.card.length === 0) throw new UsageError('give the card image with --card IMAGE');
      if (o.card.length > MAX_CARDS)
        throw new UsageError(
          `at most ${MAX_CARDS} cards (--card) fit a PN532's target list, got ${o.card.length}`,
        );
      const images: { path: string; eeprom: Eeprom; card: Card }[] = o.card.map((path) => {
        const eeprom = loadImageFile(path);
        return { path, eeprom, card: new Card(eeprom) };
      });
      const saveAll = (): void => {
        for (const i of images) saveImageFile(i.path, i.eeprom);
      };
      const trace = o.trace === undefined ? undefined : new JsonlTrace(o.trace);
      const wire: WireEvent[] = [];
      const pn532 = new Pn532Emulator(
        images.map((i) => i.card),
        {
          exchange: (_card, layer, dir, bytes) => {
            trace?.tracer({
              interface: layer,
              direction: dir === 'tx' ? 'command' : 'response',
              bytes,
            });
            if (o.pcap !== undefined && bytes !== null)
              wire.push({ t: Math.round(Date.now() * 1000), dir, layer, hex: bytesToHex(bytes) });
          },
          field: (on) => {
            trace?.event(on ? 'field-on' : 'field-off', 'tx');
            if (!on) saveAll();
          },
          refused: (command, reason) => {
            log(`error frame for ${bytesToHex(command)}: ${reason}`);
            trace?.event('refused', 'tx', `${bytesToHex(command)}: ${reason}`);
          },
        },
      );

      let socat: ChildProcessWithoutNullStreams | undefined;
      let input: NodeJS.ReadableStream;
      let output: (b: Uint8Array) => void;
      if (o.pty) {
        const link = o.link ?? DEFAULT_PN532_LINK;
        const started = await startSocat(link);
        socat = started.child;
        input = socat.stdout;
        const sink = socat.stdin;
        output = (b) => void sink.write(b);
        process.stdout.write(`PTY ${started.pty}\nLINK ${link}\n`);
      } else {
        input = process.stdin;
        output = (b) => void process.stdout.write(b);
      }
      // Every PN532 command and answer goes to the trace as an event ("> cmd", "< answer"), beside the card frames.
      const line = new Pn532Line(pn532, output, (e) =>
        trace?.event(`pn532-${e.kind}`, e.kind === 'answer' ? 'rx' : 'tx', describe(e)),
      );

      await new Promise<void>((resolve, reject) => {
        let stopping = false;
        const finish = (): void => {
          stopping = true;
          process.off('SIGINT', finish);
          process.off('SIGTERM', finish);
          resolve();
        };
        process.once('SIGINT', finish);
        process.once('SIGTERM', finish);
        input.on('data', (d: Buffer) => {
          try {
            line.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        });
        if (socat)
          socat.once('exit', (code, signal) => {
            if (!stopping) reject(new OperationError(`socat exited unexpectedly (${signal ?? code})`));
          });
        else input.once('end', finish); // --stdio: the peer (socat EXEC:) closed the line
      }).finally(async () => {
        if (socat) await stopChild(socat);
        for (const i of images) if (i.card.isPowered) i.card.powerOff();
        saveAll();
        trace?.close();
        if (o.pcap !== undefined) writeTraceFiles(wire, { pcap: o.pcap });
      });
      if (o.stdio) process.stdin.pause();
    });
}
