// `pcsc:[<reader name>]` (cli.md, interop.md 4.5): a PC/SC reader through pcscd; without a name, the
// first reader with a card. Needs the optional npm package `smartcard` (built against libpcsclite).
import { PcscTransport } from '@mica/host-sdk/transport/pcsc';
import { TransportError } from '@mica/host-sdk/transport/transport';
import { OperationError } from '../cli-error';
import type { OpenedTarget } from './types';

export async function openPcsc(rest: string): Promise<OpenedTarget> {
  let transport: PcscTransport;
  try {
    transport = await PcscTransport.open(rest === '' ? undefined : rest);
  } catch (e) {
    if (e instanceof TransportError) throw new OperationError(e.message);
    throw e;
  }
  return { transport, close: () => transport.close() };
}
