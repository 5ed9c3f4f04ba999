// Tier "tshark" (rf.md §11.4, interop.md §5): mica writes the captures of a full FeliCa payment
// (authenticated purse + log write, felica-transcript-secure.json), an APDU session over Type A with
// chaining and a CRC fault, the same over Type B, and a mixed Type F + Type A run as pcapng; tshark
// (4.0, from Debian) must decode every frame, flag none malformed beyond the documented quirks, agree on
// every CRC, pair the APDUs with the vector's INS and SW, and show the FeliCa opcodes and the IDm. The
// Type F CRCs, which tshark cannot check, are checked against npm `crc`. Installs tshark when missing
// (as root); with CI=true a missing tshark fails the tier, otherwise it is skipped with one reason.
// Writes {"passed": n, "failed": n} to $MICA_TIER_REPORT.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc16xmodem } from 'crc';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { ListRandom, SeededRandom } from '@mica/card-os/random';
import { RfTransport, type RfTransportInit } from '@mica/host-sdk/transport/rf/rf-transport';
import type { WireEvent } from '@mica/host-sdk/transport/wire-trace';
import { packetsOf } from './packets';
import { pcapBytes } from './write';

const root = new URL('../../../', import.meta.url).pathname;
let passed = 0;
let failed = 0;

