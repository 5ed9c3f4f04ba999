// `sim:<image>` (and a plain path): the in-process card of an image file. Opening powers the chip on
// (running recovery); closing powers it off and saves the image, also in a torn state after a cut.
import { Card } from '@mica/card-os/card';
import { loadImageFile, saveImageFile } from '@mica/card-os/hal/image-file';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
import { UsageError } from '../cli-error';
import type { OpenedTarget, TargetOptions } from './types';

export function openSim(path: string, options: TargetOptions): Promise<OpenedTarget> {
  if (path === '') throw new UsageError('sim: target needs an image path (sim:<image>)');
  const eeprom = loadImageFile(path);
  const card = new Card(eeprom, options.random ? { random: options.random } : {});
  if (options.powerCutAfterBytes !== undefined) eeprom.cutPowerAfter(options.powerCutAfterBytes);
  card.powerOn();
  const transport = new InProcessTransport(card, `sim:${path}`);
  return Promise.resolve({
    transport,
    endpoint: card.airEndpoint(),
    async close() {
      await transport.close();
      card.powerOff();
      eeprom.cutPowerAfter(undefined);
      saveImageFile(path, eeprom, { durable: options.durableImage ?? true });
    },
  });
}
