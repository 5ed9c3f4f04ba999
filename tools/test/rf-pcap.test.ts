// pcap traces (rf.md §11): the exact byte layouts of §11.2 built by hand, packets from JSONL records, a
// byte-exact snapshot of a fixed Type A transaction over rf:, determinism, pcapng for mixed runs, and
// `--pcap` on mica felica / mica apdu.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { RfTransport } from '@mica/host-sdk/transport/rf/rf-transport';
import type { WireEvent } from '@mica/host-sdk/transport/wire-trace';
import { UsageError } from '../src/cli-error';
import { packetsOf } from '../src/trace/packets';
import { iso14443Record, pcapFile, upperPduRecord } from '../src/trace/pcap';
import { pcapBytes } from '../src/trace/write';

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mica-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const h = (s: string): string => s.replace(/\s+/g, '');

describe('byte layouts of rf.md §11.2', () => {
  it('global header and LINKTYPE_ISO_14443 records', () => {
    expect(bytesToHex(iso14443Record(0xfc))).toBe('00fc0000');
    expect(bytesToHex(iso14443Record(0xfe, hexToBytes('26')))).toBe('00fe000126');
    expect(bytesToHex(iso14443Record(0xff, hexToBytes('0400')))).toBe('00ff00020400');
    expect(bytesToHex(iso14443Record(0xfe, hexToBytes('e050bca5')))).toBe('00fe0004e050bca5');
    const file = pcapFile(264, [{ tsUs: 1_500_002, linktype: 264, body: iso14443Record(0xfc) }]);
    expect(bytesToHex(file)).toBe(
      h(`d4c3b2a1 0200 0400 00000000 00000000 00000400 08010000
         01000000 22a10700 04000000 04000000 00fc0000`),
    );
  });

  it('upper-PDU records: dissector name, direction, end tag, payload', () => {
    expect(bytesToHex(upperPduRecord('felica', 0, hexToBytes('00ffff0100')))).toBe(
      h('000c 0006 66656c696361 0023 0004 00000000 00000000 00ffff0100'),
    );
    expect(bytesToHex(pcapFile(252, []).subarray(20))).toBe('fc000000');
  });

  it('Type F frames: LEN and CRC stripped for felica, all of LEN..CRC as data on a bad CRC; lost frames skipped', () => {
    const events: WireEvent[] = [
      { t: 0, dir: 'tx', layer: 'event', hex: '', event: 'field-on' },
      { t: 5000, dir: 'tx', layer: 'air', tech: 'f', hex: '0600ffff01003a10', crc: 'ok' },
      { t: 8020.65, dir: 'rx', layer: 'air', tech: 'f', hex: '0601ffff01003a11', crc: 'bad' },
      { t: 9000, dir: 'rx', layer: 'air', tech: 'f', hex: '', crc: 'none', lost: true },
    ];
    const { packets, linktypes } = packetsOf(events, { epochS: 10 });
    expect(linktypes).toEqual([252]);
    expect(packets.map((p) => p.tsUs)).toEqual([10_005_000, 10_008_020]);
    expect(bytesToHex(packets[0]!.body)).toBe(
      h('000c0006 66656c696361 00230004 00000000 00000000 00ffff0100'),
    );
    expect(bytesToHex(packets[1]!.body)).toBe(
      h('000c0004 64617461 00230004 00000001 00000000 0601ffff01003a11'),
    );
  });

  it('a run with Type F and Type A frames needs pcapng: a .pcap name is a usage error naming the fix', () => {
    const events: WireEvent[] = [
      { t: 0, dir: 'tx', layer: 'event', hex: '', event: 'field-on' },
      { t: 5000, dir: 'tx', layer: 'air', tech: 'f', hex: '0600ffff01003a10', crc: 'ok' },
      { t: 9000, dir: 'tx', layer: 'air', tech: 'a', hex: '26', crc: 'none', bits: 7 },
    ];
    expect(() => pcapBytes(events)).toThrow(UsageError);
    expect(() => pcapBytes(events)).toThrow(/\.pcapng/);
    const ng = pcapBytes(events, { pcapng: true });
    expect(bytesToHex(ng.subarray(0, 4))).toBe('0a0d0d0a');
    // Two Interface Description Blocks: 264 then 252.
    expect(bytesToHex(ng.subarray(28, 32))).toBe('01000000');
    expect(bytesToHex(ng.subarray(36, 38))).toBe('0801');
    expect(bytesToHex(ng.subarray(56, 58))).toBe('fc00');
  });
});

function typeATransaction(): Uint8Array {
  const profile = parseProfile({
    chip: { blocks: 512, idm: '02fe010203040506', iso14443: { uid: '08123456' } },
    systems: [{ systemCode: '12fc', areas: [{ code: '0000', end: 'fffe', capacity: 8, services: [] }] }],
  });
  const card = new Card(cardImageFromProfile(profile));
  card.powerOn();
  const events: WireEvent[] = [];
  const t = new RfTransport(card.airEndpoint(), { tech: 'a', onWire: (e) => events.push(e) });
  void t.apdu(hexToBytes('ffca000000'));
  void t.apdu(hexToBytes('00a4040007a000000003101000'));
  void t.close();
  return pcapBytes(events);
}

describe('rf: traces', () => {
  it('a fixed Type A transaction gives byte-identical pcaps (snapshot) run after run', async () => {
    const a = typeATransaction();
    expect(bytesToHex(typeATransaction())).toBe(bytesToHex(a));
    const text = bytesToHex(a).replace(/(.{64})/g, '$1\n');
    await expect(`${text}\n`).toMatchFileSnapshot('./rf-snapshots/type-a-transaction.pcap.hex');
  });

  it('mica felica and mica apdu --pcap: upper-PDU for sim:, on-air frames for rf:', () => {
    const img = join(dir, 'c.img');
    const mica = (args: string[]) =>
      spawnSync(process.execPath, [join(root, 'tools/bin/mica.js'), ...args], {
        cwd: root,
        encoding: 'utf8',
      });
    expect(mica(['card', 'new', img, '--idm', '02fe010203040506', '--blocks', '512', '--force']).status).toBe(
      0,
    );
    const sim = join(dir, 's.pcap');
    const r1 = mica(['felica', img, '0600ffff0100', '--pcap', sim, '--pcap-epoch', '100']);
    expect(r1.status, r1.stderr).toBe(0);
    const s = readFileSync(sim);
    expect(s.readUInt32LE(20)).toBe(252);
    expect(s.readUInt32LE(24)).toBe(100); // ts_sec of the first record
    const air = join(dir, 'a.pcap');
    const r2 = mica(['apdu', `rf:sim:${img}`, 'ffca000000', '--pcap', air]);
    expect(r2.status, r2.stderr).toBe(0);
    const a = readFileSync(air);
    expect(a.readUInt32LE(20)).toBe(264);
    expect(bytesToHex(a.subarray(40, 44))).toBe('00fc0000'); // field on first
    expect(mica(['felica', img, '0600ffff0100', '--pcap-epoch', '5']).status).toBe(2);
  });
});
