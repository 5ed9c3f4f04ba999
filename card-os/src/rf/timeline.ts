// The simulated timeline of one transport instance and its report (rf.md §8.2, §8.7): carrier cycles since
// field on, frames and gaps, per-exchange and per-transaction figures in µs rounded to 0.01.
import { bytesToHex } from '@mica/apdu-specs/hex';
import { fcToUs } from './timing';

export type ExchangeOutcome =
  'ok' | 'timeout' | 'crc-error' | 'collision' | 'protocol-error' | 'timing-violation' | 'no-power';

export interface TimelineFrame {
  readonly dir: 'r2c' | 'c2r';
  readonly tech: 'a' | 'b' | 'f';
  readonly bytes: Uint8Array;
  readonly startFc: number;
  readonly airtimeFc: number;
  /** Part of the activation (field on → last activation frame). */
  readonly activation: boolean;
}

/** Frames and events on one timeline, starting at field on (time 0). Holds state: rf.md §2 rule 1. */
export class Timeline {
  private now = 0;
  private readonly list: TimelineFrame[] = [];
  private readonly events: { kind: 'field-on' | 'field-off'; atFc: number }[] = [
    { kind: 'field-on', atFc: 0 },
  ];

  get nowFc(): number {
    return this.now;
  }

  /** Lets time pass (a gap: turnaround, guard, waiting). */
  wait(fc: number): void {
    if (!Number.isFinite(fc) || fc < 0) throw new RangeError(`fc must be a non-negative number, got ${fc}`);
    this.now += fc;
  }

  /** Places a frame at the current time and moves past it. */
  frame(f: Omit<TimelineFrame, 'startFc'>): TimelineFrame {
    const placed = { ...f, startFc: this.now };
    this.list.push(placed);
    this.now += f.airtimeFc;
    return placed;
  }

  fieldOff(): void {
    this.events.push({ kind: 'field-off', atFc: this.now });
  }

  get frames(): readonly TimelineFrame[] {
    return this.list;
  }

  get fieldEvents(): readonly { kind: 'field-on' | 'field-off'; atFc: number }[] {
    return this.events;
  }

  /** Σ airtime of all frames. */
  airtimeFc(): number {
    return this.list.reduce((s, f) => s + f.airtimeFc, 0);
  }

  /** Field on → end of the last activation frame. */
  activationFc(): number {
    let end = 0;
    for (const f of this.list) if (f.activation) end = Math.max(end, f.startFc + f.airtimeFc);
    return end;
  }
}

export interface ExchangeRecord {
  readonly kind: string;
  readonly attempts: number;
  readonly outcome: ExchangeOutcome;
  readonly cmd: {
    readonly bytes: Uint8Array;
    readonly startFc: number;
    readonly airtimeFc: number;
    readonly decoded: string;
  };
  readonly gapFc: number | null;
  readonly slot?: number;
  readonly rsp?: {
    readonly bytes: Uint8Array;
    readonly startFc: number;
    readonly airtimeFc: number;
    readonly crc: 'ok' | 'bad' | 'none';
    readonly polarity: 'normal' | 'inverted';
    readonly bitErrors?: number;
  };
  readonly budgetFc: number | null;
  readonly timingViolation: boolean;
  readonly retriedAfterExecution: boolean;
  /** FeliCa Polling: what the reader heard in each time slot (rf.md §8.6). */
  readonly slots?: readonly {
    readonly slot: number;
    readonly outcome: 'ok' | 'collision' | 'empty';
    readonly idm?: Uint8Array;
  }[];
  /** A failure the reader recovered from by restarting (activation); not the transaction's outcome. */
  readonly recovered?: boolean;
}

export interface ReportParams {
  readonly tech: 'a' | 'b' | 'f';
  readonly rateKbps: number;
  readonly spb: number;
  readonly snrDb: number | null;
  readonly k: number;
  readonly lm: number;
  readonly seed: number;
}

function spaced(bytes: Uint8Array): string {
  return bytesToHex(bytes).replace(/(..)(?!$)/g, '$1 ');
}

/** The JSON report of rf.md §8.7. */
export function buildReport(params: ReportParams, timeline: Timeline, exchanges: readonly ExchangeRecord[]) {
  const rows = exchanges.map((e, i) => ({
    i,
    kind: e.kind,
    attempts: e.attempts,
    outcome: e.outcome,
    cmd: {
      hex: spaced(e.cmd.bytes),
      startUs: fcToUs(e.cmd.startFc),
      airtimeUs: fcToUs(e.cmd.airtimeFc),
      decoded: e.cmd.decoded,
    },
    gapUs: e.gapFc === null ? null : fcToUs(e.gapFc),
    ...(e.slot !== undefined ? { slot: e.slot } : {}),
    ...(e.rsp
      ? {
          rsp: {
            hex: spaced(e.rsp.bytes),
            startUs: fcToUs(e.rsp.startFc),
            airtimeUs: fcToUs(e.rsp.airtimeFc),
            crc: e.rsp.crc,
            polarity: e.rsp.polarity,
            ...(e.rsp.bitErrors !== undefined ? { bitErrors: e.rsp.bitErrors } : {}),
          },
        }
      : {}),
    ...(e.slots
      ? {
          slots: e.slots.map((s) => ({
            slot: s.slot,
            outcome: s.outcome,
            ...(s.idm ? { idm: bytesToHex(s.idm) } : {}),
          })),
        }
      : {}),
    budgetUs: e.budgetFc === null ? null : fcToUs(e.budgetFc),
    timingViolation: e.timingViolation,
    retriedAfterExecution: e.retriedAfterExecution,
  }));
  const attempts = exchanges.reduce((s, e) => s + e.attempts, 0);
  const bad = exchanges.find((e) => e.outcome !== 'ok' && !e.recovered);
  return {
    ...params,
    exchanges: rows,
    transaction: {
      elapsedUs: fcToUs(timeline.nowFc),
      airtimeUs: fcToUs(timeline.airtimeFc()),
      activationUs: fcToUs(timeline.activationFc()),
      exchanges: exchanges.length,
      attempts,
      retries: attempts - exchanges.length,
      outcome: bad ? bad.outcome : ('ok' as ExchangeOutcome),
    },
  };
}