function check(name: string, ok: boolean, detail = ''): void {
  if (ok) passed += 1;
  else failed += 1;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok || detail === '' ? '' : `: ${detail}`}\n`);
}

function finish(): never {
  const report = process.env['MICA_TIER_REPORT'];
  if (report) writeFileSync(report, JSON.stringify({ passed, failed }));
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exit(failed === 0 ? 0 : 1);
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** tshark from Debian: installed as root when missing; never a silent skip in CI. */
function ensureTshark(): boolean {
  if (have('tshark')) return true;
  const ci = process.env['CI'] === 'true';
  if (process.getuid?.() !== 0) {
    if (ci) {
      check(
        'tshark installed',
        false,
        'tshark is missing and this CI run is not root (apt-get install tshark)',
      );
      finish();
    }
    process.stdout.write('skipped: tshark is not installed and this user cannot apt-get install it\n');
    return false;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): number | null =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'tshark'], {
      env,
      stdio: 'inherit',
      timeout: 300_000,
    }).status;
  if (install() !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: 'inherit', timeout: 300_000 });
    install();
  }
  check('tshark installed from Debian', have('tshark'), 'apt-get install tshark failed');
  if (!have('tshark')) finish();
  return true;
}

interface Vector {
  id: string;
  profile: unknown;
  cardRandom?: string[];
  exchanges: Record<string, string | null>[];
}

function vector(file: string, id: string): Vector {
  const j = JSON.parse(readFileSync(join(root, 'test-vectors', file), 'utf8')) as { vectors: Vector[] };
  const v = j.vectors.find((x) => x.id === id);
  if (!v) throw new Error(`${file} has no vector ${id}`);
  return v;
}

function cardOf(v: Vector, iso14443?: Record<string, string>): Card {
  const profile = v.profile as { chip?: Record<string, unknown> };
  const p = iso14443 ? { ...profile, chip: { ...(profile.chip ?? {}), iso14443 } } : profile;
  const random = v.cardRandom ? new ListRandom(v.cardRandom.map((x) => hexToBytes(x))) : new SeededRandom(0);
  const card = new Card(cardImageFromProfile(parseProfile(p)), { random });
  card.powerOn();
  return card;
}

interface Capture {
  readonly events: WireEvent[];
  readonly answers: (string | null)[];
}

async function capture(
  card: Card,
  init: RfTransportInit,
  run: (t: RfTransport) => Promise<(string | null)[]>,
): Promise<Capture> {
  const events: WireEvent[] = [];
  const t = new RfTransport(card.airEndpoint(), { ...init, onWire: (e) => events.push(e) });
  const answers = await run(t);
  await t.close();
  return { events, answers };
}

let dir = '';

function tshark(args: string[]): string[][] {
  const r = spawnSync('timeout', ['20', 'tshark', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: {
      ...process.env,
      HOME: join(dir, 'home'),
      XDG_CACHE_HOME: join(dir, 'cache'),
      XDG_CONFIG_HOME: join(dir, 'config'),
    },
  });
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** What mica wrote, packet by packet: the trace record behind it and whether a documented quirk applies. */
interface Written {
  readonly e: WireEvent;
  readonly bytes: Uint8Array;
  readonly quirk: string | undefined;
}

function written(events: readonly WireEvent[]): Written[] {
  // The same selection and order as the pcap writer: field events (A/B runs) and frames found on air.
  const sorted = [...events].sort((a, b) => a.t - b.t);
  const hasAB = sorted.some((e) => e.layer === 'air' && e.tech !== 'f');
  const list = sorted.filter(
    (e) =>
      (e.layer === 'air' && !e.lost) ||
      (hasAB && e.layer === 'event' && (e.event === 'field-on' || e.event === 'field-off')),
  );
  let prevTx: Uint8Array | undefined;
  return list.map((e) => {
    const bytes = hexToBytes(e.hex);
    let quirk: string | undefined;
    if (e.layer === 'air' && e.tech !== 'f') {
      const pcb = bytes[0] ?? 0;
      const nvbOdd = (b: Uint8Array | undefined) =>
        b !== undefined && [0x93, 0x95, 0x97].includes(b[0] ?? 0) && b[1] !== 0x20 && b[1] !== 0x70;
      if ((pcb & 0xf7) === 0xc2) quirk = 'S(DESELECT)';
      else if (e.dir === 'tx' && nvbOdd(bytes)) quirk = 'anticollision NVB';
      else if (e.dir === 'rx' && nvbOdd(prevTx)) quirk = 'answer to anticollision NVB';
      else if (e.tech === 'b' && pcb === 0x50 && bytes.length === 7) quirk = 'HLTB';
      else if (e.tech === 'b' && e.dir === 'rx' && bytes.length === 3 && pcb === 0x00 && prevTx?.[0] === 0x50)
        quirk = 'HLTB answer';
      if (e.dir === 'tx') prevTx = bytes;
    }
    if (e.layer === 'air' && e.tech === 'f' && e.dir === 'rx' && bytes[1] === 0x07 && (bytes[10] ?? 0) !== 0)
      quirk = 'Read Without Encryption error response';
    return { e, bytes, quirk };
  });
}

/** Rows of the first tshark command of rf.md §11.4, joined with mica's list: count, malformed, CRC status. */
function checkFrames(name: string, file: string, list: readonly Written[]): void {
  const rows = tshark([
    '-r',
    file,
    '-T',
    'fields',
    '-E',
    'separator=/t',
    '-e',
    'frame.number',
    '-e',
    '_ws.col.Info',
    '-e',
    'iso14443.crc.status',
    '-e',
    '_ws.malformed',
  ]);
  check(
    `${name}: tshark returns as many packets as mica wrote (${list.length})`,
    rows.length === list.length,
    `tshark ${rows.length}`,
  );
  const malformed = rows.filter((r, i) => (r[3] ?? '') !== '' && list[i]?.quirk === undefined);
  check(
    `${name}: no packet malformed beyond the documented quirks`,
    malformed.length === 0,
    malformed.map((r) => `#${r[0]} ${r[1]}`).join('; '),
  );
  const quirks = rows.filter((r, i) => (r[3] ?? '') !== '' && list[i]?.quirk !== undefined).map((r) => r[0]);
  if (quirks.length > 0) process.stdout.write(`     accepted quirks: frames ${quirks.join(', ')}\n`);
  const crcWrong: string[] = [];
  rows.forEach((r, i) => {
    const w = list[i];
    // A quirk frame is not dissected far enough to reach its CRC (rf.md §11.4 table).
    if (!w || w.e.layer !== 'air' || w.e.tech === 'f' || w.quirk !== undefined) return;
    const want = w.e.crc === 'ok' ? '1' : w.e.crc === 'bad' ? '0' : '';
    if ((r[2] ?? '') !== want)
      crcWrong.push(`#${r[0]} ${r[1]}: tshark "${r[2] ?? ''}", mica ${w.e.crc ?? '-'}`);
  });
  if (list.some((w) => w.e.layer === 'air' && w.e.tech !== 'f'))
    check(`${name}: every CRC_A/CRC_B status agrees with mica's`, crcWrong.length === 0, crcWrong.join('; '));
}

