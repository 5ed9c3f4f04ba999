// The ISO-DEP block-numbering, chaining and recovery rules of rf.md §4.4 (rules 1–7) as pure transitions:
// each function takes a link state and an event and returns the new state and the block to send.
import { concatBytes } from '../hex';
import { chainInf, type IsoDepBlock } from './iso-dep';

type Bn = 0 | 1;
const toggle = (bn: Bn): Bn => (bn ^ 1) as Bn;

/** What arrived: a decoded block, or `invalid` (CRC, parity, coding or PCB error), or `timeout` (reader only). */
export type LinkEvent = IsoDepBlock | 'invalid' | 'timeout';

export interface ReaderLink {
  readonly bn: Bn;
  /** Frame size of the card (FSC): INF per reader block. */
  readonly fsc: number;
  readonly cid?: number;
  /** The chain being sent and the index of the block sent last. */
  readonly tx: readonly Uint8Array[];
  readonly txAt: number;
  /** Pieces of the card's chained answer received so far. */
  readonly rx: readonly Uint8Array[];
  /** The last I-block sent (re-sent when the card acknowledges a different number). */
  readonly lastI: IsoDepBlock | null;
  readonly phase: 'idle' | 'sending' | 'receiving';
}

export interface ReaderStep {
  readonly state: ReaderLink;
  /** The next block to send, if any. */
  readonly send?: IsoDepBlock;
  /** The card's complete answer (chains reassembled). */
  readonly response?: Uint8Array;
  /** The card asked for more time (rule 6); the reader echoes it. */
  readonly wtxm?: number;
  /** A rule was broken; the transport reports a `protocol` error. */
  readonly error?: string;
}

/** The reader's link after activation: block number 0 (rule 1). */
export function readerLink(fsc: number, cid?: number): ReaderLink {
  const base = { bn: 0 as Bn, fsc, tx: [], txAt: 0, rx: [], lastI: null, phase: 'idle' as const };
  return cid === undefined ? base : { ...base, cid };
}

function withCid<T extends IsoDepBlock>(block: T, cid: number | undefined): T {
  return cid === undefined ? block : { ...block, cid };
}

function iBlock(bn: Bn, inf: Uint8Array, chaining: boolean, cid: number | undefined): IsoDepBlock {
  return withCid({ type: 'I', blockNumber: bn, chaining, inf }, cid);
}

function rBlock(ack: boolean, bn: Bn, cid: number | undefined): IsoDepBlock {
  return withCid({ type: 'R', ack, blockNumber: bn }, cid);
}

/** Starts an exchange: the first I-block of the command, chained by FSC (rule 4). */
export function readerSend(link: ReaderLink, command: Uint8Array): ReaderStep {
  const tx = chainInf(command, link.fsc, { cid: link.cid !== undefined });
  const send = iBlock(link.bn, tx[0]!, tx.length > 1, link.cid);
  return { state: { ...link, tx, txAt: 0, rx: [], lastI: send, phase: 'sending' }, send };
}

/** The reader's reaction to what arrived (rules 2, 4, 5, 6). */
export function readerReceive(link: ReaderLink, event: LinkEvent): ReaderStep {
  const { cid } = link;
  if (event === 'invalid' || event === 'timeout') {
    // Rule 5: R(NAK) with the current number, or R(ACK) while receiving a card chain.
    return { state: link, send: rBlock(link.phase === 'receiving', link.bn, cid) };
  }
  if (event.type === 'S') {
    if (event.command === 'wtx') {
      const send = withCid({ type: 'S' as const, command: 'wtx' as const, wtxm: event.wtxm }, cid);
      return { state: link, send, wtxm: event.wtxm };
    }
    return { state: link, error: 'unexpected S(DESELECT) from the card' };
  }
  if (event.type === 'R') {
    if (!event.ack) return { state: link, error: 'the card sent R(NAK)' };
    if (event.blockNumber !== link.bn) {
      // The card never got our last I-block: send it again.
      const last = link.lastI;
      return last === null ? { state: link, error: 'R(ACK) with nothing sent' } : { state: link, send: last };
    }
    if (link.phase !== 'sending' || link.txAt >= link.tx.length - 1)
      return { state: link, error: 'R(ACK) while not chaining' };
    const bn = toggle(link.bn);
    const txAt = link.txAt + 1;
    const send = iBlock(bn, link.tx[txAt]!, txAt < link.tx.length - 1, cid);
    return { state: { ...link, bn, txAt, lastI: send }, send };
  }
  // I-block
  if (link.phase === 'sending' && link.txAt < link.tx.length - 1)
    return { state: link, error: 'I-block while the reader is chaining' };
  if (link.phase === 'idle') return { state: link, error: 'I-block without a command' };
  if (event.blockNumber !== link.bn)
    return { state: link, send: rBlock(link.phase === 'receiving', link.bn, cid) };
  const bn = toggle(link.bn);
  const rx = [...link.rx, event.inf];
  if (event.chaining) return { state: { ...link, bn, rx, phase: 'receiving' }, send: rBlock(true, bn, cid) };
  return {
    state: { ...link, bn, rx: [], tx: [], txAt: 0, phase: 'idle' },
    response: concatBytes(...rx),
  };
}

