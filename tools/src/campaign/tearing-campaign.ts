// `mica campaign tearing`: a power cut at every EEPROM byte write of every mutating exchange of every
// source (transcript vectors, issuance, the secure purse + log write, the card exchanges of every flow
// of `mica run`); the budget is the number of cut points, spread over the exchanges in proportion to
// their writes when it is smaller than the total.
import type { Card } from '@mica/card-os/card';
import { SeededRandom } from '@mica/card-os/random';
import type { CampaignContext, CampaignKind } from './runner';
import { tearingSweep, type TearingCase } from './tearing';
import { flowSources } from './tearing-flows';
import {
  issuanceSource,
  purseLogSource,
  transcriptSources,
  type SweepItem,
  type TearingSource,
} from './tearing-sources';

/** Every source of the full campaign: transcripts, issuance, purse + log, and every flow of `mica run`. */
export function tearingSources(): TearingSource[] {
  return [...transcriptSources(), issuanceSource, purseLogSource, ...flowSources()];
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface PurseLogPair {
  readonly purse: number;
  readonly blocks: readonly number[];
  readonly logBlocks: readonly number[];
  readonly before: ReadonlyMap<number, Uint8Array>;
}

/** Purses whose block and whose log (blocks or cyclic head record) the command both changes. */
function purseLogPairs(card: Card, run: () => void): PurseLogPair[] {
  const candidates: { purse: number; blocks: number[]; logBlocks: number[] }[] = [];
  for (const view of card.fs.index.systems)
    for (const n of view.nodes) {
      if (n.kind !== 'service' || n.overlapOf !== 0xffff || !n.purse || n.purse.logServiceCode === 0xffff)
        continue;
      const log = view.byCode.get(n.purse.logServiceCode);
      if (log?.kind !== 'service') continue;
      const blocks = Array.from({ length: n.blockCount }, (_, i) => n.firstBlock + i);
      const logBlocks = [
        ...Array.from({ length: log.blockCount }, (_, i) => log.firstBlock + i),
        log.baseRecordAddress,
      ];
      candidates.push({ purse: n.code, blocks, logBlocks });
    }
  const read = (addresses: readonly number[]): Map<number, Uint8Array> =>
    new Map(addresses.map((a) => [a, card.eeprom.read(a)]));
  const before = candidates.map((c) => read([...c.blocks, ...c.logBlocks]));
  run();
  const moved = (map: ReadonlyMap<number, Uint8Array>, addresses: readonly number[]): boolean =>
    addresses.some((a) => !same(card.eeprom.read(a), map.get(a)!));
  return candidates.flatMap((c, i) =>
    moved(before[i]!, c.blocks) && moved(before[i]!, c.logBlocks) ? [{ ...c, before: before[i]! }] : [],
  );
}

/** Judges a recovered card: each purse moved exactly when its log did. */
function purseLogJudge(pairs: readonly PurseLogPair[]): TearingCase['judge'] {
  return (card) => {
    for (const p of pairs) {
      const moved = (addresses: readonly number[]): boolean =>
        addresses.some((a) => !same(card.eeprom.read(a), p.before.get(a)!));
      const purse = moved(p.blocks);
      if (purse !== moved(p.logBlocks))
        return `purse ${p.purse.toString(16).padStart(4, '0')}h ${purse ? 'moved without' : 'stayed while'} its log ${purse ? '' : 'moved'}`.trim();
    }
    return undefined;
  };
}

interface Measured {
  readonly item: SweepItem;
  readonly source: string;
  readonly bytes: number;
  readonly judge: TearingCase['judge'];
  readonly pairs: number;
}

/** One uninterrupted run: how many bytes the exchange writes, and which purse/log pairs it moves. */
function measure(item: SweepItem, source: string): Measured {
  const card = item.case.setup();
  const start = card.eeprom.physical.bytesWritten;
  const pairs = purseLogPairs(card, () => item.case.command(card));
  const bytes = card.eeprom.physical.bytesWritten - start;
  const own = item.case.judge;
  const generic = pairs.length > 0 ? purseLogJudge(pairs) : undefined;
  const judge: TearingCase['judge'] =
    own && generic ? (c, s) => own(c, s) ?? generic(c, s) : (own ?? generic);
  return { item, source, bytes, judge, pairs: pairs.length };
}

/** Runs the sources under a budget of cut points; each source's counts go under its own name. */
export async function runTearing(ctx: CampaignContext, sources: readonly TearingSource[]): Promise<void> {
  const measured: Measured[] = [];
  for (const [i, source] of sources.entries()) {
    ctx.progress(i, sources.length * 2);
    await ctx.pause();
    for (const item of await source.items()) {
      const at = `${source.name}: exchanges`;
      ctx.tried(at);
      if (item.kind === 'excluded') {
        ctx.tried(`${source.name}: excluded by design`);
        continue;
      }
      if (item.kind === 'refusal') {
        ctx.tried(`${source.name}: refusals`);
        const problem = item.check();
        if (problem !== undefined) ctx.fail(`${source.name}: refusals`, item.label, problem);
        continue;
      }
      const m = measure(item, source.name);
      if (m.bytes === 0) ctx.tried(`${source.name}: exchanges writing nothing`);
      else measured.push(m);
    }
  }
  const total = measured.reduce((t, m) => t + m.bytes, 0);
  // Under a smaller budget every exchange gets its share as a stride with a seeded offset.
  const scale = Math.min(1, ctx.budget / Math.max(1, total));
  const random = new SeededRandom(ctx.seed);
  const draw = new Uint8Array(4);
  let done = 0;
  for (const m of measured) {
    const share = Math.floor(m.bytes * scale);
    if (share === 0) {
      ctx.tried(`${m.source}: exchanges left out by the budget`);
      continue;
    }
    const stride = Math.max(1, Math.floor(m.bytes / share));
    random.fill(draw);
    const offset = stride === 1 ? 0 : new DataView(draw.buffer).getUint32(0) % stride;
    const r = tearingSweep(m.judge ? { ...m.item.case, judge: m.judge } : m.item.case, {
      stride,
      offset,
      limit: share,
    });
    ctx.tried(`${m.source}: mutating exchanges`);
    ctx.tried(`${m.source}: cut points`, r.cuts);
    ctx.tried(`${m.source}: recovered old`, r.oldState);
    ctx.tried(`${m.source}: recovered new`, r.newState);
    if (m.pairs > 0) ctx.tried(`${m.source}: purse + log judged`, r.cuts);
    for (const f of r.failures) ctx.fail(`${m.source}: cut points`, m.item.label, f);
    // An exchange whose every cut lands in one state says the sweep missed the commit point.
    if (r.failures.length === 0 && r.cuts === m.bytes && (r.oldState === 0 || r.newState === 0))
      ctx.fail(`${m.source}: cut points`, m.item.label, 'every cut point recovered the same state');
    done += 1;
    ctx.progress(sources.length + Math.floor((done / measured.length) * sources.length), sources.length * 2);
    await ctx.pause();
  }
  ctx.progress(sources.length * 2, sources.length * 2);
}

export function tearingCampaign(sources: () => readonly TearingSource[] = tearingSources): CampaignKind {
  return {
    name: 'tearing',
    description:
      'power cut at every EEPROM byte write of every mutating exchange of the transcript vectors, issuance, the secure purse + log write and every flow of `mica run`; old or new state after recovery',
    unit: 'cut points',
    // Every cut point. `npm test` runs each source on its own: the transcripts, issuance and purse + log
    // at this budget (about 25,000 cut points, some 25 s of CPU: each vector's chip is built once), the
    // flows at FLOW_CI_BUDGET (tearing-flows.ts: every flow cut point replays its card's session).
    ciBudget: 10_000_000,
    defaultBudget: 10_000_000,
    run: (ctx) => runTearing(ctx, sources()),
  };
}
