// One worker process of `mica campaign faults --jobs N` (faults-workers.ts): runs the fault points
// its parent sends, one at a time, and answers each with what the judge found.
import { scenarioNamed } from '../run/registry';
import { runPoint } from './faults-campaign';
import type { WorkerAnswer, WorkerRequest } from './faults-workers';

process.on('message', (m: WorkerRequest) => {
  void (async () => {
    const scenario = scenarioNamed(m.job.scenario);
    const events = scenario
      ? await runPoint(scenario, m.job, m.transport, m.plan)
      : [
          {
            op: 'fail' as const,
            category: `${m.job.scenario}: ${m.job.kind}`,
            input: `${m.job.kind}@${m.job.index}`,
            problem: `no scenario named ${m.job.scenario} in this process`,
          },
        ];
    const answer: WorkerAnswer = { i: m.i, events };
    process.send!(answer);
  })();
});
