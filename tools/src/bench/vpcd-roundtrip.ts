// The bench row "vpcd APDU round trip through pcscd" (ARCHITECTURE.md): one APDU through libpcsclite,
// pcscd, vpcd and a mica card served by `mica serve vpcd`, beside the same round trip to the echo card
// (a vpcd card that only echoes), both in the pcscd sandbox of interop.md 3.3, measured alternately.
import { join } from 'node:path';
import { hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { saveImageFile } from '@mica/card-os/hal/image-file';
import { loadPcscModule, PcscTransport } from '@mica/host-sdk/transport/pcsc';
import { sandboxUnavailable, startPcscdSandbox } from '../interop/pcscd-sandbox';

const root = new URL('../../../', import.meta.url).pathname;
/** PC/SC GET DATA (UID): answered by the card's dispatcher without an applet. */
const APDU = hexToBytes('ffca000000');

/** Why the row cannot run here (needs root, pcscd, vpcd and the smartcard binding), or undefined. */
export async function pcscRoundTripUnavailable(): Promise<string | undefined> {
  const why = sandboxUnavailable();
  if (why) return why;
  try {
    await loadPcscModule();
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function openWhenPresent(reader: string): Promise<PcscTransport> {
  const end = Date.now() + 15_000;
  for (;;) {
    try {
      return await PcscTransport.open(reader);
    } catch (e) {
      if (Date.now() > end) throw e;
      await sleep(100);
    }
  }
}

/** Mean microseconds per APDU round trip: the mica card and the echo card. */
export async function pcscRoundTrip(seconds: number): Promise<{ micaUs: number; echoUs: number }> {
  const box = await startPcscdSandbox();
  const saved = process.env['PCSCLITE_CSOCK_NAME'];
  // libpcsclite reads the socket name when the first context is created.
  process.env['PCSCLITE_CSOCK_NAME'] = box.env['PCSCLITE_CSOCK_NAME'];
  const transports: PcscTransport[] = [];
  try {
    const image = join(box.dir, 'bench.img');
    saveImageFile(
      image,
      cardImageFromProfile(
        parseProfile({
          systems: [{ systemCode: '12fc', areas: [{ code: '0000', end: 'fffe', capacity: 8 }] }],
        }),
      ),
    );
    box.spawnInNet(process.execPath, [join(root, 'tools/bin/mica.js'), 'serve', 'vpcd', image], {
      stdio: 'ignore',
    });
    box.spawnInNet(
      process.execPath,
      ['--import', 'tsx', join(root, 'tools/src/vpcd/echo-card-main.ts'), '35964'],
      {
        cwd: root,
        stdio: 'ignore',
      },
    );
    const mica = await openWhenPresent('Virtual PCD 00 00');
    transports.push(mica);
    const echo = await openWhenPresent('Virtual PCD 00 01');
    transports.push(echo);
    const time = { mica: 0, echo: 0 };
    let n = 0;
    const start = Date.now();
    // Alternate small batches so that drift on a shared machine hits both cards alike.
    do {
      for (const [key, t] of [
        ['mica', mica],
        ['echo', echo],
      ] as const) {
        const t0 = process.hrtime.bigint();
        for (let k = 0; k < 5; k++) await t.apdu(APDU);
        time[key] += Number(process.hrtime.bigint() - t0) / 1000;
      }
      n += 5;
    } while (n < 10 || Date.now() - start < seconds * 1000);
    return { micaUs: time.mica / n, echoUs: time.echo / n };
  } finally {
    for (const t of transports) await t.close();
    if (saved === undefined) delete process.env['PCSCLITE_CSOCK_NAME'];
    else process.env['PCSCLITE_CSOCK_NAME'] = saved;
    await box.stop();
  }
}
