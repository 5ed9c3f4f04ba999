// `mica campaign faults`: the fault plan at the seam (each fault does what it says, at the one point
// it names), the budget's spread, a broken back-end (idempotency ignored) that the campaign must
// report, and the CI budget over every scenario with no failure.
import { describe, expect, it } from 'vitest';
import { TransportError } from '@mica/host-sdk/transport/transport';
import { FAULT_KINDS, faultsCampaign, share, spread, runWithPlan } from '../src/campaign/faults-campaign';
import { failureCount, runCampaign, type CampaignReport } from '../src/campaign/runner';
import { campaignSummary } from '../src/campaign/summary';
import { FaultPlan, type BackendActions, type BackendCall } from '../src/run/faults';
import { scenarioNamed } from '../src/run/registry';

const CALL: BackendCall = {
  fixture: 'main',
  channel: 'bank/bank1',
  method: 'transfer',
  request: { txId: 't1' },
};

/** Back-end actions that record what the plan did. */
class Recorder implements BackendActions {
  readonly sent: unknown[] = [];
  restarts = 0;
  send(request: unknown): Promise<unknown> {
    this.sent.push(request);
    return Promise.resolve({ ok: true, n: this.sent.length });
  }
  restart(): void {
    this.restarts++;
  }
}

function recorder(): Recorder & { actions: BackendActions } {
  const r = new Recorder();
  return Object.assign(r, { actions: r });
}

describe('fault plan', () => {
  it('injects only at its index, counting back-end calls and card exchanges separately', async () => {
    const plan = new FaultPlan({ kind: 'lost-request', index: 1 });
    const r = recorder();
    await expect(plan.backendCall(CALL, r.actions)).resolves.toEqual({ ok: true, n: 1 });
    await expect(
      plan.cardExchange('main', 'c', () => Promise.resolve('9000'), {
        removeAndReturn: () => Promise.resolve(),
      }),
    ).resolves.toBe('9000');
    const lost = plan.backendCall({ ...CALL, method: 'capture' }, r.actions);
    await expect(lost).rejects.toBeInstanceOf(TransportError);
    await expect(lost).rejects.toMatchObject({ kind: 'link-lost' });
    expect(r.sent).toHaveLength(1);
    expect(plan.injectedAt).toBe('main bank/bank1/capture');
    await expect(plan.backendCall(CALL, r.actions)).resolves.toEqual({ ok: true, n: 2 });
    expect([plan.backendCalls, plan.cardExchanges, plan.txIdCalls]).toEqual([3, 1, [0, 1, 2]]);
  });

  it('a lost response is delivered once and then fails link-lost', async () => {
    const r = recorder();
    await expect(
      new FaultPlan({ kind: 'lost-response', index: 0 }).backendCall(CALL, r.actions),
    ).rejects.toThrow(/response was lost/);
    expect(r.sent).toEqual([{ txId: 't1' }]);
  });

  it('a duplicate delivers the same request twice and answers the second; broken, the copy gets a new txId', async () => {
    const r = recorder();
    const plan = new FaultPlan({ kind: 'duplicate', index: 0 });
    await expect(plan.backendCall(CALL, r.actions)).resolves.toEqual({ ok: true, n: 2 });
    expect(r.sent).toEqual([{ txId: 't1' }, { txId: 't1' }]);
    expect(plan.duplicatedTxId).toBe('t1');
    const b = recorder();
    await new FaultPlan({ kind: 'duplicate', index: 0 }, { ignoreIdempotency: true }).backendCall(
      CALL,
      b.actions,
    );
    expect(b.sent).toEqual([{ txId: 't1' }, { txId: 't1-again' }]);
  });

  it('a restart restarts the called instance before delivering', async () => {
    const r = recorder();
    await new FaultPlan({ kind: 'restart', index: 0 }).backendCall(CALL, r.actions);
    expect([r.restarts, r.sent.length]).toEqual([1, 1]);
  });

  it('a removed card ran the command, leaves the field and comes back, and the terminal hears link-lost', async () => {
    const events: string[] = [];
    const plan = new FaultPlan({ kind: 'card-removed', index: 0 });
    const answer = plan.cardExchange(
      'main',
      'alice',
      () => {
        events.push('exchange');
        return Promise.resolve('9000');
      },
      {
        removeAndReturn: () => {
          events.push('removed');
          return Promise.resolve();
        },
      },
    );
    await expect(answer).rejects.toMatchObject({ kind: 'link-lost' });
    expect(events).toEqual(['exchange', 'removed']);
    expect(plan.injectedAt).toBe('main card alice');
  });

  it("the runner's own card reads (the audit's purses) are no fault point and not counted", async () => {
    // A removal injected into the audit's purse read escaped as TransportError and ended the whole run
    // (card-removed@934 of common-key-settlement); the runner's reads are no step of a flow.
    const plan = new FaultPlan({ kind: 'card-removed', index: 0 });
    const removed: string[] = [];
    const card = { removeAndReturn: () => Promise.resolve(void removed.push('removed')) };
    const read = () => plan.cardExchange('main', 'alice', () => Promise.resolve('purse'), card);
    await expect(plan.asRunner(() => Promise.all([read(), read()]))).resolves.toEqual(['purse', 'purse']);
    expect([plan.cardExchanges, plan.injectedAt, removed]).toEqual([0, undefined, []]);
    // The flow's first exchange after it is still point 0.
    await expect(read()).rejects.toMatchObject({ kind: 'link-lost' });
    expect(removed).toEqual(['removed']);
  });
});

