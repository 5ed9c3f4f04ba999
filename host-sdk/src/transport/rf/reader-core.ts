// What every reader procedure of the rf: transport shares: the field, the options, the retry policy and
// the list of exchange records the report is built from (rf.md §8.2, §8.7).
import type { AirTech } from '@mica/apdu-specs/rf/endpoint';
import type { ExchangeOutcome, ExchangeRecord } from '@mica/card-os/rf/timeline';
import { TransportError } from '../transport';
import type { Air, Heard, ListenSpec, ReaderFrame, TransmitResult } from './air';
import type { RfRetryPolicy } from './retry-policy';
import type { RfTransportOptions } from './rf-options';

export interface RecordExtras {
  readonly budgetFc?: number | null;
  readonly timingViolation?: boolean;
  readonly retriedAfterExecution?: boolean;
  readonly slots?: ExchangeRecord['slots'];
  readonly recovered?: boolean;
  /** Type F: report LEN..data without the CRC (rf.md §8.7), for the answer too when its CRC was good. */
  readonly stripCrc?: boolean;
}

export class ReaderCore {
  readonly records: ExchangeRecord[] = [];

  constructor(
    readonly air: Air,
    readonly o: RfTransportOptions,
    readonly policy: RfRetryPolicy,
  ) {}

  /** One attempt of the next exchange. */
  send(tech: AirTech, frame: ReaderFrame, listen: ListenSpec, attempt = 1): TransmitResult {
    this.air.exchange = this.records.length;
    return this.air.transmit(tech, frame, listen, attempt);
  }

  /** Closes an exchange: its last attempt, the answer heard (if any) and its outcome. */
  record(
    kind: string,
    attempts: number,
    outcome: ExchangeOutcome,
    r: TransmitResult,
    frame: ReaderFrame,
    heard: Heard | undefined,
    extras: RecordExtras = {},
  ): void {
    const strip = extras.stripCrc === true;
    const rspBytes = heard
      ? strip && heard.frame.crc === 'ok'
        ? heard.frame.bytes.slice(0, -2)
        : heard.frame.bytes
      : undefined;
    this.records.push({
      kind,
      attempts,
      outcome,
      cmd: {
        bytes: strip ? frame.bytes.slice(0, -2) : frame.bytes,
        startFc: r.cmdStartFc,
        airtimeFc: r.cmdAirtimeFc,
        decoded: r.cardDecoded,
      },
      gapFc: heard ? heard.startFc - r.cmdEndFc : null,
      ...(heard?.slot !== undefined ? { slot: heard.slot } : {}),
      ...(heard
        ? {
            rsp: {
              bytes: rspBytes!,
              startFc: heard.startFc,
              airtimeFc: heard.airtimeFc,
              crc: heard.frame.crc,
              polarity: heard.frame.polarity,
            },
          }
        : {}),
      budgetFc: extras.budgetFc ?? null,
      timingViolation: extras.timingViolation ?? false,
      retriedAfterExecution: extras.retriedAfterExecution ?? false,
      ...(extras.slots ? { slots: extras.slots } : {}),
      ...(extras.recovered ? { recovered: true } : {}),
    });
  }

  /** Marks the records from index `from` on as failures the reader recovered from. */
  markRecovered(from: number): void {
    for (let i = from; i < this.records.length; i++)
      if (this.records[i]!.outcome !== 'ok') this.records[i] = { ...this.records[i]!, recovered: true };
  }

  /** The outcome of an attempt that heard `h` (or nothing): ok, timeout, crc-error or collision. */
  static judge(h: Heard | undefined): ExchangeOutcome {
    if (!h) return 'timeout';
    if (h.frame.outcome === 'ok' && h.frame.crc !== 'bad' && h.frame.parityErrors.length === 0) return 'ok';
    return h.cards.length > 1 ? 'collision' : 'crc-error';
  }

  /** Every card in the field lost its power (a power cut, or too far away). */
  noCardPowered(): boolean {
    return this.air.cards.every((c, i) => c.powered === false || !this.air.fieldPowers(i));
  }

  /** The TransportError of an exchange that failed for good. */
  failure(outcome: ExchangeOutcome, what: string): TransportError {
    if (this.noCardPowered())
      return new TransportError('link-lost', `${what}: no card in the field has power`);
    if (outcome === 'timeout') return new TransportError('timeout', `${what}: no answer in time`);
    if (outcome === 'protocol-error') return new TransportError('protocol', `${what}: protocol rule broken`);
    return new TransportError('transmission', `${what}: ${outcome} after the last retry`);
  }
}
