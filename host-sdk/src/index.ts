// host-sdk: the terminal side: transports, the FeliCa client, key holders.
export const HOST_SDK_VERSION = '0.1.0';
export * from './transport/transport';
export { InProcessTransport, type InProcessCard } from './transport/in-process';
export { FelicaClient, type PollingResult, type SearchEntry } from './felica/client';
export { StatusResult, StatusError } from './felica/responses';
export type { BlockRef } from './felica/frames';
