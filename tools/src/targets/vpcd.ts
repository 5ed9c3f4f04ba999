// `vpcd:[<host>:]<port>` (cli.md): this process takes vpcd's place. It listens (default 127.0.0.1:35963),
// waits for a card such as `mica serve vpcd` to connect, and powers it on; closing powers it off.
import { VPCD } from '@mica/apdu-specs/vpcd';
import { TransportError } from '@mica/host-sdk/transport/transport';
import { VpcdTransport } from '@mica/host-sdk/transport/vpcd';
import { OperationError, UsageError } from '../cli-error';
import { parseHostPort } from './tcp';
import type { OpenedTarget } from './types';

export function parseVpcdTarget(rest: string): { host: string; port: number } {
  if (rest === '') return { host: '127.0.0.1', port: VPCD.basePort };
  if (/^\d+$/.test(rest)) {
    const port = Number(rest);
    if (port < 1 || port > 65535) throw new UsageError(`vpcd: target: port must be 1-65535, got ${rest}`);
    return { host: '127.0.0.1', port };
  }
  return parseHostPort(rest, 'vpcd: target');
}

export async function openVpcd(rest: string): Promise<OpenedTarget> {
  const { host, port } = parseVpcdTarget(rest);
  let transport: VpcdTransport;
  try {
    transport = await VpcdTransport.listen({ host, port });
  } catch (e) {
    if (e instanceof TransportError) throw new OperationError(e.message);
    throw e;
  }
  return { transport, close: () => transport.close() };
}
