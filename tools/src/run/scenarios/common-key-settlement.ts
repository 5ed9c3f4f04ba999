// `mica run common-key-settlement` (flows.md 4, seed 002): purchase in both embodiments and top-up,
// with SIG1-SIG5, the consent gate and the amount binding, and every acceptance check of flows.md 4.4.
// Each check runs in a fresh fixture (the first embodiment in "main"); the attack pairs run in both
// modes whatever --mode says. Expected figures come from flows.md 4.4 (5,000 - 1,200 = 3,800) or are
// worked out by hand (the bit flip: 1,200 = 00 00 04 B0 with bit 2 of byte 3 flipped is 00 00 00 B0
// = 176, so 5,000 - 176 = 4,824; top-ups 5,000 + 3,000 = 8,000, 48,000 + 5,000 > 50,000).
// Just over 600 lines: the 17 checks are self-contained; the world is already in ./common-key-settlement/.
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { expectOk, type Outcome } from '@mica/host-sdk/backend/outcome';
import type { Mode } from '@mica/host-sdk/backend/backend';
import { parseCertificate } from '@mica/host-sdk/bureau/certificate';
import { billHash, encodeBill, type Bill } from '@mica/host-sdk/settlement/bill';
import type { PurchaseDone, Refusal } from '@mica/host-sdk/terminals/settlement-terminal';
import { TransportError } from '@mica/host-sdk/transport/transport';
import type { CheckRun, Scenario } from '../scenario';
import {
  EXAMPLE,
  FOREIGN_CARD,
  IDS,
  MAIN_CARD,
  Seed002World,
  nonceFrom,
  type Seed002Options,
} from './common-key-settlement/world';

const VECTORS = new URL('./common-key-settlement/bill-vectors.json', import.meta.url).pathname;

const CHECKS = [
  {
    id: 'K1',
    text: 'first embodiment, 5,000 - 1,200 = 3,800: SIG1-SIG4 verify; the ACN reaches the client and the store; the receipt reaches the client and the SMD; the download unlocks only after the receipt; the card log holds the orderNo',
  },
  {
    id: 'K2',
    text: 'the second embodiment reaches the same end state without any SIG2; its receipt travels store → SMD → client',
  },
  {
    id: 'K3',
    text: 'a tampered BILL amount gives E_SIG1_INVALID, and no command of the settlement reaches the card',
  },
  { id: 'K4', text: 'a tampered SIG2 gives E_SIG2_INVALID, and the SPC is never forwarded' },
  {
    id: 'K5',
    text: 'a header amount that differs from the BILL gives E_AMOUNT_MISMATCH, and the SPC is never forwarded',
  },
  { id: 'K6', text: 'a decline at ST6 or at ST15 leaves the balance unchanged and the order abandoned' },
  { id: 'K7', text: 'a bill above the balance gives E_INSUFFICIENT' },
  { id: 'K8', text: "a card carrying another system's KC gives E_CARD_AUTH_FAILED" },
  { id: 'K9', text: 'a lost PCN is completed by a log read, and the retry debits only once' },
  {
    id: 'K10-F',
    text: 'attack (integrity): a relay flips the ciphertext bits over the SPC amount; faithful: the card debits the altered amount and the SMD notices afterwards (E_PCN_MISMATCH)',
  },
  { id: 'K10-H', text: 'attack (integrity): the same flip; hardened: 6988, nothing debited' },
  {
    id: 'K11-F',
    text: 'attack (replay): a captured top-up blob replayed with its charge-ID block corrupted; faithful: the card is credited twice',
  },
  { id: 'K11-H', text: 'attack (replay): the same replay; hardened: 6988, nothing credited' },
  {
    id: 'K12',
    text: 'top-up: approval raises the balance and stores the log in [32]; a decline changes nothing; a tampered SIG5 is refused by the client; an amount over maxBalance is refused before authorization (and a lost VALUE UPDATE answer is settled by the log read, flows.md 4.2 row 22)',
  },
  { id: 'K13', text: 'the card image holds no asymmetric private key' },
  { id: 'K14', text: 'the BILL bytes and billHash match the committed vectors in both encodings' },
  { id: 'K15', text: 'a mall issues an order number and signs SIG1 for one of its member stores' },
] as const;

