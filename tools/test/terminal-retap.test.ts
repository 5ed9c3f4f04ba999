// The terminals' re-tap (README "Decisions"; host-sdk terminals/card-retap.ts) in whole scenario runs:
// the card leaves the field at chosen flow card exchanges, once (the terminal polls again, restarts
// the session and the flow completes, booked once) or more often than the re-tap policy allows (the
// flow ends with its refusal and the value the card holds stays in flight, C4, so the audit passes).
import { describe, expect, it } from 'vitest';
import { TransportError } from '@mica/host-sdk/transport/transport';
import { runWithPlan } from '../src/campaign/faults-campaign';
import { FaultPlan, type CardActions } from '../src/run/faults';
import { scenarioNamed } from '../src/run/registry';

/** Takes the card out of the field at each flow card exchange of `at` (the runner's reads not counted). */
class CardLeaves extends FaultPlan {
  private runner = 0;
  removed = 0;

  constructor(private readonly at: readonly number[]) {
    super(undefined);
  }

  override async asRunner<T>(read: () => Promise<T>): Promise<T> {
    this.runner++;
    try {
      return await super.asRunner(read);
    } finally {
      this.runner--;
    }
  }

  override async cardExchange<T>(
    fixture: string,
    card: string,
    exchange: () => Promise<T>,
    actions: CardActions,
  ): Promise<T> {
    if (this.runner > 0 || !this.at.includes(this.cardExchanges))
      return super.cardExchange(fixture, card, exchange, actions);
    this.cardExchanges++;
    this.removed++;
    await exchange();
    await actions.removeAndReturn();
    throw new TransportError('link-lost', `card ${card} left the field before answering (test)`);
  }
}

async function run(name: string, at: readonly number[]) {
  const scenario = scenarioNamed(name)!;
  const plan = new CardLeaves(at);
  const { report } = await runWithPlan(scenario, plan);
  expect(plan.removed).toBe(at.length);
  const check = (id: string) => report.checks.find((c) => c.id === id)!;
  /** The summaries of the steps of `fixture` that mention the card leaving the field. */
  const left = (fixture: string) =>
    report.steps
      .filter((s) => s.fixture === fixture && /(left|out of) the field/.test(s.summary))
      .map((s) => `${s.step} ${s.summary}`);
  const unbalanced = Object.entries(report.audit.fixtures)
    .filter(([, f]) => !f.ok)
    .map(([label, f]) => `${label} ${f.failed.join(', ')}`);
  return { report, plan, check, unbalanced, left };
}

describe('ChargeTerminal: a card that leaves the field during a delivery (seed 001, A13 lost-completion)', () => {
  // Flow card exchanges of lost-completion's retried charge-up (the home PC): 176-179 Q1 (Polling and
  // three reads), 180-181 Authentication1/2, 182 the write (E1: the first, lost answer applied it),
  // 183 the Read (secure) of Q8.
  it('left once at Authentication1: polled again, the same charge ID (E1) is read and completed', async () => {
    const { check, unbalanced, plan } = await run('credit-charge-emoney', [180]);
    expect(unbalanced).toEqual([]);
    expect(check('A13').problems).toEqual([]);
    expect(plan.inFlight).toBe(0);
  }, 60_000);

  it('left at the Q8 read and again at the re-tap: no-answer, the applied value held in flight (C4)', async () => {
    const { check, unbalanced, plan, left } = await run('credit-charge-emoney', [183, 184]);
    // The ledgers balance only with the terminal's held completeDelivery item; A13 sees no receipt.
    const away = left('lost-completion');
    expect(away).toHaveLength(1);
    expect(away[0]).toMatch(
      /^Q5 the card stayed out of the field: charge ID [0-9a-f]{16} stays delivering, its value held in flight$/,
    );
    expect(unbalanced).toEqual([]);
    expect(plan.inFlight).toBe(1);
    expect(check('A13').pass).toBe(false);
    expect(check('A13').problems.join('; ')).toContain('completed by the log read');
  }, 60_000);
});

