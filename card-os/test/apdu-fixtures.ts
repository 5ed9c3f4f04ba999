// Shared fixtures of the applet tests: a profile with two applet areas, a reader-side AUTHENTICATE and
// an SM host session written against the apdu-specs functions only (never the card's code).
import { expect } from 'vitest';
import { AUTHENTICATE } from '@mica/apdu-specs/apdu/applet-commands';
import { buildCommandApdu } from '@mica/apdu-specs/apdu/command-apdu';
import {
  initialSsc,
  smKeysFromSessionKey,
  unwrapResponse,
  wrapCommand,
  type SmKeys,
} from '@mica/apdu-specs/apdu/secure-messaging';
import { createBlockCipher } from '@mica/apdu-specs/crypto/block-cipher';
import {
  readerOpenChallenge,
  readerResponse,
  readerVerifyCardResponse,
  sessionKey,
} from '@mica/apdu-specs/crypto/three-pass';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { parseProfile } from '@mica/apdu-specs/profile';
import { singleDesStrength, suiteByName, type Suite } from '@mica/apdu-specs/secure/suite';
import { synthesizeAccessKey } from '@mica/apdu-specs/secure/synthesis';
import { APPLET_KINDS } from '@mica/apdu-specs/apdu/applet-kinds';
import { isSecureMessaging } from '@mica/apdu-specs/apdu/command-apdu';
import { ok } from '../src/apdu/applet';
import { AuthenticateService } from '../src/apdu/authenticate';
import { IsoError } from '../src/apdu/iso-error';
import { PinService } from '../src/apdu/pin';
import { appletRuntime, type AppletFactory } from '../src/apdu/runtime';
import { Card } from '../src/card';
import type { Eeprom } from '../src/hal/eeprom';
import { SeededRandom } from '../src/random';

export const KEYS = {
  root: '00112233445566778899aabbccddeeff',
  areaA: '0f0e0d0c0b0a09080706050403020100',
  pinService: '1111111111111111aaaaaaaaaaaaaaaa',
  dataService: '2222222222222222bbbbbbbbbbbbbbbb',
  areaB: 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf',
  sharedService: '3333333333333333cccccccccccccccc',
} as const;

export const AID_A = 'a0000006ef5452';
export const AID_B = 'a0000006ef4c59';
export const CM_AID = 'a0000006ef434d';

/** System 0: root 0000, area A 1000-17FF (PIN 1008, data 1048, open 1089), area B 2000-27FF (2008). */
export function profileFor(suite: '2k3des' | 'aes128', applets = true) {
  return parseProfile({
    chip: { blocks: 512, suite },
    systems: [
      {
        systemCode: '12fc',
        areas: [
          {
            code: '0000',
            end: 'fffe',
            capacity: 200,
            key: { value: KEYS.root },
            areas: [
              {
                code: '1000',
                end: '17ff',
                capacity: 40,
                key: { value: KEYS.areaA },
                services: [
                  { code: '1008', blocks: 2, key: { value: KEYS.pinService } },
                  { code: '1048', blocks: 4, key: { value: KEYS.dataService } },
                  { code: '1089', blocks: 1 },
                ],
              },
              {
                code: '2000',
                end: '27ff',
                capacity: 40,
                key: { value: KEYS.areaB },
                services: [
                  { code: '2008', blocks: 2, key: { value: KEYS.sharedService }, data: ['5a'.repeat(16)] },
                ],
              },
            ],
          },
        ],
      },
    ],
    ...(applets
      ? {
          applets: [
            { kind: 'transit', aid: AID_A, area: '1000' },
            { kind: 'loyalty', aid: AID_B, area: '2000' },
          ],
        }
      : {}),
  });
}

export function sw(r: Uint8Array | null): number {
  if (!r) throw new Error('the card stayed silent');
  return (r[r.length - 2]! << 8) | r[r.length - 1]!;
}

export function body(r: Uint8Array | null): Uint8Array {
  if (!r) throw new Error('the card stayed silent');
  return r.subarray(0, r.length - 2);
}

export function send(card: Card, hex: string): number {
  return sw(card.apdu(hexToBytes(hex)));
}

export function selectAid(card: Card, aid: string, channelCla = 0): number {
  return sw(card.apdu(buildCommandApdu(channelCla, 0xa4, 0x04, 0x00, hexToBytes(aid), 256)));
}

/** The host side of an SM session. */
export class HostSession {
  ssc: Uint8Array;
  constructor(
    readonly keys: SmKeys,
    readonly card: Card,
  ) {
    this.ssc = initialSsc(keys);
  }

  /** Sends a protected command; returns the inner answer (the outer SW when the card refused SM). */
  send(cla: number, ins: number, p1: number, p2: number, data: Uint8Array = new Uint8Array(0), ne = 0) {
    const w = wrapCommand(this.keys, this.ssc, { cla, ins, p1, p2, data, ne });
    this.ssc = w.ssc;
    const raw = this.card.apdu(buildCommandApdu(w.cla, w.ins, w.p1, w.p2, w.data, 256));
    const outer = sw(raw);
    const b = body(raw);
    if (b.length === 0) return { sw: outer, data: new Uint8Array(0), protected: false };
    const u = unwrapResponse(this.keys, this.ssc, b);
    if (!u.ok) throw new Error(`response SM: ${u.reason}`);
    this.ssc = u.ssc;
    expect(u.sw).toBe(outer);
    return { sw: u.sw, data: u.data, protected: true };
  }

