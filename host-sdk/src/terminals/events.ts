// What a terminal reports of each step it takes (flows.md 1.7 transcript lines, flows.md 7.10: every
// line names its patent step): the caller turns them into transcript lines and audits after each.
export interface TerminalEvent {
  /** The patent step or flows.md row ("P7", "Q6", "R2"). */
  readonly step: string;
  readonly from: string;
  readonly to: string;
  readonly summary: string;
  readonly card?: { readonly command: string; readonly status: string };
}

export type TerminalReporter = (event: TerminalEvent) => Promise<void>;

/** A status word as a transcript shows it: 4 hex digits, upper case. */
export function swText(sw: number): string {
  return sw.toString(16).padStart(4, '0').toUpperCase();
}