describe('SettlementTerminal: a card that leaves the field during a top-up (seed 002, top-up)', () => {
  // Flow card exchanges of the top-up fixture's first top-up: 148-149 SELECT and GET DATA, 150-151
  // AUTHENTICATE 1/2, 152 READ LOG (4), 153 VALUE UPDATE (7), 154 READ LOG (9). After a card left, the
  // next card command is preceded by a SELECT (its own exchange).
  it('left once at AUTHENTICATE 1: tapped again, a new session reads the history and the top-up completes', async () => {
    const { check, unbalanced, plan } = await run('common-key-settlement', [150]);
    expect(unbalanced).toEqual([]);
    expect(check('K12').problems).toEqual([]);
    expect(plan.inFlight).toBe(0);
  }, 60_000);

  it('K11-H: the card away at READ LOG (4) and at the re-tap: the top-up refused, the check too, no TypeError', async () => {
    // 128 READ LOG (4) of replay-hardened's first top-up, 129 the SELECT of the re-tap: nothing reached
    // VALUE UPDATE, so there is nothing to replay and K11-H is refused (it read undefined.slice once).
    const { check, unbalanced, left } = await run('common-key-settlement', [128, 129]);
    expect(left('replay-hardened')).toEqual([
      '(4) the card left the field (E_CARD_REFUSED): tap again',
      '(3) the card left the field (E_CARD_REFUSED): tap again',
    ]);
    expect(unbalanced).toEqual([]);
    expect(check('K11-H').pass).toBe(false);
    expect(check('K11-H').problems.join('; ')).not.toMatch(/TypeError/);
  }, 60_000);

  it('VALUE UPDATE lost and the card away at both recovery taps: refused, the credited value held (C4)', async () => {
    // 153 VALUE UPDATE (applied, answer lost), 154 the SELECT before the recovery's AUTHENTICATE 1,
    // 155 the same at the one re-tap: the policy is spent, the top-up is refused and stays in flight.
    const { check, unbalanced, plan, left } = await run('common-key-settlement', [153, 154, 155]);
    expect(left('top-up')).toEqual([
      '(9) the card left the field (E_CARD_AUTH_FAILED): tap again',
      '(9) the card left the field (E_CARD_AUTH_FAILED): tap again',
    ]);
    expect(unbalanced).toEqual([]);
    expect(plan.inFlight).toBeGreaterThanOrEqual(1);
    expect(check('K12').pass).toBe(false);
  }, 60_000);
});

describe('ValidityTerminal: a card that leaves the field at the read after the write (seed 004, main)', () => {
  // Flow card exchanges of main's first load: 0 Polling, 1 Read Without Encryption, 2-3
  // Authentication1/2, 4 the write (purse and log), 5 the Read (secure) of T2; after a card left, 6 is
  // the Polling of the re-tap.
  it('left once at the read: polled again, read in a new session, the load completes', async () => {
    const { check, unbalanced, plan, left } = await run('validity-cache', [5]);
    expect(left('main')).toEqual(['T2 the card left the field: tap again, read in a new session']);
    expect(unbalanced).toEqual([]);
    expect(check('V1').problems).toEqual([]);
    expect(plan.inFlight).toBe(0);
  }, 60_000);

  it('left at the read and at the re-tap: no-answer, and the next session books it once from the log', async () => {
    const { report, check, unbalanced, plan } = await run('validity-cache', [5, 6]);
    expect(check('V1').problems).toEqual(['none: the load: got "no-answer", expected "done"']);
    const main = report.steps.filter((s) => s.fixture === 'main').map((s) => s.summary);
    expect(main).toContain('the card does not answer: the hold stays until its next contact');
    expect(main.filter((s) => /^earlier charge ID [0-9a-f]{16} is in the log$/.test(s))).toHaveLength(1);
    // The next contact reuses the terminal's own held item: nothing is held twice or left over.
    expect(unbalanced).toEqual([]);
    expect(plan.inFlight).toBe(0);
  }, 60_000);
});
