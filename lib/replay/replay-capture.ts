/**
 * A netlink capture as replay sees it: the records of a pcap/pcapng LINKTYPE_NETLINK file (nlmon
 * cooked header, then one netlink datagram, read with ./netlink-capture.ts), their direction, and
 * the generic netlink family and multicast group names the capture's own nlctrl replies taught.
 */
import { NETLINK_GENERIC, NLA_HDRLEN, NLA_TYPE_MASK, NLMSGERR_LEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, align4 } from '../nl/constants';
import type { NlMessage } from '../nl/message';
import { cookedHeader, netlinkRecords, parseMeta, type NetlinkCaptureRecord } from './netlink-capture';
import { isPcapng, readPcap } from './pcap';

/** Size of the nlmon cooked header (pkttype, ARPHRD_NETLINK, address length, address, protocol). */
export const COOKED_HEADER_LEN = 16;
/** GENL_ID_CTRL: nlctrl's fixed family id. */
export const GENL_ID_CTRL = 0x10;
/** CTRL_CMD_NEWFAMILY / GETFAMILY and the CTRL_ATTR_* numbers replay reads (uapi genetlink.h). */
export const CTRL = {
  CMD_NEWFAMILY: 1, CMD_GETFAMILY: 3, ATTR_FAMILY_ID: 1, ATTR_FAMILY_NAME: 2, ATTR_MCAST_GROUPS: 7,
  ATTR_MCAST_GRP_NAME: 1, ATTR_MCAST_GRP_ID: 2,
} as const;

/** CapturedRecord is one pcap record: a whole netlink datagram. */
export interface CapturedRecord {
  /** 1-based frame number, as tshark and nlpcap.py count. */
  frame: number;
  sec: number;
  nsec: number;
  origLen: number;
  /** The record's 16-byte cooked header (kept for --update). */
  cooked: Buffer;
  /** Netlink protocol from the cooked header (16 = generic). */
  protocol: number;
  datagram: Buffer;
  messages: NlMessage[];
  /**
   * User→kernel: NLM_F_REQUEST on the first message (nlmon does not record the direction), or
   * see markUnflaggedRequests.
   */
  request: boolean;
  /** Milliseconds since the first record. */
  timeMs: number;
  /** The direction came from the file (an ovs-dpemu pcapng comment), not from the flags. */
  directionKnown: boolean;
  /** Port id of the socket that sent or received the datagram, when the file says (ovs-dpemu pcapng). */
  portid?: number;
  /** The record's pcapng comment. */
  comment?: string;
}

/** Capture is a parsed capture file. */
export interface Capture {
  records: CapturedRecord[];
  /** Family names by the capture's family ids (from its CTRL_CMD_NEWFAMILY replies). */
  familyNames: Map<number, string>;
  /** Multicast group names by the capture's group ids. */
  groupNames: Map<number, string>;
  /** The file is pcapng (replay --update then writes pcapng too, keeping record comments). */
  pcapng: boolean;
}

/** Attr is a raw attribute inside a payload. */
export interface RawAttr {
  type: number;
  /** Offset of the attribute header inside the buffer that was walked. */
  offset: number;
  payload: Buffer;
}

