// host-sdk: the terminal side: transports, the FeliCa client, key holders, secure sessions, issuing.
export const HOST_SDK_VERSION = '0.1.0';
export * from './transport/transport';
export { InProcessTransport, type InProcessCard } from './transport/in-process';
export { RfTransport, type RfTransportInit, type RfReport } from './transport/rf/rf-transport';
export {
  parseRfQuery,
  splitRfTarget,
  rfOptions,
  RfOptionError,
  type RfTransportOptions,
  type Fault,
} from './transport/rf/rf-options';
export { defaultRfRetryPolicy, type RfRetryPolicy } from './transport/rf/retry-policy';
export type { WireEvent, WireTracer } from './transport/wire-trace';
export {
  ApduClient,
  ChannelOpening,
  claForChannel,
  type ApduCommand,
  type ApduClientOptions,
  type SelectAnswer,
  type SelectOccurrence,
  type SelectOptions,
} from './apdu/apdu-client';
export { ApduResponse, ApduStatusError } from './apdu/apdu-response';
export { FelicaOverApduTransport } from './apdu/felica-over-apdu';
export { FelicaClient, type PollingResult, type SearchEntry } from './felica/client';
export { StatusResult, StatusError } from './felica/responses';
export type { BlockRef } from './felica/frames';
export { SecureFelicaSession, AuthenticationError } from './felica/secure-session';
export type { KeyHolder, CryptogramSession, AuthRequest } from './keys/key-holder';
export { LocalKeyHolder, type HeldKey } from './keys/local-key-holder';
export {
  RemoteKeyHolder,
  keyHolderService,
  type KeyHolderLink,
  type KeyHolderMessage,
} from './keys/remote-key-holder';
export { issueProfile, IssuanceError, type IssueOptions } from './issuing/issuing-machine';
export { LocalAppletKeys } from './applets/applet-keys';
export { EmoneyClient } from './applets/emoney-client';
export { SettlementClient } from './applets/settlement-client';
export { BankClient } from './applets/bank-client';
export { CreditClient } from './applets/credit-client';
