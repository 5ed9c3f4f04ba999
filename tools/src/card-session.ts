// Opening a card image for one CLI command: load, power on (recovery), work, power off, save.
import { Card, type CardOptions } from '@mica/card-os/card';
import { loadImageFile, saveImageFile } from '@mica/card-os/hal/image-file';

export interface SessionOptions extends CardOptions {
  /** Save the image when done (default true). */
  readonly save?: boolean;
  readonly powerCutAfterBytes?: number;
}

/** Runs `work` on the powered card, then powers off and saves (also after a power cut: the torn state). */
export async function withCard<T>(
  path: string,
  options: SessionOptions,
  work: (card: Card, recovery: { replayed: number; erased: number }) => T | Promise<T>,
): Promise<T> {
  const eeprom = loadImageFile(path);
  const card = new Card(eeprom, options);
  if (options.powerCutAfterBytes !== undefined) eeprom.cutPowerAfter(options.powerCutAfterBytes);
  const recovery = card.powerOn();
  try {
    return await work(card, recovery);
  } finally {
    card.powerOff();
    eeprom.cutPowerAfter(undefined);
    if (options.save !== false) saveImageFile(path, eeprom);
  }
}
