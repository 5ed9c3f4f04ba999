// `tcp:<host>:<port>`: a card served by `mica serve tcp` (cli.md). Opening connects and powers the card
// on; closing ends the connection, on which the server powers the card off and saves its image.
import { TcpTransport } from '@mica/host-sdk/transport/tcp';
import { TransportError } from '@mica/host-sdk/transport/transport';
import { OperationError, UsageError } from '../cli-error';
import type { OpenedTarget } from './types';

export function parseHostPort(rest: string, what: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d{1,5})$/.exec(rest);
  if (!m) throw new UsageError(`${what} must be <host>:<port>, got "${rest}"`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new UsageError(`${what}: port must be 1-65535, got ${m[2]}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export async function openTcp(rest: string): Promise<OpenedTarget> {
  const { host, port } = parseHostPort(rest, 'tcp: target');
  let transport: TcpTransport;
  try {
    transport = await TcpTransport.connect(host, port);
  } catch (e) {
    if (e instanceof TransportError) throw new OperationError(e.message);
    throw e;
  }
  return { transport, close: () => transport.close() };
}
