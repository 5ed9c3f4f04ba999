// `mica felica` and `mica apdu`: send FeliCa frames or command APDUs to a card and print each answer, or `-`.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { bytesToHex } from '@mica/apdu-specs/hex';
import { SeededRandom } from '@mica/card-os/random';
import type { Transport } from '@mica/host-sdk/transport/transport';
import { TransportError } from '@mica/host-sdk/transport/transport';
import { hexArg, intArg } from '../args';
import { UsageError } from '../cli-error';
import { openTarget, schemeOf } from '../targets';
import { TraceRecorder } from '../trace/recorder';

type Interface = 'felica' | 'apdu';

interface ExchangeOptions {
  seed?: string;
  powerCutAfterBytes?: string;
  stdin?: boolean;
  pcap?: string;
  pcapEpoch?: string;
}

const WORDS: Record<Interface, { one: string; many: string; description: string; examples: string }> = {
  felica: {
    one: 'frame',
    many: 'frames',
    description:
      'power the chip on, send each FeliCa frame, print each answer (hex, LEN first) or - for silence',
    examples:
      '\nExamples:\n  mica felica card.img 0600ffff0100\n  mica felica sim:card.img --stdin < frames.txt\n' +
      "  mica felica 'rf:sim:card.img?snr=14&rate=424' 0600ffff0100 --pcap polling.pcap\n",
  },
  apdu: {
    one: 'APDU',
    many: 'APDUs',
    description:
      'power the chip on, send each command APDU, print each answer (response data ‖ SW1 SW2) or - for silence',
    examples:
      '\nExamples:\n  mica apdu card.img ffca000000\n  mica apdu card.img 80fe00000a0a0402fe010203040506\n' +
      "  mica apdu 'rf:sim:card.img?tech=b' ffca000000 --pcap session.pcap\n",
  },
};

/** One exchange; silence, and an APDU that found no powered card (after a power cut), print `-`. */
async function answer(t: Transport, iface: Interface, line: string, what: string): Promise<string> {
  const bytes = hexArg(line, what);
  try {
    const r = iface === 'felica' ? await t.felica(bytes) : await t.apdu(bytes);
    return r === null ? '-' : bytesToHex(r);
  } catch (e) {
    if (e instanceof TransportError && e.kind === 'link-lost') return '-';
    throw e;
  }
}

function registerExchange(program: Command, iface: Interface): void {
  const w = WORDS[iface];
  program
    .command(`${iface} <target> [${w.many}...]`)
    .description(w.description)
    .option('--seed <n>', "seed of the card's random source (reproducible random numbers)")
    .option('--power-cut-after-bytes <n>', 'cut the power after the N-th EEPROM byte write of the session')
    .option('--stdin', `read one ${w.one} per line from stdin, answering each at once`)
    .option(
      '--pcap <file>',
      'write a capture for Wireshark: rf: targets their frames as on air, others their exchanges (.pcapng for pcapng)',
    )
    .option(
      '--pcap-epoch <s>',
      'capture timestamps start at this many seconds since 1970 (default: rf: 0, others the clock)',
    )
    .addHelpText('after', w.examples)
    .action(async (target: string, items: string[], o: ExchangeOptions) => {
      if (o.stdin && items.length > 0)
        throw new UsageError(`give ${w.many} as arguments or with --stdin, not both`);
      if (!o.stdin && items.length === 0)
        throw new UsageError(`no ${w.many} given (pass hex ${w.many}, or --stdin)`);
      // Check every argument before the card is touched.
      items.forEach((f, i) => hexArg(f, `${w.one} ${i + 1}`));
      const random =
        o.seed === undefined
          ? undefined
          : new SeededRandom(BigInt(intArg(o.seed, '--seed', 0, Number.MAX_SAFE_INTEGER)));
      const cut =
        o.powerCutAfterBytes === undefined
          ? undefined
          : intArg(o.powerCutAfterBytes, '--power-cut-after-bytes', 0, Number.MAX_SAFE_INTEGER);
      const epoch =
        o.pcapEpoch === undefined ? undefined : intArg(o.pcapEpoch, '--pcap-epoch', 0, 4294967295);
      if (epoch !== undefined && o.pcap === undefined) throw new UsageError('--pcap-epoch needs --pcap');
      const recorder = o.pcap === undefined ? undefined : new TraceRecorder(epoch);
      const air = schemeOf(target).scheme === 'rf';
      const session = await openTarget(target, {
        ...(random ? { random } : {}),
        ...(cut !== undefined ? { powerCutAfterBytes: cut } : {}),
        ...(recorder && air ? { onWire: recorder.onWire } : {}),
      });
      try {
        const t = recorder && !air ? recorder.wrap(session.transport) : session.transport;
        if (!o.stdin) {
          const out: string[] = [];
          for (const [i, f] of items.entries()) out.push(await answer(t, iface, f, `${w.one} ${i + 1}`));
          process.stdout.write(out.join('\n') + '\n');
          return;
        }
        const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
        let n = 0;
        for await (const line of rl) {
          if (line.trim() === '') continue;
          n += 1;
          let out: string;
          try {
            out = await answer(t, iface, line, `line ${n}`);
          } catch (e) {
            if (!(e instanceof UsageError)) throw e;
            process.stderr.write(`mica: ${e.message}.\n`);
            out = '-';
          }
          process.stdout.write(`${out}\n`);
        }
      } finally {
        await session.close();
        if (recorder && o.pcap !== undefined) recorder.write({ pcap: o.pcap }, air);
      }
    });
}

export function registerFelica(program: Command): void {
  registerExchange(program, 'felica');
  registerExchange(program, 'apdu');
}
