// The platform core of flows.md 1.4: the virtual clock (JST days, same-instant FIFO, advance and
// runUntilIdle), the seeded Rng (checked against OpenSSL's ChaCha20 through node:crypto), txIds.
import { createCipheriv, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VirtualClock, jstDay, jstInstant, nextJstMonthDay } from '@mica/host-sdk/platform/clock';
import { SeededRng } from '@mica/host-sdk/platform/rng';
import { chargeIdOf, isTxId, newTxId } from '@mica/host-sdk/platform/tx-id';
import { RESULT_CODES, isResultCode } from '@mica/host-sdk/platform/result-codes';

describe('VirtualClock', () => {
  it('counts JST days from 2000-01-01 (UTC+9, no DST)', () => {
    expect(jstDay(Date.UTC(1999, 11, 31, 15, 0))).toBe(0);
    expect(jstDay(Date.UTC(1999, 11, 31, 14, 59, 59, 999))).toBe(-1);
    expect(jstDay(Date.UTC(2000, 0, 1, 15, 0))).toBe(1);
    // 2004-06-07 is 1619 days after 2000-01-01 (366 + 365 * 3 + 158).
    expect(new VirtualClock(jstInstant(2004, 6, 7, 10)).today()).toBe(1619);
    expect(nextJstMonthDay(jstInstant(2004, 6, 7, 10), 25)).toBe(Date.UTC(2004, 5, 24, 15));
    expect(nextJstMonthDay(jstInstant(2004, 12, 25), 25)).toBe(jstInstant(2005, 1, 25));
  });

  it('runs tasks in time order, same-instant tasks in the order scheduled, with the clock at each task', async () => {
    const c = new VirtualClock(1000);
    const seen: string[] = [];
    c.schedule(1500, () => void seen.push(`b@${c.now()}`));
    c.schedule(1200, () => void seen.push(`a@${c.now()}`));
    c.schedule(1500, () => void seen.push(`c@${c.now()}`));
    const late = c.schedule(3000, () => void seen.push('never'));
    c.schedule(1500, () => {
      seen.push(`d@${c.now()}`);
      c.schedule(1500, () => void seen.push(`e@${c.now()}`)); // due now: runs in this advance, after d
    });
    await c.advanceBy(500);
    expect(seen).toEqual(['a@1200', 'b@1500', 'c@1500', 'd@1500', 'e@1500']);
    expect(c.now()).toBe(1500);
    expect(late.cancel()).toBe(true);
    await c.runUntilIdle();
    expect(c.now()).toBe(1500);
    await expect(c.advanceTo(1000)).rejects.toThrow(/cannot move the clock back/);
  });

  it('runUntilIdle stops a task that always reschedules itself', async () => {
    const c = new VirtualClock(0);
    const again = (): void => void c.schedule(c.now() + 1, again);
    again();
    await expect(c.runUntilIdle(50)).rejects.toThrow(/ran 50 tasks/);
  });
});

describe('SeededRng', () => {
  it('is the ChaCha20 keystream under SHA-256("mica-rng:<seed>") (OpenSSL as the reference)', () => {
    const key = createHash('sha256').update('mica-rng:1').digest();
    // OpenSSL's chacha20 IV is counter (32-bit little-endian) ‖ nonce (12 bytes).
    const ks = createCipheriv('chacha20', key, new Uint8Array(16)).update(new Uint8Array(2000));
    const r = new SeededRng(1);
    const got = new Uint8Array([...r.bytes(7), ...r.bytes(1500), ...r.bytes(493)]);
    expect(Buffer.from(got).equals(ks)).toBe(true);
  });

  it('forks independent streams by label; one seed gives one stream', () => {
    expect(new SeededRng(3).bytes(16)).toEqual(new SeededRng(3).bytes(16));
    expect(new SeededRng(3).fork('a').bytes(16)).not.toEqual(new SeededRng(3).fork('b').bytes(16));
    expect(new SeededRng(3).fork('a').bytes(16)).toEqual(new SeededRng('3/a').bytes(16));
  });
});

describe('txIds and result codes', () => {
  it('a txId is 16 random bytes in hex; its charge ID the first 8', () => {
    const t = newTxId(new SeededRng(9));
    expect(isTxId(t)).toBe(true);
    expect(Buffer.from(chargeIdOf(t)).toString('hex')).toBe(t.slice(0, 16));
    expect(() => chargeIdOf('00')).toThrow(/32 lowercase hex/);
  });

  it('declares every code once', () => {
    expect(new Set(RESULT_CODES).size).toBe(RESULT_CODES.length);
    expect(isResultCode('E_TXID_CONFLICT')).toBe(true);
    expect(isResultCode('E_NOPE')).toBe(false);
  });
});
