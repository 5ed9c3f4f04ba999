// `mica demo` (and `npm start`): manufactures and issues a multi-application card from the shipped
// profile and walks through what the card can do so far, printing a story and a summary table.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { purseBlock } from '@mica/apdu-specs/eeprom-records';
import { Card } from '@mica/card-os/card';
import { cardImageFromProfile } from '@mica/card-os/factory';
import { saveImageFile } from '@mica/card-os/hal/image-file';
import { SeededRandom } from '@mica/card-os/random';
import { readProfile } from './card-issue';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import { SecureFelicaSession } from '@mica/host-sdk/felica/secure-session';
import { LocalKeyHolder } from '@mica/host-sdk/keys/local-key-holder';
import { RemoteKeyHolder, keyHolderService } from '@mica/host-sdk/keys/remote-key-holder';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
import { traced } from '@mica/host-sdk/transport/transport';
import { OperationError } from '../cli-error';
import { runScenario } from '../run/runner';
import { seed001Demo } from '../run/scenarios/credit-charge-emoney/demo';
import { brandEmoney } from '../run/scenarios/brand-emoney';
import { seed004Demo } from '../run/scenarios/validity-cache/demo';
import { seed002Demo } from '../run/scenarios/common-key-settlement/demo';
import { seed000Demo } from '../run/scenarios/bank-credit-token/demo';

const hostRandom = new SeededRandom(2n);

const PROFILE = new URL('../../profiles/demo.json', import.meta.url).pathname;