  /** The raw wrapped APDU for the next command (the SSC moves as if it were sent). */
  wrap(cla: number, ins: number, p1: number, p2: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
    const w = wrapCommand(this.keys, this.ssc, { cla, ins, p1, p2, data, ne: 0 });
    this.ssc = w.ssc;
    return buildCommandApdu(w.cla, w.ins, w.p1, w.p2, w.data, 256);
  }
}

/** Reader side of AUTHENTICATE over `nodes` with their keys (hex); returns the SM session. */
export function authenticate(
  card: Card,
  suite: Suite,
  nodes: readonly number[],
  keys: readonly string[],
  options: { cla?: number; p2?: number; rndA?: string; corrupt?: boolean } = {},
): HostSession | number {
  const cla = options.cla ?? AUTHENTICATE.cla;
  const data = Uint8Array.of(nodes.length, ...nodes.flatMap((n) => [n >> 8, n & 0xff]));
  const r1 = card.apdu(buildCommandApdu(cla, AUTHENTICATE.ins, 0, options.p2 ?? 0, data, 256));
  if (sw(r1) !== 0x9000) return sw(r1);
  const access = synthesizeAccessKey(
    suite,
    keys.map((k) => hexToBytes(k)),
  );
  const cipher = createBlockCipher(suite.cipher, access);
  const challenge = body(r1).slice();
  const rndB = readerOpenChallenge(cipher, challenge);
  const rndA = hexToBytes(
    options.rndA ?? '0123456789abcdeffedcba9876543210'.slice(0, 2 * suite.randomLength),
  );
  const rr = readerResponse(cipher, challenge, rndA, rndB);
  if (options.corrupt) rr[0]! ^= 1;
  const r2 = card.apdu(buildCommandApdu(cla, AUTHENTICATE.ins, 1, 0, rr, 256));
  if (sw(r2) !== 0x9000) return sw(r2);
  expect(readerVerifyCardResponse(cipher, rr, body(r2), rndA)).toBe(true);
  const ks = sessionKey(suite.cipher, rndA, rndB, singleDesStrength(suite, access));
  return new HostSession(smKeysFromSessionKey(suite, ks), card);
}

export function opened(s: HostSession | number): HostSession {
  if (typeof s === 'number') throw new Error(`AUTHENTICATE failed with ${s.toString(16)}`);
  return s;
}

export const SUITES = [suiteByName('2k3des'), suiteByName('aes128')] as const;

export function imageHex(card: Card): string {
  return bytesToHex(card.eeprom.snapshot());
}

/**
 * A small registry applet for the tests: AUTHENTICATE, the PIN commands (PIN in service area+08h),
 * SM UPDATE (D6, P1 = block) and READ (B0, P1 = block) of service area+48h, plain READ of block 0 of
 * any service (B0, P1 P2 = service code) through the firewall, plain UPDATE (D6, P1 P2 = service code)
 * once the PIN is verified.
 */
export const testAppletFactory: AppletFactory = (entry, firewall) => {
  const scope = { system: entry.system, area: entry.area };
  const auth = new AuthenticateService(() => scope);
  const pin = new PinService(() => ({ scope, service: entry.area + 0x08 }));
  return {
    aid: entry.aid,
    select: () => new Uint8Array(0),
    deselect: (ctx) => {
      auth.end(ctx);
      pin.clear(ctx);
    },
    process: (apdu, ctx) => {
      if (auth.handles(apdu)) return auth.process(apdu, ctx);
      if (pin.handles(apdu)) return pin.process(apdu, ctx);
      const fw = firewall(ctx.card);
      if (isSecureMessaging(apdu.cla))
        return auth.protect(apdu, ctx, (cmd) => {
          if (cmd.ins === 0xd6) {
            fw.writeBlocks(entry.area + 0x48, [{ block: cmd.p1, data: cmd.data }]);
            return ok();
          }
          if (cmd.ins === 0xb0) return ok(fw.readBlock(entry.area + 0x48, cmd.p1));
          throw new IsoError(0x6d00);
        });
      const code = (apdu.p1 << 8) | apdu.p2;
      if (apdu.ins === 0xb0) return ok(fw.readBlock(code, 0));
      if (apdu.ins === 0xd6) {
        if (!pin.isVerified(ctx)) throw new IsoError(0x6982);
        fw.writeBlocks(code, [{ block: 0, data: apdu.data }]);
        return ok();
      }
      throw new IsoError(0x6d00);
    },
  };
};

export const TEST_FACTORIES = new Map([[APPLET_KINDS.transit, testAppletFactory]]);

export function newCard(eeprom: Eeprom, seed = 7): Card {
  const card = new Card(eeprom, { random: new SeededRandom(seed), applets: appletRuntime(TEST_FACTORIES) });
  card.powerOn();
  return card;
}

export const PIN_SCOPE = { scope: { system: 0, area: 0x1000 }, service: 0x1008 } as const;
