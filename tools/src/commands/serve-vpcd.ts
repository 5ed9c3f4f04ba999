// `mica serve vpcd <image>`: presents a card image to pcscd through vsmartcard's vpcd driver
// (interop.md 3.2): the card connects to vpcd, answers power events, ATR polls and APDUs, reconnects
// after a loss, saves the image at every power-off and on exit.
import type { Command } from 'commander';
import { VPCD } from '@mica/apdu-specs/vpcd';
import { Card } from '@mica/card-os/card';
import { loadImageFile } from '@mica/card-os/hal/image-file';
import { SeededRandom } from '@mica/card-os/random';
import { hexArg, intArg } from '../args';
import { OperationError, UsageError } from '../cli-error';
import { ConnectTimeoutError, VpcdCardLink, type LinkEvent } from '../vpcd/card-link';
import { ServedImage } from '../vpcd/served-cards';
import { JsonlTrace } from '../vpcd/trace-jsonl';

interface ServeVpcdOptions {
  host: string;
  port: string;
  atr?: string;
  retryMs: string;
  connectTimeoutS: string;
  trace?: string;
  seed?: string;
}

/** One line on stderr per link event (stdout stays empty). */
function describe(e: LinkEvent): string {
  switch (e.kind) {
    case 'connected':
      return `connected to vpcd at ${e.address}`;
    case 'disconnected':
      return `${e.reason}; reconnecting`;
    case 'control':
      return e.name;
    case 'unknown-control':
      return `ignored control byte ${e.code.toString(16).padStart(2, '0')}`;
    case 'empty-message':
      return 'ignored an empty message';
    case 'implicit-power-on':
      return 'APDU while unpowered: powered on';
    case 'card-error':
      return `internal error answered 6f00: ${e.message}`;
  }
}

export function registerServeVpcd(serve: Command): void {
  serve
    .command('vpcd <image>')
    .description('present the card to pcscd through vsmartcard vpcd (the card connects; interop.md 3.2)')
    .option('--host <host>', 'where vpcd listens', '127.0.0.1')
    .option('--port <port>', 'vpcd slot port (35963 = slot 0, 35964 = slot 1)', String(VPCD.basePort))
    .option('--atr <hex>', 'ATR for this session instead of the one derived from the ATS')
    .option('--retry-ms <ms>', 'pause between connection attempts', '200')
    .option('--connect-timeout-s <s>', 'exit 1 when no connection succeeds for this long', '30')
    .option('--trace <file.jsonl>', 'write each APDU and power event as JSONL (PIN data masked)')
    .option('--seed <n>', "seed of the card's random source (reproducible random numbers)")
    .addHelpText(
      'after',
      '\nExample (pcscd with vpcd running, see interop.md 3.3):\n  mica serve vpcd card.img --trace card.jsonl\n',
    )
    .action(async (image: string, o: ServeVpcdOptions) => {
      const port = intArg(o.port, '--port', 1, 65535);
      const retryMs = intArg(o.retryMs, '--retry-ms', 1, 3_600_000);
      const timeoutS = intArg(o.connectTimeoutS, '--connect-timeout-s', 0, 86_400);
      const atr = o.atr === undefined ? undefined : hexArg(o.atr, '--atr');
      if (atr && (atr.length < 2 || atr.length > 33))
        throw new UsageError(`--atr must be 2 to 33 bytes, got ${atr.length}`);
      const seed =
        o.seed === undefined ? undefined : BigInt(intArg(o.seed, '--seed', 0, Number.MAX_SAFE_INTEGER));
      const eeprom = loadImageFile(image);
      const card = new Card(eeprom, seed === undefined ? {} : { random: new SeededRandom(seed) });
      const trace = o.trace === undefined ? undefined : new JsonlTrace(o.trace);
      const served = new ServedImage({
        card,
        eeprom,
        path: image,
        ...(atr ? { atr } : {}),
        ...(trace ? { tracer: trace.tracer } : {}),
      });
      const link = new VpcdCardLink(served, {
        host: o.host,
        port,
        retryMs,
        connectTimeoutMs: timeoutS * 1000,
        onEvent: (e) => {
          process.stderr.write(`mica serve vpcd: ${describe(e)}\n`);
          if (e.kind === 'control') trace?.event(e.name, 'tx');
          else if (e.kind === 'connected' || e.kind === 'disconnected') trace?.event(e.kind, 'rx');
          else trace?.event(e.kind, 'tx', describe(e));
        },
      });
      const stop = (): void => {
        void link.stop();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        await link.run();
      } catch (e) {
        if (e instanceof ConnectTimeoutError) throw new OperationError(e.message);
        throw e;
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        if (card.isPowered) card.powerOff();
        served.save();
        trace?.close();
      }
    });
}
