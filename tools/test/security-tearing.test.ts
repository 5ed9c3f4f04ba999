// Power cut at every byte write of every issuance command and of the secure purse-plus-log write:
// after recovery the chip is in the old or the new state, and purse and log always agree.
import { describe, expect, it } from 'vitest';
import { purseBlock } from '@mica/apdu-specs/eeprom-records';
import { Card } from '@mica/card-os/card';
import { manufactureFromProfile } from '@mica/card-os/factory';
import { SeededRandom } from '@mica/card-os/random';
import { FelicaClient } from '@mica/host-sdk/felica/client';
import { SecureFelicaSession } from '@mica/host-sdk/felica/secure-session';
import { issueProfile } from '@mica/host-sdk/issuing/issuing-machine';
import { InProcessTransport } from '@mica/host-sdk/transport/in-process';
import { traced } from '@mica/host-sdk/transport/transport';
import { tearingSweep } from '../src/campaign/tearing';
import { PROFILE, SYS, TK, holder, hostRandom, issuedChip, live, replay } from './helpers/secure-fixture';

describe('tearing of secure commands', () => {
  it('every issuance command of a whole personalisation: old or new state at every cut point', async () => {
    const blank = manufactureFromProfile(PROFILE);
    const card = new Card(blank.clone(), { random: new SeededRandom(7) });
    card.powerOn();
    const sent: Uint8Array[] = [];
    const client = new FelicaClient(
      traced(
        new InProcessTransport(card),
        (e) => e.direction === 'command' && e.bytes && sent.push(e.bytes.slice()),
      ),
    );
    await issueProfile(client, PROFILE, { suite: '2k3des', transportKey: TK, random: hostRandom(2) });
    let commands = 0;
    let cuts = 0;
    for (let i = 0; i < sent.length; i++) {
      const code = sent[i]![1]!;
      if (code < 0x80 && code !== 0x16 && code !== 0x08) continue;
      const r = tearingSweep({
        setup: () => replay(blank, sent.slice(0, i)),
        command: (c) => c.felica(sent[i]!),
      });
      expect(r.failures, `frame ${i} (${code.toString(16)})`).toEqual([]);
      expect(r.bytes).toBeGreaterThan(0);
      commands += 1;
      cuts += r.cuts;
    }
    console.log(`issuance tearing: ${commands} mutating commands, ${cuts} cut points, all old-or-new`);
    expect(commands).toBeGreaterThan(10);
  });

  it('the secure purse + log write: old or new state, and purse and log agree, at every cut point', async () => {
    const chip = await issuedChip();
    const l = await live(chip);
    const s = await SecureFelicaSession.open(l.client, holder(21), {
      idm: l.idm,
      systemCode: SYS,
      suite: '2k3des',
      areas: [],
      services: [0x1010, 0x104c],
    });
    const purse = purseBlock.encode({
      balance: 4700,
      userData: new Uint8Array(6),
      lastAmount: 0,
      executionId: 1,
    });
    const log = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 1, 44, 3, 0x24, 0x74, 0);
    (
      await s.write(
        [0x1010, 0x104c],
        [
          { serviceIndex: 0, block: 0 },
          { serviceIndex: 1, block: 0 },
        ],
        [purse, log],
      )
    ).expectOk();
    const frames = l.sent.slice();
    const write = frames.length - 1;
    let agree = 0;
    const r = tearingSweep({
      setup: () => replay(chip, frames.slice(0, write)),
      command: (c) => {
        c.felica(frames[write]!);
      },
    });
    expect(r.failures).toEqual([]);
    // Judge purse and log together after each kind of outcome.
    for (const state of [replay(chip, frames.slice(0, write)), replay(chip, frames)]) {
      const fs = state.fs.system(0)!;
      const p = fs.byCode.get(0x1010);
      const lg = fs.byCode.get(0x104c);
      if (p?.kind !== 'service' || lg?.kind !== 'service') throw new Error('fixture services missing');
      const balance = purseBlock.decode(state.eeprom.read(p.firstBlock)).balance;
      const hasLog = [0, 1, 2, 3].some((i) => state.eeprom.read(lg.firstBlock + i)[0] === 9);
      expect(balance === 4700).toBe(hasLog);
      agree += 1;
    }
    console.log(
      `purse + log tearing: ${r.cuts} cut points (${r.oldState} old, ${r.newState} new), purse and log agree`,
    );
    expect(agree).toBe(2);
    expect(r.oldState).toBeGreaterThan(0);
    expect(r.newState).toBeGreaterThan(0);
  });
});
