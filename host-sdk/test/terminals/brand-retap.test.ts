// The seed 003 terminals' re-tap (README "Decisions"; terminals/card-retap.ts) on a simulated chip: a
// card that leaves the field at a secure Write (the command reached the card, its answer did not) is
// polled again, a new session sends the same write, and the card's duplicate refusal of it counts as
// the write of the tap before; a card that leaves more often than the policy allows ends the flow
// with the card's link-lost, as before the re-tap, and nothing is recorded.
import { describe, expect, it } from 'vitest';
import { FELICA_COMMANDS } from '@mica/apdu-specs/felica-commands';
import { FELICA_SECURE_COMMANDS } from '@mica/apdu-specs/felica-secure';
import { logRecord } from '@mica/apdu-specs/eeprom-records';
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { Card } from '@mica/card-os/card';
import type { Mode } from '@mica/host-sdk/backend/backend';
import type { BrandHolderBackend } from '@mica/host-sdk/backend/kinds/brand';
import type { ServiceCenterBackend } from '@mica/host-sdk/backend/kinds/service-center';
import { accepted } from '@mica/host-sdk/backend/outcome';
import { ValueSession, detect } from '@mica/host-sdk/brand/card-ops';
import { issueBrandCard } from '@mica/host-sdk/brand/issuance';
import { LoadingTerminal } from '@mica/host-sdk/brand/terminals/loading-terminal';
import { MerchantTerminal } from '@mica/host-sdk/brand/terminals/merchant-terminal';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import type { LocalKeyHolder } from '@mica/host-sdk/keys/local-key-holder';
import { VirtualClock } from '@mica/host-sdk/platform/clock';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import { CardLeftField } from '@mica/host-sdk/terminals/card-retap';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
import { TransportError, type Transport } from '@mica/host-sdk/transport/transport';
import { BRAND_TK, brandChip, brandHolders } from '../brand-chip';

const AREA = 0x3000;
const ISSUERS = [{ issuerId: 'issuer23', area: AREA }];
const CARD_ID = '0300000000000001';

/**
 * The card's link: at each command `code` (a secure Write unless told) numbered in `leaveAt` (1 = the
 * first) the command reaches the card, then the card leaves the field and is put back at once (power
 * off and on) before the terminal gets the answer: link-lost. Counts the Pollings (a re-tap polls
 * again).
 */
function field(
  card: Card,
  leaveAt: readonly number[],
  code: number = FELICA_SECURE_COMMANDS.write.code,
): Transport & { polls: number } {
  const inner = new InProcessTransport(card);
  let seen = 0;
  const t = {
    polls: 0,
    description: 'field (test)',
    async felica(frame: Uint8Array): Promise<Uint8Array | null> {
      if (frame[1] === FELICA_COMMANDS.polling.code) t.polls++;
      const counted = frame[1] === code;
      const answer = await inner.felica(frame);
      if (counted && leaveAt.includes(++seen)) {
        card.powerOff();
        card.powerOn();
        throw new TransportError('link-lost', 'the card left the field before answering (test)');
      }
      return answer;
    },
    apdu: (command: Uint8Array) => inner.apdu(command),
    close: () => inner.close(),
  };
  return t;
}

/** A 2-3 card {A, F} issued on a simulated chip, and the issuer's key holder (A and F). */
async function issued(mode: Mode) {
  const rng = new SeededRng(`brand-retap ${mode}`);
  const random = (n: number): Uint8Array => rng.bytes(n);
  const { brand, issuer } = brandHolders(rng, AREA);
  const card = brandChip();
  await issueBrandCard(new FelicaClient(new InProcessTransport(card)), {
    transportKey: Uint8Array.from(Buffer.from(BRAND_TK, 'hex')),
    brand,
    issuer,
    area: AREA,
    issuerKeys: ['A', 'F'],
    cardId: CARD_ID,
    issueDate: 0x20040607,
    sequence: 1,
    requireLog: mode === 'hardened',
    random,
  });
  return { card, issuer, rng };
}

/** The purse balance and the charge IDs of the log (newest first), read past the fault. */
async function contents(card: Card, issuer: LocalKeyHolder) {
  const client = new FelicaClient(new InProcessTransport(card));
  const found = await detect(client, ISSUERS, 'test');
  if (!found.ok) throw new Error(found.message);
  const s = await ValueSession.open(client, issuer, found.value, 'A', { info: 'test', verdict: 'test' });
  if (!s.ok) throw new Error(s.message);
  const balance = await s.value.balance('test');
  if (!balance.ok) throw new Error(balance.message);
  const log: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = logRecord.decode(await s.value.readLogBlock(i));
    if (r.amount !== 0) log.push(bytesToHex(r.chargeId));
  }
  await s.value.close();
  return { balance: balance.value, log };
}

/** A center that authorizes every load and records what it is told (nothing else is used). */
function center(calls: string[]): ServiceCenterBackend {
  const tx = (txId: string, status: 'authorized' | 'loaded') => ({
    txId,
    kind: 'load' as const,
    terminalId: 't13',
    cardId: CARD_ID,
    issuerId: 'issuer23',
    amount: 5000,
    funding: 'cash' as const,
    channel: 'A',
    status,
    at: 0,
  });
  return {
    authorizeLoad: (r: { txId: string }) => (
      calls.push('authorizeLoad'),
      Promise.resolve(accepted(tx(r.txId, 'authorized')))
    ),
    recordLoad: (r: { txId: string }) => (
      calls.push('recordLoad'),
      Promise.resolve(accepted(tx(r.txId, 'loaded')))
    ),
  } as unknown as ServiceCenterBackend;
}