export interface CardLink {
  readonly bn: Bn;
  /** Frame size of the reader (FSD): INF per card block. */
  readonly fsd: number;
  readonly cid?: number;
  readonly rx: readonly Uint8Array[];
  readonly tx: readonly Uint8Array[];
  readonly txAt: number;
  readonly lastSent: IsoDepBlock | null;
  /** An answer held back behind S(WTX) until the reader confirms. */
  readonly held: readonly Uint8Array[] | null;
  readonly halted: boolean;
}

export interface CardStep {
  readonly state: CardLink;
  /** The block to send; absent = stay silent (rule 5: an invalid block is ignored). */
  readonly send?: IsoDepBlock;
  /** A complete command for the application; answer it with `cardAnswer`. */
  readonly execute?: Uint8Array;
}

/** The card's link after activation: block number 1 (rule 1). */
export function cardLink(fsd: number, cid?: number): CardLink {
  const base = { bn: 1 as Bn, fsd, rx: [], tx: [], txAt: 0, lastSent: null, held: null, halted: false };
  return cid === undefined ? base : { ...base, cid };
}

/** The card's reaction to a reader block (rules 3, 4, 5, 6, 7). */
export function cardReceive(link: CardLink, event: LinkEvent): CardStep {
  if (link.halted || event === 'invalid' || event === 'timeout') return { state: link };
  const { cid } = link;
  if (event.type === 'I') {
    const bn = toggle(link.bn);
    const rx = [...link.rx, event.inf];
    if (event.chaining) {
      const send = rBlock(true, bn, cid);
      return { state: { ...link, bn, rx, lastSent: send }, send };
    }
    return { state: { ...link, bn, rx: [], tx: [], txAt: 0 }, execute: concatBytes(...rx) };
  }
  if (event.type === 'R') {
    if (event.blockNumber === link.bn) {
      // Rule 5: re-transmit the last block without executing again.
      return link.lastSent === null ? { state: link } : { state: link, send: link.lastSent };
    }
    if (!event.ack) {
      const send = rBlock(true, link.bn, cid);
      return { state: { ...link, lastSent: send }, send };
    }
    if (link.txAt < link.tx.length - 1) {
      const bn = toggle(link.bn);
      const txAt = link.txAt + 1;
      const send = iBlock(bn, link.tx[txAt]!, txAt < link.tx.length - 1, cid);
      return { state: { ...link, bn, txAt, lastSent: send }, send };
    }
    return { state: link };
  }
  if (event.command === 'deselect') {
    const send = withCid({ type: 'S' as const, command: 'deselect' as const }, cid);
    return { state: { ...link, halted: true, lastSent: send }, send };
  }
  // The reader confirmed S(WTX): send the held answer.
  if (link.held === null) return { state: link };
  return startAnswer({ ...link, held: null }, link.held);
}

function startAnswer(link: CardLink, tx: readonly Uint8Array[]): CardStep {
  const send = iBlock(link.bn, tx[0]!, tx.length > 1, link.cid);
  return { state: { ...link, tx, txAt: 0, lastSent: send }, send };
}

/**
 * The application's answer to `execute`: the first I-block of its chain (by FSD). With `wtxm` the card
 * first asks for more time with S(WTX) (rule 6) and sends the answer once the reader confirms.
 */
export function cardAnswer(link: CardLink, answer: Uint8Array, wtxm?: number): CardStep {
  const tx = chainInf(answer, link.fsd, { cid: link.cid !== undefined });
  if (wtxm === undefined) return startAnswer(link, tx);
  const send = withCid({ type: 'S' as const, command: 'wtx' as const, wtxm }, link.cid);
  return { state: { ...link, held: tx, lastSent: send }, send };
}
