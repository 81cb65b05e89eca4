/**
 * Netlink records in pcap files: the 16-byte cooked header of LINKTYPE_NETLINK (as nlmon
 * writes it, reference/protocol.md §8) and iteration over a capture's netlink datagrams with
 * their direction.
 *
 * Direction: nlmon marks every record PACKET_OUTGOING, so a datagram is user→kernel when its
 * first message carries NLM_F_REQUEST (what the kernel's netlink_rcv_skb() requires of a
 * request) and kernel→user otherwise. Captures written by ovs-dpemu in pcapng form also say it
 * in `epb_flags` (inbound = to the kernel) and name the socket's port id in a comment.
 */
import { NLM_F, NETLINK_GENERIC, NLMSG_HDRLEN } from '../nl/constants';
import { splitDatagram, type NlMessage } from '../nl/message';
import { LINKTYPE_NETLINK, readPcap, type PcapOutRecord, type PcapRecord } from './pcap';

/** ARPHRD_NETLINK, the hatype of the cooked header. */
export const ARPHRD_NETLINK = 824;
/** Cooked header length (struct sll-style: pkttype, hatype, halen, addr[8], protocol). */
export const COOKED_HDRLEN = 16;
/** SLL packet types: nlmon writes PACKET_OUTGOING for every datagram. */
export const PACKET_HOST = 0;
export const PACKET_OUTGOING = 4;

/** Which way a datagram went. */
export type NlDirection = 'to-kernel' | 'from-kernel';

/** pcapng `epb_flags` direction bits, from the kernel's point of view (inbound = a request). */
export const EPB_INBOUND = 1;
export const EPB_OUTBOUND = 2;

/** CookedHeader is the decoded 16-byte LINKTYPE_NETLINK header. */
export interface CookedHeader {
  pkttype: number;
  hatype: number;
  /** Netlink protocol (NETLINK_GENERIC = 16). */
  protocol: number;
}

/** cookedHeader builds the header nlmon writes (PACKET_OUTGOING, ARPHRD_NETLINK, no address). */
export function cookedHeader(protocol = NETLINK_GENERIC, pkttype = PACKET_OUTGOING): Buffer {
  const h = Buffer.alloc(COOKED_HDRLEN);
  h.writeUInt16BE(pkttype, 0);
  h.writeUInt16BE(ARPHRD_NETLINK, 2);
  h.writeUInt16BE(protocol, 14);
  return h;
}

/** readCookedHeader decodes the header, or undefined when the record is too short. */
export function readCookedHeader(data: Buffer): CookedHeader | undefined {
  if (data.length < COOKED_HDRLEN) return undefined;
  return { pkttype: data.readUInt16BE(0), hatype: data.readUInt16BE(2), protocol: data.readUInt16BE(14) };
}

/** Metadata ovs-dpemu writes into pcapng comments (`key=value` words). */
export interface RecordMeta {
  /** Port id of the socket that sent (to-kernel) or received (from-kernel) the datagram. */
  portid?: number;
  /** Process that owned the socket (passthrough recording). */
  pid?: number;
  /** The emulator's socket id (serve --record). */
  sock?: number;
  /** The client's file descriptor (passthrough recording). */
  fd?: number;
  /** Multicast group mask the datagram was delivered with (msg_name.nl_groups). */
  groups?: number;
  /** Destination port id of a request sent with an explicit address. */
  dst?: number;
  /** Sender port id of a datagram received from another user socket (msg_name.nl_pid). */
  src?: number;
}

const META_KEYS: readonly (keyof RecordMeta)[] = ['portid', 'pid', 'sock', 'fd', 'groups', 'dst', 'src'];

/** formatMeta writes metadata as the comment `ovs-dpemu: portid=N pid=N …`. */
export function formatMeta(dir: NlDirection, m: RecordMeta): string {
  const words = [`dir=${dir}`];
  for (const k of META_KEYS) if (m[k] !== undefined) words.push(`${k}=${m[k]}`);
  return `ovs-dpemu: ${words.join(' ')}`;
}

