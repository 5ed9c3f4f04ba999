// Timing (rf.md §8): the airtime examples of §8.1, the PMm examples of §8.4, FWT/SFGT/WTX, Polling slots,
// the Type A frame delay on the reader's bit grid, and the report of §8.7.
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { typeABitCount } from '@mica/apdu-specs/rf/type-a';
import { budgetFromByte, felicaBudgetFc, felicaBudgetN, pmmByteFor } from '../src/rf/felica-budget';
import { receiveFrame, transmitFrame } from '../src/rf/link';
import { buildReport, Timeline } from '../src/rf/timeline';
import {
  answerStartFc,
  fcToUs,
  felicaAirtimeFc,
  fwtFc,
  pollingListenFc,
  pollingSlotStartFc,
  sfgtFc,
  typeAAirtimeFc,
  typeAAnswerDelayFc,
  typeAFdtFc,
  typeBAirtimeFc,
  usToFc,
  wtxmFor,
  wtxWindowFc,
} from '../src/rf/timing';

describe('frame airtime (rf.md §8.1 worked examples)', () => {
  it.each([
    ['Polling, 212 kbps', felicaAirtimeFc(6, 212), 8192, 604.13],
    ['Polling, 424 kbps', felicaAirtimeFc(6, 424), 4096, 302.06],
    ['Polling response LEN 0x12', felicaAirtimeFc(0x12), 14336, 1057.23],
    ['Polling response with system code LEN 0x14', felicaAirtimeFc(0x14), 15360, 1132.74],
    ['Read Without Encryption command LEN 0x10', felicaAirtimeFc(0x10), 13312, 981.71],
    ['Read Without Encryption response LEN 0x1D', felicaAirtimeFc(0x1d), 19968, 1472.57],
    ['REQA', typeAAirtimeFc(7), 1152, 84.96],
    ['ATQA', typeAAirtimeFc(typeABitCount({ bytes: hexToBytes('0400') })), 2560, 188.79],
    ['RATS E0 50 BC A5', typeAAirtimeFc(typeABitCount({ bytes: hexToBytes('e050bca5') })), 4864, 358.7],
    ['REQB 05 00 00 71 FF', typeBAirtimeFc('r2c', 5), 9216, 679.65],
    ['ATQB, 14 characters', typeBAirtimeFc('c2r', 14), 22016, 1623.6],
  ])('%s: %i/fc = %f µs', (_, fc, wantFc, wantUs) => {
    expect(fc).toBe(wantFc);
    expect(fcToUs(fc)).toBe(wantUs);
  });

  it('equals the span of the transmitted chips (Type F, Type B) or the span minus the idle Y (Type A r2c)', () => {
    const f = transmitFrame('f', 'r2c', hexToBytes('0600ffff0100'));
    expect(f.endFc - f.startFc).toBe(felicaAirtimeFc(6));
    const b = transmitFrame('b', 'c2r', hexToBytes('5001020304000000000081717a18'));
    expect(b.endFc - b.startFc).toBe(typeBAirtimeFc('c2r', 14));
    const a = transmitFrame('a', 'r2c', hexToBytes('26'), { validBitsInLastByte: 7 });
    expect(a.endFc - a.startFc - 128).toBe(typeAAirtimeFc(7));
    expect(usToFc(604.13)).toBe(8192);
  });
});

