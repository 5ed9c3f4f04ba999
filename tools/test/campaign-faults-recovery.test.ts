// Findings of `mica campaign faults` in seeds 001, 003 and 004, replayed at their exact fault points:
// a lost request or response between back-ends, or from a terminal to a back-end, that the flow had
// no recovery for (the sender now sends the same txId again while the link is lost, and the receiver
// answers the retry from its idempotency table), and a duplicated `emoney-center complete` (now keyed
// by its connection). Each point failed the final audit (C2 or C3) before the fix.
import { describe, expect, it } from 'vitest';
import { TransportError } from '@mica/host-sdk/transport/transport';
import { deliverToPeer } from '@mica/host-sdk/backend/link-retry';
import { faultsCampaign, runWithPlan } from '../src/campaign/faults-campaign';
import { runCampaign } from '../src/campaign/runner';
import { FaultPlan, type BackendFault } from '../src/run/faults';
import { scenarioNamed } from '../src/run/registry';

/** The clean run's back-end calls ("<fixture> <kind>/<id>/<method>", in order). */
async function cleanCalls(name: string): Promise<readonly string[]> {
  const scenario = scenarioNamed(name)!;
  const clean = new FaultPlan(undefined);
  const { report } = await runWithPlan(scenario, clean);
  expect(report.exitCode).toBe(0);
  return clean.calls;
}

/**
 * Runs `kinds` at the back-end calls named by `calls` (the first of that name, or the n-th with a
 * `#n` suffix); returns the failures.
 */
async function replay(name: string, calls: readonly string[], kinds: readonly BackendFault[]) {
  const all = await cleanCalls(name);
  const points = calls.map((c) => {
    const [call, nth = '1'] = c.split('#') as [string, string?];
    const i = all.map((x, j) => (x === call ? j : -1)).filter((j) => j >= 0)[Number(nth) - 1] ?? -1;
    expect(i, c).toBeGreaterThanOrEqual(0);
    return i;
  });
  const scenario = scenarioNamed(name)!;
  const r = await runCampaign(faultsCampaign({ scenarios: () => [scenario], kinds, points: () => points }), {
    budget: 1,
  });
  const tried = Object.values(r.tried).reduce((a, b) => a + b, 0);
  expect(tried).toBe(points.length * kinds.length);
  return r.failures.map((f) => `${f.input}: ${f.problem}`);
}

describe('deliverToPeer', () => {
  const lost = () => new TransportError('link-lost', 'lost (test)');

  it('sends again while the link is lost, up to the attempts, then lets the lost link propagate', async () => {
    let n = 0;
    await expect(deliverToPeer(() => (++n < 3 ? Promise.reject(lost()) : Promise.resolve(n)))).resolves.toBe(
      3,
    );
    n = 0;
    await expect(deliverToPeer(() => (++n, Promise.reject(lost())), 2)).rejects.toBeInstanceOf(
      TransportError,
    );
    expect(n).toBe(2);
  });

  it('does not repeat a request that failed otherwise, and refuses a bad attempt count', async () => {
    let n = 0;
    await expect(deliverToPeer(() => (++n, Promise.reject(new TypeError('bug'))))).rejects.toThrow(TypeError);
    expect(n).toBe(1);
    await expect(deliverToPeer(() => Promise.resolve(1), 0)).rejects.toThrow(
      /attempts must be an integer ≥ 1, got 0/,
    );
  });
});

