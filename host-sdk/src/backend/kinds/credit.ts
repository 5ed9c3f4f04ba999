// The `credit` back-end (flows.md 1.2 one schema for all seeds): the kind's entry point. The
// instance is built in layers: ./credit-api.ts (schemas, answers, CreditBackend), ./credit-core.ts
// (seed 001 in 3.1-3.2: card accounts, VALUE purchases, the cutoff on the 25th), ./credit-tokens.ts
// (seed 000 in 2: key exchange, tokens, reflections, closing, 1103, the `direct` certificates); this
// module adds seed 002's credit permission device [35] (flows.md 4.2 row 20; ./credit-permission.ts)
// and schedules the cutoff.
import { refused, type Outcome } from '../outcome';
import type { BackendContext } from '../backend';
import {
  authorizeCardNotPresent,
  captureCardNotPresent,
  reverseCardNotPresent,
  type CardNotPresentResult,
} from './credit-permission';
import type { CreditBackend, CreditRequest } from './credit-api';
import { CreditTokens } from './credit-tokens';

export * from './credit-api';
export { CUTOFF_DAY, NONCE_LIFETIME_MS, cardNoField, cycleOf, receivableOf } from './credit-core';

export class SqliteCredit extends CreditTokens implements CreditBackend {
  readonly kind = 'credit';

  constructor(context: BackendContext) {
    super(context);
    this.scheduleCutoff();
  }

  /** Seed 002 (flows.md 4.2 row 20): E_CREDIT_DECLINED names the reason; the decline is recorded. */
  authorizeCardNotPresent(
    request: CreditRequest<'authorizeCardNotPresent'>,
  ): Promise<Outcome<CardNotPresentResult>> {
    const r = this.checked<CreditRequest<'authorizeCardNotPresent'>>('authorizeCardNotPresent', request);
    const o = this.run(
      'authorizeCardNotPresent',
      { ...r, pin: '*' },
      () => authorizeCardNotPresent(this.db, r, this.clock.now()),
      r.txId,
    );
    if (o.ok && !o.result.approved)
      return Promise.resolve(refused('E_CREDIT_DECLINED', '(6)', `declined: ${o.result.reason ?? ''}`));
    return Promise.resolve(o);
  }

  captureCardNotPresent(
    request: CreditRequest<'captureCardNotPresent'>,
  ): Promise<Outcome<CardNotPresentResult>> {
    const r = this.checked<CreditRequest<'captureCardNotPresent'>>('captureCardNotPresent', request);
    return Promise.resolve(
      this.run('captureCardNotPresent', r, () =>
        captureCardNotPresent(this.db, r.txId, r.merchantId, this.clock.now()),
      ),
    );
  }

  reverseCardNotPresent(
    request: CreditRequest<'reverseCardNotPresent'>,
  ): Promise<Outcome<CardNotPresentResult>> {
    const r = this.checked<CreditRequest<'reverseCardNotPresent'>>('reverseCardNotPresent', request);
    return Promise.resolve(
      this.run('reverseCardNotPresent', r, () => reverseCardNotPresent(this.db, r.txId)),
    );
  }
}
