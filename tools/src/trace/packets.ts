// From JSONL trace records (rf.md §11.1) to pcap packets (§11.1 table, §11.3 timestamps): rf: runs write
// their frames as on air (Type A/B in LINKTYPE_ISO_14443 with the field events, Type F as upper-PDU
// `felica` with LEN and CRC stripped, or `data` with LEN..CRC when the CRC was bad); every other target
// writes its APDUs (`iso7816`), FeliCa exchanges (`felica`) and ATR (`iso7816.atr`) as upper-PDU records.
import { hexToBytes } from '@mica/apdu-specs/hex';
import type { WireEvent } from '@mica/host-sdk/transport/wire-trace';
import {
  ISO14443_EVENT,
  iso14443Record,
  LINKTYPE_ISO_14443,
  LINKTYPE_UPPER_PDU,
  upperPduRecord,
  type PcapPacket,
} from './pcap';

export interface PacketOptions {
  /** Seconds since 1970 added to every timestamp (rf.md §11.3 `pcapEpoch`; default 0). */
  readonly epochS?: number;
}

/** Whether the records come from the radio simulator (frames as on air) rather than an exchange-level target. */
export function isAirTrace(events: readonly WireEvent[]): boolean {
  return events.some((e) => e.layer === 'air');
}

function airPackets(events: readonly WireEvent[], ts: (t: number) => number): PcapPacket[] {
  const hasAB = events.some((e) => e.layer === 'air' && e.tech !== 'f');
  const out: PcapPacket[] = [];
  for (const e of events) {
    if (e.layer === 'event' && (e.event === 'field-on' || e.event === 'field-off')) {
      // Field events exist only in LINKTYPE_ISO_14443; a Type F-only capture has no place for them.
      if (hasAB)
        out.push({
          tsUs: ts(e.t),
          linktype: LINKTYPE_ISO_14443,
          body: iso14443Record(e.event === 'field-on' ? ISO14443_EVENT.fieldOn : ISO14443_EVENT.fieldOff),
        });
      continue;
    }
    // Frames whose start the receiver never found stay in the JSONL trace only.
    if (e.layer !== 'air' || e.lost) continue;
    const bytes = hexToBytes(e.hex);
    if (e.tech === 'f') {
      const direction = e.dir === 'tx' ? 0 : 1;
      const good = e.crc === 'ok' && bytes.length >= 4 && bytes[0] === bytes.length - 2;
      out.push({
        tsUs: ts(e.t),
        linktype: LINKTYPE_UPPER_PDU,
        body: good
          ? upperPduRecord('felica', direction, bytes.subarray(1, bytes.length - 2))
          : upperPduRecord('data', direction, bytes),
      });
      continue;
    }
    out.push({
      tsUs: ts(e.t),
      linktype: LINKTYPE_ISO_14443,
      body: iso14443Record(e.dir === 'tx' ? ISO14443_EVENT.readerToCard : ISO14443_EVENT.cardToReader, bytes),
    });
  }
  return out;
}

function exchangePackets(events: readonly WireEvent[], ts: (t: number) => number): PcapPacket[] {
  const out: PcapPacket[] = [];
  for (const e of events) {
    const direction = e.dir === 'tx' ? 0 : 1;
    if (e.layer === 'apdu')
      out.push({
        tsUs: ts(e.t),
        linktype: LINKTYPE_UPPER_PDU,
        body: upperPduRecord('iso7816', direction, hexToBytes(e.hex)),
      });
    else if (e.layer === 'felica') {
      // The felica dissector's payload starts at the command code: LEN is stripped.
      const b = hexToBytes(e.hex);
      if (b.length >= 2)
        out.push({
          tsUs: ts(e.t),
          linktype: LINKTYPE_UPPER_PDU,
          body: upperPduRecord('felica', direction, b.subarray(1)),
        });
    } else if (e.layer === 'event' && e.event === 'atr')
      out.push({
        tsUs: ts(e.t),
        linktype: LINKTYPE_UPPER_PDU,
        body: upperPduRecord('iso7816.atr', 1, hexToBytes(e.hex)),
      });
  }
  return out;
}

/** The packets of a trace, in time order, with the link types they need. */
export function packetsOf(
  events: readonly WireEvent[],
  opts: PacketOptions = {},
): { packets: PcapPacket[]; linktypes: number[] } {
  const epochUs = Math.round((opts.epochS ?? 0) * 1e6);
  const ts = (t: number): number => epochUs + Math.floor(t + 1e-6);
  const sorted = [...events].sort((a, b) => a.t - b.t);
  const packets = isAirTrace(sorted) ? airPackets(sorted, ts) : exchangePackets(sorted, ts);
  const linktypes = [LINKTYPE_ISO_14443, LINKTYPE_UPPER_PDU].filter((lt) =>
    packets.some((p) => p.linktype === lt),
  );
  return { packets, linktypes };
}
