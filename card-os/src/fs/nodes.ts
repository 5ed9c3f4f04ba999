// The decoded view of the file system: systems, areas and services with the addresses of their records.
import type { ServiceAttribute } from '@mica/apdu-specs/node-code';

export interface KeyRef {
  readonly version: number;
  /** Crypto-suite code of the key, 0 = no key. */
  readonly algorithm: number;
  /** Address of the first key block (the next lower address after the record); -1 without key. */
  readonly address: number;
}

export interface SystemNode {
  readonly kind: 'system';
  readonly number: number;
  readonly code: number;
  readonly capacity: number;
  readonly used: number;
  readonly recordAddress: number;
  readonly key: KeyRef;
}

export interface AreaNode {
  readonly kind: 'area';
  readonly system: number;
  readonly code: number;
  readonly end: number;
  readonly parent: number;
  readonly capacity: number;
  readonly used: number;
  readonly recordAddress: number;
  readonly key: KeyRef;
}

export interface PursePolicy {
  readonly address: number;
  readonly maxBalance: number;
  readonly logServiceCode: number;
  readonly requireLog: boolean;
}

export interface ServiceNode {
  readonly kind: 'service';
  readonly system: number;
  readonly code: number;
  readonly attribute: ServiceAttribute;
  readonly firstBlock: number;
  readonly blockCount: number;
  /** FFFFh for a base service. */
  readonly overlapOf: number;
  readonly recordAddress: number;
  /** Record of the service that owns the data (itself, or the overlapped one): holds the cyclic head. */
  readonly baseRecordAddress: number;
  /** Code of the service that owns the data (itself for a base service). */
  readonly baseCode: number;
  readonly key: KeyRef;
  /** The purse policy of the base purse service this service reads or changes, if any. */
  readonly purse: PursePolicy | undefined;
}

export type FileNode = AreaNode | ServiceNode;

export interface SystemView {
  readonly system: SystemNode;
  /** Areas and services in creation order (deleted records left out). */
  readonly nodes: readonly FileNode[];
  readonly byCode: ReadonlyMap<number, FileNode>;
  /** Purse policies by the code of their log's base service. */
  readonly pursesByLog: ReadonlyMap<number, ServiceNode>;
}

export interface InterfaceIdentityRecord {
  readonly address: number;
  readonly blocks: readonly Uint8Array[];
}