/** attrsOf walks attributes laid out from `at` to the end of `b` (stops at a malformed one). */
export function attrsOf(b: Buffer, at = 0): RawAttr[] {
  const out: RawAttr[] = [];
  let off = at;
  while (off + NLA_HDRLEN <= b.length) {
    const len = b.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > b.length) break;
    out.push({ type: b.readUInt16LE(off + 2) & NLA_TYPE_MASK, offset: off, payload: b.subarray(off + NLA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** cString reads a NUL-terminated string attribute. */
export function cString(p: Buffer): string {
  const nul = p.indexOf(0);
  return p.subarray(0, nul < 0 ? p.length : nul).toString('utf8');
}

function toRecord(r: NetlinkCaptureRecord, t0: bigint): CapturedRecord {
  const rec: CapturedRecord = {
    frame: r.frame, sec: r.sec, nsec: r.nsec, origLen: COOKED_HEADER_LEN + r.datagram.length + r.truncated,
    cooked: cookedHeader(r.protocol, r.pkttype), protocol: r.protocol, datagram: r.datagram, messages: r.messages,
    request: r.direction === 'to-kernel', directionKnown: parseMeta(r.comment)?.dir !== undefined,
    timeMs: Number(r.timeNs - t0) / 1e6,
  };
  if (r.meta?.portid !== undefined) rec.portid = r.meta.portid;
  if (r.comment !== undefined) rec.comment = r.comment;
  return rec;
}

/** learnNames reads family and group ids from an nlctrl NEWFAMILY reply. */
function learnNames(m: NlMessage, families: Map<number, string>, groups: Map<number, string>): void {
  if (m.type !== GENL_ID_CTRL || m.bytes.length < NLMSG_HDRLEN + 4 || m.bytes[NLMSG_HDRLEN] !== CTRL.CMD_NEWFAMILY) return;
  const attrs = attrsOf(m.bytes, NLMSG_HDRLEN + 4);
  const id = attrs.find((a) => a.type === CTRL.ATTR_FAMILY_ID);
  const name = attrs.find((a) => a.type === CTRL.ATTR_FAMILY_NAME);
  if (id && name && id.payload.length >= 2) families.set(id.payload.readUInt16LE(0), cString(name.payload));
  const grps = attrs.find((a) => a.type === CTRL.ATTR_MCAST_GROUPS);
  for (const g of grps ? attrsOf(grps.payload) : []) {
    const inner = attrsOf(g.payload);
    const gid = inner.find((a) => a.type === CTRL.ATTR_MCAST_GRP_ID);
    const gname = inner.find((a) => a.type === CTRL.ATTR_MCAST_GRP_NAME);
    if (gid && gname && gid.payload.length >= 4) groups.set(gid.payload.readUInt32LE(0), cString(gname.payload));
  }
}

/** How far after a message its NLMSG_ERROR answer may come. */
const ACK_WINDOW = 16;

/**
 * markUnflaggedRequests fixes the direction of user messages without NLM_F_REQUEST (raw test
 * clients send them; the kernel only ACKs them): a message that a later NLMSG_ERROR echoes was
 * sent by userspace, since the kernel never acknowledges its own messages. A record holding no
 * parseable message also came from userspace (the kernel's are well formed).
 */
function markUnflaggedRequests(records: CapturedRecord[]): void {
  records.forEach((r, i) => {
    if (r.request || r.directionKnown || r.protocol !== NETLINK_GENERIC) return;
    if (!r.messages.length) {
      r.request = true;
      return;
    }
    const m = r.messages[0];
    if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) return;
    const head = m.bytes.subarray(0, NLMSG_HDRLEN);
    for (const later of records.slice(i + 1, i + 1 + ACK_WINDOW)) {
      const echoed = later.messages.some((x) => x.type === NLMSG_ERROR && x.bytes.length >= NLMSG_HDRLEN + NLMSGERR_LEN &&
        x.bytes.subarray(NLMSG_HDRLEN + 4, NLMSG_HDRLEN + 4 + NLMSG_HDRLEN).equals(head));
      if (echoed) {
        r.request = true;
        return;
      }
    }
  });
}

/**
 * readCapture parses a pcap/pcapng file of nlmon traffic. Records of other link types are
 * dropped; records of other netlink protocols are kept (replay reports them as skipped).
 */
export function readCapture(file: Buffer): Capture {
  const pcap = readPcap(file);
  const t0 = pcap.length ? BigInt(pcap[0].sec) * 1000000000n + BigInt(pcap[0].nsec) : 0n;
  const records = [...netlinkRecords(pcap, { protocol: 'all' })].map((r) => toRecord(r, t0));
  markUnflaggedRequests(records);
  const familyNames = new Map<number, string>([[GENL_ID_CTRL, 'nlctrl']]);
  const groupNames = new Map<number, string>();
  for (const r of records) {
    if (r.protocol !== NETLINK_GENERIC || r.request) continue;
    for (const m of r.messages) learnNames(m, familyNames, groupNames);
  }
  return { records, familyNames, groupNames, pcapng: isPcapng(file) };
}
