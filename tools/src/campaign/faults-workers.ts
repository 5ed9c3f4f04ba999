// The faults campaign's worker processes (`mica campaign faults --jobs N`): each fault point is a
// whole scenario run, independent of every other, so N child processes take points from one queue
// (the next point goes to whichever worker is free) and answer each with its events. The events are
// applied in point order, so the report is the one a single process gives. A worker that dies is
// a failure of the point it was running, and a fresh worker takes the rest.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FaultPlanOptions } from '../run/faults';
import type { BackendTransport } from '../run/scenario';
import type { PointEvent, PointJob } from './faults-campaign';

/** Parent → worker. */
export interface WorkerRequest {
  readonly i: number;
  readonly job: PointJob;
  readonly transport: BackendTransport;
  readonly plan: FaultPlanOptions;
}

/** Worker → parent. */
export interface WorkerAnswer {
  readonly i: number;
  readonly events: readonly PointEvent[];
}

const ENTRY = fileURLToPath(new URL('../../bin/faults-worker.js', import.meta.url));

export interface WorkerSettings {
  readonly transport: BackendTransport;
  readonly plan: FaultPlanOptions;
}

export async function runInWorkers(
  jobs: readonly PointJob[],
  count: number,
  settings: WorkerSettings,
  apply: (events: readonly PointEvent[]) => void,
  progress: (done: number) => void,
): Promise<void> {
  const answers = new Map<number, readonly PointEvent[]>();
  let next = 0; // the next point to hand out
  let applied = 0; // points applied to the report, in order
  const settle = (i: number, events: readonly PointEvent[]): void => {
    answers.set(i, events);
    while (answers.has(applied)) {
      apply(answers.get(applied)!);
      answers.delete(applied);
      applied++;
    }
    progress(applied);
  };
  await new Promise<void>((resolve) => {
    let live = 0;
    const start = (): void => {
      const child: ChildProcess = fork(ENTRY, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      live++;
      let running: number | undefined;
      const feed = (): void => {
        if (next >= jobs.length) {
          running = undefined;
          child.kill(); // idle: nothing of the report is lost
          return;
        }
        running = next++;
        const request: WorkerRequest = { i: running, job: jobs[running]!, ...settings };
        child.send(request);
      };
      child.on('message', (m: WorkerAnswer) => {
        settle(m.i, m.events);
        feed();
      });
      child.on('exit', (code, signal) => {
        live--;
        if (running !== undefined) {
          const job = jobs[running]!;
          settle(running, [
            {
              op: 'fail',
              category: `${job.scenario}: ${job.kind}`,
              input: `${job.kind}@${job.index}`,
              problem: `the worker process died running it (exit code ${code}, signal ${signal})`,
            },
          ]);
          if (next < jobs.length) start();
        }
        if (live === 0) resolve();
      });
      feed();
    };
    for (let w = 0; w < count; w++) start();
  });
}
