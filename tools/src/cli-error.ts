// The CLI's error boundary: usage errors exit 2, failed operations exit 1, each as one sentence on stderr.
import { ProfileError } from '@mica/apdu-specs/profile';
import { ImageFormatError } from '@mica/card-os/hal/image';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export class OperationError extends Error {
  override readonly name = 'OperationError';
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError || e instanceof ProfileError) return 2;
  if (e instanceof OperationError || e instanceof ImageFormatError) return 1;
  return 1;
}

export function report(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`mica: ${msg.endsWith('.') ? msg : `${msg}.`}\n`);
}