/** FeliCa: opcodes in exchange order, the Polling answer's IDm, and every Type F CRC by npm `crc`. */
function checkFelica(name: string, file: string, list: readonly Written[], idm: string): void {
  const f = list.filter((w) => w.e.tech === 'f');
  const rows = tshark([
    '-r',
    file,
    '-T',
    'fields',
    '-e',
    'frame.number',
    '-e',
    'felica.opcode',
    '-e',
    'felica.idm',
    '-e',
    'felica.status.flag1',
    '-e',
    'felica.status.flag2',
  ]);
  const fRows = list.length === f.length ? rows : rows.filter((_, i) => list[i]?.e.tech === 'f');
  const wantOps = f.map((w) => (w.e.crc === 'ok' ? `0x${w.bytes[1]!.toString(16).padStart(2, '0')}` : ''));
  const haveOps = fRows.map((r) => r[1] ?? '');
  check(
    `${name}: FeliCa opcodes follow the exchanges (${wantOps.length} frames)`,
    JSON.stringify(haveOps) === JSON.stringify(wantOps),
    `${haveOps.join(',')} vs ${wantOps.join(',')}`,
  );
  const polled = fRows.find((r) => r[1] === '0x01');
  check(
    `${name}: the Polling response shows the card's IDm`,
    polled?.[2] === `0x${idm}`,
    `got ${polled?.[2] ?? 'none'}`,
  );
  const bad = f.filter((w) => {
    const len = w.bytes[0] ?? 0;
    const body = w.bytes.subarray(0, len);
    const c = (w.bytes[len]! << 8) | w.bytes[len + 1]!;
    return (crc16xmodem(Buffer.from(body)) === c ? 'ok' : 'bad') !== w.e.crc;
  });
  check(
    `${name}: every Type F CRC (npm crc crc16xmodem) agrees with mica's record`,
    bad.length === 0,
    bad.map((w) => w.e.hex).join('; '),
  );
}

/**
 * APDUs in I-blocks (chains reassembled): SW as in the vector, each response pointing to the reader's
 * I-block that carried its command, and the INS there as in the vector. tshark names the INS only for
 * interindustry commands (CLA bit 8 clear); proprietary-class commands show no INS field.
 */
function checkApdus(name: string, file: string, v: Vector, list: readonly Written[]): void {
  const rows = tshark([
    '-r',
    file,
    '-d',
    'iso14443.subdissector,iso7816',
    '-T',
    'fields',
    '-e',
    'frame.number',
    '-e',
    'iso7816.apdu.ins',
    '-e',
    'iso7816.apdu.sw1',
    '-e',
    'iso7816.apdu.sw2',
    '-e',
    'iso7816.resp_to',
  ]);
  const byFrame = new Map(rows.map((r) => [Number(r[0]), r]));
  const rsps = rows.filter((r) => (r[2] ?? '') !== '');
  const wantSw = v.exchanges.map((e) => `0x${e['r']!.slice(-4, -2)} 0x${e['r']!.slice(-2)}`);
  check(
    `${name}: SW1 SW2 of every response as in the vector (${wantSw.length})`,
    JSON.stringify(rsps.map((r) => `${r[2]} ${r[3]}`)) === JSON.stringify(wantSw),
    rsps.map((r) => `${r[2]}${r[3]}`).join(','),
  );
  const wrong: string[] = [];
  let after = 0;
  rsps.forEach((r, i) => {
    const at = Number(r[4]);
    const w = list[at - 1];
    const isIBlock = w !== undefined && w.e.dir === 'tx' && ((w.bytes[0] ?? 0) & 0xe2) === 0x02;
    if (!(at > after && at < Number(r[0]) && isIBlock)) wrong.push(`#${r[0]} → #${r[4]}`);
    const c = v.exchanges[i]?.['c'] ?? '';
    const interindustry = (parseInt(c.slice(0, 2), 16) & 0x80) === 0;
    const ins = byFrame.get(at)?.[1] ?? '';
    if (interindustry && ins !== `0x${c.slice(2, 4)}`)
      wrong.push(`#${at} INS ${ins}, vector ${c.slice(2, 4)}`);
    after = Number(r[0]);
  });
  check(
    `${name}: each response points to its command's I-block, INS as in the vector`,
    wrong.length === 0,
    wrong.join('; '),
  );
}

