// `mica campaign fuzz`: structure-aware and random inputs for every target (FeliCa frames, APDUs, radio
// frames, profiles, card images, back-end HTTP requests); the budget is the number of inputs, shared by
// the targets' weights. A target may answer asynchronously (HTTP); the synchronous ones are not awaited.
import { Draw } from './draw';
import { apduFuzzTarget } from './fuzz-apdu';
import { felicaFuzzTarget } from './fuzz-felica';
import { httpFuzzTarget } from './fuzz-http';
import { imageFuzzTarget } from './fuzz-image';
import { profileFuzzTarget } from './fuzz-profile';
import { rfFuzzTarget } from './fuzz-rf';
import { thrown, type FuzzTarget } from './fuzz-target';
import type { CampaignContext, CampaignKind } from './runner';

export function fuzzTargets(): FuzzTarget[] {
  return [
    felicaFuzzTarget(),
    apduFuzzTarget(),
    rfFuzzTarget(),
    profileFuzzTarget(),
    imageFuzzTarget(),
    httpFuzzTarget(),
  ];
}

const CHUNK = 2_000;

export async function runFuzz(ctx: CampaignContext, targets: readonly FuzzTarget[]): Promise<void> {
  const weight = targets.reduce((t, x) => t + x.share, 0);
  // Each target's count, the rounding remainder going to the first ones.
  const counts = targets.map((t) => Math.floor((ctx.budget * t.share) / weight));
  let rest = ctx.budget - counts.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % counts.length, rest--) counts[i]! += 1;
  let done = 0;
  for (const [i, target] of targets.entries()) {
    // Each target draws from its own stream, so adding a target does not change the others' inputs.
    const draw = new Draw(BigInt(ctx.seed) * 64n + BigInt(i));
    const log = {
      fail: (input: string, problem: string) => ctx.fail(target.name, input, problem),
    };
    let session;
    try {
      session = await target.open(draw);
    } catch (e) {
      ctx.fail(target.name, '(setup)', `the target could not start: ${thrown(e)}`);
      continue;
    }
    const tally = new Map<string, number>();
    for (let n = 0; n < counts[i]!; n++) {
      const answer = session.next(log);
      const how = typeof answer === 'string' ? answer : await answer;
      tally.set(how, (tally.get(how) ?? 0) + 1);
      if ((n + 1) % CHUNK === 0) {
        ctx.progress(done + n + 1, ctx.budget);
        await ctx.pause();
      }
    }
    await session.finish(log);
    ctx.tried(target.name, counts[i]!);
    for (const [how, n] of [...tally].sort((a, b) => b[1] - a[1])) ctx.tried(`${target.name}: ${how}`, n);
    done += counts[i]!;
  }
  ctx.progress(ctx.budget, ctx.budget);
}

export function fuzzCampaign(targets: () => readonly FuzzTarget[] = fuzzTargets): CampaignKind {
  return {
    name: 'fuzz',
    description:
      'structure-aware and random FeliCa frames, APDUs, radio frames, profiles, card images and back-end HTTP requests: no crash, every input answered as its protocol says, rejected inputs change nothing',
    unit: 'inputs',
    ciBudget: 30_000,
    defaultBudget: 100_000,
    run: (ctx) => runFuzz(ctx, targets()),
  };
}