function loading(mode: Mode, link: Transport, issuer: LocalKeyHolder, calls: string[]) {
  return new LoadingTerminal({
    terminalId: 't13',
    centerId: 'bankcenter',
    center: center(calls),
    keyHolder: issuer,
    client: new FelicaClient(link),
    issuers: ISSUERS,
    mode,
    clock: new VirtualClock(Date.UTC(2024, 3, 1)),
    rng: new SeededRng('brand-retap terminal'),
  });
}

const TX = '5a'.repeat(16);
const load = { keyName: 'A', amount: 5000, funding: 'cash', cashIn: 5000, txId: TX } as const;

describe('seed 003 loading terminal: a card that leaves the field at the value write', () => {
  it('(H) left once: polled again, the same write is refused DUPLICATE_CHARGE_ID and the load completes, booked once', async () => {
    const { card, issuer } = await issued('hardened');
    const link = field(card, [1]);
    const calls: string[] = [];
    const r = await loading('hardened', link, issuer, calls).load(load);
    expect(r).toMatchObject({ ok: true, result: { txId: TX, logged: true } });
    expect(link.polls).toBe(2);
    expect(calls).toEqual(['authorizeLoad', 'recordLoad']);
    expect(await contents(card, issuer)).toEqual({ balance: 5000, log: ['5a5a5a5a5a5a5a5a'] });
  });

  it('(F) left once at the purse write: the same write, DUPLICATE_EXECUTION_ID with the purse holding it, then the log', async () => {
    const { card, issuer } = await issued('faithful');
    const link = field(card, [1]);
    const calls: string[] = [];
    const r = await loading('faithful', link, issuer, calls).load(load);
    expect(r).toMatchObject({ ok: true, result: { logged: true } });
    expect(link.polls).toBe(2);
    expect(calls).toEqual(['authorizeLoad', 'recordLoad']);
    expect(await contents(card, issuer)).toEqual({ balance: 5000, log: ['5a5a5a5a5a5a5a5a'] });
  });

  it('(F) left once at the log write: the same log write (DUPLICATE_CHARGE_ID) counts as written', async () => {
    const { card, issuer } = await issued('faithful');
    const link = field(card, [2]);
    const r = await loading('faithful', link, issuer, []).load(load);
    expect(r).toMatchObject({ ok: true, result: { logged: true } });
    expect(link.polls).toBe(2);
    expect(await contents(card, issuer)).toEqual({ balance: 5000, log: ['5a5a5a5a5a5a5a5a'] });
  });

  it('left at the first Polling: polled again (no E_NODE_ABSENT) and the load completes', async () => {
    const { card, issuer } = await issued('hardened');
    const link = field(card, [1], FELICA_COMMANDS.polling.code);
    const calls: string[] = [];
    const r = await loading('hardened', link, issuer, calls).load(load);
    expect(r).toMatchObject({ ok: true, result: { logged: true } });
    expect(link.polls).toBe(2);
    expect(calls).toEqual(['authorizeLoad', 'recordLoad']);
    expect(await contents(card, issuer)).toEqual({ balance: 5000, log: ['5a5a5a5a5a5a5a5a'] });
  });

  it('left again at the re-tap (past the policy): the link-lost ends the load and nothing is recorded', async () => {
    const { card, issuer } = await issued('hardened');
    const link = field(card, [1, 2]);
    const calls: string[] = [];
    const e = await loading('hardened', link, issuer, calls)
      .load(load)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CardLeftField);
    expect((e as TransportError).kind).toBe('link-lost');
    expect(link.polls).toBe(2);
    expect(calls).toEqual(['authorizeLoad']);
    // The first write reached the card; the re-tap's was refused as its duplicate: applied once.
    expect(await contents(card, issuer)).toEqual({ balance: 5000, log: ['5a5a5a5a5a5a5a5a'] });
  });
});

describe('seed 003 merchant terminal: a card that leaves the field at the payment write', () => {
  it('left once: polled again, the same subtract is not applied twice and the payment is noticed once', async () => {
    const { card, issuer } = await issued('hardened');
    expect(await loading('hardened', field(card, []), issuer, []).load(load)).toMatchObject({ ok: true });
    const link = field(card, [1]);
    const paid: string[] = [];
    const brand = {
      recordPayment: (r: { txId: string }) => (paid.push(r.txId), Promise.resolve(accepted({}))),
    } as unknown as BrandHolderBackend;
    const pay = 'c3'.repeat(16);
    const terminal = new MerchantTerminal({
      terminalId: 't18_1_1',
      merchantId: 'm18_1_1',
      keyHolder: issuer,
      keys: ['F'],
      link: { kind: 'stand-alone', brandId: 'brand', brand, notification: 'per-tx' },
      client: new FelicaClient(link),
      issuers: ISSUERS,
      mode: 'hardened',
      clock: new VirtualClock(Date.UTC(2024, 3, 1)),
      rng: new SeededRng('brand-retap merchant'),
    });
    const r = await terminal.pay(1200, pay);
    expect(r).toMatchObject({ ok: true, result: { txId: pay, balanceAfter: 3800 } });
    expect(link.polls).toBe(2);
    expect(paid).toEqual([pay]);
    expect(terminal.auditView().inFlight).toEqual([]);
    expect(await contents(card, issuer)).toEqual({
      balance: 3800,
      log: ['c3c3c3c3c3c3c3c3', '5a5a5a5a5a5a5a5a'],
    });
  });
});