async function main(): Promise<void> {
  if (!ensureTshark()) finish();
  dir = mkdtempSync(join(tmpdir(), 'mica-tshark-'));
  for (const d of ['home', 'cache', 'config']) mkdirSync(join(dir, d));
  try {
    // 1. A full FeliCa payment over Type F: Polling, mutual authentication, secure Read, purse + log Write.
    const pay = vector('felica-transcript-secure.json', 'secure-session-2k3des');
    const f = await capture(cardOf(pay), { tech: 'f', snrR2c: 18, snrC2r: 18 }, async (t) => {
      const out: (string | null)[] = [];
      for (const e of pay.exchanges) {
        const r = await t.felica(hexToBytes(e['tx']!));
        out.push(r === null ? null : Buffer.from(r).toString('hex'));
      }
      return out;
    });
    const same = pay.exchanges.every(
      (e, i) => (e['rx'] === null ? null : e['rx']!.replace(/\s+/g, '').toLowerCase()) === f.answers[i],
    );
    check('F: the payment answers as its transcript over rf:', same);
    const fFile = join(dir, 'F.pcap');
    writeFileSync(fFile, pcapBytes(f.events));
    const fList = written(f.events);
    checkFrames('F', fFile, fList);
    const idm = ((pay.profile as { chip?: { idm?: string } }).chip?.idm ?? '02fe010203040506').toLowerCase();
    checkFelica('F', fFile, fList, idm);

    // 2. An APDU session over Type A: SM e-money cashback, 32-byte frames both ways (chaining), a CRC fault.
    const apdu = vector('apdu-transcript-secure.json', 'emoney-secure-2k3des-cashback');
    const runApdus = (v: Vector) => async (t: RfTransport) => {
      const out: (string | null)[] = [];
      for (const e of v.exchanges) out.push(Buffer.from(await t.apdu(hexToBytes(e['c']!))).toString('hex'));
      return out;
    };
    const a = await capture(
      cardOf(apdu, { ats: '0572807002' }),
      { tech: 'a', fsd: 32, inject: [{ exchange: 8, kind: 'crc' }] },
      runApdus(apdu),
    );
    check(
      'A: the session answers as its transcript over rf:',
      apdu.exchanges.every((e, i) => e['r']!.replace(/\s+/g, '').toLowerCase() === a.answers[i]),
    );
    const aFile = join(dir, 'A.pcap');
    writeFileSync(aFile, pcapBytes(a.events));
    const aList = written(a.events);
    check(
      'A: the capture holds a frame with a bad CRC (injected)',
      aList.some((w) => w.e.crc === 'bad'),
    );
    checkFrames('A', aFile, aList);
    checkApdus('A', aFile, apdu, aList);

    // 3. The same over Type B.
    const b = await capture(cardOf(apdu), { tech: 'b', fsd: 32 }, runApdus(apdu));
    const bFile = join(dir, 'B.pcap');
    writeFileSync(bFile, pcapBytes(b.events));
    const bList = written(b.events);
    checkFrames('B', bFile, bList);
    checkApdus('B', bFile, apdu, bList);

    // 4. Type F and Type A in one run: pcapng with interfaces 264 and 252.
    const m = await capture(cardOf(pay), {}, async (t) => {
      const p = await t.felica(hexToBytes('0600ffff0100'));
      const g = await t.apdu(hexToBytes('00a4040007a000000003101000'));
      return [p === null ? null : Buffer.from(p).toString('hex'), Buffer.from(g).toString('hex')];
    });
    const mFile = join(dir, 'M.pcapng');
    writeFileSync(mFile, pcapBytes(m.events, { pcapng: true }));
    check('M: the mixed run needs both link types', packetsOf(m.events).linktypes.length === 2);
    const mList = written(m.events);
    checkFrames('M', mFile, mList);
    checkFelica('M', mFile, mList, '02fe010203040506');

    // 5. A business flow's capture: `mica run credit-charge-emoney --pcap` (exchange level, upper PDU).
    const runFile = join(dir, 'run.pcap');
    const run = spawnSync(
      process.execPath,
      [join(root, 'tools/bin/mica.js'), 'run', 'credit-charge-emoney', '--pcap', runFile],
      { encoding: 'utf8', maxBuffer: 16 << 20 },
    );
    check('R: mica run credit-charge-emoney --pcap passes its checks', run.status === 0, run.stderr);
    const rows = tshark(['-r', runFile, '-T', 'fields', '-e', 'frame.protocols', '-e', '_ws.malformed']);
    check('R: tshark reads every packet of the run', rows.length > 100, `${rows.length} packets`);
    check(
      'R: the run holds FeliCa frames and ISO 7816 APDUs',
      rows.some((r) => r[0]!.includes('felica')) && rows.some((r) => r[0]!.includes('iso7816')),
      [...new Set(rows.map((r) => r[0]))].join(', '),
    );
    check(
      'R: no packet of the run is malformed',
      rows.every((r) => (r[1] ?? '') === ''),
    );
  } catch (e) {
    check('tier ran to the end', false, (e as Error).stack ?? String(e));
  } finally {
    if (process.env['MICA_TSHARK_KEEP'] === undefined) rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`captures kept in ${dir}\n`);
  }
  finish();
}

await main();