/** parseMeta reads a comment written by {@link formatMeta}; undefined for other comments. */
export function parseMeta(comment: string | undefined): (RecordMeta & { dir?: NlDirection }) | undefined {
  const line = comment?.split('\n').find((l) => l.startsWith('ovs-dpemu: '));
  if (line === undefined) return undefined;
  const m: RecordMeta & { dir?: NlDirection } = {};
  for (const w of line.slice(11).split(' ')) {
    const [k, v] = w.split('=');
    if (k === 'dir' && (v === 'to-kernel' || v === 'from-kernel')) m.dir = v;
    else if ((META_KEYS as readonly string[]).includes(k) && /^\d+$/.test(v ?? '')) m[k as keyof RecordMeta] = Number(v);
  }
  return m;
}

/** netlinkRecord builds a record: cooked header + datagram, timestamp in ns since the epoch. */
export function netlinkRecord(datagram: Buffer, timeNs: bigint, opts: { protocol?: number; origLen?: number; dir?: NlDirection; meta?: RecordMeta; pcapng?: boolean } = {}): PcapOutRecord {
  const data = Buffer.concat([cookedHeader(opts.protocol ?? NETLINK_GENERIC), datagram]);
  const r: PcapOutRecord = {
    sec: Number(timeNs / 1000000000n),
    nsec: Number(timeNs % 1000000000n),
    data,
    origLen: COOKED_HDRLEN + Math.max(opts.origLen ?? datagram.length, datagram.length),
  };
  if (opts.pcapng && opts.dir) {
    r.epbFlags = opts.dir === 'to-kernel' ? EPB_INBOUND : EPB_OUTBOUND;
    r.comment = formatMeta(opts.dir, opts.meta ?? {});
  }
  return r;
}

/** directionOf tells a request datagram (NLM_F_REQUEST on its first message) from the rest. */
export function directionOf(datagram: Buffer): NlDirection {
  if (datagram.length < NLMSG_HDRLEN) return 'from-kernel';
  return datagram.readUInt16LE(6) & NLM_F.REQUEST ? 'to-kernel' : 'from-kernel';
}

/** NetlinkCaptureRecord is one netlink datagram of a capture. */
export interface NetlinkCaptureRecord {
  /** 1-based frame number in the file (as tshark counts, including non-netlink records). */
  frame: number;
  sec: number;
  nsec: number;
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
  protocol: number;
  pkttype: number;
  direction: NlDirection;
  /** The netlink bytes (after the cooked header). */
  datagram: Buffer;
  /** The datagram's messages, as netlink_rcv_skb() walks them. */
  messages: NlMessage[];
  /** Bytes missing at the end (the capture cut the record). */
  truncated: number;
  /** From an ovs-dpemu pcapng comment, when present. */
  meta?: RecordMeta;
  comment?: string;
}

/** NetlinkRecordFilter picks records: by netlink protocol (default NETLINK_GENERIC; 'all' for every one). */
export interface NetlinkRecordFilter {
  protocol?: number | 'all';
}

/**
 * netlinkRecords yields the netlink datagrams of a capture (a file's bytes or its records),
 * skipping records of other link types and, by default, other netlink protocols.
 */
export function* netlinkRecords(capture: Buffer | readonly PcapRecord[], filter: NetlinkRecordFilter = {}): Generator<NetlinkCaptureRecord> {
  const recs = Buffer.isBuffer(capture) ? readPcap(capture) : capture;
  const want = filter.protocol ?? NETLINK_GENERIC;
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i];
    if (r.linktype !== LINKTYPE_NETLINK) continue;
    const h = readCookedHeader(r.data);
    if (h === undefined || h.hatype !== ARPHRD_NETLINK) continue;
    if (want !== 'all' && h.protocol !== want) continue;
    const datagram = r.data.subarray(COOKED_HDRLEN);
    const meta = parseMeta(r.comment);
    let direction = directionOf(datagram);
    if (meta?.dir) direction = meta.dir;
    else if (r.epbFlags !== undefined && (r.epbFlags & 3) !== 0) direction = (r.epbFlags & 3) === EPB_INBOUND ? 'to-kernel' : 'from-kernel';
    const out: NetlinkCaptureRecord = {
      frame: i + 1,
      sec: r.sec,
      nsec: r.nsec,
      timeNs: BigInt(r.sec) * 1000000000n + BigInt(r.nsec),
      protocol: h.protocol,
      pkttype: h.pkttype,
      direction,
      datagram,
      messages: [...splitDatagram(datagram)],
      truncated: Math.max(0, r.origLen - r.data.length),
    };
    if (meta) {
      const { dir: _dir, ...rest } = meta;
      out.meta = rest;
    }
    if (r.comment !== undefined) out.comment = r.comment;
    yield out;
  }
}
