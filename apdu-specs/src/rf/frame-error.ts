// The result of a frame decoder that could not accept its input (rf.md §4.5): decoders return it, never throw.

export type FrameErrorKind = 'bad-length' | 'bad-crc' | 'bad-parity' | 'truncated' | 'bad-pcb';

export interface FrameError {
  readonly error: FrameErrorKind;
  /** Byte (or bit, where the decoder says so) at which the problem was found. */
  readonly at?: number;
}

export function frameError(error: FrameErrorKind, at?: number): FrameError {
  return at === undefined ? { error } : { error, at };
}

export function isFrameError(value: unknown): value is FrameError {
  return (
    typeof value === 'object' && value !== null && typeof (value as { error?: unknown }).error === 'string'
  );
}
