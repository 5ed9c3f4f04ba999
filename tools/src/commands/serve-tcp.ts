// `mica serve tcp <image>`: serves a card image for `tcp:` targets (cli.md) until interrupted. The
// image is saved whenever a client leaves (the card is powered off then) and on SIGINT/SIGTERM.
import type { Command } from 'commander';
import { Card } from '@mica/card-os/card';
import { loadImageFile, saveImageFile } from '@mica/card-os/hal/image-file';
import { TcpCardServer } from '@mica/host-sdk/transport/tcp-card-server';
import { intArg } from '../args';
import { OperationError } from '../cli-error';

interface ServeTcpOptions {
  host: string;
  port: string;
}

export function addServeTcp(serve: Command): void {
  serve
    .command('tcp <image>')
    .description('serve the card for tcp: targets (vpcd framing with a kind byte) until interrupted')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', '0')
    .addHelpText(
      'after',
      '\nThe first line on stdout is "listening on tcp:<host>:<port>".\n\nExample:\n  mica serve tcp card.img --port 7000 &\n  mica felica tcp:127.0.0.1:7000 0600ffff0100\n',
    )
    .action(async (image: string, o: ServeTcpOptions) => {
      const port = intArg(o.port, '--port', 0, 65535);
      const eeprom = loadImageFile(image);
      const card = new Card(eeprom);
      const save = (): void => saveImageFile(image, eeprom);
      const server = new TcpCardServer(card, {
        onIdle: save,
        log: (l) => process.stderr.write(`mica serve tcp: ${l}\n`),
      });
      let bound: { host: string; port: number };
      try {
        bound = await server.listen(port, o.host);
      } catch (e) {
        throw new OperationError(`cannot listen on ${o.host}:${port}: ${(e as Error).message}`);
      }
      process.stdout.write(`listening on tcp:${bound.host}:${bound.port}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          void server.close().then(() => {
            card.powerOff();
            save();
            resolve();
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