describe('faults campaign findings, replayed', () => {
  it('seed 001: the cutoff payToPeer (expiry) and prepareCharge lost are sent again with the same txId', async () => {
    // Was: C2 fail (the credit company's in-flight item stood for a bank leg that was never booked,
    // or was booked and never delivered).
    expect(
      await replay(
        'credit-charge-emoney',
        ['expiry bank/bank1/payToPeer'],
        ['lost-request', 'lost-response'],
      ),
    ).toEqual([]);
    // Was: C2 fail (the e-money server booked the charge, the credit company's item stayed in flight);
    // the charge terminal now sends purchaseValue again and the credit company resumes it.
    // The same for the e-money server's refund (receiveFromPeer) and the terminals' completeDelivery and
    // recordPayment (C2 / C3 fail before).
    expect(
      await replay(
        'credit-charge-emoney',
        [
          'main emoney/emoney1/prepareCharge',
          'expiry bank/bank1/receiveFromPeer',
          'lost-completion emoney/emoney1/completeDelivery',
          'overwrite emoney/emoney1/recordPayment',
        ],
        ['lost-response'],
      ),
    ).toEqual([]);
  }, 120_000);

  it('seed 004: commitHold lost, and complete lost or duplicated, leave the ledgers conserved', async () => {
    // Was: C2 fail at commitHold (the bank committed, the center's item stayed in flight); C3 fail at
    // complete (push-off: a duplicate was refused E_BAD_STATE, and a lost response left the terminal's
    // item in flight, over float the center had booked).
    expect(await replay('validity-cache', ['mode-both bank/bank1/commitHold'], ['lost-response'])).toEqual(
      [],
    );
    expect(
      await replay(
        'validity-cache',
        ['push-off emoney-center/center1/complete'],
        ['lost-response', 'duplicate'],
      ),
    ).toEqual([]);
  }, 240_000);

  it('seed 003: recordLoad, settle, payToPeer and recordPayment lost are delivered again', async () => {
    // Was: C3 fail at the end of the run for each lost request (a lost recordLoad from the loading
    // terminal or the shopper's PC left value on the card that nobody booked), C2 fail for each lost
    // response to an outbox delivery (the peer booked, the sender's item stayed in flight).
    expect(
      await replay(
        'brand-emoney',
        [
          'main service-center/bankcenter/recordLoad',
          'main issuer/issuer22/recordLoad',
          'main issuer/issuer21/settle',
          'main brand/brand/recordPayment#3',
          'batch service-center/poscenter/recordPayment',
        ],
        ['lost-request'],
      ),
    ).toEqual([]);
    expect(
      await replay(
        'brand-emoney',
        [
          'main issuer/issuer24/recordLoad#2',
          'main bank/bank5/payToPeer',
          'main service-center/bankcenter/settle',
          'main brand/brand/recordPayment',
          'batch brand/brand/recordPayment#2',
        ],
        ['lost-response'],
      ),
    ).toEqual([]);
  }, 300_000);
});

describe('faults campaign findings, replayed: a card removed during set-up', () => {
  it('seed 003: a card removed while F0 builds the worked example refuses the checks that need it', async () => {
    // Was: F0 ended with link-lost and every later check on the unbuilt world threw a TypeError (a
    // programming error escaping: card-removed@25 and @91). Now those checks are refused cleanly.
    const scenario = scenarioNamed('brand-emoney')!;
    const r = await runCampaign(
      faultsCampaign({ scenarios: () => [scenario], kinds: ['card-removed'], points: () => [0, 25, 91] }),
      { budget: 1 },
    );
    expect(r.failures.map((f) => `${f.input}: ${f.problem}`)).toEqual([]);
    expect(r.tried['brand-emoney: card-removed']).toBe(3);
  }, 180_000);
});