interface BillVector {
  readonly id: string;
  readonly items: Bill[];
  readonly bill: Bill;
  readonly json: { readonly bytes: string; readonly billHash: string };
  readonly binary: { readonly bytes: string; readonly billHash: string };
}

const item = (price: number) => [{ ...EXAMPLE.item, price }];

/** A card exchange whose answer was lost because the card left the field: undefined, not a throw. */
function lostAnswer(e: unknown): undefined {
  if (e instanceof TransportError && e.kind === 'link-lost') return undefined;
  throw e;
}

function failed(r: { ok: true } | { ok: false; code: string; step: string; message: string }): string {
  return r.ok ? 'ok' : `${r.code} at ${r.step}: ${r.message}`;
}

/** The card image's bytes (after a power cycle writes it out). */
async function imageBytes(w: Seed002World, name = MAIN_CARD.name): Promise<string> {
  const c = w.cards.get(name)!;
  await c.card.powerCycle();
  return c.card.image ? bytesToHex(readFileSync(c.card.image)) : '';
}

export const commonKeySettlement: Scenario = {
  name: 'common-key-settlement',
  title:
    'seed 002: common-key settlement with SIG1-SIG5, both embodiments, top-up, consent gate and amount binding',
  variants: {
    embodiment: ['first', 'second'],
    route: ['both', 'client', 'smd'],
    encoding: ['json', 'binary'],
  },
  checks: CHECKS,
  async run(ctx) {
    const worlds: Seed002World[] = [];
    const make = async (label: string, o: Seed002Options = {}): Promise<Seed002World> => {
      const w = await Seed002World.create(ctx, label, o);
      worlds.push(w);
      return w;
    };
    const encoding = (ctx.options.variants['encoding'] ?? 'json') as 'json' | 'binary';
    const route = (ctx.options.variants['route'] ?? 'both') as 'both' | 'client' | 'smd';
    const mainEmbodiment = (ctx.options.variants['embodiment'] ?? 'first') as 'first' | 'second';
    try {
      const main = await make('main');
      const purchaseIn = (
        w: Seed002World,
        embodiment: 'first' | 'second',
        label: string,
        o: Partial<Parameters<ReturnType<Seed002World['client']>['purchase']>[0]> = {},
      ) => ({
        shop: { id: IDS.store, api: w.shop() },
        items: item(EXAMPLE.bill),
        embodiment,
        encoding,
        route: embodiment === 'second' && route === 'both' ? ('smd' as const) : route,
        nonce: nonceFrom(w.f, label),
        ...o,
      });

      const endState = async (
        c: CheckRun,
        w: Seed002World,
        r: PurchaseDone | Refusal,
        embodiment: 'first' | 'second',
        effectiveRoute: string,
      ) => {
        c.expect(r.ok, `the purchase completes (${failed(r)})`);
        if (!r.ok) return;
        c.equal(
          r.verified,
          embodiment === 'first' ? ['SIG2', 'SIG2', 'SIG3', 'SIG4'] : ['SIG3', 'SIG4'],
          'signatures the client verified',
        );
        const v = await w.cardView();
        c.equal(v.balance, 3800, 'card balance');
        const orderHex = bytesToHex(new TextEncoder().encode(r.orderNo));
        c.equal(
          v.log.filter((x) => x.chargeId === orderHex).map((x) => [x.amount, x.kind]),
          [[1200, 2]],
          `one log record with the orderNo ${r.orderNo} as its charge ID`,
        );
        const order = expectOk(await w.shop().order({ orderNo: r.orderNo }));
        c.equal(order.acn, r.acn, 'the store holds the ACN the client verified');
        c.equal(order.status, 'receipted', 'order status');
        c.expect(order.downloadUnlocked, 'the download is unlocked');
        const s = expectOk(await w.smd.settlement({ settlementId: r.settlementId }));
        c.equal(s.status, 'completed', 'settlement status');
        c.equal(s.receipt, effectiveRoute === 'client' ? null : r.receipt, 'the receipt at the SMD');
        c.equal(
          r.receiptVia,
          effectiveRoute === 'smd' ? 'smd' : 'store',
          'the receipt reached the client via',
        );
        const views = await w.f.views();
        const sum = (id: string, account: string) =>
          views
            .find((x) => x.id === id)!
            .entries.filter((e) => e.account === account)
            .reduce((t, e) => t + e.amount, 0);
        c.equal(-sum(IDS.smd, `liab:float:${IDS.smd}`), 3800, 'float of smd1');
        c.equal(-sum(IDS.store, 'rev:sales'), 1200, 'sales of store1');
        c.expect((await w.f.audit()).ok, 'the audit passes');
      };

      const firstCheck = async (c: CheckRun, w: Seed002World) => {
        let lockedBefore = false;
        const r = await w.client().purchase(
          purchaseIn(w, 'first', 'k1', {
            onAcn: async (acn) => {
              const d = await w.shop().download({ orderNo: acn.orderNo });
              lockedBefore = !d.ok && d.code === 'E_BAD_STATE';
            },
          }),
        );
        c.expect(lockedBefore, 'the download is locked after the ACN and before the receipt');
        await endState(c, w, r, 'first', route);
      };
      const secondCheck = async (c: CheckRun, w: Seed002World) => {
        const r = await w.client().purchase(purchaseIn(w, 'second', 'k2'));
        await endState(c, w, r, 'second', route === 'both' ? 'smd' : route);
      };

      await ctx.check('K1', async (c) =>
        firstCheck(c, mainEmbodiment === 'first' ? main : await make('first')),
      );
      await ctx.check('K2', async (c) =>
        secondCheck(c, mainEmbodiment === 'second' ? main : await make('second')),
      );

      await ctx.check('K3', async (c) => {
        const w = await make('tampered-bill');
        const before = await w.cardView();
        const seen: number[] = [];
        const client = w.client({
          relay: {
            fromBackend: <T>(stage: string, m: T): T => {
              if (stage !== 'ST5') return m;
              const b = m as unknown as { bill: string; encoding: string };
              const bytes = hexToBytes(b.bill);
              if (b.encoding === 'json') {
                const text = new TextDecoder().decode(bytes).replace('"amount":1200', '"amount":120');
                return { ...m, bill: bytesToHex(new TextEncoder().encode(text)) };
              }
              bytes[1 + 24 + 24 + 8 + 2] = 0x00; // amount 00 00 04 b0 → 00 00 00 b0
              return { ...m, bill: bytesToHex(bytes) };
            },
            toCard: (_s, apdu) => {
              seen.push(apdu[1]!);
              return apdu;
            },
          },
        });
        const r = await client.purchase(purchaseIn(w, 'first', 'k3'));
        c.equal(r.ok ? 'ok' : r.code, 'E_SIG1_INVALID', 'result');
        c.equal(
          seen.filter((ins) => ins === 0x88 || ins === 0xc2).length,
          0,
          'AUTHENTICATE or SECURE COMMAND sent to the card',
        );
        c.equal(await w.cardView(), before, 'card balance and log');
      });

      await ctx.check('K4', async (c) => {
        const w = await make('tampered-sig2');
        const client = w.client({
          relay: {
            fromBackend: <T>(stage: string, m: T): T => {
              if (stage !== 'ST14') return m;
              const x = m as unknown as { sig2: string };
              return {
                ...m,
                sig2: `${x.sig2.slice(0, 10)}${x.sig2[10] === '0' ? '1' : '0'}${x.sig2.slice(11)}`,
              };
            },
          },
        });
        const r = await client.purchase(purchaseIn(w, 'first', 'k4'));
        c.equal(r.ok ? 'ok' : r.code, 'E_SIG2_INVALID', 'result');
        c.equal(client.last.spcForwarded, 0, 'SPC forwarded');
        c.equal((await w.cardView()).balance, EXAMPLE.opening, 'card balance');
      });

      await ctx.check('K5', async (c) => {
        const w = await make('header-mismatch');
        const client = w.client({
          relay: {
            fromBackend: <T>(stage: string, m: T): T => {
              if (stage !== 'ST109') return m;
              const x = m as unknown as { header: { amount: number } };
              return { ...m, header: { ...x.header, amount: 120 } };
            },
          },
        });
        const r = await client.purchase(purchaseIn(w, 'second', 'k5'));
        c.equal(
          r.ok ? 'ok' : r.code,
          'E_AMOUNT_MISMATCH',
          'result (second embodiment: the header is unsigned)',
        );
        c.equal(client.last.spcForwarded, 0, 'SPC forwarded');
        c.equal((await w.cardView()).balance, EXAMPLE.opening, 'card balance');
      });

      await ctx.check('K6', async (c) => {
        const w = await make('declines');
        for (const at of ['ST6', 'ST15'] as const) {
          const client = w.client({ consent: (s) => s.step !== at });
          const r = await client.purchase(purchaseIn(w, 'first', `k6-${at}`));
          c.equal(r.ok ? 'ok' : [r.code, r.step], ['DECLINED', at], `decline at ${at}`);
          const no = client.last.orderNo!;
          c.equal(
            expectOk(await w.shop().order({ orderNo: no })).status,
            'abandoned',
            `store order after a decline at ${at}`,
          );
          if (at === 'ST15') {
            const s = expectOk(await w.smd.settlement({ settlementId: client.last.settlementId! }));
            c.equal(s.status, 'abandoned', 'SMD settlement after a decline at ST15');
          }
          c.equal(client.last.spcForwarded, 0, `SPC forwarded after a decline at ${at}`);
          c.equal((await w.cardView()).balance, EXAMPLE.opening, `card balance after a decline at ${at}`);
        }
      });

      await ctx.check('K7', async (c) => {
        const w = await make('insufficient');
        const client = w.client();
        const r = await client.purchase(purchaseIn(w, 'first', 'k7', { items: item(6000) }));
        c.equal(r.ok ? 'ok' : [r.code, r.step], ['E_INSUFFICIENT', 'ST14'], 'result');
        c.equal(client.last.spcForwarded, 0, 'SPC forwarded');
        c.equal((await w.cardView()).balance, EXAMPLE.opening, 'card balance');
      });

      await ctx.check('K8', async (c) => {
        const w = await make('foreign-kc', { cards: [MAIN_CARD, FOREIGN_CARD] });
        const r = await w.client({ card: FOREIGN_CARD.name }).purchase(purchaseIn(w, 'first', 'k8'));
        c.equal(r.ok ? 'ok' : r.code, 'E_CARD_AUTH_FAILED', 'result');
        c.equal(
          (await w.cardView(FOREIGN_CARD.name)).balance,
          EXAMPLE.opening,
          'balance of the foreign card',
        );
      });

      await ctx.check('K9', async (c) => {
        const w = await make('lost-pcn');
        let dropped = 0;
        let spc: Uint8Array | undefined;
        const client = w.client({
          relay: {
            toCard: (stage, apdu) => {
              if (stage === 'ST16' && !spc) spc = apdu.slice();
              return apdu;
            },
            fromCard: (stage, answer) => {
              if (stage === 'ST16' && dropped === 0) {
                dropped++;
                return undefined;
              }
              return answer;
            },
          },
        });
        const r = await client.purchase(purchaseIn(w, 'first', 'k9'));
        c.expect(r.ok, `the settlement completes (${failed(r)})`);
        c.equal(dropped, 1, 'PCNs lost');
        const v = await w.cardView();
        c.equal(v.balance, 3800, 'card balance');
        if (r.ok) {
          const orderHex = bytesToHex(new TextEncoder().encode(r.orderNo));
          c.equal(v.log.filter((x) => x.chargeId === orderHex).length, 1, 'log records of the order');
        }
        // The relay re-sends the captured SPC: the session it belonged to is gone.
        c.expect(spc !== undefined, 'the relay captured the SPC');
        if (spc) {
          const again = await w.cards.get(MAIN_CARD.name)!.card.transport.apdu(spc);
          c.expect(again.length === 2 || again[again.length - 2] !== 0x90, 'the replayed SPC is refused');
          c.equal((await w.cardView()).balance, 3800, 'card balance after the replayed SPC');
        }
        c.expect((await w.f.audit()).ok, 'the audit passes');
      });

      const flipAttack = async (c: CheckRun, mode: Mode) => {
        const w = await make(`integrity-${mode}`, { mode });
        const client = w.client({
          relay: {
            toCard: (stage, apdu) => {
              if (stage !== 'ST16') return apdu;
              const out = apdu.slice();
              // CLA INS P1 P2 Lc ‖ 87 41 01 ‖ C0 C1 …: byte 2 of C1 sits over plaintext byte 18 (the amount's third byte).
              out[5 + 3 + 8 + 2]! ^= 0x04;
              return out;
            },
          },
        });
        const r = await client.purchase(purchaseIn(w, 'first', `k10-${mode}`));
        const v = await w.cardView();
        if (mode === 'faithful') {
          c.equal(r.ok ? 'ok' : [r.code, r.step], ['E_PCN_MISMATCH', 'ST19'], 'result');
          c.equal(v.balance, 4824, 'the card debited 176 instead of 1,200');
          const s = expectOk(await w.smd.settlement({ settlementId: client.last.settlementId! }));
          c.equal([s.status, s.acn], ['failed', null], 'settlement flagged, no ACN');
        } else {
          c.equal(r.ok ? 'ok' : [r.code, r.step], ['E_CARD_REFUSED', 'ST19'], 'result');
          c.equal(
            w.events.filter((e) => e.card?.command === 'SECURE COMMAND (SPC)').map((e) => e.card!.status),
            ['6988'],
            'the SPC answer',
          );
          c.equal(v.balance, EXAMPLE.opening, 'nothing debited');
        }
        c.expect((await w.f.audit()).ok, 'the audit passes');
      };
      await ctx.check('K10-F', (c) => flipAttack(c, 'faithful'));
      await ctx.check('K10-H', (c) => flipAttack(c, 'hardened'));

      const topUpRequest = (w: Seed002World, label: string, amount: number, pin: string = EXAMPLE.pin) => ({
        topUpId: bytesToHex(w.f.random(`topup/${label}`).bytes(16)),
        amount,
        creditId: IDS.credit,
        creditNo: EXAMPLE.creditNo,
        expiry: EXAMPLE.cardExpiry,
        pin,
      });

      const replayAttack = async (c: CheckRun, mode: Mode) => {
        const w = await make(`replay-${mode}`, { mode });
        let captured: Uint8Array | undefined;
        const client = w.client({
          relay: {
            toCard: (stage, apdu) => {
              if (stage === '(7)') captured = apdu.slice();
              return apdu;
            },
          },
        });
        const r = await client.topUp(topUpRequest(w, 'k11', 3000));
        c.expect(r.ok, `the top-up completes (${failed(r)})`);
        c.equal((await w.cardView()).balance, 8000, 'balance after the top-up');
        // Without a VALUE UPDATE to capture (the top-up ended before it) there is nothing to replay.
        c.expect(captured !== undefined, 'a VALUE UPDATE was captured at (7)');
        if (captured === undefined) return;
        const replay = captured.slice();
        replay[5 + 3]! ^= 0xff; // the first cipher block: the charge ID
        // A card that leaves the field at the replay or at the check's own read (the faults campaign)
        // fails what the check sees, not the flow: the next top-up below must still run, since only
        // its log read books a credit the replay may have made.
        const answer = await w.cards.get(MAIN_CARD.name)!.card.transport.apdu(replay).catch(lostAnswer);
        const sw = answer ? bytesToHex(answer.subarray(answer.length - 2)) : 'no answer';
        await w.f.step({
          step: '(7)',
          from: 'relay',
          to: 'card',
          summary: 'replays the captured VALUE UPDATE with its charge-ID block corrupted',
          card: { command: 'SECURE COMMAND (VALUE UPDATE)', status: sw.toUpperCase() },
          audit: mode === 'faithful' ? 'fail' : 'pass',
        });
        const v = await w.cardView().catch(lostAnswer);
        if (mode === 'faithful') {
          c.equal(sw, '9000', 'the replay is accepted');
          c.equal(v?.balance, 11_000, 'credited twice: 8,000 + 3,000');
          c.equal(v?.log.filter((x) => x.kind === 1 && x.amount === 3000).length, 2, 'two add records');
        } else {
          c.equal(sw, '6988', 'the replay is refused');
          c.equal(v?.balance, 8000, 'nothing credited');
        }
        // The next top-up extracts the history into [32]: the SMD notices (F) the credit it never authored.
        if (mode === 'faithful') {
          // Until [32] holds the log the replayed credit is on the card only: the audit must catch it.
          let noticed = false;
          w.auditOf = (e) => {
            if (e.step === '(4)' && e.from === 'smd') noticed = true;
            return noticed ? 'pass' : 'fail';
          };
        }
        const next = await w.client().topUp(topUpRequest(w, 'k11-next', 1000));
        w.auditOf = () => 'pass';
        c.expect(next.ok, `the next top-up completes (${failed(next)})`);
        const smdView = (await w.f.views()).find((x) => x.id === IDS.smd)!;
        const unexplained = smdView.entries
          .filter((e) => e.account === 'asset:suspense:unexplained')
          .reduce((t, e) => t + e.amount, 0);
        c.equal(
          unexplained,
          mode === 'faithful' ? 3000 : 0,
          'the credit the SMD never authored, booked to suspense',
        );
        c.equal(
          (await w.cardView()).balance,
          mode === 'faithful' ? 12_000 : 9000,
          'balance after the next top-up',
        );
        c.expect((await w.f.audit()).ok, 'the audit passes once the SMD has read the log');
      };
      await ctx.check('K11-F', (c) => replayAttack(c, 'faithful'));
      await ctx.check('K11-H', (c) => replayAttack(c, 'hardened'));

      await ctx.check('K12', async (c) => {
        const w = await make('top-up');
        const client = w.client();
        const ok = await client.topUp(topUpRequest(w, 'approve', 3000));
        c.expect(ok.ok, `approval (${failed(ok)})`);
        c.equal((await w.cardView()).balance, 8000, 'balance after the top-up');
        if (ok.ok) {
          const logged = expectOk(await w.smd.cardLog({ cardId: MAIN_CARD.cardId }));
          c.equal(
            logged.filter((x) => x.chargeId === ok.topUpId.slice(0, 16)).map((x) => [x.amount, x.kind]),
            [[3000, 1]],
            'the top-up in the card log stored at [32]',
          );
        }
        const ledgerIds: string[] = [IDS.smd, IDS.store, IDS.mall, IDS.credit, IDS.bureau];
        const views = async () =>
          JSON.stringify(
            (await w.f.views()).filter((x) => ledgerIds.includes(x.id)).map((x) => [x.id, x.entries]),
          );
        const before = [await views(), await w.cardView()];
        const declined = await w.client().topUp(topUpRequest(w, 'decline', 1000, '9999'));
        c.equal(declined.ok ? 'ok' : declined.code, 'E_CREDIT_DECLINED', 'a bad PIN is declined');
        c.equal([await views(), await w.cardView()], before, 'ledgers and card after the decline');
        let forwarded = 0;
        const tampered = await w
          .client({
            relay: {
              fromBackend: <T>(stage: string, m: T): T => {
                if (stage !== '(7)') return m;
                const x = m as unknown as { sig5: string };
                return { ...m, sig5: `${x.sig5[0] === 'a' ? 'b' : 'a'}${x.sig5.slice(1)}` };
              },
              toCard: (stage, apdu) => {
                if (stage === '(7)') forwarded++;
                return apdu;
              },
            },
          })
          .topUp(topUpRequest(w, 'tampered', 1000));
        c.equal(tampered.ok ? 'ok' : tampered.code, 'E_SIG5_INVALID', 'a tampered SIG5');
        c.equal(forwarded, 0, 'VALUE UPDATE forwarded');
        c.equal((await w.cardView()).balance, 8000, 'balance after the tampered SIG5');
        const overReq = topUpRequest(w, 'over', EXAMPLE.maxBalance - 8000 + 1);
        const over = await w.client().topUp(overReq);
        c.equal(over.ok ? 'ok' : [over.code, over.step], ['E_OVER_MAX_BALANCE', '(6)'], 'over maxBalance');
        const t = expectOk(await w.smd.topUp({ topUpId: overReq.topUpId }));
        c.equal([t.status, t.creditId], ['started', null], 'the credit company was never asked');
        c.equal((await w.cardView()).balance, 8000, 'balance after the refusal');
        // A lost answer to VALUE UPDATE (the card applied it): the log read books it once.
        let lost = 0;
        const lostReq = topUpRequest(w, 'lost', 1000);
        const recovered = await w
          .client({
            relay: {
              fromCard: (stage, answer) => (stage === '(7)' && lost++ === 0 ? undefined : answer),
            },
          })
          .topUp(lostReq);
        c.expect(recovered.ok, `the top-up with a lost answer completes (${failed(recovered)})`);
        c.equal(lost, 1, 'answers lost');
        c.equal((await w.cardView()).balance, 9000, 'balance after the recovered top-up: 8,000 + 1,000');
        c.equal(
          expectOk(await w.smd.topUp({ topUpId: lostReq.topUpId })).status,
          'applied',
          'recovered top-up status',
        );
        c.expect((await w.f.audit()).ok, 'the audit passes');
      });

      await ctx.check('K13', async (c) => {
        const image = hexToBytes(await imageBytes(main));
        c.expect(image.length > 0, 'the card image is readable');
        const publics = new Set<string>();
        for (const [kind, id] of [
          ['smd', IDS.smd],
          ['store', IDS.store],
          ['store', IDS.mall],
        ] as const) {
          const b = main.f.backend(kind, id) as {
            identity(r: Record<string, never>): Promise<Outcome<{ certificate: string }>>;
          };
          publics.add(
            bytesToHex(parseCertificate(hexToBytes(expectOk(await b.identity({})).certificate)).publicKey),
          );
        }
        let hits = 0;
        for (let i = 0; i + 32 <= image.length; i++) {
          const w = image.subarray(i, i + 32);
          if (w.every((x) => x === 0) || w.every((x) => x === 0xff)) continue;
          if (publics.has(bytesToHex(ed25519.getPublicKey(w)))) hits++;
        }
        c.equal(hits, 0, 'windows of the image that are a signing key of the SMD or a store');
      });

      await ctx.check('K14', async (c) => {
        const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as { vectors: BillVector[] };
        for (const v of file.vectors)
          for (const enc of ['json', 'binary'] as const) {
            const bytes = encodeBill(v.bill, enc);
            c.equal(bytesToHex(bytes), v[enc].bytes, `${v.id} BILL bytes (${enc})`);
            c.equal(bytesToHex(billHash(bytes)), v[enc].billHash, `${v.id} billHash (${enc})`);
          }
        const w = await make('vectors');
        const issued = expectOk(await w.shop().bill({ items: item(EXAMPLE.bill), smdId: IDS.smd, encoding }));
        const want = file.vectors.find((x) => x.id === 'store')!;
        c.equal(
          [issued.bill, issued.billHash],
          [want[encoding].bytes, want[encoding].billHash],
          `store1's first BILL (${encoding})`,
        );
      });

      await ctx.check('K15', async (c) => {
        const w = await make('mall');
        const r = await w.client().purchase(
          purchaseIn(w, 'first', 'k15', {
            shop: { id: IDS.mall, api: w.shop(IDS.mall) },
            memberStoreId: IDS.member,
          }),
        );
        c.expect(r.ok, `the purchase through the mall completes (${failed(r)})`);
        if (!r.ok) return;
        c.equal(r.orderNo, 'M1000001', 'the mall issued the order number');
        const order = expectOk(await w.shop(IDS.mall).order({ orderNo: r.orderNo }));
        c.equal([order.storeId, order.status], [IDS.member, 'receipted'], 'the order for the member store');
        c.equal((await w.cardView()).balance, 3800, 'card balance');
        c.expect((await w.f.audit()).ok, 'the audit passes');
      });
    } finally {
      // The terminal stores stay open: the runner reads their audit views after the checks.
      void worlds;
    }
  },
};
