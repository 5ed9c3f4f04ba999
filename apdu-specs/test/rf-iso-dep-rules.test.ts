// ISO-DEP block rules 1–7 of rf.md §4.4 as scripted reader/card exchanges, and a lossy link that still
// delivers every answer with each command executed once.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../src/hex';
import { isoDep, pcbOf, type IsoDepBlock } from '../src/rf/iso-dep';
import {
  cardAnswer,
  cardLink,
  cardReceive,
  readerLink,
  readerReceive,
  readerSend,
  type CardLink,
  type ReaderLink,
} from '../src/rf/iso-dep-rules';

const pcb = (b: IsoDepBlock | undefined): string =>
  b === undefined ? '-' : pcbOf(b).toString(16).padStart(2, '0');

describe('block numbering (rules 1–4)', () => {
  it('I(0) both ways, then I(1) both ways (rules 1–3)', () => {
    let r = readerLink(256);
    let c = cardLink(256);
    const s1 = readerSend(r, hexToBytes('00a40400'));
    expect(pcb(s1.send)).toBe('02');
    const c1 = cardReceive(c, s1.send!);
    expect(bytesToHex(c1.execute!)).toBe('00a40400');
    const a1 = cardAnswer(c1.state, hexToBytes('9000'));
    expect(pcb(a1.send)).toBe('02');
    const r1 = readerReceive(s1.state, a1.send!);
    expect(bytesToHex(r1.response!)).toBe('9000');
    r = r1.state;
    c = a1.state;
    const s2 = readerSend(r, hexToBytes('00b00000'));
    expect(pcb(s2.send)).toBe('03');
    const c2 = cardReceive(c, s2.send!);
    const a2 = cardAnswer(c2.state, hexToBytes('9000'));
    expect(pcb(a2.send)).toBe('03');
  });

  it('card chaining: 12 … → A3 → 03 … (rule 4)', () => {
    const r0 = readerLink(256);
    const s = readerSend(r0, hexToBytes('00b0000000'));
    const c1 = cardReceive(cardLink(16), s.send!);
    // FSD 16: 13 bytes of INF per block, so 20 bytes take two blocks.
    const answer = Uint8Array.from({ length: 20 }, (_, i) => i);
    const a1 = cardAnswer(c1.state, answer);
    expect(pcb(a1.send)).toBe('12');
    const r1 = readerReceive(s.state, a1.send!);
    expect(pcb(r1.send)).toBe('a3');
    const c2 = cardReceive(a1.state, r1.send!);
    expect(pcb(c2.send)).toBe('03');
    const r2 = readerReceive(r1.state, c2.send!);
    expect(r2.response).toEqual(answer);
  });

  it('reader chaining: the card acknowledges each chained I-block with R(ACK) (rule 4)', () => {
    const cmd = Uint8Array.from({ length: 30 }, (_, i) => i);
    const s1 = readerSend(readerLink(16), cmd);
    expect(pcb(s1.send)).toBe('12');
    const c1 = cardReceive(cardLink(256), s1.send!);
    expect(pcb(c1.send)).toBe('a2');
    const r1 = readerReceive(s1.state, c1.send!);
    expect(pcb(r1.send)).toBe('13');
    const c2 = cardReceive(c1.state, r1.send!);
    expect(pcb(c2.send)).toBe('a3');
    const r2 = readerReceive(r1.state, c2.send!);
    expect(pcb(r2.send)).toBe('02');
    const c3 = cardReceive(c2.state, r2.send!);
    expect(c3.execute).toEqual(cmd);
  });
});

