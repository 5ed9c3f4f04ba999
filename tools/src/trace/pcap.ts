// pcap and pcapng byte layouts (rf.md §11.2, verified with tshark 4.0.17): the global header with snaplen
// 262144, LINKTYPE_ISO_14443 (264) records, LINKTYPE_WIRESHARK_UPPER_PDU (252) records with their TLVs,
// and pcapng with one interface per link type for mixed runs. Pure functions over Uint8Array.

export const LINKTYPE_ISO_14443 = 264;
export const LINKTYPE_UPPER_PDU = 252;
export const SNAPLEN = 262144;

/** Events of a LINKTYPE_ISO_14443 record (byte 1). */
export const ISO14443_EVENT = Object.freeze({
  readerToCard: 0xfe,
  cardToReader: 0xff,
  fieldOn: 0xfc,
  fieldOff: 0xfd,
} as const);

export interface PcapPacket {
  /** Microseconds since 1970-01-01 (integer). */
  readonly tsUs: number;
  readonly linktype: number;
  readonly body: Uint8Array;
}

/** `00 <event> <length u16 BE> <frame>`: the frame as on air, CRC included. */
export function iso14443Record(event: number, frame: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (frame.length > 0xffff) throw new RangeError('an ISO 14443 record holds at most 65535 bytes');
  const out = new Uint8Array(4 + frame.length);
  out[1] = event;
  out[2] = frame.length >>> 8;
  out[3] = frame.length & 0xff;
  out.set(frame, 4);
  return out;
}

/**
 * Upper-PDU record: tag 12 (dissector name), tag 35 (direction, u32 BE: 0 reader→card, 1 card→reader), end
 * tag, then the payload. Tags are `tag u16 BE, length u16 BE, value`, without padding.
 */
export function upperPduRecord(dissector: string, direction: 0 | 1, payload: Uint8Array): Uint8Array {
  const name = new TextEncoder().encode(dissector);
  const out = new Uint8Array(4 + name.length + 8 + 4 + payload.length);
  const v = new DataView(out.buffer);
  let at = 0;
  v.setUint16(at, 12);
  v.setUint16(at + 2, name.length);
  out.set(name, at + 4);
  at += 4 + name.length;
  v.setUint16(at, 35);
  v.setUint16(at + 2, 4);
  v.setUint32(at + 4, direction);
  at += 8;
  at += 4; // end of tags: 00 00 00 00
  out.set(payload, at);
  return out;
}

/** A classic pcap file of one link type (little-endian, v2.4, snaplen 262144). */
export function pcapFile(linktype: number, packets: readonly PcapPacket[]): Uint8Array {
  const size = 24 + packets.reduce((n, p) => n + 16 + p.body.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, SNAPLEN, true);
  v.setUint32(20, linktype, true);
  let at = 24;
  for (const p of packets) {
    if (p.linktype !== linktype) throw new RangeError('a pcap file holds one link type; use pcapng');
    v.setUint32(at, Math.floor(p.tsUs / 1e6), true);
    v.setUint32(at + 4, p.tsUs % 1e6, true);
    v.setUint32(at + 8, p.body.length, true);
    v.setUint32(at + 12, p.body.length, true);
    out.set(p.body, at + 16);
    at += 16 + p.body.length;
  }
  return out;
}

function block(type: number, body: Uint8Array): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const len = 12 + padded;
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, len, true);
  out.set(body, 8);
  v.setUint32(len - 4, len, true);
  return out;
}

/** pcapng: Section Header, one Interface Description per link type (in order), Enhanced Packet Blocks. */
export function pcapngFile(linktypes: readonly number[], packets: readonly PcapPacket[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, 0x1a2b3c4d, true);
  sv.setUint16(4, 1, true);
  sv.setUint16(6, 0, true);
  sv.setBigInt64(8, -1n, true);
  parts.push(block(0x0a0d0d0a, shb));
  for (const lt of linktypes) {
    const idb = new Uint8Array(8);
    const iv = new DataView(idb.buffer);
    iv.setUint16(0, lt, true);
    iv.setUint32(4, SNAPLEN, true);
    parts.push(block(1, idb));
  }
  for (const p of packets) {
    const iface = linktypes.indexOf(p.linktype);
    if (iface < 0) throw new RangeError(`no interface for link type ${p.linktype}`);
    const epb = new Uint8Array(20 + p.body.length);
    const ev = new DataView(epb.buffer);
    const ts = BigInt(Math.round(p.tsUs));
    ev.setUint32(0, iface, true);
    ev.setUint32(4, Number(ts >> 32n), true);
    ev.setUint32(8, Number(ts & 0xffffffffn), true);
    ev.setUint32(12, p.body.length, true);
    ev.setUint32(16, p.body.length, true);
    epb.set(p.body, 20);
    parts.push(block(6, epb));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