describe('FeliCa PMm budget (rf.md §8.4 worked examples)', () => {
  const liteS = hexToBytes('00f1000000014300');
  it.each([
    ['Read, n = 1', felicaBudgetFc(liteS, 0x06, 1), 3, 906.19],
    ['Read, n = 4', felicaBudgetFc(liteS, 0x06, 4), 6, 1812.39],
    ['Write, n = 1', felicaBudgetFc(liteS, 0x08, 1), 20, 6041.3],
    ['budget byte 4B, n = 1', budgetFromByte(0x4b, 1), 24, 7249.56],
    ['budget byte 00, n = 1', budgetFromByte(0x00, 1), 2, 604.13],
  ])('%s = %i · T_u = %f µs', (_, fc, tu, us) => {
    expect(fc).toBe(tu * 4096);
    expect(fcToUs(fc)).toBe(us);
  });

  it('uses the PMm byte of each command family and refuses Polling', () => {
    expect(
      [0x02, 0x32, 0x04, 0x0a, 0x0c, 0x10, 0x12, 0x40, 0x42, 0x06, 0x14, 0x44, 0x08, 0x16, 0x46, 0x3e].map(
        pmmByteFor,
      ),
    ).toEqual([2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7]);
    expect(() => pmmByteFor(0x00)).toThrow(/time slots/);
  });

  it('reads n from the command frame where it fixes it', () => {
    expect(felicaBudgetN(hexToBytes('1006 02fe010203040506 01 0900 01 8000'))).toBe(1);
    expect(felicaBudgetN(hexToBytes('0e02 02fe010203040506 02 0900 4a10'))).toBe(2);
    expect(felicaBudgetN(hexToBytes('0a04 02fe010203040506'))).toBe(0);
    expect(felicaBudgetN(hexToBytes('0600ffff0100'))).toBeUndefined();
  });
});

describe('ISO-DEP waiting times (rf.md §8.5)', () => {
  it('FWT = T_u · 2^FWI: 4.833 ms (FWI 4, default), 38.66 ms (FWI 7), 4949.03 ms (FWI 14)', () => {
    expect(fcToUs(fwtFc())).toBe(4833.04);
    expect(Math.round(fcToUs(fwtFc(7)) / 10) / 100).toBe(38.66);
    expect(Math.round(fcToUs(fwtFc(14)) / 10) / 100).toBe(4949.03);
    expect(() => fwtFc(15)).toThrow(RangeError);
  });

  it('SFGT, WTXM and the window after S(WTX)', () => {
    expect(sfgtFc(0)).toBe(4096);
    expect(wtxmFor(fwtFc(4), 4)).toBe(0);
    expect(wtxmFor(fwtFc(4) * 2.5, 4)).toBe(3);
    expect(wtxmFor(fwtFc(4) * 100, 4)).toBe(59);
    expect(wtxWindowFc(3, 4)).toBe(3 * fwtFc(4));
    expect(wtxWindowFc(59, 14)).toBe(fwtFc(14));
  });
});

describe('Polling time slots (rf.md §8.3, §8.6)', () => {
  it('slot s starts 2416.52 µs + s · 1208.26 µs after the Polling frame', () => {
    expect(fcToUs(pollingSlotStartFc(0))).toBe(2416.52);
    expect(fcToUs(pollingSlotStartFc(1) - pollingSlotStartFc(0))).toBe(1208.26);
    expect(pollingSlotStartFc(15)).toBe(512 * 64 + 15 * 256 * 64);
    expect(pollingListenFc(0x03)).toBe(512 * 64 + 4 * 256 * 64);
    expect(() => pollingListenFc(2)).toThrow(RangeError);
  });

  it('an 18- or 20-byte response fits in one slot at 212 kbps', () => {
    expect(felicaAirtimeFc(0x14)).toBeLessThan(pollingSlotStartFc(1) - pollingSlotStartFc(0));
  });
});