function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the main job: manufacture and issue a multi-application card and run every flow that exists so far',
    )
    .option('--data <dir>', 'data directory for the card image (default: a new temporary directory)')
    .addHelpText('after', '\nExample:\n  mica demo --data ./demo-data\n')
    .action(async (o: { data?: string }) => {
      const dir = o.data ?? mkdtempSync(join(tmpdir(), 'mica-demo-'));
      mkdirSync(dir, { recursive: true });
      const profile = readProfile(PROFILE);
      const eeprom = cardImageFromProfile(profile);
      const card = new Card(eeprom, { random: new SeededRandom(1n) });
      card.powerOn();
      const idm = bytesToHex(card.fs.idm(0));
      // LEN ‖ code ‖ IDm ‖ body, LEN computed.
      const cmd = (code: string, body: string): string => {
        const b = hexToBytes(`${code}${idm}${body}`);
        return bytesToHex(Uint8Array.of(b.length + 1, ...b));
      };
      const say = (what: string, frame: string): Uint8Array | null => {
        const r = card.felica(hexToBytes(frame));
        line(`  ${what.padEnd(56)} > ${frame}`);
        line(`  ${''.padEnd(56)} < ${r ? bytesToHex(r) : '- (silence)'}`);
        return r;
      };
      line('mica demo: one multi-application card, manufactured and issued from tools/profiles/demo.json');
      line('');
      line(
        '1. A reader polls for any system, then for the common area FE00, then asks for the system codes.',
      );
      say('Polling FFFF, request code 01', '0600ffff0100');
      say('Polling FE00 (IDm of system 1)', '0600fe000000');
      say('Request System Code', cmd('0c', ''));
      line('');
      line('2. It walks the file system of system 0 with Search Service Code.');
      for (let i = 0; ; i++) {
        const r = card.felica(hexToBytes(cmd('0a', bytesToHex(Uint8Array.of(i & 0xff, i >> 8)))));
        if (!r) break;
        const codes = bytesToHex(r.subarray(10));
        if (codes === 'ffff') break;
        line(
          `  index ${i}: ${codes.length === 8 ? `area ${codes.slice(2, 4)}${codes.slice(0, 2)}-${codes.slice(6, 8)}${codes.slice(4, 6)}` : `service ${codes.slice(2, 4)}${codes.slice(0, 2)}`}`,
        );
      }
      line('');
      line('3. It reads the purse through its read-only view 0097, pays 250 through the decrement view 0095');
      line('   with a log record in the same atomic write, and reads the purse and the log again.');
      const before = say('Read purse (0097 block 0)', cmd('06', '01970001' + '8000'));
      const paid = purseBlock.encode({
        balance: 0,
        userData: new Uint8Array(6),
        lastAmount: 250,
        executionId: 1,
      });
      const log = hexToBytes('c0ffee0000000001 000000fa 02 2474 07');
      say(
        'Write decrement 250 + log record',
        cmd('08', `0295004d0002800081${'00'}${bytesToHex(paid)}${bytesToHex(log)}`),
      );
      const after = say('Read purse and newest log record', cmd('06', '0297004f0002' + '80008100'));
      say(
        'Repeat the same charge ID: refused (E1), nothing changes',
        cmd(
          '08',
          `0295004d0002800081${'00'}${bytesToHex(purseBlock.encode({ balance: 0, userData: new Uint8Array(6), lastAmount: 250, executionId: 2 }))}${bytesToHex(log)}`,
        ),
      );
      line('');
      line('4. A keyed service cannot be read without authentication (B1), and a wrong IDm gets silence.');
      say('Read keyed service 00c8', cmd('06', '01c800018000'));
      say('Request Response with a foreign IDm', '0a0402fe000000000000');
      line('');
      line('5. A terminal authenticates to the keyed service 00c8 through a key holder it cannot see into');
      line('   (Authentication1/2, then secure Write and Read under KSenc/KSmac with the CTR).');
      const events: string[] = [];
      const client = new FelicaClient(
        traced(new InProcessTransport(card), (e) =>
          events.push(e.bytes === null ? '-' : bytesToHex(e.bytes)),
        ),
      );
      const local = new LocalKeyHolder((n) => {
        const b = new Uint8Array(n);
        hostRandom.fill(b);
        return b;
      }).set(0x12fc, 0x00c8, { version: 2, value: hexToBytes('55555555555555556666666666666666') });
      const session = await SecureFelicaSession.open(client, new RemoteKeyHolder(keyHolderService(local)), {
        idm: card.fs.idm(0),
        systemCode: 0x12fc,
        suite: '2k3des',
        areas: [],
        services: [0x00c8],
      });
      const secret = new TextEncoder().encode('secret 16 bytes!');
      (await session.write([0x00c8], [{ serviceIndex: 0, block: 1 }], [secret])).expectOk();
      const back = (await session.read([0x00c8], [{ serviceIndex: 0, block: 1 }])).expectOk()[0]!;
      await session.close();
      for (const [i, e] of events.entries()) line(`  ${i % 2 === 0 ? '>' : '<'} ${e}`);
      line(`  read back through the session: "${new TextDecoder().decode(back)}"`);
      card.powerOff();
      const image = join(dir, 'demo-card.img');
      saveImageFile(image, eeprom);
      line('');
      line('6. Seed 001 (flows.md 3): charging e-money with a credit card, on the combined card of');
      line('   tools/profiles/credit-charge-emoney.json (credit applet + FeliCa e-money), with the credit');
      line('   company, e-money and bank back-ends in SQLite under the data directory. The PIN goes only to');
      line("   the card; the e-money server's key holder writes the value through the terminal; the");
      line('   conservation audit runs after every step.');
      const seedDir = join(dir, 'credit-charge-emoney');
      rmSync(seedDir, { recursive: true, force: true }); // the demo's own sub-directory, rebuilt each run
      const seed001 = await runScenario(
        seed001Demo,
        { mode: 'hardened', transport: 'inproc', seed: 1, data: seedDir, variants: {} },
        (l) => line(`  ${l}`),
      );
      if (seed001.exitCode !== 0) throw new OperationError('the seed 001 part of the demo failed its checks');
      line('');
      line(
        '7. Seed 003 (flows.md 5): a brand holder, four issuers, three centers, merchants and a cybershop.',
      );
      line('   Cards are issued through their commands by the brand holder and each issuer; loads, payments');
      line('   and the cybershop go through whoever holds the matching key; accounting settles the week.');
      const seed003Dir = join(dir, 'brand-emoney');
      rmSync(seed003Dir, { recursive: true, force: true }); // the demo's own sub-directory, rebuilt each run
      const seed003 = await runScenario(
        brandEmoney,
        {
          mode: 'hardened',
          transport: 'inproc',
          seed: 1,
          data: seed003Dir,
          variants: { notification: 'per-tx' },
        },
        (l) => line(`  ${l}`),
      );
      if (seed003.exitCode !== 0) throw new OperationError('the seed 003 part of the demo failed its checks');
      line('');
      line('8. Seed 004 (flows.md 6): the validity cache at the e-money center. The center computer loads');
      line(
        '   the deny-list and allow-list from the center database (20,000 media, 100 terminals) and answers',
      );
      line('   ACK or NAK before any card write; after START its key holder loads and unloads the purse.');
      const seed004Dir = join(dir, 'validity-cache');
      rmSync(seed004Dir, { recursive: true, force: true }); // the demo's own sub-directory, rebuilt each run
      const seed004 = await runScenario(
        seed004Demo,
        { mode: 'hardened', transport: 'inproc', seed: 1, data: seed004Dir, variants: {} },
        (l) => line(`  ${l}`),
      );
      if (seed004.exitCode !== 0) throw new OperationError('the seed 004 part of the demo failed its checks');
      line('');
      line('9. Seed 002 (flows.md 4): common-key settlement. The card holds only its common key and value;');
      line('   the settlement management server authors every card command, the PC relays them, checks');
      line('   SIG1-SIG5 against the bureau and asks the user before the debit; then a credit-card top-up.');
      const seed002Dir = join(dir, 'common-key-settlement');
      rmSync(seed002Dir, { recursive: true, force: true }); // the demo's own sub-directory, rebuilt each run
      const seed002 = await runScenario(
        seed002Demo,
        { mode: 'hardened', transport: 'inproc', seed: 1, data: seed002Dir, variants: {} },
        (l) => line(`  ${l}`),
      );
      if (seed002.exitCode !== 0) throw new OperationError('the seed 002 part of the demo failed its checks');
      line('');
      line('10. Seed 000 (flows.md 2): a bank pool deposit becomes a token on the card that raises the');
      line('   available credit at once (Fig. 5). The bank applet stores the token sealed for the credit');
      line('   company; the credit applet reads it through the share grant; the deduction day reconciles.');
      const seed000Dir = join(dir, 'bank-credit-token');
      rmSync(seed000Dir, { recursive: true, force: true }); // the demo's own sub-directory, rebuilt each run
      const seed000 = await runScenario(
        seed000Demo,
        { mode: 'hardened', transport: 'inproc', seed: 1, data: seed000Dir, variants: {} },
        (l) => line(`  ${l}`),
      );
      if (seed000.exitCode !== 0) throw new OperationError('the seed 000 part of the demo failed its checks');
      const b0 = before ? purseBlock.decode(before.subarray(13, 29)).balance : NaN;
      const b1 = after ? purseBlock.decode(after.subarray(13, 29)).balance : NaN;
      const def = card.fs.index.definition;
      line('');
      line('Summary');
      line(`  card image          ${image}`);
      line(`  IDm (system 0)      ${idm}`);
      line(
        `  systems             ${card.fs.index.systems.map((s) => s.system.code.toString(16).padStart(4, '0')).join(', ')}`,
      );
      line(`  purse 0091          ${b0} -> ${b1}`);
      line(`  user blocks (U)     ${def.userBlocks}`);
      line(`  system blocks (S)   ${def.systemBlocks}`);
      line(`  free blocks         ${eeprom.blocks - def.userBlocks - def.systemBlocks}`);
      line('');
      line(`Seed 001 back-ends (SQLite in ${join(seedDir, 'main')})`);
      line(`  ${'back-end'.padEnd(10)} ${'account'.padEnd(34)} ${'balance'.padStart(9)}`);
      for (const [id, ledger] of Object.entries(seed001.ledgers))
        for (const [account, amount] of Object.entries(ledger.accounts))
          line(`  ${id.padEnd(10)} ${account.padEnd(34)} ${String(amount).padStart(9)}`);
      line('Seed 001 card (e-money 12345678)');
      for (const [cardId, state] of Object.entries(seed001.cards)) {
        const s = state as {
          balances: Record<string, number>;
          log: { chargeId: string; amount: number; kind: string }[];
        };
        for (const [service, balance] of Object.entries(s.balances))
          line(`  purse ${service}          ${balance} (card ${cardId})`);
        for (const e of s.log)
          line(
            `  log                 ${e.kind.padEnd(9)} ${String(e.amount).padStart(6)}  charge ID ${e.chargeId}`,
          );
      }
      line(`  audit               ${seed001.audit.ok ? 'C1-C4 pass' : 'FAILED'}`);
      line('');
      line(`Seed 003 float per issuer and cards (SQLite in ${join(seed003Dir, 'main')})`);
      for (const [id, ledger] of Object.entries(seed003.ledgers))
        for (const [account, amount] of Object.entries(ledger.accounts))
          if (account.startsWith('liab:float:'))
            line(`  ${id.padEnd(10)} ${account.padEnd(34)} ${String(amount).padStart(9)}`);
      for (const [cardId, state] of Object.entries(seed003.cards))
        line(`  card ${cardId}   balance ${(state as { balance: number } | null)?.balance ?? '?'}`);
      line(`  audit               ${seed003.audit.ok ? 'C1-C4 pass' : 'FAILED'}`);
      line('');
      line(`Seed 004 back-ends and cards (SQLite in ${join(seed004Dir, 'main')})`);
      for (const [id, ledger] of Object.entries(seed004.ledgers))
        for (const [account, amount] of Object.entries(ledger.accounts))
          line(`  ${id.padEnd(10)} ${account.padEnd(34)} ${String(amount).padStart(9)}`);
      for (const [cardId, state] of Object.entries(seed004.cards))
        line(
          `  card ${cardId}   balance ${(state as { balances: Record<string, number> }).balances['20d0'] ?? '?'}`,
        );
      line(`  audit               ${seed004.audit.ok ? 'C1-C4 pass' : 'FAILED'}`);
      line('');
      line(`Seed 002 back-ends and card (SQLite in ${join(seed002Dir, 'main')})`);
      for (const [id, ledger] of Object.entries(seed002.ledgers))
        for (const [account, amount] of Object.entries(ledger.accounts))
          line(`  ${id.padEnd(10)} ${account.padEnd(34)} ${String(amount).padStart(9)}`);
      for (const [cardId, state] of Object.entries(seed002.cards))
        line(
          `  card ${cardId}   balance ${(state as { balances: Record<string, number> }).balances['3097'] ?? '?'}`,
        );
      line(`  audit               ${seed002.audit.ok ? 'C1-C4 pass' : 'FAILED'}`);
      line('');
      line(`Seed 000 back-ends (SQLite in ${join(seed000Dir, 'main')})`);
      for (const [id, ledger] of Object.entries(seed000.ledgers))
        for (const [account, amount] of Object.entries(ledger.accounts))
          line(`  ${id.padEnd(10)} ${account.padEnd(34)} ${String(amount).padStart(9)}`);
      line(`  audit               ${seed000.audit.ok ? 'C1-C4 pass' : 'FAILED'}`);
    });
}
