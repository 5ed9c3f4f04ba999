// What a command handler may reach of the card: its file system and the RAM state of each system.
import type { FileSystem } from '../fs/fs';

export interface CardContext {
  readonly fs: FileSystem;
  mode(system: number): number;
  /** Mode 0 for the system, session cleared. */
  resetMode(system: number): void;
}
