// The card's ISO-DEP layer (ISO/IEC 14443-4, rf.md §4.4) after activation, shared by Type A and Type B:
// block numbering, chaining, R(ACK)/R(NAK) recovery without re-execution, S(WTX) and S(DESELECT), over the
// pure rules of apdu-specs. The application is a function from a command APDU to its answer.
import { isFrameError } from '@mica/apdu-specs/rf/frame-error';
import { cardAnswer, cardLink, cardReceive, type CardLink } from '@mica/apdu-specs/rf/iso-dep-rules';
import { isoDep, type IsoDepTech } from '@mica/apdu-specs/rf/iso-dep';
import { fwtFc, wtxmFor } from '../rf/timing';

export interface IsoDepApplication {
  /** Response data ‖ SW1 SW2, or null when the chip lost power (it then stays silent). */
  apdu(command: Uint8Array): Uint8Array | null;
  /** Processing time of a command in carrier cycles (rf.md §8.3); 0 when the model has none. */
  processingFc(command: Uint8Array): number;
}

function cardLinkWithoutCid(link: CardLink): CardLink {
  const out: { -readonly [K in keyof CardLink]: CardLink[K] } = { ...link };
  delete out.cid;
  return out;
}

function withCid(link: CardLink, cid: number | undefined): CardLink {
  if (cid !== undefined) return { ...link, cid };
  return cardLinkWithoutCid(link);
}

export interface IsoDepAnswer {
  readonly bytes: Uint8Array;
  readonly processingFc?: number;
}

export class IsoDepCard {
  private link: CardLink;
  /** Processing time still owed after an S(WTX), for the held answer. */
  private heldProcessingFc = 0;

  constructor(
    private readonly tech: IsoDepTech,
    fsd: number,
    /** The CID the reader assigned in RATS or ATTRIB (0 = none asked), or undefined when the card has no CID support. */
    private readonly cid: number | undefined,
    /** The card's frame waiting time integer (ATS TB1 or ATQB ProtInfo). */
    private readonly fwi: number,
    private readonly app: IsoDepApplication,
  ) {
    this.link = cardLink(fsd);
  }

  /** S(DESELECT) answered: the card is in HALT. */
  get halted(): boolean {
    return this.link.halted;
  }

  /** One reader block (CRC included); null = stay silent (an invalid block is ignored, rule 5). */
  receive(bytes: Uint8Array): IsoDepAnswer | null {
    const block = isoDep.decode(bytes, { tech: this.tech });
    if (isFrameError(block)) return null;
    // A card with a CID answers only blocks that carry it; CID 0 also accepts blocks without one.
    if (block.cid !== undefined ? block.cid !== this.cid : (this.cid ?? 0) !== 0) return null;
    // The answer carries a CID exactly when the reader's block did.
    this.link = withCid(this.link, block.cid);
    const wasHolding = this.link.held !== null;
    let step = cardReceive(this.link, block);
    let processingFc: number | undefined;
    if (step.execute) {
      const answer = this.app.apdu(step.execute);
      if (answer === null) {
        this.link = step.state;
        return null;
      }
      const processing = this.app.processingFc(step.execute);
      const wtxm = wtxmFor(processing, this.fwi);
      step = cardAnswer(step.state, answer, wtxm > 0 ? wtxm : undefined);
      if (wtxm > 0) this.heldProcessingFc = processing;
      else if (processing > 0) processingFc = processing;
    } else if (wasHolding && step.state.held === null && step.send?.type === 'I') {
      // The reader confirmed S(WTX): the answer follows once the rest of the processing is done.
      processingFc = Math.max(0, this.heldProcessingFc - fwtFc(this.fwi));
      this.heldProcessingFc = 0;
    }
    this.link = step.state;
    if (!step.send) return null;
    const out = isoDep.encode(step.send, { tech: this.tech });
    return processingFc === undefined ? { bytes: out } : { bytes: out, processingFc };
  }
}