describe('recovery (rule 5)', () => {
  it('a lost card answer: reader R(NAK) → the card re-sends without executing again', () => {
    const s = readerSend(readerLink(256), hexToBytes('0084000008'));
    const c1 = cardReceive(cardLink(256), s.send!);
    const a1 = cardAnswer(c1.state, hexToBytes('01020304050607089000'));
    const nak = readerReceive(s.state, 'timeout');
    expect(pcb(nak.send)).toBe('b2');
    const again = cardReceive(a1.state, nak.send!);
    expect(again.execute).toBeUndefined();
    expect(again.send).toEqual(a1.send);
    expect(bytesToHex(readerReceive(nak.state, again.send!).response!)).toBe('01020304050607089000');
  });

  it('a lost reader block: R(NAK) with another number → the card answers R(ACK) → the reader re-sends', () => {
    const s = readerSend(readerLink(256), hexToBytes('00b0000000'));
    const card = cardLink(256); // never saw the I-block: still at 1
    const nak = readerReceive(s.state, 'timeout');
    const ack = cardReceive(card, nak.send!);
    expect(pcb(ack.send)).toBe('a3');
    const resend = readerReceive(nak.state, ack.send!);
    expect(resend.send).toEqual(s.send);
  });

  it('an invalid block is ignored by the card', () => {
    const c = cardLink(256);
    expect(cardReceive(c, 'invalid')).toEqual({ state: c });
  });

  it('while receiving a card chain the reader answers a timeout with R(ACK)', () => {
    const s = readerSend(readerLink(256), hexToBytes('00'));
    const c1 = cardReceive(cardLink(16), s.send!);
    const a1 = cardAnswer(c1.state, new Uint8Array(20));
    const r1 = readerReceive(s.state, a1.send!);
    const again = readerReceive(r1.state, 'timeout');
    expect(pcb(again.send)).toBe('a3');
    // The card had sent its second block? No: it never got the first R(ACK); the R(ACK) with a
    // different number makes it send the next block now.
    expect(pcb(cardReceive(a1.state, again.send!).send)).toBe('03');
  });
});

describe('S-blocks (rules 6, 7)', () => {
  it('S(WTX): the card asks, the reader echoes WTXM, the card then answers', () => {
    const s = readerSend(readerLink(256), hexToBytes('00'));
    const c1 = cardReceive(cardLink(256), s.send!);
    const w = cardAnswer(c1.state, hexToBytes('9000'), 3);
    expect(bytesToHex(isoDep.encode(w.send!).subarray(0, 2))).toBe('f203');
    const echo = readerReceive(s.state, w.send!);
    expect(echo.wtxm).toBe(3);
    expect(echo.send).toEqual({ type: 'S', command: 'wtx', wtxm: 3 });
    const answer = cardReceive(w.state, echo.send!);
    expect(pcb(answer.send)).toBe('02');
    expect(bytesToHex(readerReceive(echo.state, answer.send!).response!)).toBe('9000');
  });

  it('S(DESELECT): the card answers C2 and halts', () => {
    const d = cardReceive(cardLink(256), { type: 'S', command: 'deselect' });
    expect(pcb(d.send)).toBe('c2');
    expect(d.state.halted).toBe(true);
    expect(
      cardReceive(d.state, { type: 'I', blockNumber: 0, chaining: false, inf: new Uint8Array(1) }).send,
    ).toBeUndefined();
  });

  it('uses CID when the link has one', () => {
    const s = readerSend(readerLink(256, 3), hexToBytes('00'));
    expect(pcb(s.send)).toBe('0a');
    expect(s.send?.cid).toBe(3);
  });
});

describe('a lossy link (property)', () => {
  it('delivers every answer and executes every command once, whatever blocks are lost', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
        (commands, losses) => {
          let reader: ReaderLink = readerLink(24);
          let card: CardLink = cardLink(24);
          let executed = 0;
          let loss = 0;
          const lost = (): boolean => losses[loss++ % losses.length]! && loss < 40;
          for (const cmd of commands) {
            let step = readerSend(reader, cmd);
            reader = step.state;
            let toCard: IsoDepBlock | undefined = step.send;
            let response: Uint8Array | undefined;
            for (let round = 0; round < 200 && response === undefined; round++) {
              let toReader: IsoDepBlock | 'timeout' = 'timeout';
              if (toCard !== undefined && !lost()) {
                const c = cardReceive(card, toCard);
                card = c.state;
                let send = c.send;
                if (c.execute) {
                  executed++;
                  expect(c.execute).toEqual(cmd);
                  const a = cardAnswer(card, Uint8Array.of(...c.execute, 0x90, 0x00));
                  card = a.state;
                  send = a.send;
                }
                if (send !== undefined && !lost()) toReader = send;
              }
              step = readerReceive(reader, toReader);
              expect(step.error).toBeUndefined();
              reader = step.state;
              response = step.response;
              toCard = step.send;
            }
            expect(response).toEqual(Uint8Array.of(...cmd, 0x90, 0x00));
          }
          expect(executed).toBe(commands.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});
