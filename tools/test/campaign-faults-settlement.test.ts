// Seed 002 (`common-key-settlement`) under the faults campaign: the points the 200-point sample
// found failing, replayed by name (the index of that back-end call in the clean run). Before the fix
// each left C2 or C3 failing: a PCN the SMD never heard (the card debited, nothing booked), an ACN the
// store booked while the SMD heard link-lost (booked twice: the store's leg and the SMD's in-flight
// item), a log read whose answer was lost (the client's held debit never released), a VALUE UPDATE
// answer the SMD never heard. Now the client sends the same request again and the SMD answers it from
// its idempotency table; the SMD delivers its outbox to the idempotent store again.
import { beforeAll, describe, expect, it } from 'vitest';
import { faultsCampaign, runWithPlan } from '../src/campaign/faults-campaign';
import { runCampaign } from '../src/campaign/runner';
import { FaultPlan, type CardActions, type FaultKind } from '../src/run/faults';
import { scenarioNamed } from '../src/run/registry';

const settlement = scenarioNamed('common-key-settlement')!;

/**
 * The index in the clean run of the back-end call named `call` ("<fixture> <kind>/<id>/<method>"), its
 * first occurrence, or the one `#n` names (1-based: "replay-faithful smd/smd1/authConfirm#2").
 */
let indexOf: (call: string) => number;

/**
 * The clean run's card exchanges, each as "<fixture> <caller>": the SettlementTerminal method that sent
 * it (the frame after `exchange` on the stack; the seam sees no command, only the exchange).
 */
class CardExchanges extends FaultPlan {
  readonly callers: string[] = [];
  private runnerReading = false;
  // The runner's own reads (the audit's purses) are no fault points: not listed either.
  override async asRunner<T>(read: () => Promise<T>): Promise<T> {
    this.runnerReading = true;
    try {
      return await super.asRunner(read);
    } finally {
      this.runnerReading = false;
    }
  }
  override cardExchange<T>(
    fixture: string,
    card: string,
    exchange: () => Promise<T>,
    actions: CardActions,
  ): Promise<T> {
    const frames = (new Error().stack ?? '').split('\n');
    const at = frames.findIndex((f) => f.includes('SettlementTerminal.exchange'));
    const caller = at < 0 ? '' : (/SettlementTerminal\.(\w+)/.exec(frames[at + 1] ?? '')?.[1] ?? '');
    if (!this.runnerReading) this.callers.push(`${fixture} ${caller}`);
    return super.cardExchange(fixture, card, exchange, actions);
  }
}
let cardIndexOf: (exchange: string) => number;

beforeAll(async () => {
  const clean = new CardExchanges(undefined);
  const { report } = await runWithPlan(settlement, clean);
  expect(report.exitCode).toBe(0);
  indexOf = (name) => {
    const [call, nth] = name.split('#');
    const at = clean.calls.flatMap((c, i) => (c === call ? [i] : []));
    const i = at[Number(nth ?? '1') - 1];
    expect(i, name).toBeDefined();
    return i!;
  };
  cardIndexOf = (name) => {
    const [caller, nth] = name.split('#');
    const i = clean.callers.flatMap((c, j) => (c === caller ? [j] : []))[Number(nth ?? '1') - 1];
    expect(i, name).toBeDefined();
    return i!;
  };
}, 60_000);

async function replay(points: Partial<Record<FaultKind, readonly string[]>>) {
  const at = Object.fromEntries(
    Object.entries(points).map(([kind, calls]) => [
      kind,
      calls.map((c) => (kind === 'card-removed' ? cardIndexOf(c) : indexOf(c))),
    ]),
  ) as Partial<Record<FaultKind, number[]>>;
  return runCampaign(
    faultsCampaign({
      scenarios: () => [settlement],
      kinds: Object.keys(points) as FaultKind[],
      points: (_scenario, kind) => at[kind] ?? [],
    }),
    { budget: 100 },
  );
}

