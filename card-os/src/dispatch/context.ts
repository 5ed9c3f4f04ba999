// What a command handler may reach of the card: its file system, random source and RAM state.
import type { FileSystem } from '../fs/fs';
import type { RandomSource } from '../random';
import type { AccessKeyCache } from '@mica/apdu-specs/secure/access-key-cache';
import type { AuthSession } from '../auth/session';

export interface CardContext {
  readonly fs: FileSystem;
  readonly random: RandomSource;
  /** Access keys and their cipher contexts kept across sessions (RAM: cleared at power-on and -off). */
  readonly accessKeys: AccessKeyCache;
  mode(system: number): number;
  setMode(system: number, mode: number): void;
  /** Mode 0 for the system; its session (if any) is dropped. */
  resetMode(system: number): void;
  /** The current authentication, if any (one at a time). */
  session: AuthSession | undefined;
  /** Drops the session (keys wiped) and puts its system in Mode 0. */
  endSession(): void;
}