describe('budget spread', () => {
  it('share gives each group an even part and passes on what a small group cannot use', () => {
    expect(share(10, [3, 100, 100])).toEqual([3, 4, 3]);
    expect(share(2, [5, 5, 5])).toEqual([1, 1, 0]);
    expect(share(50, [3, 4])).toEqual([3, 4]);
  });
  it('spread takes every index when the budget allows, else evenly spaced ones', () => {
    expect(spread(4, 9, 0.5)).toEqual([0, 1, 2, 3]);
    expect(spread(10, 2, 0.5)).toEqual([2, 7]);
    expect(spread(10, 3, 0)).toEqual([0, 3, 6]);
  });
});

describe('campaign faults', () => {
  const credit = scenarioNamed('credit-charge-emoney')!;

  /** The back-end calls of seed 001's clean run whose request carried a txId (money-moving). */
  async function cleanTxIdCalls(): Promise<readonly number[]> {
    const clean = new FaultPlan(undefined);
    const { report } = await runWithPlan(credit, clean);
    expect(report.exitCode).toBe(0);
    return clean.txIdCalls;
  }

  it('reports a back-end that ignores idempotency, and passes the same point with the real ones', async () => {
    // The first money-moving request (one with a txId) of the clean run is where a duplicate matters.
    const first = (await cleanTxIdCalls())[0]!;
    expect(first).toBeGreaterThanOrEqual(0);
    const options = {
      scenarios: () => [credit],
      kinds: ['duplicate' as const],
      points: () => [first],
    };
    const sound = await runCampaign(faultsCampaign(options), { budget: 1 });
    expect(sound.failures).toEqual([]);
    expect(sound.tried).toEqual({ 'credit-charge-emoney: duplicate': 1 });
    const broken = await runCampaign(faultsCampaign({ ...options, plan: { ignoreIdempotency: true } }), {
      budget: 1,
    });
    expect(failureCount(broken)).toBeGreaterThanOrEqual(1);
    expect(broken.failures.map((f) => f.problem).join('\n')).toMatch(/duplicated request moved money again/);
    expect(broken.failures[0]!.input).toMatch(new RegExp(`^duplicate@${first} at main `));
  }, 60_000);

  it('--jobs 2 (worker processes) gives the report of one process, failures included', async () => {
    const [a, b] = await cleanTxIdCalls();
    const options = {
      scenarios: () => [credit],
      kinds: ['duplicate' as const, 'card-removed' as const],
      points: (_: string, kind: string) => (kind === 'duplicate' ? [a!, b!] : [3]),
      plan: { ignoreIdempotency: true },
    };
    const strip = (r: CampaignReport) => ({ ...r, durationMs: 0 });
    const one = await runCampaign(faultsCampaign(options), { budget: 1 });
    const two = await runCampaign(faultsCampaign(options).withJobs!(2), { budget: 1 });
    expect(failureCount(one)).toBeGreaterThanOrEqual(1);
    expect(Object.values(one.tried).reduce((x, y) => x + y, 0)).toBe(3);
    expect(strip(two)).toEqual(strip(one));
  }, 120_000);

  it('refuses --jobs over scenarios that are not registered (a worker could not find them)', async () => {
    const stranger = { ...credit };
    await expect(
      runCampaign(faultsCampaign({ scenarios: () => [stranger], kinds: ['duplicate'], jobs: 2 }), {
        budget: 2,
      }),
    ).rejects.toThrow(/registered scenarios only/);
  }, 60_000);

  it('a restarted emoney-center runs none of the clock tasks of its closed instance', async () => {
    // Found by the campaign: the closed instance's reload and query tasks ran against its closed
    // database (TypeError) once the virtual clock reached them.
    const validity = scenarioNamed('validity-cache')!;
    const clean = new FaultPlan(undefined);
    expect((await runWithPlan(validity, clean)).report.exitCode).toBe(0);
    const index = clean.calls.indexOf('medium-stranger-500 emoney-center/center1/receive');
    expect(index).toBeGreaterThanOrEqual(0);
    const r = await runCampaign(
      faultsCampaign({ scenarios: () => [validity], kinds: ['restart'], points: () => [index] }),
      { budget: 1 },
    );
    expect(r.failures).toEqual([]);
    expect(r.tried).toEqual({ 'validity-cache: restart': 1 });
  }, 60_000);

  it('the CI budget reaches every scenario and every fault, with no failure', async () => {
    const kind = faultsCampaign();
    const r = await runCampaign(kind, { budget: kind.ciBudget });
    expect(r.failures).toEqual([]);
    const categories = Object.keys(r.tried);
    expect(Object.values(r.tried).reduce((a, b) => a + b, 0)).toBe(kind.ciBudget);
    for (const f of FAULT_KINDS) expect(categories.some((c) => c.endsWith(`: ${f}`))).toBe(true);
    for (const s of ['credit-charge-emoney', 'brand-emoney', 'validity-cache', 'common-key-settlement'])
      expect(categories.some((c) => c.startsWith(`${s}: `))).toBe(true);
    const outcomes = r.outcomes ?? {};
    // Every point judged into an outcome; every scenario's clean run sized its fault space.
    expect(
      Object.keys(outcomes)
        .filter((k) => !k.endsWith(': clean run'))
        .sort(),
    ).toEqual(categories.sort());
    expect(Object.keys(outcomes['credit-charge-emoney: clean run'] ?? {})[0]).toMatch(
      /^[1-9]\d* back-end calls, [1-9]\d* card exchanges$/,
    );
    expect(campaignSummary(r, kind.unit).trimEnd().split('\n').at(-1)).toBe('faults: no failures');
  }, 120_000);
});