describe('faults campaign, seed 002', () => {
  it('a card removed before answering the SPC or VALUE UPDATE: re-selected, the log read books it once', async () => {
    // The card ran the debit (or the top-up) and left the field; the terminal heard link-lost, which
    // escaped the flow and left the value change unbooked (C3). Now it is a lost answer: held in
    // flight, the SMD re-authenticates (the card selected again first) and the log read settles it.
    // And at AUTHENTICATE 1 of K9 (lost-pcn): a clean refusal; its check used the SPC it never captured
    // (TypeError) once the lost card answer no longer escaped as an exception.
    const r = await replay({ 'card-removed': ['main debit', 'top-up topUp', 'lost-pcn cardStep'] });
    expect(r.failures).toEqual([]);
    expect(r.outcomes?.['common-key-settlement: card-removed']).toEqual({
      'conserved, checks as clean': 2,
      'conserved, a check refused': 1,
    });
  }, 180_000);

  it('K10-F: the altered SPC answered into a lost link: the log read books what the card debited to suspense', async () => {
    // card-removed@87 (integrity-faithful debit): the card debited 176 under the order's charge ID,
    // its PCN was lost; the log read found no debit of 1,200 and sent the SPC again, and the 176 stayed
    // on the card only (C3). Now the log's debit under that charge ID is booked as the PCN would be.
    const r = await replay({ 'card-removed': ['integrity-faithful debit'] });
    expect(r.failures).toEqual([]);
    expect(r.tried).toEqual({ 'common-key-settlement: card-removed': 1 });
  }, 120_000);

  it('K11-F: a card removed before the next top-up has read the log is tapped again, the SMD reads it', async () => {
    // card-removed@114-@118 (replay-faithful; @541-@545 when the runner's reads were fault points): the
    // next top-up's SELECT, GET DATA, AUTHENTICATE 1/2 and READ LOG (4). The card left, the top-up
    // ended refused before [32] had the log, and the replayed credit stayed on the card only (C3). Now
    // the terminal taps again: SELECT, a new SMD session (recoverTopUp), the log read books it.
    const r = await replay({
      'card-removed': [
        'replay-faithful selectAndRead#3',
        'replay-faithful selectAndRead#4',
        'replay-faithful cardStep#5',
        'replay-faithful cardStep#6',
        'replay-faithful cardStep#7',
      ],
    });
    expect(r.failures).toEqual([]);
    expect(r.outcomes?.['common-key-settlement: card-removed']).toEqual({ 'conserved, checks as clean': 5 });
  }, 180_000);

  it("K11-F: a card removed at the attacker's replay or the check's read after it: the next top-up still reads the log", async () => {
    // card-removed@110-@113 (replay-faithful; @537-@540 when the runner's reads were fault points): the
    // relay's replayed VALUE UPDATE (the check's exchange, empty caller #4) and the check's purse and
    // log read after it (#5-#7). The TransportError ended the check before the next top-up, so the
    // replayed credit stayed on the card only (C3). Now what the check sees fails, and the next
    // top-up's log read books the credit to suspense.
    const r = await replay({
      'card-removed': [
        'replay-faithful #4',
        'replay-faithful #5',
        'replay-faithful #6',
        'replay-faithful #7',
      ],
    });
    expect(r.failures).toEqual([]);
    expect(r.outcomes?.['common-key-settlement: card-removed']).toEqual({ 'conserved, a check refused': 4 });
  }, 180_000);

  it('a card removed before the top-up of K11-H reaches VALUE UPDATE: tapped again, no TypeError', async () => {
    // card-removed@128 (replay-hardened, READ LOG (4)): the top-up ended before (7), so nothing was
    // captured and the check's replay read undefined.slice (an exception escaped the run); then the
    // check was refused. Now the terminal taps again and the top-up completes. A card that stays away
    // (the check refused, no TypeError) is in terminal-retap.test.ts.
    const r = await runCampaign(
      faultsCampaign({ scenarios: () => [settlement], kinds: ['card-removed'], points: () => [128] }),
      { budget: 1 },
    );
    expect(r.failures).toEqual([]);
    expect(r.outcomes?.['common-key-settlement: card-removed']).toEqual({ 'conserved, checks as clean': 1 });
  }, 120_000);

  it('a lost or duplicated AUTHENTICATE 2 answer (authConfirm) is sent again: the flow goes on as clean', async () => {
    // The next top-up after the faithful-mode replay: only its READ LOG shows [32] the credit nobody
    // paid for; a lost authConfirm used to end the flow first and leave the credit on the card only (C3).
    const call = 'replay-faithful smd/smd1/authConfirm#2';
    const r = await replay({ 'lost-request': [call], 'lost-response': [call], duplicate: [call] });
    expect(r.failures).toEqual([]);
    for (const kind of ['lost-request', 'lost-response', 'duplicate'])
      expect(r.outcomes?.[`common-key-settlement: ${kind}`]).toEqual({ 'conserved, checks as clean': 1 });
  }, 120_000);

  it('a lost PCN request or response at completeSettlement: the client sends it again, booked once', async () => {
    const call = 'main smd/smd1/completeSettlement';
    const r = await replay({ 'lost-request': [call], 'lost-response': [call], duplicate: [call] });
    expect(r.failures).toEqual([]);
    expect(r.tried).toEqual({
      'common-key-settlement: lost-request': 1,
      'common-key-settlement: lost-response': 1,
      'common-key-settlement: duplicate': 1,
    });
    // The retry completes the purchase as the clean run did: no check refused, nothing in flight.
    expect(r.outcomes?.['common-key-settlement: lost-request']).toEqual({
      'conserved, checks as clean': 1,
    });
  }, 120_000);

  it('an ACN the store booked while the SMD heard link-lost is delivered again, not counted twice', async () => {
    const r = await replay({ 'lost-response': ['main store/store1/acceptAcn'] });
    expect(r.failures).toEqual([]);
    expect(r.outcomes?.['common-key-settlement: lost-response']).toEqual({
      'conserved, checks as clean': 1,
    });
  }, 120_000);

  it('a lost or duplicated log read (lost-pcn) completes the settlement once', async () => {
    const call = 'lost-pcn smd/smd1/reconcileSettlement';
    const r = await replay({ 'lost-request': [call], 'lost-response': [call], duplicate: [call] });
    expect(r.failures).toEqual([]);
    for (const kind of ['lost-request', 'lost-response', 'duplicate'])
      expect(r.outcomes?.[`common-key-settlement: ${kind}`]).toEqual({ 'conserved, checks as clean': 1 });
  }, 120_000);

  it('a lost VALUE UPDATE answer on its way to the SMD (completeTopUp) is sent again and booked once', async () => {
    const call = 'top-up smd/smd1/completeTopUp';
    const r = await replay({ 'lost-request': [call], 'lost-response': [call] });
    expect(r.failures).toEqual([]);
    expect(r.outcomes?.['common-key-settlement: lost-request']).toEqual({
      'conserved, checks as clean': 1,
    });
  }, 120_000);
});