describe('faults campaign findings, replayed: a card that left the field where the flow had no further tap', () => {
  it('seed 001: a card removed during the retried charge-up’s authentication or a payment is tapped again (card-removed@180, @245, @261)', async () => {
    // Was: C3 fail at the end of the run (lost-completion, A13): the home PC's Authentication1 for the
    // delivery still `delivering` got link-lost, the charge-up ended, and the value the card applied in
    // the first, lost-answer write stayed unbooked. Now the terminal polls again, the same write (same
    // charge ID) is refused E1 and the log read completes the delivery: A13 passes as in a clean run.
    // The sweep of every card-removed point then found the merchant terminal's payment write
    // (card-removed@245 overwrite, @261 payment, R2): the card debited, the link-lost escaped pay and
    // nothing was recorded (C3). Now the same card is polled again and the same write answers E1.
    const scenario = scenarioNamed('credit-charge-emoney')!;
    const r = await runCampaign(
      faultsCampaign({
        scenarios: () => [scenario],
        kinds: ['card-removed'],
        points: () => [180, 245, 261],
      }),
      { budget: 1 },
    );
    expect(r.failures.map((f) => `${f.input}: ${f.problem}`)).toEqual([]);
    expect(r.outcomes?.['credit-charge-emoney: card-removed']).toEqual({ 'conserved, checks as clean': 3 });
  }, 180_000);

  it('seed 003: a card removed at the brand terminals’ value write is tapped again (card-removed@150-@658)', async () => {
    // Was: C3 fail at the end of the run (15 points): the load, payment or purchase write reached the
    // card, its link-lost escaped the loading terminal, the merchant terminal or the shopper's PC, and
    // nothing was recorded. Now the same card is polled again, a new session sends the same write and
    // its duplicate refusal (E1; in (F) E4 with the purse holding that write) completes the flow.
    // Main: loading terminal (@150), proxy load (@256), merchant (@265), cybershop (@286); then
    // tear-faithful's (F) load (@455), tear-hardened's (@557) and batch's payment (@649). And @144, the
    // loading terminal's Polling (conserved before, but A23 refused E_NODE_ABSENT: detect polls again).
    const scenario = scenarioNamed('brand-emoney')!;
    const r = await runCampaign(
      faultsCampaign({
        scenarios: () => [scenario],
        kinds: ['card-removed'],
        points: () => [144, 150, 256, 265, 286, 455, 557, 649],
      }),
      { budget: 1 },
    );
    expect(r.failures.map((f) => `${f.input}: ${f.problem}`)).toEqual([]);
    expect(r.outcomes?.['brand-emoney: card-removed']).toEqual({ 'conserved, checks as clean': 8 });
  }, 180_000);
});

describe('faults campaign findings, replayed: the whole fault space', () => {
  it("seed 000: a lost answer to the bank's receiveDeduction is sent again and booked once (lost-response@6, @78)", async () => {
    // The bank kept the transfer in flight (C4) on the lost link while credit had booked it: C2 failed.
    expect(
      await replay(
        'bank-credit-token',
        ['main credit/CREDITCO/receiveDeduction', 'carry credit/CREDITCO/receiveDeduction'],
        ['lost-response'],
      ),
    ).toEqual([]);
  }, 180_000);

  it('seed 001: the retried charge-up asks for the open deliveries again while the link is lost (charges@69)', async () => {
    // lost-completion's second charge-up reads the charges to find the delivery whose answer was lost;
    // the read lost ended the charge-up and left the value the card applied unbooked: C3 failed.
    expect(
      await replay(
        'credit-charge-emoney',
        ['lost-completion emoney/emoney1/charges#2'],
        ['lost-request', 'lost-response'],
      ),
    ).toEqual([]);
  }, 180_000);

  it("seed 003: the shopper's PC sends recordProxyLoad and completeSale again while the link is lost (@31, @39)", async () => {
    // Both follow a card write (the value loaded or taken): a lost request or answer ended F3 or F6
    // with the card changed and nothing booked: C3 failed.
    expect(
      await replay(
        'brand-emoney',
        ['main brand/brand/recordProxyLoad', 'main cybershop/cybershop/completeSale'],
        ['lost-request', 'lost-response'],
      ),
    ).toEqual([]);
  }, 180_000);

  it('seed 004: a card removed at the read after the load is tapped again and read (card-removed@5)', async () => {
    // Was: the link-lost of the Read (secure) after the write escaped the session with the load held;
    // the next session's log read held it a second time: C3 failed.
    const scenario = scenarioNamed('validity-cache')!;
    const r = await runCampaign(
      faultsCampaign({ scenarios: () => [scenario], kinds: ['card-removed'], points: () => [5] }),
      { budget: 1 },
    );
    expect(r.failures.map((f) => `${f.input}: ${f.problem}`)).toEqual([]);
    expect(r.outcomes?.['validity-cache: card-removed']).toEqual({ 'conserved, checks as clean': 1 });
  }, 180_000);
});
