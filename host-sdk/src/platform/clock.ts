// The injectable clock of flows.md 1.4: every time read and every timed task of the back-ends, flows
// and simulated channels goes through a Clock. VirtualClock is discrete-event (time moves only when
// told; tasks due at the same instant run in the order they were scheduled); SystemClock is wall time
// for a served deployment. Time is ms since the Unix epoch; days count from 2000-01-01 JST (UTC+9, no
// DST), the epoch of the card's log records.

export const MS_PER_DAY = 86_400_000;
/** 2000-01-01 00:00 JST = 1999-12-31 15:00 UTC. */
export const JST_DAY_EPOCH_MS = Date.UTC(1999, 11, 31, 15, 0, 0);
const JST_OFFSET_MS = 9 * 3_600_000;

/** Days since 2000-01-01 JST of an instant. */
export function jstDay(ms: number): number {
  return Math.floor((ms - JST_DAY_EPOCH_MS) / MS_PER_DAY);
}

/** The instant of 00:00 JST of a day number. */
export function jstMidnight(day: number): number {
  return JST_DAY_EPOCH_MS + day * MS_PER_DAY;
}

export interface JstDateTime {
  readonly year: number;
  /** 1-12 */
  readonly month: number;
  /** 1-31 */
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

/** The JST calendar date and time of an instant. */
export function jstDateTime(ms: number): JstDateTime {
  const d = new Date(ms + JST_OFFSET_MS);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
  };
}

/** The instant of a JST calendar date and time (month 1-12). */
export function jstInstant(year: number, month: number, day: number, hour = 0, minute = 0): number {
  return Date.UTC(year, month - 1, day, hour, minute) - JST_OFFSET_MS;
}

/**
 * The first instant strictly after `ms` that falls on day-of-month `dayOfMonth` at `hour`:00 JST
 * (monthly cutoffs, closings and deduction days: flows.md 2.3, 3.2).
 */
export function nextJstMonthDay(ms: number, dayOfMonth: number, hour = 0): number {
  if (!Number.isInteger(dayOfMonth) || dayOfMonth < 1 || dayOfMonth > 28)
    throw new RangeError(`dayOfMonth must be 1-28 (every month has it), got ${dayOfMonth}`);
  const { year, month } = jstDateTime(ms);
  const here = jstInstant(year, month, dayOfMonth, hour);
  return here > ms
    ? here
    : jstInstant(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, dayOfMonth, hour);
}

export type ClockTask = () => void | Promise<void>;

export interface ScheduledTask {
  readonly at: number;
  /** Removes the task if it has not run yet; true if it was removed. */
  cancel(): boolean;
}

export interface Clock {
  /** Current time, ms since the Unix epoch. */
  now(): number;
  /** Days since 2000-01-01 JST. */
  today(): number;
  /** Runs `task` at `at` (ms); a time in the past means the next moment the clock runs tasks. */
  schedule(at: number, task: ClockTask): ScheduledTask;
}

interface Entry {
  readonly at: number;
  readonly seq: number;
  readonly task: ClockTask;
  done: boolean;
}

export class VirtualClockError extends Error {
  override readonly name = 'VirtualClockError';
}

/** Discrete-event virtual time: nothing happens until advanceBy, advanceTo or runUntilIdle. */
export class VirtualClock implements Clock {
  private time: number;
  private seq = 0;
  private queue: Entry[] = [];
  private running = false;

  constructor(startMs: number) {
    if (!Number.isSafeInteger(startMs)) throw new RangeError(`startMs must be an integer, got ${startMs}`);
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  today(): number {
    return jstDay(this.time);
  }

  schedule(at: number, task: ClockTask): ScheduledTask {
    if (!Number.isFinite(at)) throw new RangeError(`at must be a finite time, got ${at}`);
    if (typeof task !== 'function') throw new TypeError('task must be a function');
    const e: Entry = { at: Math.max(Math.ceil(at), this.time), seq: this.seq++, task, done: false };
    // Keep the queue sorted by (at, seq): insertion after every entry due at or before `at`.
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.at > e.at) i--;
    this.queue.splice(i, 0, e);
    return {
      at: e.at,
      cancel: () => {
        if (e.done) return false;
        e.done = true;
        this.queue = this.queue.filter((x) => x !== e);
        return true;
      },
    };
  }

  /** Tasks not yet run. */
  get pending(): number {
    return this.queue.length;
  }

  /** The time of the next task, or undefined when none is scheduled. */
  get nextAt(): number | undefined {
    return this.queue[0]?.at;
  }

  advanceBy(ms: number): Promise<void> {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`ms must be ≥ 0, got ${ms}`);
    return this.advanceTo(this.time + ms);
  }

  /** Runs every task due up to `t` in time order (the clock reads each task's time while it runs), then sets the time to `t`. */
  async advanceTo(t: number): Promise<void> {
    if (!Number.isFinite(t)) throw new RangeError(`t must be a finite time, got ${t}`);
    if (t < this.time) throw new RangeError(`cannot move the clock back from ${this.time} to ${t}`);
    await this.run((next) => next.at <= t);
    this.time = Math.max(this.time, Math.ceil(t));
  }

  /**
   * Runs tasks, moving time to each, until none is left (tasks may schedule more). `maxTasks` guards
   * against a task that always reschedules itself.
   */
  async runUntilIdle(maxTasks = 100_000): Promise<void> {
    let n = 0;
    await this.run(() => {
      if (++n > maxTasks)
        throw new VirtualClockError(`runUntilIdle ran ${maxTasks} tasks and the queue is not empty`);
      return true;
    });
  }

  private async run(take: (next: Entry) => boolean): Promise<void> {
    if (this.running)
      throw new VirtualClockError('the clock is already running tasks (advance called from inside a task)');
    this.running = true;
    try {
      for (let next = this.queue[0]; next && take(next); next = this.queue[0]) {
        this.queue.shift();
        next.done = true;
        this.time = Math.max(this.time, next.at);
        await next.task();
      }
    } finally {
      this.running = false;
    }
  }
}

/** Wall time, for a deployment; tasks run on timers. Tests and scenarios use VirtualClock. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  today(): number {
    return jstDay(Date.now());
  }
  schedule(at: number, task: ClockTask): ScheduledTask {
    let done = false;
    const timer = setTimeout(
      () => {
        done = true;
        void task();
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    return {
      at,
      cancel: () => {
        if (done) return false;
        clearTimeout(timer);
        done = true;
        return true;
      },
    };
  }
}
