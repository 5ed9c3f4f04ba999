// `mica run --pcap` (cli.md, rf.md §11): the main flow's card traffic as a capture. Exchange-level
// targets give an upper-PDU pcap stamped by the virtual clock (the same bytes for the same seed); the
// tshark tier decodes it with tshark.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { creditChargeEmoney } from '../src/run/scenarios/credit-charge-emoney';
import { runScenario } from '../src/run/runner';
import type { RunOptions } from '../src/run/scenario';

const dir = mkdtempSync(join(tmpdir(), 'mica-run-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base: RunOptions = {
  mode: 'hardened',
  transport: 'inproc',
  seed: 1,
  data: ':memory:',
  variants: { 'amount-change': 'add', identification: 'emoney-no' },
};

/** The pcap records: [seconds, microseconds, payload] (little-endian classic pcap). */
function records(pcap: Buffer): { ts: number; payload: Buffer }[] {
  const out: { ts: number; payload: Buffer }[] = [];
  for (let at = 24; at < pcap.length;) {
    const len = pcap.readUInt32LE(at + 8);
    out.push({ ts: pcap.readUInt32LE(at), payload: pcap.subarray(at + 16, at + 16 + len) });
    at += 16 + len;
  }
  return out;
}

describe('mica run --pcap', () => {
  it('writes an upper-PDU capture of the card traffic, the same for the same seed', async () => {
    const a = join(dir, 'a.pcap');
    const b = join(dir, 'b.pcap');
    const r = await runScenario(creditChargeEmoney, { ...base, pcap: a }, () => undefined);
    expect(r.exitCode).toBe(0);
    await runScenario(creditChargeEmoney, { ...base, pcap: b }, () => undefined);
    const pcap = readFileSync(a);
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.readUInt32LE(20)).toBe(252); // LINKTYPE_WIRESHARK_UPPER_PDU
    const recs = records(pcap);
    expect(recs.length).toBeGreaterThan(100);
    // Virtual time: the clock of flows.md 1.4 starts the run in 2004 (JST), not at the wall clock.
    expect(new Date(recs[0]!.ts * 1000).getUTCFullYear()).toBe(2004);
    // Both interfaces of the combined card appear: FeliCa frames and ISO 7816 APDUs.
    const text = recs.map((x) => x.payload.toString('latin1')).join('');
    expect(text).toContain('felica');
    expect(readFileSync(b).equals(pcap)).toBe(true);
  });
});