describe('Type A frame delay (rf.md §8.3)', () => {
  it('puts the answer at the same point of the reader’s bit grid after a last bit 0 or 1', () => {
    // Last data bit j starts at t; last bit 1: pause ends at t + 96; last bit 0: EoF Z ends at t + 160.
    const t = 10_000;
    expect(t + 96 + typeAFdtFc(1)).toBe(t + 160 + typeAFdtFc(0));
    expect(typeAFdtFc(1)).toBe(128 * 9 + 84);
    expect(typeAFdtFc(0, 10)).toBe(128 * 10 + 20);
  });

  it('measured from the demodulated end of the last pause for REQA (0) and WUPA (1)', () => {
    const reqa = transmitFrame('a', 'r2c', hexToBytes('26'), { validBitsInLastByte: 7 });
    const wupa = transmitFrame('a', 'r2c', hexToBytes('52'), { validBitsInLastByte: 7 });
    const r = receiveFrame(reqa, 'a', 'r2c').lastPauseEndFc! + typeAFdtFc(0);
    const w = receiveFrame(wupa, 'a', 'r2c').lastPauseEndFc! + typeAFdtFc(1);
    // Both answers start 128·9 + 180 after the start of the last data bit (bit 6 after the SoF).
    expect(r - reqa.startFc).toBe(7 * 128 + 128 * 9 + 180);
    expect(w - wupa.startFc).toBe(7 * 128 + 128 * 9 + 180);
  });

  it('waits for processing on the bit grid (smallest n ≥ 9 that fits)', () => {
    expect(typeAAnswerDelayFc(1, 0)).toBe(typeAFdtFc(1, 9));
    expect(typeAAnswerDelayFc(1, 2000)).toBe(typeAFdtFc(1, 15)); // 128·15 + 84 = 2004 ≥ 2000
    expect(typeAAnswerDelayFc(0, 2000)).toBe(typeAFdtFc(0, 16)); // 128·15 + 20 = 1940 < 2000
    expect(answerStartFc(2672, 100)).toBe(2672);
    expect(answerStartFc(2672, 5000)).toBe(5000);
  });
});

describe('timeline and report (rf.md §8.2, §8.7)', () => {
  it('places frames and gaps in carrier cycles and reports µs rounded to 0.01', () => {
    const tl = new Timeline();
    const cmd = tl.frame({
      dir: 'r2c',
      tech: 'f',
      bytes: hexToBytes('0600ffff0100'),
      airtimeFc: felicaAirtimeFc(6),
      activation: true,
    });
    tl.wait(pollingSlotStartFc(0));
    const rsp = tl.frame({
      dir: 'c2r',
      tech: 'f',
      bytes: new Uint8Array(0x14),
      airtimeFc: felicaAirtimeFc(0x14),
      activation: true,
    });
    tl.fieldOff();
    const report = buildReport(
      { tech: 'f', rateKbps: 212, spb: 8, snrDb: 12, k: 0.1, lm: 0.1, seed: 1 },
      tl,
      [
        {
          kind: 'felica:00',
          attempts: 1,
          outcome: 'ok',
          cmd: { bytes: cmd.bytes, startFc: cmd.startFc, airtimeFc: cmd.airtimeFc, decoded: 'ok' },
          gapFc: pollingSlotStartFc(0),
          slot: 0,
          rsp: {
            bytes: rsp.bytes.subarray(0, 2),
            startFc: rsp.startFc,
            airtimeFc: rsp.airtimeFc,
            crc: 'ok',
            polarity: 'normal',
            bitErrors: 0,
          },
          budgetFc: null,
          timingViolation: false,
          retriedAfterExecution: false,
        },
      ],
    );
    expect(report.exchanges[0]).toEqual({
      i: 0,
      kind: 'felica:00',
      attempts: 1,
      outcome: 'ok',
      cmd: { hex: '06 00 ff ff 01 00', startUs: 0, airtimeUs: 604.13, decoded: 'ok' },
      gapUs: 2416.52,
      slot: 0,
      rsp: {
        hex: '00 00',
        startUs: 3020.65,
        airtimeUs: 1132.74,
        crc: 'ok',
        polarity: 'normal',
        bitErrors: 0,
      },
      budgetUs: null,
      timingViolation: false,
      retriedAfterExecution: false,
    });
    expect(report.transaction).toEqual({
      elapsedUs: fcToUs(8192 + 32768 + 15360),
      airtimeUs: fcToUs(8192 + 15360),
      activationUs: fcToUs(8192 + 32768 + 15360),
      exchanges: 1,
      attempts: 1,
      retries: 0,
      outcome: 'ok',
    });
    expect(tl.fieldEvents.map((e) => e.kind)).toEqual(['field-on', 'field-off']);
  });
});
